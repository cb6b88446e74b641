/* relay.c - weft-hub's relay and STUN server (relay.h). */
#define _GNU_SOURCE
#include "hub/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/ratelimiter.h"
#include "core/relay.h"
#include "hub/store.h"
#include "mesh/envelope.h"
#include "mesh/pathmsg.h"
#include "mesh/roster.h"
#include "mesh/stun.h"
#include "os/linux/clock.h"
#include "os/linux/log.h"
#include "os/linux/sockaddr.h"
#include "os/linux/udp_filter.h"

enum {
	BATCH = 64,
	FRAME_MAX = 9216 + 64,
	NIL = UINT32_MAX,
	ROSTER_CACHE = 16,
	ROSTER_RECHECK_MS = 2000,
	CLOCK_SKEW_MS = 60000,
};

struct relay_dev {
	bool used;
	uint8_t tag[WG_ENDPOINT_TAG_LEN];
	uint8_t device[MESH_KEY_LEN];
	char network[MESH_NAME_MAX];
	struct wg_endpoint addr;
	uint64_t last_time_ms;		/* of its newest registration */
	wg_time_t registered;		/* when that came */
	wg_time_t expires;
	uint64_t tokens;		/* bytes it may still send */
	wg_time_t refilled;
	uint32_t next_tag, next_addr;
};

struct roster_cache {
	char network[MESH_NAME_MAX];
	uint64_t roster_id;
	uint64_t checked_ms;
	bool has;
	struct roster r;
};

struct relay {
	struct relay_config cfg;
	struct store *store;
	int fd, alt_fd, stop_fd;
	int family;			/* AF_INET or AF_INET6 */
	pthread_t thread;

	struct relay_dev *devs;
	uint32_t free_head;
	uint32_t *by_tag, *by_addr;	/* bucket heads */
	uint32_t mask;
	uint8_t hash_key[16];
	unsigned n_devs;
	struct roster_cache rosters[ROSTER_CACHE];
	struct ratelimiter *reg_limit;
	uint64_t burst;

	struct mmsghdr rx[BATCH], tx[BATCH];
	struct iovec rx_iov[BATCH], tx_iov[BATCH];
	struct sockaddr_storage rx_name[BATCH], tx_name[BATCH];
	uint8_t (*buf)[FRAME_MAX];
	uint8_t stun_out[STUN_RESPONSE_MAX];

	/* counters */
	uint64_t forwarded, forwarded_bytes, unregistered, unknown_dest,
		 over_budget, registrations, refused, stun_answers;
};

/* ---- the device table: two chained hashes over one array ---- */

static uint32_t hash_bytes(const struct relay *r, const void *p, size_t n)
{
	uint8_t h[8];

	crypto_shorthash(h, p, n, r->hash_key);
	return (uint32_t)(h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24) & r->mask;
}

static uint32_t hash_addr(const struct relay *r, const struct wg_endpoint *e)
{
	uint8_t k[18];

	return hash_bytes(r, k, endpoint_cookie_bytes(e, k));
}

static uint32_t find_tag(const struct relay *r, const uint8_t tag[WG_ENDPOINT_TAG_LEN])
{
	uint32_t i = r->by_tag[hash_bytes(r, tag, WG_ENDPOINT_TAG_LEN)];

	while (i != NIL && memcmp(r->devs[i].tag, tag, WG_ENDPOINT_TAG_LEN))
		i = r->devs[i].next_tag;
	return i;
}

static uint32_t find_addr(const struct relay *r, const struct wg_endpoint *e)
{
	uint32_t i = r->by_addr[hash_addr(r, e)];

	while (i != NIL && !endpoint_equal(&r->devs[i].addr, e))
		i = r->devs[i].next_addr;
	return i;
}

static void unlink_chain(struct relay *r, uint32_t *head, uint32_t i, bool tag)
{
	uint32_t *pp = head;

	while (*pp != NIL && *pp != i)
		pp = tag ? &r->devs[*pp].next_tag : &r->devs[*pp].next_addr;
	if (*pp == i)
		*pp = tag ? r->devs[i].next_tag : r->devs[i].next_addr;
}

static void unlink_addr(struct relay *r, uint32_t i)
{
	unlink_chain(r, &r->by_addr[hash_addr(r, &r->devs[i].addr)], i, false);
}

