/* os_smoke.c - the Linux OS layer alone (clock, log, TUN, UDP, UAPI socket,
 * and their offloads: TUN vnet header with TSO/USO, UDP GSO/GRO), as root
 * inside a network namespace of its own; os_smoke.sh runs it.
 * Usage: os_smoke TUN_NAME UAPI_NAME. One PASS/FAIL line per check. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "os/linux/clock.h"
#include "os/linux/log.h"
#include "os/linux/tun.h"
#include "os/linux/udp.h"
#include "os/linux/unixsock.h"

extern char **environ;

enum smoke_values {
	POOL_PKTS = 4 * BATCH_MAX,
	UDP_BURST = 64,		/* datagrams per family in the self test */
	PING_COUNT = 3,
	WAIT_MS = 10000,	/* bound on any single wait */
};

/* Datagrams between weft's sockets start like a WireGuard data message:
 * anything else dies in the sockets' filter (os/linux/udp_filter.h). */
static const uint8_t test_head[4] = { 4, 0, 0, 0 };

static const char tun_v4[] = "10.99.0.1", peer_v4[] = "10.99.0.2";
static const char tun_v6[] = "fd99::1", peer_v6[] = "fd99::2";
static const char lo_v6_extra[] = "fd98::7";	/* a second local v6 address */

static int failures, passes;
static struct pool pool;

__attribute__((format(printf, 2, 3)))
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passes++;
	else
		failures++;
	return ok;
}

__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint64_t now_ms(void)
{
	return clock_now() / NSEC_PER_MSEC;
}

static void batch_release(struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		pool_put(&pool, b->p[i]);
	b->n = 0;
}

/* ------------------------------------------------------------------ clock */

static uint64_t be64_load(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void test_clock(void)
{
	uint8_t ts[NOISE_TIMESTAMP_LEN];
	wg_time_t a, b;
	uint64_t sec, nsec, tai, tns;
	time_t t;

	a = clock_now();
	usleep(2000);
	b = clock_now();
	check(a > 0 && b - a >= 2 * NSEC_PER_MSEC && b - a < NSEC_PER_SEC,
	      "clock_now advances (%llu ns over a 2 ms sleep)",
	      (unsigned long long)(b - a));

	t = time(NULL);
	clock_wall(&sec, &nsec);
	check(sec + 2 >= (uint64_t)t && sec <= (uint64_t)t + 2 && nsec < NSEC_PER_SEC,
	      "clock_wall matches time()");

	clock_tai64n(ts);
	tai = be64_load(ts);
	tns = (uint64_t)ts[8] << 24 | ts[9] << 16 | ts[10] << 8 | ts[11];
	check(tai - (1ULL << 62) - 10 + 2 >= (uint64_t)t &&
	      tai - (1ULL << 62) - 10 <= (uint64_t)t + 2,
	      "clock_tai64n seconds are 2^62 + 10 + unix time");
	check(tns < NSEC_PER_SEC && (tns & ((1U << 24) - 1)) == 0,
	      "clock_tai64n nanoseconds rounded to 2^24 (%llu)",
	      (unsigned long long)tns);
}

/* -------------------------------------------------------------------- log */

static void test_log(void)
{
	struct log_ratelimit rl = { 0 };
	char out[8192];
	int pfd[2], saved, lines = 0;
	ssize_t len;
	wg_time_t t0 = 5 * NSEC_PER_SEC;

	if (pipe(pfd) != 0) {
		check(false, "log: pipe: %s", strerror(errno));
		return;
	}
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(pfd[1], STDERR_FILENO);
	close(pfd[1]);

	log_init("smk0", false, LOG_LEVEL_INFO);
	errno = EPIPE;
	log_info("hello %d", 42);
	check(errno == EPIPE, "log_info keeps errno");
	log_debug("not shown at info level");
	for (int i = 0; i < 25; i++)
		log_ratelimited(&rl, t0 + (uint64_t)i * NSEC_PER_MSEC, "packet %d", i);
	check(rl.printed == LOG_RATELIMIT_BURST && rl.suppressed == 15,
	      "log_ratelimited: 10 of 25 printed in one window (%u, %u)",
	      rl.printed, rl.suppressed);
	log_ratelimited(&rl, t0 + LOG_RATELIMIT_INTERVAL_SEC * NSEC_PER_SEC,
			"after the window");
	check(rl.printed == 1 && rl.suppressed == 0,
	      "log_ratelimited: a new window starts after 5 s");

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	out[len > 0 ? len : 0] = '\0';
	for (char *s = out; (s = strchr(s, '\n')); s++)
		lines++;
	check(strstr(out, "smk0: hello 42\n") != NULL, "log line has the ident prefix");
	check(strstr(out, "smk0: 15 messages suppressed\n") != NULL &&
	      strstr(out, "smk0: after the window\n") != NULL &&
	      strstr(out, "packet 9\n") && !strstr(out, "packet 10\n") &&
	      !strstr(out, "not shown"),
	      "log output: burst, then the suppressed count");
	check(lines == 1 + 10 + 2, "log output has %d lines (want 13)", lines);
	log_init("os_smoke", false, LOG_LEVEL_INFO);
}

/* --------------------------------------------------------------------- tun */

static void gso_plain_tun(struct tun *t);	/* with the offload tests */

static uint16_t csum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/* Turn an echo request to dst into its reply, in place. */
static bool icmp4_reply(uint8_t *p, size_t len, const struct in_addr *dst)
{
	size_t ihl, tot;

	if (len < 28 || p[0] >> 4 != 4)
		return false;
	ihl = (size_t)(p[0] & 15) * 4;
	tot = (size_t)p[2] << 8 | p[3];
	if (ihl < 20 || tot > len || tot < ihl + 8 || p[9] != IPPROTO_ICMP ||
	    p[ihl] != 8 || memcmp(p + 16, dst, 4) != 0)
		return false;
	swap_bytes(p + 12, p + 16, 4);
	p[8] = 64;
	put16(p + 10, 0);
	put16(p + 10, csum_finish(csum_add(0, p, ihl)));
	p[ihl] = 0;	/* echo reply */
	put16(p + ihl + 2, 0);
	put16(p + ihl + 2, csum_finish(csum_add(0, p + ihl, tot - ihl)));
	return true;
}

static bool icmp6_reply(uint8_t *p, size_t len, const struct in6_addr *dst)
{
	uint8_t pseudo[40] = { 0 };
	size_t plen;
	uint32_t sum;

	if (len < 48 || p[0] >> 4 != 6 || p[6] != IPPROTO_ICMPV6)
		return false;
	plen = (size_t)p[4] << 8 | p[5];
	if (40 + plen > len || plen < 8 || p[40] != 128 ||
	    memcmp(p + 24, dst, 16) != 0)
		return false;
	swap_bytes(p + 8, p + 24, 16);
	p[7] = 64;
	p[40] = 129;	/* echo reply */
	put16(p + 42, 0);
	memcpy(pseudo, p + 8, 32);
	put16(pseudo + 34, (uint16_t)plen);
	pseudo[39] = IPPROTO_ICMPV6;
	sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), p + 40, plen);
	put16(p + 42, csum_finish(sum));
	return true;
}

static pid_t spawn_quiet(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return err ? -1 : pid;
}

/* Wait for pid within the deadline; its exit status, or -1 (killed). */
static int reap(pid_t pid, uint64_t deadline)
{
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Ping dst through the TUN and answer every echo request from here. */
static void ping_through(struct tun *t, int family, const char *dst)
{
	char count[8];
	char *argv[] = { "ping", family == 6 ? "-6" : "-4", "-n", "-q", "-c", count,
			 "-i", "0.2", "-W", "2", (char *)dst, NULL };
	union { struct in_addr a4; struct in6_addr a6; } want;
	uint64_t deadline = now_ms() + WAIT_MS, dropped = 0;
	unsigned requests = 0, replies = 0, bad_off = 0;
	pid_t pid;
	int st = -1, r;

	snprintf(count, sizeof(count), "%d", PING_COUNT);
	inet_pton(family == 6 ? AF_INET6 : AF_INET, dst, &want);
	pid = spawn_quiet(argv);
	if (!check(pid > 0, "spawn ping %s", dst))
		return;
	for (;;) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		struct batch in = { 0 }, out = { 0 };

		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		poll(&pfd, 1, 50);
		r = tun_read_batch(t, &pool, &in, BATCH_MAX);
		if (r < 0) {
			check(false, "tun_read_batch: %s", strerror(-r));
			break;
		}
		for (unsigned i = 0; i < in.n; i++) {
			struct pkt *p = in.p[i];
			bool ok = family == 6 ? icmp6_reply(pkt_data(p), p->len, &want.a6)
					      : icmp4_reply(pkt_data(p), p->len, &want.a4);

			if (p->off != PKT_HEADROOM)
				bad_off++;
			if (ok) {
				requests++;
				out.p[out.n++] = p;
			}
		}
		replies += (unsigned)tun_write_batch(t, &out, &dropped);
		batch_release(&in);	/* out only borrowed from in */
	}
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && requests >= PING_COUNT &&
	      replies == requests && dropped == 0 && bad_off == 0,
	      "ping %s through the TUN: %u requests read, %u replies written, "
	      "ping %s", dst, requests, replies,
	      WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "succeeded" : "failed");
}

