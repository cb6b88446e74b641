/* loop.c - weftd's event loop: epoll over the TUN, the UDP sockets, a
 * timerfd for protocol timers, a signalfd and the UAPI socket. Packets
 * move in batches: TUN reads and recvmmsg fill a batch, the core turns it
 * into output batches, sendmmsg and TUN writes drain them. */
#define _GNU_SOURCE
#include "daemon/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/offload.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "os/linux/clock.h"
#include "os/linux/env.h"
#include "os/linux/log.h"
#include "os/linux/unixsock.h"

enum loop_tag {
	TAG_TUN = 1,
	TAG_UDP4,
	TAG_UDP6,
	TAG_UAPI,
	TAG_TIMER,
	TAG_SIGNAL,
	TAG_WATCH_BASE = 32,
	TAG_CLIENT_BASE = 64,
};

static void op_udp_send(void *ctx, struct batch *b)
{
	struct daemon *dm = ctx;

	if (dm->udp_open)
		udp_send_batch(&dm->udp, b, &dm->udp_send_dropped);
	else
		dm->udp_send_dropped += b->n;
}

/* Write decrypted packets to the TUN: TCP segments of one flow go in as
 * one super-packet (one writev, no copy), the rest one by one. */
static void op_tun_write(void *ctx, struct batch *b)
{
	struct daemon *dm = ctx;
	struct iovec iov[1 + GRO_MAX_SEGS];

	if (!dm->tun_gro) {
		tun_write_batch(&dm->tun, b, &dm->tun_write_dropped);
		return;
	}
	offload_gro_plan(b, &dm->gro);
	for (unsigned u = 0; u < dm->gro.nunits; u++) {
		const struct gro_unit *unit = &dm->gro.unit[u];
		size_t n = gro_unit_iov(&dm->gro, u, b,
					(struct offload_iov *)(void *)(iov + 1),
					GRO_MAX_SEGS);

		iov[0].iov_base = (void *)&unit->hdr;
		iov[0].iov_len = sizeof(unit->hdr);
		if (!n || tun_writev(&dm->tun, iov, (int)(n + 1)) < 0)
			dm->tun_write_dropped += unit->count;
		else if (unit->count > 1)
			dm->tun_gro_units++;
	}
}

_Static_assert(sizeof(struct offload_iov) == sizeof(struct iovec) &&
	       offsetof(struct offload_iov, base) == offsetof(struct iovec, iov_base) &&
	       offsetof(struct offload_iov, len) == offsetof(struct iovec, iov_len),
	       "offload_iov must match struct iovec");

static int ep_add(struct daemon *dm, int fd, uint64_t tag, uint32_t events);

/* Mirror our receiver indices into the session filter. Should the kernel
 * map refuse one, data for it would die in the kernel: fall back to the
 * header filter for good. */
static void op_index_live(void *ctx, uint32_t index, bool live)
{
	struct daemon *dm = ctx;
	int err = udp_filter_index(&dm->filter, index, live);

	if (!err || !live)
		return;
	log_warn("session filter: cannot add a receiver index (%s); filtering by headers only from now on",
		 strerror(-err));
	daemon_filter_headers_only(dm);
}

void daemon_filter_headers_only(struct daemon *dm)
{
	if (!udp_filter_has_sessions(&dm->filter))
		return;
	udp_filter_close(&dm->filter);
	if (dm->udp_open)
		udp_use_header_filter(&dm->udp);
}

static void op_control_rx(void *ctx, const struct pkt *k,
			  enum device_control kind)
{
	struct daemon *dm = ctx;

	if (dm->hooks.control_rx)
		dm->hooks.control_rx(dm->hooks.ctx, k, kind);
}

void daemon_set_hooks(struct daemon *dm, const struct daemon_hooks *hooks)
{
	dm->hooks = *hooks;
	dm->dev.ops.control_rx = hooks->control_rx ? op_control_rx : NULL;
}

