/* test_udp.c - the WireGuard port's socket filters on loopback: WireGuard,
 * weft and STUN messages reach udp_recv, everything else is dropped by the
 * kernel; with the filter switched off the same garbage arrives, so it is
 * the filter that drops it. The session filter (when this process may
 * load eBPF) passes data messages for live receiver indices only, and
 * hands over to the header filter when asked. Both families when the
 * host has IPv6. Every wait is a short poll, so the test is bounded. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/messages.h"
#include "core/pool.h"
#include "os/linux/udp.h"
#include "os/linux/udp_filter.h"

enum { WAIT_MS = 2000, MAX_LEN = 1500 };

/* A datagram: its first bytes, its length, and whether it is ours. The
 * last byte carries the case's number, so arrivals can be told apart. */
struct dgram {
	const char *what;
	uint8_t head[8];
	size_t headlen, len;
	bool ours;
};

static const struct dgram cases[] = {
	{ "handshake initiation", { 1, 0, 0, 0 }, 4, 148, true },
	{ "handshake response", { 2, 0, 0, 0 }, 4, 92, true },
	{ "cookie reply", { 3, 0, 0, 0 }, 4, 64, true },
	{ "keepalive", { 4, 0, 0, 0 }, 4, 32, true },
	{ "data, MTU-sized", { 4, 0, 0, 0 }, 4, 1452, true },
	{ "weft admission", { 'W', 0x01, 0, 0 }, 4, 100, true },
	{ "weft path probe", { 'W', 0x30, 0, 0 }, 4, 90, true },
	{ "weft relay frame", { 'W', 0x11, 0, 0 }, 4, 60, true },
	{ "STUN binding request", { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42 }, 8, 20, true },
	{ "STUN success response", { 0x01, 0x01, 0, 12, 0x21, 0x12, 0xA4, 0x42 }, 8, 32, true },
	{ "garbage (0x55...)", { 0x55, 0x2A, 0xFF, 0x80 }, 4, 1420, false },
	{ "type 0", { 0, 0, 0, 0 }, 4, 40, false },
	{ "type 5", { 5, 0, 0, 0 }, 4, 48, false },
	{ "type 4, reserved byte set", { 4, 1, 0, 0 }, 4, 64, false },
	{ "type 1, last reserved byte set", { 1, 0, 0, 9 }, 4, 148, false },
	{ "'W' with a nonzero third byte", { 'W', 0x30, 1, 0 }, 4, 90, false },
	{ "'W' with a nonzero fourth byte", { 'W', 0x30, 0, 1 }, 4, 91, false },
	{ "STUN with a wrong cookie", { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x43 }, 8, 20, false },
	{ "STUN-like, top bits set", { 0xC0, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42 }, 8, 20, false },
	{ "three bytes", { 4, 0 }, 2, 3, false },
	{ "empty", { 0 }, 0, 0, false },
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

struct fixture {
	struct udp u;
	struct pool pool;
	struct udp_filter filter;
};

/* Send every case, then wait for all the datagrams that should come. */
static void send_cases(int fd, const struct sockaddr *to, socklen_t tolen)
{
	uint8_t buf[MAX_LEN];

	for (unsigned i = 0; i < NCASES; i++) {
		const struct dgram *c = &cases[i];

		memset(buf, 0xA5, sizeof(buf));
		memcpy(buf, c->head, c->headlen);
		if (c->len > c->headlen)
			buf[c->len - 1] = (uint8_t)i;
		assert_int_equal(sendto(fd, buf, c->len, 0, to, tolen),
				 (ssize_t)c->len);
	}
}

/* Receive for up to WAIT_MS (less once every expected case arrived, plus
 * a short grace for anything that should not); seen[i] counts case i. */
static void receive_cases(struct fixture *f, int which, unsigned seen[NCASES],
			  unsigned expected, unsigned *unknown)
{
	int fd = which == IP_V6 ? f->u.fd6 : f->u.fd4;
	unsigned got = 0, grace = 0;

	memset(seen, 0, NCASES * sizeof(seen[0]));
	*unknown = 0;
	for (int waited = 0; waited < WAIT_MS;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct batch b = { 0 };

		if (got >= expected && ++grace > 3)
			break;
		if (!udp_pending(&f->u, which) && poll(&p, 1, 50) == 0) {
			waited += 50;
			continue;
		}
		assert_true(udp_recv(&f->u, which, &f->pool, &b, BATCH_MAX) >= 0);
		for (unsigned i = 0; i < b.n; i++) {
			struct pkt *k = b.p[i];
			uint8_t id = k->len ? pkt_data(k)[k->len - 1] : 0xFF;

			if (id < NCASES && cases[id].len == k->len) {
				seen[id]++;
				got++;
			} else {
				++*unknown;
			}
			pool_put(&f->pool, k);
		}
	}
}

static int setup_with(void **state, bool filter)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.filter = UDP_FILTER_NONE;
	if (filter)
		unsetenv(UDP_ENV_NO_FILTER);
	else
		setenv(UDP_ENV_NO_FILTER, "1", 1);
	if (udp_open(&f.u, 0, 0) != 0 || pool_init(&f.pool, 256) != 0)
		return -1;
	unsetenv(UDP_ENV_NO_FILTER);
	*state = &f;
	return 0;
}