static void dev_remove(struct relay *r, uint32_t i)
{
	unlink_chain(r, &r->by_tag[hash_bytes(r, r->devs[i].tag, WG_ENDPOINT_TAG_LEN)],
		     i, true);
	unlink_addr(r, i);
	memset(&r->devs[i], 0, sizeof(r->devs[i]));
	r->devs[i].next_tag = r->free_head;
	r->free_head = i;
	r->n_devs--;
}

static void link_addr(struct relay *r, uint32_t i)
{
	uint32_t h = hash_addr(r, &r->devs[i].addr);

	r->devs[i].next_addr = r->by_addr[h];
	r->by_addr[h] = i;
}

static void expire(struct relay *r, wg_time_t now)
{
	for (uint32_t i = 0; i < RELAY_MAX_DEVICES; i++)
		if (r->devs[i].used && r->devs[i].expires <= now)
			dev_remove(r, i);
}

/* ---- membership ---- */

static const struct roster *roster_of(struct relay *r, const char *network)
{
	struct roster_cache *c = NULL;
	struct store_network sn;
	uint64_t now = clock_wall_ms();
	unsigned i;

	for (i = 0; i < ROSTER_CACHE && !c; i++)
		if (!strcmp(r->rosters[i].network, network))
			c = &r->rosters[i];
	if (!c) {
		/* Replace the least recently checked. */
		c = &r->rosters[0];
		for (i = 1; i < ROSTER_CACHE; i++)
			if (r->rosters[i].checked_ms < c->checked_ms)
				c = &r->rosters[i];
		if (c->has)
			roster_free(&c->r);
		memset(c, 0, sizeof(*c));
		snprintf(c->network, sizeof(c->network), "%s", network);
	}
	if (c->checked_ms && now < c->checked_ms + ROSTER_RECHECK_MS)
		return c->has ? &c->r : NULL;
	c->checked_ms = now;
	if (store_network_get_cached(r->store, network, c->has ? c->roster_id : 0, &sn))
		return c->has ? &c->r : NULL;
	if (sn.roster_env && sn.roster_id != c->roster_id) {
		char reason[MESH_REASON_MAX];
		struct envelope env;
		struct roster next;

		/* The hub checked its signatures when it took it. */
		if (!envelope_parse(&env, sn.roster_env, strlen(sn.roster_env), reason)) {
			if (!roster_parse(&next, (const char *)env.body, env.body_len, reason)) {
				if (c->has)
					roster_free(&c->r);
				c->r = next;
				c->has = true;
				c->roster_id = sn.roster_id;
			}
			envelope_free(&env);
		}
	}
	store_network_free(&sn);
	return c->has ? &c->r : NULL;
}

/* ---- messages ---- */

static void reply(struct relay *r, int fd, const struct sockaddr_storage *to,
		  const void *msg, size_t len)
{
	socklen_t tl = to->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			sizeof(struct sockaddr_in6);

	(void)r;
	(void)!sendto(fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, tl);
}

static void handle_stun(struct relay *r, int fd, const uint8_t *msg, size_t len,
			const struct sockaddr_storage *from)
{
	uint8_t txid[STUN_TXID_LEN];
	struct wg_endpoint seen;
	bool change;
	size_t n;

	if (stun_parse_request(msg, len, txid, &change))
		return;
	sockaddr_to_endpoint(&seen, from);
	n = stun_response(r->stun_out, txid, &seen, NULL);
	r->stun_answers++;
	reply(r, change && fd == r->fd ? r->alt_fd : fd, from, r->stun_out, n);
}