/* A packet larger than the read buffer must be dropped, not delivered
 * truncated. */
static void oversize_read(struct tun *t)
{
	char *argv[] = { "ping", "-4", "-n", "-q", "-c", "1", "-W", "1", "-M", "dont",
			 "-s", "9200", (char *)peer_v4, NULL };
	uint64_t before = t->rx_dropped, deadline = now_ms() + 3000;
	unsigned delivered_big = 0;
	pid_t pid;

	if (run("ip link set %s mtu 9500", t->name) != 0) {
		check(false, "raise MTU to 9500 with ip(8)");
		return;
	}
	pid = spawn_quiet(argv);
	while (pid > 0 && t->rx_dropped == before && now_ms() < deadline) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		struct batch in = { 0 };

		poll(&pfd, 1, 50);
		if (tun_read_batch(t, &pool, &in, BATCH_MAX) > 0)
			for (unsigned i = 0; i < in.n; i++)
				delivered_big += in.p[i]->len > WG_MAX_MTU;
		batch_release(&in);
	}
	if (pid > 0)
		reap(pid, now_ms() + 3000);
	check(t->rx_dropped > before && delivered_big == 0,
	      "a 9228-byte packet is dropped by tun_read_batch (rx_dropped %llu)",
	      (unsigned long long)t->rx_dropped);
	if (run("ip link set %s mtu 1420", t->name) != 0)
		check(false, "restore MTU with ip(8)");
}

