/* uapi_server.c - serves the cross-platform configuration protocol on
 * /var/run/wireguard/IFNAME.sock: reads requests without blocking the
 * engine, applies "set" to the device and answers "get". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/peer.h"
#include "core/uapi.h"
#include "crypto/ct.h"
#include "daemon/daemon.h"
#include "os/linux/clock.h"
#include "os/linux/log.h"

enum { TAG_CLIENT_BASE = 64, UAPI_READ_CHUNK = 65536 };

void uapi_server_init(struct daemon *dm)
{
	for (int i = 0; i < UAPI_MAX_CLIENTS; i++)
		dm->clients[i] = (struct uapi_client){ .fd = -1 };
}

static void client_close(struct daemon *dm, struct uapi_client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(dm->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	/* Requests carry private keys: wipe what we buffered. */
	if (c->in)
		crypto_wipe(c->in, c->incap);
	if (c->out)
		crypto_wipe(c->out, c->outlen);
	free(c->in);
	free(c->out);
	*c = (struct uapi_client){ .fd = -1 };
}

void uapi_server_close_all(struct daemon *dm)
{
	for (int i = 0; i < UAPI_MAX_CLIENTS; i++)
		client_close(dm, &dm->clients[i]);
}

void uapi_server_accept(struct daemon *dm)
{
	for (;;) {
		int fd = accept4(dm->uapi_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int i;

		if (fd < 0)
			return;
		for (i = 0; i < UAPI_MAX_CLIENTS && dm->clients[i].fd >= 0; i++)
			;
		if (i == UAPI_MAX_CLIENTS) {
			log_warn("too many UAPI clients, refusing one");
			close(fd);
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = TAG_CLIENT_BASE + (uint64_t)i };

		if (epoll_ctl(dm->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		dm->clients[i].fd = fd;
	}
}

/* ---- set ---- */

struct set_ctx {
	struct daemon *dm;
	struct peer *peer;	/* the section's peer, NULL when skipped */
	bool created;		/* made by this section */
};

static int set_private_key(void *ctx, const uint8_t key[32], bool clear)
{
	struct set_ctx *s = ctx;

	if (clear) {
		device_clear_private_key(&s->dm->dev);
		return 0;
	}
	return device_set_private_key(&s->dm->dev, key) ? 0 : EINVAL;
}

static int set_listen_port(void *ctx, uint16_t port)
{
	struct set_ctx *s = ctx;
	int ret = daemon_bind(s->dm, port);

	return ret < 0 ? -ret : 0;
}

static int set_fwmark(void *ctx, uint32_t mark)
{
	struct set_ctx *s = ctx;
	int ret = 0;

	if (s->dm->udp_open)
		ret = udp_set_fwmark(&s->dm->udp, mark);
	if (ret < 0)
		return -ret;
	s->dm->dev.fwmark = mark;
	return 0;
}

static int set_replace_peers(void *ctx)
{
	struct set_ctx *s = ctx;

	device_remove_all_peers(&s->dm->dev);
	return 0;
}

static int peer_begin(void *ctx, const uint8_t pubkey[32])
{
	struct set_ctx *s = ctx;
	int err = 0;

	s->created = false;
	s->peer = device_lookup_peer(&s->dm->dev, pubkey);
	if (s->peer)
		return 0;
	s->peer = device_add_peer(&s->dm->dev, pubkey, &err);
	if (!s->peer) {
		/* Our own public key: ignored, as other implementations do. */
		if (err == -EEXIST)
			return 0;
		return -err;
	}
	s->created = true;
	return 0;
}

static int peer_remove(void *ctx)
{
	struct set_ctx *s = ctx;

	if (s->peer)
		device_remove_peer(&s->dm->dev, s->peer);
	s->peer = NULL;
	return 0;
}

static int peer_update_only(void *ctx)
{
	struct set_ctx *s = ctx;

	/* update_only: a peer this section just created must not exist. */
	if (s->peer && s->created) {
		device_remove_peer(&s->dm->dev, s->peer);
		s->peer = NULL;
	}
	return 0;
}

static int peer_psk(void *ctx, const uint8_t psk[32])
{
	struct set_ctx *s = ctx;

	if (s->peer)
		peer_set_psk(s->peer, psk);
	return 0;
}

static int peer_endpoint(void *ctx, const struct wg_endpoint *ep)
{
	struct set_ctx *s = ctx;

	if (s->peer)
		peer_set_endpoint(s->peer, ep);
	return 0;
}

static int peer_keepalive(void *ctx, uint16_t seconds)
{
	struct set_ctx *s = ctx;

	if (s->peer)
		peer_set_persistent_keepalive(s->peer, seconds, clock_now());
	return 0;
}

static int peer_replace_allowed_ips(void *ctx)
{
	struct set_ctx *s = ctx;

	if (s->peer)
		allowedips_remove_by_owner(&s->dm->dev.allowedips, s->peer);
	return 0;
}

static int peer_allowed_ip(void *ctx, enum ip_family family, const uint8_t *ip,
			   uint8_t cidr)
{
	struct set_ctx *s = ctx;

	if (!s->peer)
		return 0;
	return -allowedips_insert(&s->dm->dev.allowedips, family, ip, cidr,
				  s->peer);
}

static int peer_end(void *ctx)
{
	struct set_ctx *s = ctx;

	s->peer = NULL;
	s->created = false;
	return 0;
}

static void set_commit(void *ctx, bool ok)
{
	struct set_ctx *s = ctx;

	(void)ok;
	/* Send what the changes queued (e.g. persistent keepalives). */
	device_flush(&s->dm->dev);
}

static const struct uapi_set_ops set_ops = {
	.private_key = set_private_key,
	.listen_port = set_listen_port,
	.fwmark = set_fwmark,
	.replace_peers = set_replace_peers,
	.peer_begin = peer_begin,
	.peer_remove = peer_remove,
	.peer_update_only = peer_update_only,
	.peer_preshared_key = peer_psk,
	.peer_endpoint = peer_endpoint,
	.peer_persistent_keepalive = peer_keepalive,
	.peer_replace_allowed_ips = peer_replace_allowed_ips,
	.peer_allowed_ip = peer_allowed_ip,
	.peer_end = peer_end,
	.commit = set_commit,
};

/* ---- get ---- */

struct walk_ctx {
	struct uapi_buf *out;
};

static bool walk_allowed(void *ctx, enum ip_family family, const uint8_t *ip,
			 uint8_t cidr)
{
	struct walk_ctx *w = ctx;

	uapi_format_allowed_ip(w->out, family, ip, cidr);
	return !w->out->truncated;
}

static void format_get(struct daemon *dm, struct uapi_buf *out)
{
	struct device *d = &dm->dev;
	struct uapi_device_info di = {
		.has_private_key = d->local.has_identity,
		.listen_port = dm->udp_open ? dm->udp.port : 0,
		.fwmark = d->fwmark,
	};
	struct walk_ctx w = { .out = out };

	memcpy(di.private_key, d->local.static_private, 32);
	uapi_format_device(out, &di);
	crypto_wipe(&di, sizeof(di));
	for (struct peer *p = d->peers_head; p && !out->truncated; p = p->list_next) {
		struct uapi_peer_info pi = {
			.endpoint = p->endpoint,
			.last_handshake_sec = p->last_handshake_sec,
			.last_handshake_nsec = p->last_handshake_nsec,
			.rx_bytes = p->rx_bytes,
			.tx_bytes = p->tx_bytes,
			.persistent_keepalive = p->persistent_keepalive,
		};

		memcpy(pi.public_key, p->hs.remote_static, 32);
		memcpy(pi.preshared_key, p->hs.preshared_key, 32);
		uapi_format_peer(out, &pi);
		crypto_wipe(&pi, sizeof(pi));
		allowedips_walk_by_owner(&d->allowedips, p, walk_allowed, &w);
	}
	uapi_format_errno(out, 0);
}

/* ---- requests ---- */

static bool out_append(struct uapi_client *c, const char *buf, size_t len)
{
	char *n = realloc(c->out, c->outlen + len);

	if (!n)
		return false;
	c->out = n;
	memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
	return true;
}

static void reply_errno(struct uapi_client *c, int err)
{
	char buf[32];
	struct uapi_buf b = { .data = buf, .cap = sizeof(buf) };

	uapi_format_errno(&b, err);
	if (!out_append(c, b.data, b.len))
		c->closing = true;
}

static void handle_get(struct daemon *dm, struct uapi_client *c)
{
	size_t cap = 4096 + dm->dev.npeers * 512;

	for (;;) {
		struct uapi_buf b = { .data = malloc(cap), .cap = cap };

		if (!b.data) {
			reply_errno(c, ENOMEM);
			return;
		}
		format_get(dm, &b);
		if (!b.truncated) {
			if (!out_append(c, b.data, b.len))
				c->closing = true;
			crypto_wipe(b.data, b.cap);
			free(b.data);
			return;
		}
		crypto_wipe(b.data, b.cap);
		free(b.data);
		cap *= 2;
	}
}

static void handle_set(struct daemon *dm, struct uapi_client *c,
		       const char *body, size_t len)
{
	struct set_ctx s = { .dm = dm };
	int err = uapi_set((const uint8_t *)body, len, &set_ops, &s);

	if (err)
		log_info("UAPI set failed: %s", strerror(err));
	reply_errno(c, err);
}

/* Handle every complete request in c->in. A request is "get=1\n\n" or
 * "set=1\n" + lines + "\n". */
static void process_requests(struct daemon *dm, struct uapi_client *c)
{
	size_t pos = 0;

	while (!c->closing) {
		char *start = c->in + pos;
		size_t avail = c->inlen - pos;
		char *end = NULL;

		/* Find the empty line ending the request. */
		for (size_t i = 0; i + 1 < avail; i++) {
			if (start[i] == '\n' && start[i + 1] == '\n') {
				end = start + i + 1;
				break;
			}
		}
		if (avail >= 1 && start[0] == '\n' && !end)
			end = start;
		if (!end)
			break;
		size_t reqlen = (size_t)(end - start);	/* up to the blank line */

		if (reqlen >= 6 && !memcmp(start, "get=1\n", 6) && reqlen == 6) {
			handle_get(dm, c);
		} else if (reqlen >= 6 && !memcmp(start, "set=1\n", 6)) {
			handle_set(dm, c, start + 6, reqlen - 6);
		} else {
			/* Not a request we know: answer like the protocol
			 * does for bad input and hang up. */
			reply_errno(c, EINVAL);
			c->closing = true;
		}
		pos += reqlen + 1;
	}
	if (pos) {
		memmove(c->in, c->in + pos, c->inlen - pos);
		crypto_wipe(c->in + c->inlen - pos, pos);
		c->inlen -= pos;
	}
}

static void update_interest(struct daemon *dm, struct uapi_client *c)
{
	struct epoll_event ev = {
		.events = c->outoff < c->outlen ? EPOLLOUT : EPOLLIN,
		.data.u64 = TAG_CLIENT_BASE + (uint64_t)(c - dm->clients),
	};

	epoll_ctl(dm->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

void uapi_server_event(struct daemon *dm, struct uapi_client *c,
		       uint32_t events)
{
	if (c->fd < 0)
		return;
	if (events & EPOLLIN) {
		for (;;) {
			if (c->incap - c->inlen < UAPI_READ_CHUNK) {
				size_t cap = c->incap ? c->incap * 2 : UAPI_READ_CHUNK * 2;
				char *n;

				if (cap > UAPI_MAX_REQUEST + UAPI_READ_CHUNK) {
					log_warn("UAPI request larger than %d bytes, refusing it",
						 UAPI_MAX_REQUEST);
					reply_errno(c, EMSGSIZE);
					c->closing = true;
					break;
				}
				n = realloc(c->in, cap);
				if (!n) {
					client_close(dm, c);
					return;
				}
				c->in = n;
				c->incap = cap;
			}
			ssize_t r = read(c->fd, c->in + c->inlen, c->incap - c->inlen);

			if (r > 0) {
				c->inlen += (size_t)r;
				continue;
			}
			if (r == 0) {
				process_requests(dm, c);
				c->closing = true;
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				client_close(dm, c);
				return;
			}
			break;
		}
		if (!c->closing)
			process_requests(dm, c);
	}
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		client_close(dm, c);
		return;
	}
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL);

		if (w > 0) {
			c->outoff += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			update_interest(dm, c);
			return;
		}
		client_close(dm, c);
		return;
	}
	if (c->out) {
		crypto_wipe(c->out, c->outlen);
		free(c->out);
		c->out = NULL;
		c->outlen = c->outoff = 0;
	}
	if (c->closing) {
		client_close(dm, c);
		return;
	}
	update_interest(dm, c);
}