static void handle_register(struct relay *r, const uint8_t *msg, size_t len,
			    const struct sockaddr_storage *from, wg_time_t now)
{
	struct path_register reg;
	const struct roster *ro;
	struct wg_endpoint src;
	uint8_t tag[WG_ENDPOINT_TAG_LEN], out[PATH_REGISTERED_LEN];
	uint64_t wall = clock_wall_ms();
	uint32_t i, j;

	sockaddr_to_endpoint(&src, from);
	if (!ratelimiter_allow(r->reg_limit, src.family, src.addr, now) ||
	    path_register_open(&reg, msg, len)) {
		r->refused++;
		return;
	}
	ro = roster_of(r, reg.network);
	if (!ro || !roster_find(ro, reg.device) ||
	    reg.time_ms + CLOCK_SKEW_MS < wall || reg.time_ms > wall + CLOCK_SKEW_MS) {
		r->refused++;
		return;
	}
	/* The tag is the identity's: the registration's signature proves it
	 * is this device's, so no member can take another's frames. */
	relay_tag(tag, reg.device);
	i = find_tag(r, tag);
	if (i != NIL && (memcmp(r->devs[i].device, reg.device, MESH_KEY_LEN) ||
			 strcmp(r->devs[i].network, reg.network) ||
			 reg.time_ms <= r->devs[i].last_time_ms)) {
		/* Someone else's tag, or an old registration played again. */
		r->refused++;
		return;
	}
	/* One registration per source address: another device's stays while
	 * it is refreshed (a forged source cannot push it out), and gives way
	 * once it stopped (the NAT gave its port to someone else). */
	j = find_addr(r, &src);
	if (j != NIL && j != i) {
		if (now < r->devs[j].registered + 3 * RELAY_REFRESH_S * NSEC_PER_SEC) {
			r->refused++;
			return;
		}
		dev_remove(r, j);
	}
	if (i == NIL) {
		if (r->free_head == NIL) {
			expire(r, now);
			if (r->free_head == NIL) {
				r->refused++;
				return;
			}
		}
		i = r->free_head;
		r->free_head = r->devs[i].next_tag;
		memset(&r->devs[i], 0, sizeof(r->devs[i]));
		r->devs[i].used = true;
		memcpy(r->devs[i].tag, tag, sizeof(tag));
		memcpy(r->devs[i].device, reg.device, MESH_KEY_LEN);
		snprintf(r->devs[i].network, MESH_NAME_MAX, "%s", reg.network);
		r->devs[i].tokens = r->burst;
		r->devs[i].refilled = now;
		{
			uint32_t h = hash_bytes(r, tag, sizeof(tag));

			r->devs[i].next_tag = r->by_tag[h];
			r->by_tag[h] = i;
		}
		r->devs[i].addr = src;
		link_addr(r, i);
		r->n_devs++;
	} else if (!endpoint_equal(&r->devs[i].addr, &src)) {
		unlink_addr(r, i);
		r->devs[i].addr = src;
		link_addr(r, i);
	}
	r->devs[i].last_time_ms = reg.time_ms;
	r->devs[i].registered = now;
	r->devs[i].expires = now + (wg_time_t)RELAY_REGISTRATION_S * NSEC_PER_SEC;
	r->registrations++;
	path_registered_build(out, reg.time_ms, &src);
	reply(r, r->fd, from, out, sizeof(out));
}

static bool spend(struct relay *r, struct relay_dev *d, size_t len, wg_time_t now)
{
	if (!r->cfg.bytes_per_sec)
		return true;
	if (now > d->refilled) {
		uint64_t add = (now - d->refilled) / 1000 * r->cfg.bytes_per_sec / 1000000;

		if (add) {
			d->tokens = d->tokens + add > r->burst ? r->burst : d->tokens + add;
			d->refilled = now;
		}
	}
	if (d->tokens < len)
		return false;
	d->tokens -= len;
	return true;
}

/* A frame for another device: into the send batch, rewritten in place. */
static bool forward(struct relay *r, unsigned k, size_t len, unsigned *ntx,
		    wg_time_t now)
{
	uint8_t *msg = r->buf[k];
	struct wg_endpoint src;
	uint32_t from, to;

	if (len < RELAY_HEADER_LEN + 4)
		return false;
	sockaddr_to_endpoint(&src, &r->rx_name[k]);
	from = find_addr(r, &src);
	if (from == NIL || r->devs[from].expires <= now) {
		r->unregistered++;
		return false;
	}
	to = find_tag(r, msg + 4);
	if (to == NIL || r->devs[to].expires <= now ||
	    strcmp(r->devs[to].network, r->devs[from].network)) {
		r->unknown_dest++;
		return false;
	}
	if (!spend(r, &r->devs[from], len, now)) {
		r->over_budget++;
		return false;
	}
	msg[1] = WEFT_SUB_RELAY_FROM;
	memcpy(msg + 4, r->devs[from].tag, WG_ENDPOINT_TAG_LEN);
	r->tx_iov[*ntx].iov_base = msg;
	r->tx_iov[*ntx].iov_len = len;
	memset(&r->tx[*ntx], 0, sizeof(r->tx[*ntx]));
	r->tx[*ntx].msg_hdr.msg_iov = &r->tx_iov[*ntx];
	r->tx[*ntx].msg_hdr.msg_iovlen = 1;
	r->tx[*ntx].msg_hdr.msg_name = &r->tx_name[*ntx];
	r->tx[*ntx].msg_hdr.msg_namelen =
		sockaddr_from_endpoint(&r->tx_name[*ntx], r->family, &r->devs[to].addr);
	(*ntx)++;
	r->forwarded++;
	r->forwarded_bytes += len;
	return true;
}