static int if_flags(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 ? ifr.ifr_flags : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

static void test_tun_misc(struct tun *t)
{
	struct tun t2;
	struct batch b = { 0 };
	uint64_t dropped = 0;
	int fd, r, sock;

	/* adopt: a dup of our fd is the same device */
	fd = dup(t->fd);
	r = tun_adopt(&t2, fd);
	check(r == 0 && t2.ifindex == t->ifindex && strcmp(t2.name, t->name) == 0 &&
	      (fcntl(t2.fd, F_GETFL) & O_NONBLOCK) && (fcntl(t2.fd, F_GETFD) & FD_CLOEXEC),
	      "tun_adopt of a dup'ed fd: %d, %s ifindex %d", r, t2.name, t2.ifindex);
	if (r == 0)
		tun_close(&t2);
	else
		close(fd);

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = tun_adopt(&t2, sock);
	check(r == -EINVAL && fcntl(sock, F_GETFD) >= 0,
	      "tun_adopt refuses a non-TUN fd and leaves it open (%d)", r);
	close(sock);

	/* a packet the kernel refuses is counted, not fatal */
	b.p[0] = pool_get(&pool);
	b.p[0]->off = PKT_HEADROOM;
	b.p[0]->len = 1;
	pkt_data(b.p[0])[0] = 0x00;	/* neither IPv4 nor IPv6 */
	b.n = 1;
	r = tun_write_batch(t, &b, &dropped);
	check(r == 0 && dropped == 1, "tun_write_batch counts a refused packet (%d, %llu)",
	      r, (unsigned long long)dropped);
	batch_release(&b);

	r = tun_set_mtu(t, WG_MAX_MTU + 1);
	check(r == -EINVAL, "tun_set_mtu refuses more than WG_MAX_MTU");
}

static void test_tun(const char *name)
{
	struct tun t;
	int r, flags;

	r = tun_open(&t, name);
	if (!check(r == 0, "tun_open(%s): %s", name, r ? strerror(-r) : "ok"))
		return;
	check(t.fd >= 0 && strcmp(t.name, name) == 0 &&
	      t.ifindex == (int)if_nametoindex(name) && t.ifindex > 0,
	      "tun name %s, ifindex %d", t.name, t.ifindex);
	check((fcntl(t.fd, F_GETFL) & O_NONBLOCK) && (fcntl(t.fd, F_GETFD) & FD_CLOEXEC),
	      "tun fd is non-blocking and close-on-exec");
	r = tun_get_mtu(&t);
	check(r == WG_DEFAULT_MTU, "MTU on creation is %d (%d)", WG_DEFAULT_MTU, r);
	r = tun_set_mtu(&t, 1380);
	check(r == 0 && tun_get_mtu(&t) == 1380, "tun_set_mtu 1380");
	r = tun_set_up(&t, true);
	flags = if_flags(name);
	check(r == 0 && flags >= 0 && (flags & IFF_UP), "tun_set_up(true)");

	if (run("ip addr add %s/24 dev %s", tun_v4, name) != 0 ||
	    run("ip -6 addr add %s/64 dev %s nodad", tun_v6, name) != 0) {
		check(false, "add addresses with ip(8)");
	} else {
		ping_through(&t, 4, peer_v4);
		ping_through(&t, 6, peer_v6);
		oversize_read(&t);
		gso_plain_tun(&t);
	}
	test_tun_misc(&t);

	r = tun_set_up(&t, false);
	flags = if_flags(name);
	check(r == 0 && flags >= 0 && !(flags & IFF_UP), "tun_set_up(false)");
	tun_close(&t);
	check(t.fd == -1 && if_nametoindex(name) == 0, "tun_close removes the device");
}

/* --------------------------------------------------------------------- udp */

static int get_int(int fd, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	return getsockopt(fd, level, opt, &v, &l) == 0 ? v : -1;
}

static void set_ep(struct wg_endpoint *ep, int family, const char *addr,
		   uint16_t port, const char *src)
{
	int af = family == IP_V6 ? AF_INET6 : AF_INET;

	memset(ep, 0, sizeof(*ep));
	ep->family = (uint8_t)family;
	ep->port = port;
	inet_pton(af, addr, ep->addr);
	if (src) {
		ep->src_family = (uint8_t)family;
		inet_pton(af, src, ep->src_addr);
	}
}

static bool addr_is(const uint8_t *a, int family, const char *s)
{
	uint8_t b[16];

	inet_pton(family == IP_V6 ? AF_INET6 : AF_INET, s, b);
	return memcmp(a, b, family == IP_V6 ? 16 : 4) == 0;
}

/* Receive want datagrams from fd within the deadline into b (appended,
 * at most BATCH_MAX). */
static int recv_some(int fd, struct batch *b, unsigned want)
{
	uint64_t deadline = now_ms() + 3000;

	while (b->n < want && now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r;

		poll(&pfd, 1, 50);
		r = udp_recv_batch(fd, &pool, b, want - b->n);
		if (r < 0)
			return r;
	}
	return (int)b->n;
}

/* UDP_BURST datagrams from the socket to itself over local, half of them
 * from the sticky source alt; check what arrives. */
static void self_burst(struct udp *u, int family, const char *local,
		       const char *alt)
{
	int fd = family == IP_V6 ? u->fd6 : u->fd4;
	unsigned lo = if_nametoindex("lo"), bad = 0, seen_alt = 0;
	uint8_t seen[UDP_BURST] = { 0 };
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	int r;

	for (unsigned i = 0; i < UDP_BURST; i++) {
		struct pkt *p = pool_get(&pool);

		p->off = 0;
		p->len = 20 + i * 13;
		memset(p->buf, (int)i, p->len);
		memcpy(p->buf, test_head, sizeof(test_head));
		p->buf[4] = (uint8_t)i;
		set_ep(&p->ep, family, local, u->port, i & 1 ? alt : NULL);
		b.p[b.n++] = p;
	}
	r = udp_send_batch(u, &b, &dropped);
	check(r == UDP_BURST && dropped == 0, "udp_send_batch %d datagrams to %s (%d sent, %llu dropped)",
	      UDP_BURST, local, r, (unsigned long long)dropped);
	for (unsigned i = 0; i < b.n; i++)
		bad += b.p[i]->ep.src_family != (i & 1 ? family : 0);
	check(bad == 0, "valid sticky sources are kept");
	batch_release(&b);

	r = recv_some(fd, &rx, UDP_BURST);
	check(r == UDP_BURST, "udp_recv_batch got %d of %d over %s", r, UDP_BURST, local);
	bad = 0;
	for (unsigned i = 0; i < rx.n; i++) {
		struct pkt *p = rx.p[i];
		unsigned k = p->buf[4];
		bool from_alt = addr_is(p->ep.addr, family, alt);

		if (p->off != 0 || k >= UDP_BURST || seen[k] || p->len != 20 + k * 13 ||
		    memcmp(p->buf, test_head, sizeof(test_head)) != 0 || p->ep.family != family ||
		    p->ep.port != u->port || from_alt != (bool)(k & 1) ||
		    (!from_alt && !addr_is(p->ep.addr, family, local)) ||
		    p->ep.src_family != family || !addr_is(p->ep.src_addr, family, local) ||
		    p->ep.src_ifindex != lo || p->ep.scope_id != 0)
			bad++;
		if (k < UDP_BURST)
			seen[k] = 1;
		seen_alt += from_alt;
	}
	check(bad == 0 && seen_alt == UDP_BURST / 2,
	      "received endpoints: source %s or %s (sticky), port %u, local %s on lo "
	      "(%u bad)", local, alt, u->port, local, bad);
	batch_release(&rx);
}

/* A sticky source that is not ours: the kernel refuses it; the send is
 * retried without it and the packet's source is cleared. */
static void stale_source(struct udp *u, int family, const char *local,
			 const char *gone)
{
	int fd = family == IP_V6 ? u->fd6 : u->fd4;
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	int r;

	b.p[0] = pool_get(&pool);
	b.p[0]->len = 32;
	memset(b.p[0]->buf, 0x5a, 32);
	memcpy(b.p[0]->buf, test_head, sizeof(test_head));
	set_ep(&b.p[0]->ep, family, local, u->port, gone);
	b.n = 1;
	r = udp_send_batch(u, &b, &dropped);
	check(r == 1 && dropped == 0 && b.p[0]->ep.src_family == 0,
	      "stale source %s: sent without it and cleared (%d, %llu)", gone, r,
	      (unsigned long long)dropped);
	batch_release(&b);
	r = recv_some(fd, &rx, 1);
	check(r == 1 && addr_is(rx.p[0]->ep.addr, family, local),
	      "  ... and it arrived from %s", local);
	batch_release(&rx);
}

static void test_udp(void)
{
	struct udp u, u2;
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	int r;

	r = udp_open(&u, 0, 0x1234);
	if (!check(r == 0 && u.port != 0 && u.fd4 >= 0, "udp_open port 0: %d, port %u",
		   r, u.port))
		return;
	check(u.fd6 >= 0, "IPv6 socket open");
	check(get_int(u.fd4, SOL_SOCKET, SO_MARK) == 0x1234 &&
	      (u.fd6 < 0 || get_int(u.fd6, SOL_SOCKET, SO_MARK) == 0x1234),
	      "fwmark 0x1234 applied (SO_MARK)");
	r = udp_set_fwmark(&u, 0x4321);
	check(r == 0 && u.fwmark == 0x4321 &&
	      get_int(u.fd4, SOL_SOCKET, SO_MARK) == 0x4321 &&
	      (u.fd6 < 0 || get_int(u.fd6, SOL_SOCKET, SO_MARK) == 0x4321),
	      "udp_set_fwmark 0x4321");
	check(get_int(u.fd4, IPPROTO_IP, IP_MTU_DISCOVER) == IP_PMTUDISC_DONT,
	      "IPv4 socket does not set DF");
	check(u.fd6 < 0 || get_int(u.fd6, IPPROTO_IPV6, IPV6_V6ONLY) == 1,
	      "IPv6 socket is v6-only");
	check(get_int(u.fd4, SOL_SOCKET, SO_RCVBUF) >= UDP_SOCKET_BUFFER &&
	      get_int(u.fd4, SOL_SOCKET, SO_SNDBUF) >= UDP_SOCKET_BUFFER,
	      "large socket buffers (rcv %d)", get_int(u.fd4, SOL_SOCKET, SO_RCVBUF));
	check((fcntl(u.fd4, F_GETFL) & O_NONBLOCK) && (fcntl(u.fd4, F_GETFD) & FD_CLOEXEC),
	      "UDP socket is non-blocking and close-on-exec");

	r = udp_open(&u2, u.port, 0);
	check(r == -EADDRINUSE && u2.fd4 == -1 && u2.fd6 == -1,
	      "a second udp_open on port %u: EADDRINUSE (%d)", u.port, r);
	r = udp_open(&u2, 0, 0);
	check(r == 0 && u2.port != u.port, "another udp_open on port 0 gets another port");
	if (r == 0)
		udp_close(&u2);

	r = udp_recv_batch(u.fd4, &pool, &rx, BATCH_MAX);
	check(r == 0 && rx.n == 0, "udp_recv_batch with nothing pending: 0");

	self_burst(&u, IP_V4, "127.0.0.1", "127.0.0.2");
	stale_source(&u, IP_V4, "127.0.0.1", "192.0.2.77");
	if (u.fd6 >= 0) {
		if (run("ip -6 addr add %s/128 dev lo nodad", lo_v6_extra) != 0)
			check(false, "add %s to lo", lo_v6_extra);
		self_burst(&u, IP_V6, "::1", lo_v6_extra);
		stale_source(&u, IP_V6, "::1", "2001:db8::77");
	}

	/* one of each: v4, v6, no endpoint, unreachable */
	for (unsigned i = 0; i < 4; i++) {
		b.p[i] = pool_get(&pool);
		b.p[i]->len = 8;
		memset(b.p[i]->buf, 1, 8);
		memcpy(b.p[i]->buf, test_head, sizeof(test_head));
	}
	set_ep(&b.p[0]->ep, IP_V6, "::1", u.port, NULL);
	set_ep(&b.p[1]->ep, IP_V4, "127.0.0.1", u.port, NULL);
	memset(&b.p[2]->ep, 0, sizeof(b.p[2]->ep));
	set_ep(&b.p[3]->ep, IP_V4, "203.0.113.9", 9, NULL);	/* no route here */
	b.n = 4;
	r = udp_send_batch(&u, &b, &dropped);
	check(r == (u.fd6 >= 0 ? 2 : 1) && dropped == (u.fd6 >= 0 ? 2u : 3u),
	      "mixed batch: %d sent, %llu dropped (no endpoint, no route)", r,
	      (unsigned long long)dropped);
	batch_release(&b);
	r = recv_some(u.fd4, &rx, 1);
	if (u.fd6 >= 0)
		r += recv_some(u.fd6, &rx, 2) - 1;
	check(r == (u.fd6 >= 0 ? 2 : 1), "  ... both families delivered");
	batch_release(&rx);

	udp_close(&u);
	check(u.fd4 == -1 && u.fd6 == -1, "udp_close");
}

/* ----------------------------------------------------------------- offload */

static const char off_name_suffix[] = "o";
static const char off_v4[] = "10.98.0.1", off_peer_v4[] = "10.98.0.2";
static const char off_v6[] = "fd97::1", off_peer_v6[] = "fd97::2";

enum offload_test_values {
	VNET_F_NEEDS_CSUM = 1,
	VNET_GSO_NONE = 0,
	VNET_GSO_TCPV4 = 1,
	VNET_GSO_UDP_L4 = 5,
	TCP_PEER_PORT = 5555,
	TCP_SEND_BYTES = 200 * 1000,
	TSO_MSS = WG_DEFAULT_MTU - 40,	/* what the SYN-ACK offers: 1380 */
	SERVER_ISN = 0x10000000,
	GRO_WRITE_SEGS = 3,
	USO_PORT = 7777,
	USO_SEG = 1000,
	USO_SEGS = 20,
	FALLBACK_PORT = 9999,
	FALLBACK_LEN = 500,
	FALLBACK_PKTS = 8,
	GSO_EQUAL_LEN = 1000,	/* 64 of them: one GSO message, 64000 bytes */
};

#if defined(__x86_64__)
#define SMOKE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SMOKE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SMOKE_AUDIT_ARCH AUDIT_ARCH_I386
#else
#define SMOKE_AUDIT_ARCH 0	/* the filter never matches: the check fails */
#endif

static bool host_le(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

/* One TUN read: header and packet; big enough for any super-packet. */
static uint8_t raw[TUN_RAW_MAX];

struct vnet {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void vnet_load(struct vnet *h, const uint8_t *p)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = (uint16_t)(p[2] | p[3] << 8);
	h->gso_size = (uint16_t)(p[4] | p[5] << 8);
	h->csum_start = (uint16_t)(p[6] | p[7] << 8);
	h->csum_offset = (uint16_t)(p[8] | p[9] << 8);
}

static void vnet_store(uint8_t *p, const struct vnet *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	p[2] = (uint8_t)h->hdr_len;
	p[3] = (uint8_t)(h->hdr_len >> 8);
	p[4] = (uint8_t)h->gso_size;
	p[5] = (uint8_t)(h->gso_size >> 8);
	p[6] = (uint8_t)h->csum_start;
	p[7] = (uint8_t)(h->csum_start >> 8);
	p[8] = (uint8_t)h->csum_offset;
	p[9] = (uint8_t)(h->csum_offset >> 8);
}

/* The IPv4 pseudo-header sum for an L4 segment of len bytes. */
static uint32_t pseudo4(const uint8_t *ip, uint8_t proto, size_t len)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return csum_add(0, ph, sizeof(ph));
}

/* An IPv4 TCP or UDP packet, as far as these tests look at it. */
struct l4v4 {
	const uint8_t *ip, *l4;
	size_t tot, l4len, hlen;	/* hlen: IP + TCP/UDP header */
	uint8_t proto, tcp_flags;
	uint16_t sport, dport;
	uint32_t seq, ack;
};

static bool l4v4_parse(const uint8_t *p, size_t len, struct l4v4 *s)
{
	size_t ihl;

	if (len < 28 || p[0] >> 4 != 4)
		return false;
	ihl = (size_t)(p[0] & 15) * 4;
	s->tot = get16(p + 2);
	s->proto = p[9];
	if (ihl < 20 || s->tot > len || s->tot < ihl + 8 ||
	    (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP))
		return false;
	s->ip = p;
	s->l4 = p + ihl;
	s->l4len = s->tot - ihl;
	s->sport = get16(s->l4);
	s->dport = get16(s->l4 + 2);
	s->hlen = ihl + 8;
	s->tcp_flags = 0;
	s->seq = s->ack = 0;
	if (s->proto == IPPROTO_TCP) {
		size_t doff;

		if (s->l4len < 20)
			return false;
		doff = (size_t)(s->l4[12] >> 4) * 4;
		if (doff < 20 || doff > s->l4len)
			return false;
		s->hlen = ihl + doff;
		s->seq = get32(s->l4 + 4);
		s->ack = get32(s->l4 + 8);
		s->tcp_flags = s->l4[13];
	}
	return true;
}

static bool l4v4_csum_ok(const struct l4v4 *s)
{
	return csum_finish(csum_add(pseudo4(s->ip, s->proto, s->l4len), s->l4,
				    s->l4len)) == 0;
}

/* Read raw units until match accepts one (header in *h, packet in *s)
 * or the deadline passes. */
static bool raw_wait(struct tun *t, unsigned ms, struct vnet *h, struct l4v4 *s,
		     bool (*match)(const struct l4v4 *, const struct vnet *, void *),
		     void *arg)
{
	uint64_t deadline = now_ms() + ms;

	while (now_ms() < deadline) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		ssize_t r = tun_read_raw(t, raw, sizeof(raw));

		if (r == -EAGAIN) {
			poll(&pfd, 1, 20);
			continue;
		}
		if (r < 0) {
			check(false, "tun_read_raw: %s", strerror((int)-r));
			return false;
		}
		if (r < TUN_VNET_HDR_LEN)
			continue;
		vnet_load(h, raw);
		if (l4v4_parse(raw + TUN_VNET_HDR_LEN, (size_t)r - TUN_VNET_HDR_LEN, s) &&
		    match(s, h, arg))
			return true;
	}
	return false;
}

