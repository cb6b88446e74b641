/* os_smoke.c - the Linux OS layer alone (clock, log, TUN, UDP, UAPI socket),
 * as root inside a network namespace of its own; os_smoke.sh runs it.
 * Usage: os_smoke TUN_NAME UAPI_NAME. One PASS/FAIL line per check. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
		memcpy(p->buf, "weft", 4);
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
		    memcmp(p->buf, "weft", 4) != 0 || p->ep.family != family ||
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
	test_uapi(argv[2]);

	check(pool.nfree == pool.total, "every packet buffer returned to the pool (%zu/%zu)",
	      pool.nfree, pool.total);
	pool_destroy(&pool);
	printf("os_smoke: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