static void flush(struct relay *r, unsigned ntx)
{
	unsigned done = 0;

	while (done < ntx) {
		int s = sendmmsg(r->fd, r->tx + done, ntx - done, 0);

		if (s <= 0) {
			if (s < 0 && errno == EINTR)
				continue;
			done++;		/* skip the one the kernel refused */
			continue;
		}
		done += (unsigned)s;
	}
}

static void receive(struct relay *r, int fd)
{
	wg_time_t now = clock_now();
	unsigned ntx = 0;
	int got, k;

	for (k = 0; k < BATCH; k++) {
		r->rx_iov[k].iov_base = r->buf[k];
		r->rx_iov[k].iov_len = FRAME_MAX;
		memset(&r->rx[k], 0, sizeof(r->rx[k]));
		r->rx[k].msg_hdr.msg_iov = &r->rx_iov[k];
		r->rx[k].msg_hdr.msg_iovlen = 1;
		r->rx[k].msg_hdr.msg_name = &r->rx_name[k];
		r->rx[k].msg_hdr.msg_namelen = sizeof(r->rx_name[k]);
	}
	got = recvmmsg(fd, r->rx, BATCH, MSG_DONTWAIT, NULL);
	for (k = 0; k < got; k++) {
		const uint8_t *msg = r->buf[k];
		size_t len = r->rx[k].msg_len;
		uint8_t sub = weft_subtype(msg, len);

		if (stun_is(msg, len))
			handle_stun(r, fd, msg, len, &r->rx_name[k]);
		else if (fd != r->fd)
			continue;
		else if (sub == WEFT_SUB_RELAY_TO)
			forward(r, (unsigned)k, len, &ntx, now);
		else if (sub == WEFT_SUB_REGISTER)
			handle_register(r, msg, len, &r->rx_name[k], now);
	}
	if (ntx)
		flush(r, ntx);
}