static bool is_syn_from(const struct l4v4 *s, const struct vnet *h, void *arg)
{
	(void)h;
	return s->proto == IPPROTO_TCP && s->sport == *(uint16_t *)arg &&
	       (s->tcp_flags & 0x12) == 0x02;
}

static bool is_tso_from(const struct l4v4 *s, const struct vnet *h, void *arg)
{
	return s->proto == IPPROTO_TCP && s->sport == *(uint16_t *)arg &&
	       h->gso_type != VNET_GSO_NONE;
}

static bool is_udp_to(const struct l4v4 *s, const struct vnet *h, void *arg)
{
	(void)h;
	return s->proto == IPPROTO_UDP && s->dport == *(uint16_t *)arg;
}

static int tcp_connect(const char *dst, uint16_t *sport)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TCP_PEER_PORT) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, dst, &a.sin_addr);
	if (fd < 0)
		return -1;
	if ((connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*sport = ntohs(a.sin_port);
	return fd;
}

/* The peer's TCP segment to the client described by syn (addresses and
 * ports swapped) into ip[0..20+20+opt+payload); returns its length. With
 * partial, the checksum is left as the pseudo-header sum (NEEDS_CSUM). */
static size_t tcp_reply(uint8_t *ip, const struct l4v4 *syn, uint8_t flags,
			uint32_t seq, uint32_t ack, const uint8_t *opt, size_t optlen,
			size_t payload, bool partial)
{
	uint8_t *tcp = ip + 20;
	size_t l4len = 20 + optlen + payload, tot = 20 + l4len;
	uint32_t sum;

	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, syn->ip + 16, 4);
	memcpy(ip + 16, syn->ip + 12, 4);
	put16(ip + 10, csum_finish(csum_add(0, ip, 20)));
	put16(tcp, syn->dport);
	put16(tcp + 2, syn->sport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((20 + optlen) / 4 << 4);
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (optlen)
		memcpy(tcp + 20, opt, optlen);
	sum = pseudo4(ip, IPPROTO_TCP, l4len);
	if (partial) {
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(tcp + 16, (uint16_t)sum);
	} else {
		put16(tcp + 16, csum_finish(csum_add(sum, tcp, l4len)));
	}
	return tot;
}

/* A TCP connection into the offload TUN, the peer played from here: the
 * SYN (read raw and through tun_read_batch), a SYN-ACK written with
 * tun_writev, TSO super-packets read raw, and a GRO super-packet written
 * back that the client's socket must receive whole. */
static void tcp_offload(struct tun *t)
{
	static uint8_t data[TCP_SEND_BYTES];
	uint8_t zero[TUN_VNET_HDR_LEN] = { 0 }, hdr[TUN_VNET_HDR_LEN], ip[60];
	uint8_t payload[GRO_WRITE_SEGS * TSO_MSS], got[sizeof(payload) + 1];
	const uint8_t mss_opt[4] = { 2, 4, TSO_MSS >> 8, TSO_MSS & 0xff };
	struct vnet h, gro;
	struct l4v4 syn, seg;
	struct batch in = { 0 };
	struct iovec iov[3];
	uint64_t deadline, offload_drops = t->rx_offload_dropped;
	uint16_t sport, sport2;
	size_t len, sent = 0, n = 0;
	int c, c2, r, err = -1;
	socklen_t elen = sizeof(err);
	bool csum_ok = false, seen2 = false, found;

	c = tcp_connect(off_peer_v4, &sport);
	if (!check(c >= 0, "TCP connect to %s (non-blocking)", off_peer_v4))
		return;
	if (!check(raw_wait(t, 3000, &h, &syn, is_syn_from, &sport),
		   "tun_read_raw: the SYN from port %u", sport)) {
		close(c);
		return;
	}
	check(h.gso_type == VNET_GSO_NONE,
	      "  ... its virtio header: gso_type NONE (flags %#x%s)", h.flags,
	      h.flags & VNET_F_NEEDS_CSUM ? ": NEEDS_CSUM" : "");

	/* A second SYN through tun_read_batch: header stripped, checksum
	 * completed if the kernel left it to us. */
	c2 = tcp_connect(off_peer_v4, &sport2);
	deadline = now_ms() + 3000;
	while (c2 >= 0 && !seen2 && now_ms() < deadline) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

		poll(&pfd, 1, 20);
		r = tun_read_batch(t, &pool, &in, BATCH_MAX);
		for (unsigned i = 0; r > 0 && i < in.n; i++) {
			struct l4v4 s2;

			if (l4v4_parse(pkt_data(in.p[i]), in.p[i]->len, &s2) &&
			    s2.proto == IPPROTO_TCP && s2.sport == sport2 && !seen2) {
				seen2 = true;
				csum_ok = in.p[i]->off == PKT_HEADROOM && l4v4_csum_ok(&s2);
			}
		}
		batch_release(&in);
	}
	check(seen2 && csum_ok && t->rx_offload_dropped == offload_drops,
	      "tun_read_batch in offload mode: a SYN with a valid TCP checksum");
	if (c2 >= 0)
		close(c2);

	/* SYN-ACK with MSS 1380: header, IP+TCP in two pieces. */
	len = tcp_reply(ip, &syn, 0x12, SERVER_ISN, syn.seq + 1, mss_opt,
			sizeof(mss_opt), 0, false);
	iov[0] = (struct iovec){ zero, sizeof(zero) };
	iov[1] = (struct iovec){ ip, 20 };
	iov[2] = (struct iovec){ ip + 20, len - 20 };
	r = tun_writev(t, iov, 3);
	check(r == (int)(sizeof(zero) + len), "tun_writev: a SYN-ACK in three pieces (%d)", r);
	deadline = now_ms() + 3000;
	while (now_ms() < deadline) {
		struct pollfd pfd = { .fd = c, .events = POLLOUT };

		if (poll(&pfd, 1, 50) == 1)
			break;
	}
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (!check(err == 0, "  ... and the client is connected (%s)", strerror(err))) {
		close(c);
		return;
	}

	memset(data, 0x5a, sizeof(data));
	while (sent < sizeof(data)) {
		ssize_t w = send(c, data + sent, sizeof(data) - sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	found = raw_wait(t, 3000, &h, &seg, is_tso_from, &sport);
	check(found && h.gso_type == VNET_GSO_TCPV4 && h.gso_size == TSO_MSS &&
	      seg.tot - seg.hlen > TSO_MSS && (h.flags & VNET_F_NEEDS_CSUM) &&
	      h.csum_start == 20 && h.csum_offset == 16,
	      "TSO: after sending %zu bytes, a super-packet with gso_type TCPV4 "
	      "(%u), gso_size %u, %zu payload bytes, csum %u+%u", sent, h.gso_type,
	      h.gso_size, seg.tot - seg.hlen, h.csum_start, h.csum_offset);

	/* GRO: three segments of payload as one super-packet. */
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	len = tcp_reply(ip, &syn, 0x18, SERVER_ISN + 1, syn.seq + 1, NULL, 0,
			sizeof(payload), true);
	gro = (struct vnet){ .flags = VNET_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
			     .hdr_len = 40, .gso_size = TSO_MSS, .csum_start = 20,
			     .csum_offset = 16 };
	vnet_store(hdr, &gro);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ ip, 40 };
	iov[2] = (struct iovec){ payload, sizeof(payload) };
	r = tun_writev(t, iov, 3);
	check(r == (int)(sizeof(hdr) + len),
	      "tun_writev: a TCP super-packet of %d segments (%d)", GRO_WRITE_SEGS, r);
	deadline = now_ms() + 3000;
	while (n < sizeof(got) && now_ms() < deadline) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		ssize_t g;

		poll(&pfd, 1, 50);
		g = recv(c, got + n, sizeof(got) - n, MSG_DONTWAIT);
		if (g > 0)
			n += (size_t)g;
		else if (g == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		else if (n == sizeof(payload))
			break;
	}
	check(n == sizeof(payload) && memcmp(got, payload, n) == 0,
	      "  ... and the client's socket received its %zu bytes (%zu)",
	      sizeof(payload), n);
	close(c);
}

/* UDP_SEGMENT from an ordinary socket into the offload TUN: with USO one
 * super-packet; tun_read_batch drops (and counts) such a read. */
static void uso_read(struct tun *t)
{
	static uint8_t buf[USO_SEGS * USO_SEG];
	union { char b[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr a; } ctl;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(USO_PORT) };
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_name = &dst, .msg_namelen = sizeof(dst),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	uint16_t seg = USO_SEG, port = USO_PORT;
	uint64_t drops = t->rx_offload_dropped, deadline;
	struct vnet h;
	struct l4v4 s;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	ssize_t w;
	bool found;

	inet_pton(AF_INET, off_peer_v4, &dst.sin_addr);
	memset(buf, 0xa5, sizeof(buf));
	memset(&ctl, 0, sizeof(ctl));
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
	w = fd >= 0 ? sendmsg(fd, &mh, 0) : -1;
	if (!check(w == (ssize_t)sizeof(buf), "UDP_SEGMENT send of %d x %d bytes to %s (%s)",
		   USO_SEGS, USO_SEG, off_peer_v4, w < 0 ? strerror(errno) : "ok")) {
		if (fd >= 0)
			close(fd);
		return;
	}
	found = raw_wait(t, 3000, &h, &s, is_udp_to, &port);
	if (t->uso)
		check(found && h.gso_type == VNET_GSO_UDP_L4 && h.gso_size == USO_SEG &&
		      s.tot == 28 + sizeof(buf),
		      "USO: one super-packet, gso_type UDP_L4 (%u), gso_size %u, %zu bytes",
		      h.gso_type, h.gso_size, s.tot);
	else
		check(found && h.gso_type == VNET_GSO_NONE && s.tot == 28 + USO_SEG,
		      "no USO: the kernel segmented (gso_type %u, %zu bytes)",
		      h.gso_type, s.tot);
	while (tun_read_raw(t, raw, sizeof(raw)) > 0)
		;	/* the other segments, without USO */

	if (t->uso) {
		w = sendmsg(fd, &mh, 0);
		deadline = now_ms() + 3000;
		while (w > 0 && t->rx_offload_dropped == drops && now_ms() < deadline) {
			struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
			struct batch in = { 0 };

			poll(&pfd, 1, 20);
			tun_read_batch(t, &pool, &in, BATCH_MAX);
			batch_release(&in);
		}
		check(t->rx_offload_dropped == drops + 1,
		      "tun_read_batch drops and counts a USO super-packet (%llu)",
		      (unsigned long long)(t->rx_offload_dropped - drops));
	}
	close(fd);
}

static void test_tun_offload(const char *base)
{
	char name[IFNAMSIZ];
	struct ifreq ifr = { 0 };
	struct tun t, t2;
	int r, sz = 0, fd;

	snprintf(name, sizeof(name), "%.*s%s", IFNAMSIZ - 2, base, off_name_suffix);
	setenv(TUN_ENV_NO_OFFLOAD, "1", 1);
	r = tun_open_offload(&t, name, TUN_OFFLOAD_ALL);
	check(r == 0 && !t.vnet_hdr && !t.csum && !t.tso && !t.uso,
	      "%s=1: tun_open_offload opens a plain TUN (%d)", TUN_ENV_NO_OFFLOAD, r);
	if (r == 0)
		tun_close(&t);
	unsetenv(TUN_ENV_NO_OFFLOAD);

	r = tun_open_offload(&t, name, TUN_OFFLOAD_ALL);
	if (!check(r == 0 && t.vnet_hdr, "tun_open_offload(%s): %s, vnet_hdr %d", name,
		   r ? strerror(-r) : "ok", r == 0 && t.vnet_hdr)) {
		if (r == 0)
			tun_close(&t);
		return;
	}
	check(t.csum && t.tso, "offloads: checksum %d, TSO %d", t.csum, t.tso);
	check(t.uso, "offloads: USO %d (kernel >= 6.2)", t.uso);
	r = ioctl(t.fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR) &&
	    ioctl(t.fd, TUNGETVNETHDRSZ, &sz) == 0;
	check(r && sz == TUN_VNET_HDR_LEN, "IFF_VNET_HDR set, header size %d", sz);
	check(tun_get_mtu(&t) == WG_DEFAULT_MTU, "MTU %d", tun_get_mtu(&t));
	r = (int)tun_read_raw(&t, raw, sizeof(raw));
	check(r == -EAGAIN, "tun_read_raw with nothing pending: -EAGAIN (%d)", r);

	fd = dup(t.fd);
	r = tun_adopt(&t2, fd);
	check(r == 0 && t2.vnet_hdr && t2.tso == t.tso && t2.uso == t.uso,
	      "tun_adopt of an offload fd: offload mode (%d, vnet_hdr %d)", r,
	      r == 0 && t2.vnet_hdr);
	if (r == 0)
		tun_close(&t2);
	else
		close(fd);

	if (tun_set_up(&t, true) != 0 ||
	    run("ip addr add %s/24 dev %s", off_v4, name) != 0 ||
	    run("ip -6 addr add %s/64 dev %s nodad", off_v6, name) != 0) {
		check(false, "set up %s with ip(8)", name);
	} else {
		/* tun_read_batch/tun_write_batch with the header */
		ping_through(&t, 4, off_peer_v4);
		ping_through(&t, 6, off_peer_v6);
		tcp_offload(&t);
		uso_read(&t);
	}
	tun_close(&t);
	check(if_nametoindex(name) == 0, "tun_close removes %s", name);
}

/* Count the UDP datagrams (first fragments included) to port of l4 length
 * l4len arriving on the TUN, until want or 3 s. */
static unsigned tun_count_udp(struct tun *t, uint16_t port, size_t l4len,
			      unsigned want)
{
	uint64_t deadline = now_ms() + 3000;
	unsigned got = 0;

	while (got < want && now_ms() < deadline) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
		struct batch in = { 0 };

		poll(&pfd, 1, 20);
		tun_read_batch(t, &pool, &in, BATCH_MAX);
		for (unsigned i = 0; i < in.n; i++) {
			const uint8_t *ip = pkt_data(in.p[i]);
			struct l4v4 s;

			if (!l4v4_parse(ip, in.p[i]->len, &s) || s.proto != IPPROTO_UDP ||
			    s.dport != port || (get16(ip + 6) & 0x1fff) != 0)
				continue;
			got += get16(s.l4 + 4) == l4len;	/* the UDP length */
		}
		batch_release(&in);
	}
	return got;
}