static int setup_filtered(void **state) { return setup_with(state, true); }
static int setup_unfiltered(void **state) { return setup_with(state, false); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	udp_close(&f->u);
	udp_filter_close(&f->filter);
	pool_destroy(&f->pool);
	return 0;
}

static int setup_sessions(void **state)
{
	static struct fixture f;
	int err;

	memset(&f, 0, sizeof(f));
	err = udp_filter_open(&f.filter);
	if (err == -EPERM) {
		/* Not root here: the daemon falls back the same way. */
		print_message("no eBPF for this process: session filter untested\n");
		f.filter = UDP_FILTER_NONE;
	} else if (err) {
		fail_msg("udp_filter_open: %s", strerror(-err));
	}
	if (udp_open_filtered(&f.u, 0, 0, &f.filter) != 0 ||
	    pool_init(&f.pool, 256) != 0)
		return -1;
	*state = &f;
	return 0;
}

/* Run the cases over one family; returns false when the host lacks it. */
static bool run_family(struct fixture *f, int which, bool filtered)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} to = { 0 };
	socklen_t tolen;
	unsigned seen[NCASES], unknown, expected = 0;
	int fd;

	if ((which == IP_V6 ? f->u.fd6 : f->u.fd4) < 0)
		return false;
	if (which == IP_V6) {
		to.in6.sin6_family = AF_INET6;
		to.in6.sin6_port = htons(f->u.port);
		to.in6.sin6_addr = in6addr_loopback;
		tolen = sizeof(to.in6);
	} else {
		to.in4.sin_family = AF_INET;
		to.in4.sin_port = htons(f->u.port);
		to.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		tolen = sizeof(to.in4);
	}
	fd = socket(to.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (sendto(fd, "", 0, 0, &to.sa, tolen) < 0 && errno == EADDRNOTAVAIL) {
		close(fd);	/* no ::1 in this namespace */
		return false;
	}
	send_cases(fd, &to.sa, tolen);
	close(fd);

	for (unsigned i = 0; i < NCASES; i++)
		expected += cases[i].len > 0 && (cases[i].ours || !filtered);
	receive_cases(f, which, seen, expected, &unknown);
	for (unsigned i = 0; i < NCASES; i++) {
		unsigned want = cases[i].ours || !filtered;

		if (cases[i].len == 0)
			continue;	/* unlabelled: counted as unknown */
		if (seen[i] != want)
			fail_msg("IPv%d, filter %s: %s arrived %u times, expected %u",
				 which, filtered ? "on" : "off", cases[i].what,
				 seen[i], want);
	}
	/* The empty datagram carries no label; the probe sent before the
	 * cases is empty too. Filtered, neither may arrive. */
	if (filtered)
		assert_int_equal(unknown, 0);
	return true;
}