static void *run(void *arg)
{
	struct relay *r = arg;
	struct pollfd p[3] = {
		{ .fd = r->fd, .events = POLLIN },
		{ .fd = r->alt_fd, .events = POLLIN },
		{ .fd = r->stop_fd, .events = POLLIN },
	};
	wg_time_t next_sweep = clock_now();

	for (;;) {
		wg_time_t now;

		if (poll(p, 3, 1000) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (p[0].revents & POLLIN)
			for (int i = 0; i < 8; i++)
				receive(r, r->fd);
		if (p[1].revents & POLLIN)
			receive(r, r->alt_fd);
		now = clock_now();
		if (now >= next_sweep) {
			expire(r, now);
			next_sweep = now + 10 * NSEC_PER_SEC;
		}
	}
	return NULL;
}

/* ---- start and stop ---- */

static int bind_udp(int family, const struct wg_endpoint *at, uint16_t port)
{
	struct sockaddr_storage ss;
	struct wg_endpoint e = *at;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), off = 0;
	int size = 4 << 20;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Garbage dies in the kernel; without the filter the relay drops
	 * it itself, so a refusal costs CPU only. */
	(void)udp_filter_attach(fd, NULL);
	e.port = port;
	if (bind(fd, (struct sockaddr *)&ss, sockaddr_from_endpoint(&ss, family, &e))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Everything a relay holds; what was not set up yet is NULL or -1. */
static void relay_free(struct relay *r)
{
	for (unsigned i = 0; i < ROSTER_CACHE; i++)
		if (r->rosters[i].has)
			roster_free(&r->rosters[i].r);
	if (r->store)
		store_close(r->store);
	if (r->fd >= 0)
		close(r->fd);
	if (r->alt_fd >= 0)
		close(r->alt_fd);
	if (r->stop_fd >= 0)
		close(r->stop_fd);
	free(r->devs);
	free(r->by_tag);
	free(r->by_addr);
	free(r->buf);
	free(r->reg_limit);
	free(r);
}

int relay_start(struct relay **out, const struct relay_config *cfg,
		char err[MESH_REASON_MAX])
{
	struct relay *r = calloc(1, sizeof(*r));
	struct wg_endpoint at;
	uint8_t key[16];
	int e;

	*out = NULL;
	if (!r)
		return mesh_reason(err, -ENOMEM, "out of memory");
	r->cfg = *cfg;
	r->fd = r->alt_fd = r->stop_fd = -1;
	if (!endpoint_parse(&at, cfg->listen, strlen(cfg->listen)) || !at.port ||
	    at.port == UINT16_MAX) {
		free(r);
		return mesh_reason(err, -EINVAL,
				   "--relay %s: give ADDR:PORT (for example 0.0.0.0:3478), "
				   "or off", cfg->listen);
	}
	r->family = at.family == IP_V4 ? AF_INET : AF_INET6;
	r->mask = 2 * RELAY_MAX_DEVICES - 1;
	r->devs = calloc(RELAY_MAX_DEVICES, sizeof(*r->devs));
	r->by_tag = malloc(2 * RELAY_MAX_DEVICES * sizeof(uint32_t));
	r->by_addr = malloc(2 * RELAY_MAX_DEVICES * sizeof(uint32_t));
	r->buf = malloc(BATCH * sizeof(*r->buf));
	r->reg_limit = malloc(sizeof(*r->reg_limit));
	if (!r->devs || !r->by_tag || !r->by_addr || !r->buf || !r->reg_limit) {
		e = mesh_reason(err, -ENOMEM, "out of memory");
		goto fail;
	}
	memset(r->by_tag, 0xff, 2 * RELAY_MAX_DEVICES * sizeof(uint32_t));
	memset(r->by_addr, 0xff, 2 * RELAY_MAX_DEVICES * sizeof(uint32_t));
	for (uint32_t i = 0; i < RELAY_MAX_DEVICES; i++)
		r->devs[i].next_tag = i + 1 < RELAY_MAX_DEVICES ? i + 1 : NIL;
	r->free_head = 0;
	randombytes_buf(r->hash_key, sizeof(r->hash_key));
	randombytes_buf(key, sizeof(key));
	ratelimiter_init(r->reg_limit, key);
	r->burst = cfg->bytes_per_sec / 10 > 256 * 1024 ? cfg->bytes_per_sec / 10 : 256 * 1024;
	e = store_open(&r->store, cfg->db, err);
	if (e)
		goto fail;
	r->fd = bind_udp(r->family, &at, at.port);
	r->alt_fd = r->fd >= 0 ? bind_udp(r->family, &at, (uint16_t)(at.port + 1)) : -1;
	if (r->fd < 0 || r->alt_fd < 0) {
		e = mesh_reason(err, r->fd < 0 ? r->fd : r->alt_fd,
				"cannot listen for the relay on UDP %s and the port after it: %s "
				"(another program there? pick another with --relay)",
				cfg->listen, strerror(-(r->fd < 0 ? r->fd : r->alt_fd)));
		goto fail;
	}
	r->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (r->stop_fd < 0 || (e = pthread_create(&r->thread, NULL, run, r))) {
		e = mesh_reason(err, -ENOMEM, "cannot start the relay thread");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	relay_free(r);
	return e;
}

void relay_stop(struct relay *r)
{
	uint64_t one = 1;

	if (!r)
		return;
	(void)!write(r->stop_fd, &one, sizeof(one));
	pthread_join(r->thread, NULL);
	log_info("relay: %" PRIu64 " frames (%" PRIu64 " bytes) forwarded, %" PRIu64
		 " registrations, %" PRIu64 " refused, %" PRIu64 " from unregistered, %"
		 PRIu64 " to unknown, %" PRIu64 " over budget, %" PRIu64 " STUN answers",
		 r->forwarded, r->forwarded_bytes, r->registrations, r->refused,
		 r->unregistered, r->unknown_dest, r->over_budget, r->stun_answers);
	relay_free(r);
}