/* GSO through the plain TUN (no checksum offload there): this kernel
 * segments and checksums in software (older ones said EIO, and GSO went
 * off). Segments larger than the TUN's MTU cannot go segmented
 * (EMSGSIZE, EINVAL before): the run is resent one by one, fragmented by
 * the kernel, and GSO stays on. */
static void gso_plain_tun(struct tun *t)
{
	static const unsigned lens[2] = { FALLBACK_LEN, WG_DEFAULT_MTU + 100 };
	struct udp u;
	uint64_t dropped = 0;
	int r;

	r = udp_open(&u, 0, 0);
	if (!check(r == 0 && u.gso[0], "udp_open: GSO probed on (%d)", r))
		return;
	for (unsigned round = 0; round < 2; round++) {
		struct udp_stats before = u.stats[0];
		struct batch b = { 0 };
		unsigned got;

		for (unsigned i = 0; i < FALLBACK_PKTS; i++) {
			b.p[i] = pool_get(&pool);
			b.p[i]->off = 0;
			b.p[i]->len = lens[round];
			memset(b.p[i]->buf, (int)i, lens[round]);
			set_ep(&b.p[i]->ep, IP_V4, peer_v4, FALLBACK_PORT, NULL);
		}
		b.n = FALLBACK_PKTS;
		r = udp_send_batch(&u, &b, &dropped);
		batch_release(&b);
		got = tun_count_udp(t, FALLBACK_PORT, 8 + lens[round], FALLBACK_PKTS);
		if (round == 0)
			check(r == FALLBACK_PKTS && dropped == 0 && got == FALLBACK_PKTS &&
			      u.gso[0] && u.stats[0].gso_msgs - before.gso_msgs == 1,
			      "GSO into a TUN without checksum offload: %d sent as %llu "
			      "GSO message(s), %u arrived, %llu refused", r,
			      (unsigned long long)(u.stats[0].gso_msgs - before.gso_msgs),
			      got, (unsigned long long)u.stats[0].gso_failed);
		else
			check(r == FALLBACK_PKTS && dropped == 0 && got == FALLBACK_PKTS &&
			      u.gso[0] && u.stats[0].gso_failed - before.gso_failed == 1 &&
			      u.stats[0].gso_msgs == before.gso_msgs,
			      "GSO of %u-byte datagrams over a %d MTU: refused once, "
			      "resent one by one (%d sent, %u arrived fragmented), GSO "
			      "still on", lens[round], WG_DEFAULT_MTU, r, got);
	}
	udp_close(&u);
}