int daemon_watch(struct daemon *dm, int fd)
{
	for (int i = 0; i < DAEMON_WATCH_MAX; i++) {
		if (dm->watch_fds[i] >= 0)
			continue;
		int ret = ep_add(dm, fd, TAG_WATCH_BASE + (uint64_t)i, EPOLLIN);

		if (ret)
			return ret;
		dm->watch_fds[i] = fd;
		return 0;
	}
	return -ENOSPC;
}

void daemon_unwatch(struct daemon *dm, int fd)
{
	for (int i = 0; i < DAEMON_WATCH_MAX; i++) {
		if (dm->watch_fds[i] == fd) {
			epoll_ctl(dm->epfd, EPOLL_CTL_DEL, fd, NULL);
			dm->watch_fds[i] = -1;
		}
	}
}

void daemon_stop(struct daemon *dm, int status)
{
	dm->running = false;
	dm->exit_status = status;
}

static void op_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	crypto_random(buf, len);
}

static void op_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	(void)ctx;
	clock_tai64n(out);
}

static void op_wall(void *ctx, uint64_t *sec, uint64_t *nsec)
{
	(void)ctx;
	clock_wall(sec, nsec);
}

static int ep_add(struct daemon *dm, int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (epoll_ctl(dm->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int daemon_bind(struct daemon *dm, uint16_t port)
{
	struct udp next;
	int ret;

	if (dm->udp_open && port && port == dm->udp.port)
		return 0;
	if (dm->udp_open) {
		/* Release the old port first so "the same port again" and a
		 * swap to a port we hold both work. */
		if (dm->udp.fd4 >= 0)
			epoll_ctl(dm->epfd, EPOLL_CTL_DEL, dm->udp.fd4, NULL);
		if (dm->udp.fd6 >= 0)
			epoll_ctl(dm->epfd, EPOLL_CTL_DEL, dm->udp.fd6, NULL);
		udp_close(&dm->udp);
		dm->udp_open = false;
	}
	ret = udp_open_filtered(&next, port, dm->dev.fwmark, &dm->filter);
	if (ret < 0) {
		log_err("cannot bind UDP port %u: %s", port, strerror(-ret));
		return ret;
	}
	dm->udp = next;
	dm->udp_open = true;
	if (dm->udp.fd4 >= 0 && (ret = ep_add(dm, dm->udp.fd4, TAG_UDP4, EPOLLIN)))
		return ret;
	if (dm->udp.fd6 >= 0 && (ret = ep_add(dm, dm->udp.fd6, TAG_UDP6, EPOLLIN)))
		return ret;
	dm->dev.listen_port = dm->udp.port;
	log_info("listening on UDP port %u", dm->udp.port);
	return 0;
}

/* Test builds may shorten protocol times; never in normal use. */
static void apply_test_times(struct device *d)
{
	const struct {
		const char *env;
		wg_time_t *field;
	} knobs[] = {
		{ "WEFT_TEST_REKEY_AFTER_TIME", &d->times.rekey_after_time },
		{ "WEFT_TEST_REJECT_AFTER_TIME", &d->times.reject_after_time },
		{ "WEFT_TEST_REKEY_TIMEOUT", &d->times.rekey_timeout },
		{ "WEFT_TEST_KEEPALIVE_TIMEOUT", &d->times.keepalive_timeout },
	};

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		const char *v = getenv(knobs[i].env);
		char *end;
		unsigned long s;

		if (!v || !*v)
			continue;
		errno = 0;
		s = strtoul(v, &end, 10);
		if (errno || *end || s == 0 || s > 3600) {
			log_warn("ignoring %s=%s: expected seconds 1..3600",
				 knobs[i].env, v);
			continue;
		}
		*knobs[i].field = (wg_time_t)s * NSEC_PER_SEC;
		log_warn("test override: %s=%lu s", knobs[i].env, s);
	}
}

int daemon_init(struct daemon *dm, const char *ifname)
{
	return daemon_init_port(dm, ifname, 0);
}

int daemon_init_port(struct daemon *dm, const char *ifname, uint16_t port)
{
	return daemon_init_tun(dm, ifname, port, -1);
}

int daemon_init_tun(struct daemon *dm, const char *ifname, uint16_t port,
		    int tun_fd)
{
	struct device_ops ops = {
		.ctx = dm, .udp_send = op_udp_send, .tun_write = op_tun_write,
		.random = op_random, .tai64n = op_tai64n, .wall = op_wall,
		.index_live = op_index_live,
	};
	sigset_t mask;
	int ret;

	memset(dm, 0, sizeof(*dm));
	dm->tun.fd = dm->uapi_fd = dm->epfd = dm->timerfd = dm->sigfd = -1;
	dm->filter = UDP_FILTER_NONE;
	for (int i = 0; i < UAPI_MAX_CLIENTS; i++)
		dm->clients[i].fd = -1;
	for (int i = 0; i < DAEMON_WATCH_MAX; i++)
		dm->watch_fds[i] = -1;
	snprintf(dm->ifname, sizeof(dm->ifname), "%s", ifname);

	if (!uapi_ifname_valid(ifname)) {
		log_err("invalid interface name '%s': use 1-15 characters, no '/' or spaces",
			ifname);
		return -EINVAL;
	}
	if ((ret = pool_init(&dm->pool, POOL_PACKETS)) ||
	    (ret = device_init(&dm->dev, &ops, &dm->pool))) {
		log_err("out of memory");
		return ret;
	}
	apply_test_times(&dm->dev);
	/* Before any peer exists, so that no index goes unmirrored. */
	if (!env_switch(UDP_ENV_NO_FILTER) && !env_switch(UDP_ENV_NO_SESSION_FILTER) &&
	    (ret = udp_filter_open(&dm->filter)))
		log_info("session filter unavailable (%s): filtering by headers only",
			 strerror(-ret));

	ret = uapi_listen(ifname, dm->uapi_path, sizeof(dm->uapi_path));
	if (ret < 0) {
		if (ret == -EADDRINUSE)
			log_err("another daemon already serves %s (%s/%s%s)", ifname,
				UAPI_SOCK_DIR, ifname, UAPI_SOCK_SUFFIX);
		else
			log_err("cannot create the UAPI socket %s/%s%s: %s%s",
				UAPI_SOCK_DIR, ifname, UAPI_SOCK_SUFFIX,
				strerror(-ret),
				ret == -EACCES ? " (run as root)" : "");
		return ret;
	}
	dm->uapi_fd = ret;

	if (tun_fd >= 0) {
		ret = tun_adopt(&dm->tun, tun_fd);
		if (ret < 0) {
			log_err("the TUN descriptor handed over is not usable: %s",
				strerror(-ret));
			return ret;
		}
		snprintf(dm->tun.name, sizeof(dm->tun.name), "%s", ifname);
	} else {
		ret = tun_open_offload(&dm->tun, ifname, TUN_OFFLOAD_ALL);
	}
	if (ret < 0) {
		log_err("cannot create TUN interface %s: %s%s", ifname,
			strerror(-ret),
			ret == -EPERM || ret == -EACCES
				? " (run as root or with CAP_NET_ADMIN)"
			: ret == -ENOENT || ret == -ENODEV
				? " (is /dev/net/tun present? modprobe tun)"
				: "");
		return ret;
	}
	ret = tun_get_mtu(&dm->tun);
	if (ret > 0)
		dm->dev.mtu = (unsigned)ret;
	if (dm->tun.vnet_hdr) {
		dm->tun_gro = !env_switch("WEFT_NO_TUN_GRO");
		dm->tunbuf = malloc(TUN_RAW_MAX);
		if (!dm->tunbuf) {
			log_err("out of memory");
			return -ENOMEM;
		}
	}
	log_info("offloads: TUN %s%s%s%s", dm->tun.vnet_hdr ? "vnet_hdr" : "plain",
		 dm->tun.tso ? " TSO" : "", dm->tun.uso ? " USO" : "",
		 dm->tun_gro ? " GRO" : "");

	dm->epfd = epoll_create1(EPOLL_CLOEXEC);
	dm->timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	dm->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (dm->epfd < 0 || dm->timerfd < 0 || dm->sigfd < 0) {
		ret = -errno;
		log_err("cannot set up the event loop: %s", strerror(errno));
		return ret;
	}
	if ((ret = ep_add(dm, dm->tun.fd, TAG_TUN, EPOLLIN)) ||
	    (ret = ep_add(dm, dm->uapi_fd, TAG_UAPI, EPOLLIN)) ||
	    (ret = ep_add(dm, dm->timerfd, TAG_TIMER, EPOLLIN)) ||
	    (ret = ep_add(dm, dm->sigfd, TAG_SIGNAL, EPOLLIN))) {
		log_err("cannot set up the event loop: %s", strerror(-ret));
		return ret;
	}
	uapi_server_init(dm);
	/* Like wireguard-go: listen on a random port until told otherwise. */
	ret = daemon_bind(dm, port);
	if (ret < 0)
		return ret;
	log_info("interface %s is up (ChaCha20-Poly1305 from %s)", ifname,
		 aead_backend_name());
	return 0;
}

void daemon_destroy(struct daemon *dm)
{
	uapi_server_close_all(dm);
	if (dm->uapi_fd >= 0)
		uapi_unlisten(dm->uapi_fd, dm->uapi_path);
	device_destroy(&dm->dev);
	if (dm->udp_open)
		udp_close(&dm->udp);
	udp_filter_close(&dm->filter);
	tun_close(&dm->tun);
	free(dm->tunbuf);
	pool_destroy(&dm->pool);
	if (dm->epfd >= 0)
		close(dm->epfd);
	if (dm->timerfd >= 0)
		close(dm->timerfd);
	if (dm->sigfd >= 0)
		close(dm->sigfd);
}

static void rearm_timer(struct daemon *dm)
{
	wg_time_t next = device_next_deadline(&dm->dev);
	struct itimerspec its = { 0 };

	if (!next || (dm->next_housekeeping && dm->next_housekeeping < next))
		next = dm->next_housekeeping;
	if (dm->hooks.deadline && dm->hooks.deadline < next)
		next = dm->hooks.deadline;
	if (next == dm->timer_armed)
		return;
	dm->timer_armed = next;
	if (next) {
		its.it_value.tv_sec = (time_t)(next / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(next % NSEC_PER_SEC);
	}
	timerfd_settime(dm->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Once a second: pick up MTU changes made with `ip link set mtu`. */
static void housekeeping(struct daemon *dm, wg_time_t now)
{
	int mtu;

	if (dm->hooks.tick && ((dm->hooks.deadline && now >= dm->hooks.deadline) ||
			       now >= dm->next_housekeeping)) {
		dm->hooks.deadline = 0;
		dm->hooks.tick(dm->hooks.ctx, now);
	}
	if (now < dm->next_housekeeping)
		return;
	dm->next_housekeeping = now + NSEC_PER_SEC;
	mtu = tun_get_mtu(&dm->tun);
	if (mtu > 0 && (unsigned)mtu != dm->dev.mtu) {
		log_info("MTU is now %d", mtu);
		dm->dev.mtu = (unsigned)mtu;
	}
}

static void tun_gone(struct daemon *dm, int err)
{
	/* The interface was deleted (ip link del, wg-quick down): that is
	 * our signal to exit cleanly. */
	log_info("interface %s went away (%s), exiting", dm->ifname,
		 strerror(-err));
	dm->running = false;
}

/* vnet_hdr mode: each read is one (super-)packet; segment it in place of
 * the kernel and hand the device full batches. Only a read that fails
 * tells that the queue is empty, so after a quiet spell (sparse traffic:
 * a ping, a request) a turn reads one packet and leaves the rest to
 * epoll, which reports the descriptor again at once if more came: one
 * system call less per packet where latency matters, at most one
 * epoll_wait more when traffic picks up. */
static bool handle_tun_offload(struct daemon *dm)
{
	struct batch b = { 0 };
	wg_time_t now = clock_now();
	bool sparse = now - dm->tun_last_read > TUN_SPARSE_GAP_NS;
	unsigned reads, limit = sparse ? 1 : BATCHES_PER_TURN * 16;

	dm->tun_last_read = now;

	for (reads = 0; reads < limit; reads++) {
		struct virtio_net_hdr h;
		ssize_t n = tun_read_raw(&dm->tun, dm->tunbuf, TUN_RAW_MAX);

		if (n == -EAGAIN)
			break;
		if (n == -EMSGSIZE || (n >= 0 && n < (ssize_t)sizeof(h))) {
			dm->tun_read_dropped++;
			continue;
		}
		if (n < 0) {
			tun_gone(dm, (int)n);
			break;
		}
		memcpy(&h, dm->tunbuf, sizeof(h));
		for (int attempt = 0; attempt < 2; attempt++) {
			int r = offload_segment(dm->tunbuf + sizeof(h),
						(size_t)n - sizeof(h), &h, &dm->pool,
						&b, BATCH_MAX - b.n);

			if (r == -ENOBUFS && b.n) {
				/* Not enough room left: flush and retry. */
				device_tun_input(&dm->dev, &b, clock_now());
				continue;
			}
			if (r < 0)
				dm->tun_read_dropped++;
			break;
		}
		if (b.n >= BATCH_MAX / 2)
			device_tun_input(&dm->dev, &b, clock_now());
	}
	if (b.n)
		device_tun_input(&dm->dev, &b, clock_now());
	return reads == BATCHES_PER_TURN * 16;
}

static bool handle_tun(struct daemon *dm)
{
	struct batch b = { 0 };

	if (dm->tun.vnet_hdr)
		return handle_tun_offload(dm);
	for (int i = 0; i < BATCHES_PER_TURN; i++) {
		int n = tun_read_batch(&dm->tun, &dm->pool, &b, BATCH_MAX);

		if (n < 0) {
			tun_gone(dm, n);
			return false;
		}
		if (b.n)
			device_tun_input(&dm->dev, &b, clock_now());
		if (n < BATCH_MAX)
			return false;
	}
	return true;	/* more may be pending */
}

/* Datagrams of one family; with UDP GRO one read may bring many, and
 * segments that did not fit the batch wait in the socket's ring, where
 * epoll cannot see them: report them as work left over. A read that
 * found the queue empty ends the turn without another (empty) one. */
static bool handle_udp(struct daemon *dm, int which)
{
	struct batch b = { 0 };

	for (int i = 0; i < BATCHES_PER_TURN; i++) {
		int n = udp_recv(&dm->udp, which, &dm->pool, &b, BATCH_MAX);

		if (b.n)
			device_udp_input(&dm->dev, &b, clock_now());
		if ((n <= 0 && !udp_pending(&dm->udp, which)) ||
		    udp_drained(&dm->udp, which))
			return false;
	}
	return true;	/* budget used up: more may be waiting */
}

void daemon_log_counters(const struct daemon *dm)
{
	const struct device_counters *c = &dm->dev.counters;
	const struct {
		const char *name;
		uint64_t value;
	} rows[] = {
		{ "rx_bad_length", c->rx_bad_length },
		{ "rx_bad_type", c->rx_bad_type },
		{ "rx_bad_mac", c->rx_bad_mac },
		{ "rx_handshake_failed", c->rx_handshake_failed },
		{ "rx_handshake_ratelimited", c->rx_handshake_ratelimited },
		{ "rx_handshake_queue_full", c->rx_handshake_queue_full },
		{ "rx_cookie_sent", c->rx_cookie_sent },
		{ "rx_unknown_index", c->rx_unknown_index },
		{ "rx_bad_auth", c->rx_bad_auth },
		{ "rx_replay", c->rx_replay },
		{ "rx_expired_key", c->rx_expired_key },
		{ "rx_bad_inner", c->rx_bad_inner },
		{ "rx_spoofed_source", c->rx_spoofed_source },
		{ "tx_no_route", c->tx_no_route },
		{ "tx_no_endpoint", c->tx_no_endpoint },
		{ "tx_bad_packet", c->tx_bad_packet },
		{ "tx_staged_dropped", c->tx_staged_dropped },
		{ "pool_exhausted", c->pool_exhausted + dm->pool.exhausted },
		{ "tun_write_dropped", dm->tun_write_dropped },
		{ "udp_send_dropped", dm->udp_send_dropped },
		{ "tun_read_dropped", dm->tun_read_dropped },
		{ "tun_gro_units", dm->tun_gro_units },
		{ "rx_control", c->rx_control },
		{ "udp_socket_drops", dm->udp_open ? udp_socket_drops(&dm->udp) : 0 },
	};
	char line[1024];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int w = snprintf(line + len, sizeof(line) - len, " %s=%llu",
				 rows[i].name, (unsigned long long)rows[i].value);

		if (w < 0 || (size_t)w >= sizeof(line) - len)
			break;
		len += (size_t)w;
	}
	log_info("counters:%s", line);
}

static bool handle_signal(struct daemon *dm)
{
	struct signalfd_siginfo si;

	while (read(dm->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			daemon_log_counters(dm);
			continue;
		}
		log_info("received signal %u, shutting down", si.ssi_signo);
		dm->running = false;
	}
	return false;
}

int daemon_run(struct daemon *dm)
{
	struct epoll_event evs[16];
	bool busy = false;

	dm->running = true;
	dm->exit_status = 0;
	housekeeping(dm, clock_now());
	while (dm->running) {
		rearm_timer(dm);
		/* With work left over (a full budget, queued handshakes), only
		 * poll; otherwise sleep until something happens. */
		int n = epoll_wait(dm->epfd, evs, 16, busy ? 0 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			dm->exit_status = 1;
			break;
		}
		busy = (dm->udp_open && (udp_pending(&dm->udp, IP_V4) ||
					 udp_pending(&dm->udp, IP_V6)));
		if (busy) {
			busy = false;
			if (udp_pending(&dm->udp, IP_V4))
				busy |= handle_udp(dm, IP_V4);
			if (udp_pending(&dm->udp, IP_V6))
				busy |= handle_udp(dm, IP_V6);
		}
		for (int i = 0; i < n && dm->running; i++) {
			uint64_t tag = evs[i].data.u64;
			uint64_t expirations;

			switch (tag) {
			case TAG_TUN:
				busy |= handle_tun(dm);
				break;
			case TAG_UDP4:
				busy |= handle_udp(dm, IP_V4);
				break;
			case TAG_UDP6:
				busy |= handle_udp(dm, IP_V6);
				break;
			case TAG_UAPI:
				uapi_server_accept(dm);
				break;
			case TAG_TIMER:
				if (read(dm->timerfd, &expirations,
					 sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					log_warn("timerfd: %s", strerror(errno));
				dm->timer_armed = 0;
				break;
			case TAG_SIGNAL:
				handle_signal(dm);
				break;
			default:
				if (tag >= TAG_WATCH_BASE &&
				    tag < TAG_WATCH_BASE + DAEMON_WATCH_MAX) {
					int fd = dm->watch_fds[tag - TAG_WATCH_BASE];

					if (fd >= 0 && dm->hooks.fd_event)
						dm->hooks.fd_event(dm->hooks.ctx, fd,
								   evs[i].events);
					break;
				}
				if (tag >= TAG_CLIENT_BASE &&
				    tag < TAG_CLIENT_BASE + UAPI_MAX_CLIENTS)
					uapi_server_event(dm,
						&dm->clients[tag - TAG_CLIENT_BASE],
						evs[i].events);
				break;
			}
		}
		wg_time_t now = clock_now();

		if (device_handshake_pending(&dm->dev)) {
			device_handshake_work(&dm->dev, now);
			busy |= device_handshake_pending(&dm->dev);
		}
		if (device_next_deadline(&dm->dev) &&
		    device_next_deadline(&dm->dev) <= now)
			device_timers_run(&dm->dev, now);
		housekeeping(dm, now);
	}
	return dm->exit_status;
}