static void test_filter_drops_what_is_not_ours(void **state)
{
	struct fixture *f = *state;

	assert_true(f->u.filtered[0] || f->u.fd4 < 0);
	assert_true(f->u.filtered[1] || f->u.fd6 < 0);
	assert_true(run_family(f, IP_V4, true));
	if (!run_family(f, IP_V6, true))
		print_message("no IPv6 loopback here: IPv4 only\n");
}

static void test_without_filter_garbage_arrives(void **state)
{
	struct fixture *f = *state;

	assert_false(f->u.filtered[0]);
	assert_true(run_family(f, IP_V4, false));
	(void)run_family(f, IP_V6, false);
}

/* A data message to index (as the core numbers it) on IPv4 loopback;
 * whether it arrived within WAIT_MS / 4. */
static bool data_arrives(struct fixture *f, uint32_t index)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(f->u.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t msg[64] = { 4, 0, 0, 0 };
	bool seen = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	le32_store(msg + 4, index);
	msg[sizeof(msg) - 1] = 0x77;
	assert_int_equal(sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to,
				sizeof(to)), (ssize_t)sizeof(msg));
	close(fd);
	for (int waited = 0; waited < WAIT_MS / 4 && !seen; waited += 50) {
		struct pollfd p = { .fd = f->u.fd4, .events = POLLIN };
		struct batch b = { 0 };

		if (poll(&p, 1, 50) == 0)
			continue;
		assert_true(udp_recv(&f->u, IP_V4, &f->pool, &b, BATCH_MAX) >= 0);
		for (unsigned i = 0; i < b.n; i++) {
			struct pkt *k = b.p[i];

			seen |= k->len == sizeof(msg) &&
				le32_load(pkt_data(k) + 4) == index;
			pool_put(&f->pool, k);
		}
	}
	return seen;
}

static void test_session_filter(void **state)
{
	struct fixture *f = *state;
	const uint32_t live = 0x8badf00d, other = 0x01020304;

	if (!udp_filter_has_sessions(&f->filter))
		skip();
	assert_true(f->u.sessions[0]);
	/* The cases' data messages name index a5a5a5a5 (the fill): with
	 * it live, every case fares as under the header filter. */
	assert_int_equal(udp_filter_index(&f->filter, 0xA5A5A5A5, true), 0);
	assert_true(run_family(f, IP_V4, true));
	(void)run_family(f, IP_V6, true);
	assert_int_equal(udp_filter_index(&f->filter, 0xA5A5A5A5, false), 0);

	assert_false(data_arrives(f, live));
	assert_int_equal(udp_filter_index(&f->filter, live, true), 0);
	assert_true(data_arrives(f, live));
	assert_false(data_arrives(f, other));
	/* Byte order: the index as the wire carries it, not reversed. */
	assert_false(data_arrives(f, __builtin_bswap32(live)));
	assert_int_equal(udp_filter_index(&f->filter, live, false), 0);
	assert_false(data_arrives(f, live));
	/* Removing what is not there is no error (a second remove). */
	assert_int_equal(udp_filter_index(&f->filter, live, false), 0);
	/* Handing over: unknown indices get through again. */
	udp_use_header_filter(&f->u);
	assert_false(f->u.sessions[0]);
	assert_true(f->u.filtered[0]);
	assert_true(data_arrives(f, other));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_filter_drops_what_is_not_ours,
						setup_filtered, teardown),
		cmocka_unit_test_setup_teardown(test_without_filter_garbage_arrives,
						setup_unfiltered, teardown),
		cmocka_unit_test_setup_teardown(test_session_filter,
						setup_sessions, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