/* The test packet i: test_head, i, then i's fill byte up to len. */
static struct pkt *gso_pkt(unsigned i, unsigned len, int family, const char *dst,
			   uint16_t port, const char *src)
{
	struct pkt *p = pool_get(&pool);

	p->off = 0;
	p->len = len;
	memset(p->buf, (int)(i * 7 + 1), len);
	memcpy(p->buf, test_head, sizeof(test_head));
	p->buf[4] = (uint8_t)i;
	set_ep(&p->ep, family, dst, port, src);
	return p;
}

/* What packet i of a burst should look like on arrival. */
struct gso_expect {
	unsigned len;
	bool alt;		/* from the sticky source alt */
	const struct udp *to;
};

/* Receive want datagrams on u with udp_recv (GRO when u has it). */
static int recv_gro(struct udp *u, int family, struct batch *b, unsigned want)
{
	int fd = family == IP_V6 ? u->fd6 : u->fd4;
	uint64_t deadline = now_ms() + 3000;

	while (b->n < want && now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r;

		if (!udp_pending(u, family))
			poll(&pfd, 1, 50);
		r = udp_recv(u, family, &pool, b, want - b->n);
		if (r < 0)
			return r;
	}
	return (int)b->n;
}

/* The GSO/GRO checks send exactly as many datagrams as one GSO message
 * may carry, so that "one message, one coalesced datagram" holds
 * whatever the engine's batch size. */
enum { GSO_TEST_N = UDP_GSO_MAX_SEGS };

/* Check rx (what receiver to got) against the expectations; count bad. */
static unsigned gso_verify(const struct batch *rx, const struct gso_expect *exp,
			   unsigned n, const struct udp *to, const struct udp *from,
			   int family, const char *local, const char *alt)
{
	unsigned lo = if_nametoindex("lo"), bad = 0;
	uint8_t seen[GSO_TEST_N] = { 0 };

	for (unsigned i = 0; i < rx->n; i++) {
		const struct pkt *p = rx->p[i];
		unsigned k = p->buf[4];

		if (p->off != 0 || p->len < 5 || k >= n || seen[k] || exp[k].to != to ||
		    p->len != exp[k].len || memcmp(p->buf, test_head, sizeof(test_head)) != 0 ||
		    p->buf[p->len - 1] != (uint8_t)(k * 7 + 1) ||
		    p->ep.family != family || p->ep.port != from->port ||
		    !addr_is(p->ep.addr, family, exp[k].alt ? alt : local) ||
		    p->ep.src_family != family || !addr_is(p->ep.src_addr, family, local) ||
		    p->ep.src_ifindex != lo)
			bad++;
		if (k < n)
			seen[k] = 1;
	}
	return bad;
}

/* 64 equal datagrams in one udp_send_batch: one GSO message; the GRO
 * receiver gets one coalesced datagram and splits it into 64. */
static void gso_gro_equal(struct udp *ua, struct udp *ub, int family,
			  const char *local)
{
	unsigned fi = udp_index(family);
	struct udp_stats sa = ua->stats[fi], sb = ub->stats[fi];
	struct gso_expect exp[GSO_TEST_N];
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	unsigned bad;
	int r;

	for (unsigned i = 0; i < GSO_TEST_N; i++) {
		b.p[b.n++] = gso_pkt(i, GSO_EQUAL_LEN, family, local, ub->port, NULL);
		exp[i] = (struct gso_expect){ GSO_EQUAL_LEN, false, ub };
	}
	r = udp_send_batch(ua, &b, &dropped);
	batch_release(&b);
	check(r == GSO_TEST_N && dropped == 0 &&
	      ua->stats[fi].gso_msgs - sa.gso_msgs == 1 &&
	      ua->stats[fi].gso_segs - sa.gso_segs == GSO_TEST_N &&
	      ua->stats[fi].send_calls - sa.send_calls == 1,
	      "IPv%d GSO: %d x %d bytes sent as %llu message(s) in %llu sendmmsg",
	      family, GSO_TEST_N, GSO_EQUAL_LEN,
	      (unsigned long long)(ua->stats[fi].gso_msgs - sa.gso_msgs),
	      (unsigned long long)(ua->stats[fi].send_calls - sa.send_calls));
	r = recv_gro(ub, family, &rx, GSO_TEST_N);
	bad = gso_verify(&rx, exp, GSO_TEST_N, ub, ua, family, local, local);
	check(r == GSO_TEST_N && bad == 0 && ub->stats[fi].gro_msgs - sb.gro_msgs == 1 &&
	      ub->stats[fi].gro_segs - sb.gro_segs == GSO_TEST_N &&
	      ub->stats[fi].recv_calls - sb.recv_calls == 1,
	      "IPv%d GRO: %d of %d received, %u bad, from %llu coalesced datagram(s) "
	      "in %llu recvmmsg", family, r, GSO_TEST_N, bad,
	      (unsigned long long)(ub->stats[fi].gro_msgs - sb.gro_msgs),
	      (unsigned long long)(ub->stats[fi].recv_calls - sb.recv_calls));
	batch_release(&rx);
}

/* Sizes, destinations and sources mixed in one batch. Runs of one flow and
 * one size become GSO messages (a shorter datagram ends a run; at most
 * UDP_GSO_MAX_BYTES each), and arrive as that many coalesced datagrams. */
static void gso_gro_mixed(struct udp *ua, struct udp *ub, struct udp *uc,
			  int family, const char *local, const char *alt)
{
	static const struct {
		unsigned count, len;
		bool to_c, alt;
	} runs[] = {
		{ 10, 1200, false, false },	/* A: 10 + the shorter one */
		{ 1, 700, false, false },
		{ 5, 300, true, false },	/* B: another destination */
		{ 4, 800, false, true },	/* C: another source */
		{ 3, 900, false, true },	/* D: larger: a new run ... */
		{ 1, 100, false, true },	/*    ... ended by a shorter one */
		{ 1, 100, false, true },	/* alone */
		{ 39, 1700, false, false },	/* E: 38 x 1700 <= 65000, then 1 */
	};
	unsigned fi = udp_index(family), k = 0, bad;
	struct udp_stats sa = ua->stats[fi], sb = ub->stats[fi], sc = uc->stats[fi];
	struct gso_expect exp[GSO_TEST_N];
	struct batch b = { 0 }, rxb = { 0 }, rxc = { 0 };
	uint64_t dropped = 0;
	int r, rb, rc;

	for (unsigned i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		for (unsigned j = 0; j < runs[i].count; j++, k++) {
			const struct udp *to = runs[i].to_c ? uc : ub;

			b.p[b.n++] = gso_pkt(k, runs[i].len, family, local, to->port,
					     runs[i].alt ? alt : NULL);
			exp[k] = (struct gso_expect){ runs[i].len, runs[i].alt, to };
		}
	r = udp_send_batch(ua, &b, &dropped);
	batch_release(&b);
	check(r == GSO_TEST_N && dropped == 0 &&
	      ua->stats[fi].gso_msgs - sa.gso_msgs == 5 &&
	      ua->stats[fi].gso_segs - sa.gso_segs == 62,
	      "IPv%d GSO, mixed batch: %d sent, %llu GSO messages with %llu datagrams "
	      "(want 5 with 62)", family, r,
	      (unsigned long long)(ua->stats[fi].gso_msgs - sa.gso_msgs),
	      (unsigned long long)(ua->stats[fi].gso_segs - sa.gso_segs));
	rb = recv_gro(ub, family, &rxb, GSO_TEST_N - 5);
	rc = recv_gro(uc, family, &rxc, 5);
	bad = gso_verify(&rxb, exp, GSO_TEST_N, ub, ua, family, local, alt) +
	      gso_verify(&rxc, exp, GSO_TEST_N, uc, ua, family, local, alt);
	check(rb == GSO_TEST_N - 5 && rc == 5 && bad == 0 &&
	      ub->stats[fi].gro_msgs - sb.gro_msgs == 4 &&
	      ub->stats[fi].gro_segs - sb.gro_segs == 57 &&
	      uc->stats[fi].gro_msgs - sc.gro_msgs == 1 &&
	      uc->stats[fi].gro_segs - sc.gro_segs == 5,
	      "IPv%d GRO, mixed batch: %d + %d received, %u bad; %llu + %llu coalesced "
	      "(want 4 + 1)", family, rb, rc, bad,
	      (unsigned long long)(ub->stats[fi].gro_msgs - sb.gro_msgs),
	      (unsigned long long)(uc->stats[fi].gro_msgs - sc.gro_msgs));
	batch_release(&rxb);
	batch_release(&rxc);
}

/* A coalesced datagram larger than the batch: the rest waits in the ring,
 * udp_pending says so, and the next call hands it out without a syscall.
 * A receiver that never called udp_recv has GRO off: udp_recv_batch
 * gets the same burst as 64 datagrams. */
static void gro_overflow(struct udp *ua, struct udp *ub, struct udp *ud,
			 int family, const char *local)
{
	unsigned fi = udp_index(family), bad;
	struct gso_expect exp[2][GSO_TEST_N];
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0, calls;
	int r, r2;

	for (int round = 0; round < 2; round++) {
		const struct udp *to = round ? ud : ub;

		for (unsigned i = 0; i < GSO_TEST_N; i++) {
			b.p[b.n++] = gso_pkt(i, GSO_EQUAL_LEN, family, local, to->port, NULL);
			exp[round][i] = (struct gso_expect){ GSO_EQUAL_LEN, false, to };
		}
		r = udp_send_batch(ua, &b, &dropped);
		batch_release(&b);
		if (!check(r == GSO_TEST_N, "IPv%d GSO burst to port %u", family, to->port))
			return;
	}

	r = recv_gro(ub, family, &rx, 10);
	calls = ub->stats[fi].recv_calls;
	check(r == 10 && udp_pending(ub, family),
	      "IPv%d GRO: 10 of a coalesced 64 handed out, the rest pending", family);
	r2 = udp_recv(ub, family, &pool, &rx, GSO_TEST_N);
	bad = gso_verify(&rx, exp[0], GSO_TEST_N, ub, ua, family, local, local);
	check(r2 == GSO_TEST_N - 10 && !udp_pending(ub, family) && bad == 0 &&
	      ub->stats[fi].recv_calls == calls,
	      "  ... the next call hands out the other %d without a syscall (%u bad, "
	      "%llu calls)", r2, bad,
	      (unsigned long long)(ub->stats[fi].recv_calls - calls));
	batch_release(&rx);
	r = udp_recv(ub, family, &pool, &rx, GSO_TEST_N);
	check(r == 0 && !udp_pending(ub, family), "  ... then nothing is pending (%d)", r);

	r = recv_some(family == IP_V6 ? ud->fd6 : ud->fd4, &rx, GSO_TEST_N);
	bad = gso_verify(&rx, exp[1], GSO_TEST_N, ud, ua, family, local, local);
	check(r == GSO_TEST_N && bad == 0 && !ud->gro_on[fi],
	      "IPv%d GSO to a socket without GRO: udp_recv_batch gets %d datagrams "
	      "(%u bad)", family, r, bad);
	batch_release(&rx);
}

/* A GSO run with a sticky source that is not ours: the run is unfolded,
 * each datagram goes out without the source, and GSO stays on. */
static void gso_stale_source(struct udp *ua, struct udp *ub, int family,
			     const char *local, const char *gone)
{
	unsigned fi = udp_index(family), bad = 0;
	struct udp_stats before = ua->stats[fi];
	struct gso_expect exp[GSO_TEST_N];
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	int r;

	for (unsigned i = 0; i < 4; i++) {
		b.p[b.n++] = gso_pkt(i, 200, family, local, ub->port, gone);
		exp[i] = (struct gso_expect){ 200, false, ub };
	}
	r = udp_send_batch(ua, &b, &dropped);
	for (unsigned i = 0; i < b.n; i++)
		bad += b.p[i]->ep.src_family != 0;
	batch_release(&b);
	check(r == 4 && dropped == 0 && bad == 0 && ua->gso[fi] &&
	      ua->stats[fi].gso_failed - before.gso_failed == 1,
	      "IPv%d GSO with a stale source %s: unfolded, sent without it (%d), "
	      "GSO still on", family, gone, r);
	r = recv_gro(ub, family, &rx, 4);
	bad = gso_verify(&rx, exp, 4, ub, ua, family, local, local);
	check(r == 4 && bad == 0, "  ... all 4 arrived from %s (%u bad)", local, bad);
	batch_release(&rx);
}

/* The EIO a GSO send gets on routes without checksum offload (older
 * kernels), xfrm or UDP-Lite cannot be had here, so a seccomp filter in a
 * child process makes it: sendmmsg of one message on that fd fails with
 * EIO. The run must be resent unsegmented (eight messages: allowed), and
 * GSO go off for the socket. */
static int gso_eio_child(void)
{
	struct udp ua, ub;
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	int r, r2;

	if (udp_open(&ua, 0, 0) != 0 || udp_open(&ub, 0, 0) != 0 || !ua.gso[0])
		return 2;
	const uint32_t lo_arg = offsetof(struct seccomp_data, args[0]) +
				(host_le() ? 0 : 4);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SMOKE_AUDIT_ARCH, 0, 7),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmmsg, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, lo_arg),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ua.fd4, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, lo_arg + 2 * sizeof(uint64_t)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 3;
	for (unsigned i = 0; i < FALLBACK_PKTS; i++)
		b.p[b.n++] = gso_pkt(i, FALLBACK_LEN, IP_V4, "127.0.0.1", ub.port, NULL);
	r = udp_send_batch(&ua, &b, &dropped);
	/* the same again: no GSO attempt any more */
	r2 = udp_send_batch(&ua, &b, &dropped);
	batch_release(&b);
	if (r != FALLBACK_PKTS || r2 != FALLBACK_PKTS || dropped != 0 || ua.gso[0] ||
	    ua.stats[0].gso_failed != 1 || ua.stats[0].gso_msgs != 0 ||
	    ua.stats[0].sent != 2 * FALLBACK_PKTS)
		return 4;
	if (recv_gro(&ub, IP_V4, &rx, 2 * FALLBACK_PKTS) != 2 * FALLBACK_PKTS)
		return 5;
	batch_release(&rx);
	udp_close(&ua);
	udp_close(&ub);
	return 0;
}

static void gso_eio(void)
{
	pid_t pid;
	int st = -1;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		log_init("os_smoke", false, LOG_LEVEL_WARN);
		_exit(gso_eio_child());
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	check(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "GSO send refused with EIO (seccomp-made): resent unsegmented, GSO "
	      "off for the socket, the next batch unsegmented at once (child %d)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void test_udp_offload(void)
{
	struct udp ua, ub, uc, ud;
	struct batch b = { 0 }, rx = { 0 };
	uint64_t dropped = 0;
	int r;

	setenv(UDP_ENV_NO_GSO, "1", 1);
	setenv(UDP_ENV_NO_GRO, "1", 1);
	r = udp_open(&ua, 0, 0);
	check(r == 0 && !ua.gso[0] && !ua.gso[1] && !ua.gro[0] && !ua.gro[1] &&
	      !ua.ring[0] && !ua.ring[1],
	      "%s=1 %s=1: neither GSO nor GRO (%d)", UDP_ENV_NO_GSO, UDP_ENV_NO_GRO, r);
	if (r == 0) {
		/* udp_recv without GRO: straight into pool buffers */
		for (unsigned i = 0; i < 4; i++)
			b.p[b.n++] = gso_pkt(i, 100, IP_V4, "127.0.0.1", ua.port, NULL);
		r = udp_send_batch(&ua, &b, &dropped);
		batch_release(&b);
		check(r == 4 && recv_gro(&ua, IP_V4, &rx, 4) == 4 &&
		      ua.stats[0].gso_msgs == 0 && ua.stats[0].gro_msgs == 0 &&
		      ua.stats[0].received == 4,
		      "  ... and udp_send_batch/udp_recv work without them");
		batch_release(&rx);
		udp_close(&ua);
	}
	unsetenv(UDP_ENV_NO_GSO);
	unsetenv(UDP_ENV_NO_GRO);

	if (!check(udp_open(&ua, 0, 0) == 0 && udp_open(&ub, 0, 0) == 0 &&
		   udp_open(&uc, 0, 0) == 0 && udp_open(&ud, 0, 0) == 0,
		   "four UDP sockets for GSO/GRO"))
		return;
	check(ua.gso[0] && ua.gro[0] && ua.ring[0] && !ua.gro_on[0] &&
	      (ua.fd6 < 0 || (ua.gso[1] && ua.gro[1] && ua.ring[1])),
	      "probes: GSO and GRO available on both sockets, GRO not yet on");
	/* GRO goes on with the first udp_recv: what is queued before that
	 * was segmented on arrival. ud stays without (udp_recv_batch). */
	r = udp_recv(&ub, IP_V4, &pool, &rx, BATCH_MAX) |
	    udp_recv(&uc, IP_V4, &pool, &rx, BATCH_MAX);
	if (ub.fd6 >= 0)
		r |= udp_recv(&ub, IP_V6, &pool, &rx, BATCH_MAX) |
		     udp_recv(&uc, IP_V6, &pool, &rx, BATCH_MAX);
	check(r == 0 && rx.n == 0 && ub.gro_on[0] && uc.gro_on[0] &&
	      (ub.fd6 < 0 || (ub.gro_on[1] && uc.gro_on[1])),
	      "udp_recv with nothing pending: 0, and GRO is on");

	gso_gro_equal(&ua, &ub, IP_V4, "127.0.0.1");
	gso_gro_mixed(&ua, &ub, &uc, IP_V4, "127.0.0.1", "127.0.0.2");
	gro_overflow(&ua, &ub, &ud, IP_V4, "127.0.0.1");
	gso_stale_source(&ua, &ub, IP_V4, "127.0.0.1", "192.0.2.77");
	gso_eio();
	if (ua.fd6 >= 0) {
		gso_gro_equal(&ua, &ub, IP_V6, "::1");
		gso_gro_mixed(&ua, &ub, &uc, IP_V6, "::1", lo_v6_extra);
		gro_overflow(&ua, &ub, &ud, IP_V6, "::1");
		gso_stale_source(&ua, &ub, IP_V6, "::1", "2001:db8::77");
	}
	check(ua.gso[0] && (ua.fd6 < 0 || ua.gso[1]), "GSO still on after all that");
	udp_close(&ua);
	udp_close(&ub);
	udp_close(&uc);
	udp_close(&ud);
	check(!ua.ring[0] && !ua.ring[1] && !ub.ring[0], "udp_close frees the rings");
}

/* -------------------------------------------------------------------- uapi */

static bool answers(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void test_uapi(const char *name)
{
	char path[108], want[108], tmpl[] = "/tmp/os_smoke.XXXXXX", sub[64];
	const char *bad[] = { "", ".", "..", "a/b", "0123456789abcdef" };
	struct stat st;
	int fd, fd2, r, c;

	snprintf(want, sizeof(want), "%s/%s.sock", UAPI_SOCK_DIR, name);
	fd = uapi_listen(name, path, sizeof(path));
	if (!check(fd >= 0 && strcmp(path, want) == 0, "uapi_listen(%s): %d %s", name,
		   fd, fd < 0 ? strerror(-fd) : path))
		return;
	memset(&st, 0, sizeof(st));
	r = stat(path, &st);
	check(r == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "socket %s mode 0600 (%o)", path, (unsigned)(st.st_mode & 0777));
	check(stat(UAPI_SOCK_DIR, &st) == 0 && S_ISDIR(st.st_mode), "%s exists", UAPI_SOCK_DIR);
	check((fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "listener is non-blocking and close-on-exec");

	fd2 = uapi_listen(name, NULL, 0);
	check(fd2 == -EADDRINUSE, "a second listener on %s is refused (%d)", name, fd2);
	if (fd2 >= 0)
		close(fd2);
	check(answers(path), "  ... and the first one still answers");
	c = accept(fd, NULL, NULL);
	if (c >= 0)
		close(c);

	/* stale: the daemon died without removing its socket */
	close(fd);
	check(stat(path, &st) == 0 && !answers(path), "stale socket left behind");
	fd = uapi_listen(name, path, sizeof(path));
	check(fd >= 0 && answers(path), "uapi_listen replaces a stale socket (%d)", fd);
	uapi_unlisten(fd, path);
	check(stat(path, &st) != 0 && errno == ENOENT, "uapi_unlisten removes the socket");

	/* something that is not a socket is never removed */
	c = open(want, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (c >= 0)
		close(c);
	r = uapi_listen(name, NULL, 0);
	check(r == -EEXIST && stat(want, &st) == 0 && S_ISREG(st.st_mode),
	      "a regular file at the path is left alone (%d)", r);
	if (r >= 0)
		uapi_unlisten(r, want);
	unlink(want);

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = uapi_listen(bad[i], path, sizeof(path));
		check(r == -EINVAL, "interface name \"%s\" refused (%d)", bad[i], r);
		if (r >= 0)
			uapi_unlisten(r, path);
	}
	check(uapi_ifname_valid("012345678901234"), "a 15-character name is valid");
	r = uapi_listen(name, path, 10);
	check(r == -ENAMETOOLONG, "path buffer too small: ENAMETOOLONG (%d)", r);

	/* the directory is created 0755 whatever the umask */
	if (!mkdtemp(tmpl)) {
		check(false, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(sub, sizeof(sub), "%s/wireguard", tmpl);
	umask(0077);
	fd = uapi_listen_at(sub, name, path, sizeof(path));
	umask(0022);
	memset(&st, 0, sizeof(st));
	r = stat(sub, &st);
	check(fd >= 0 && r == 0 && (st.st_mode & 0777) == 0755,
	      "missing socket directory created with mode 0755 (%o)",
	      (unsigned)(st.st_mode & 0777));
	if (fd >= 0)
		uapi_unlisten(fd, path);
	rmdir(sub);
	rmdir(tmpl);
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: os_smoke TUN_NAME UAPI_NAME\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = pool_init(&pool, POOL_PKTS);
	if (r) {
		fprintf(stderr, "os_smoke: pool_init: %s\n", strerror(-r));
		return 1;
	}

	test_clock();
	test_log();
	test_tun(argv[1]);
	test_udp();
	test_tun_offload(argv[1]);
	test_udp_offload();
	test_uapi(argv[2]);

	check(pool.nfree == pool.total, "every packet buffer returned to the pool (%zu/%zu)",
	      pool.nfree, pool.total);
	pool_destroy(&pool);
	printf("os_smoke: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
