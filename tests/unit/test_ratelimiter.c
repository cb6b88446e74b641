/* test_ratelimiter.c - token buckets per source: a table of packets at the
 * edges of burst and refill, address families and /64s, eviction, and a
 * flood of more sources than the table holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/messages.h"
#include "core/ratelimiter.h"
#include "crypto/ct.h"

#define MS(x) ((wg_time_t)(x) * NSEC_PER_MSEC)
#define SEC(x) ((wg_time_t)(x) * NSEC_PER_SEC)
#define COST (NSEC_PER_SEC / RATELIMITER_PACKETS_PER_SECOND)

static const uint8_t test_key[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
				      9, 10, 11, 12, 13, 14, 15, 16 };

/* 256 KiB: too big for a test's stack. */
static struct ratelimiter rl;

struct row {
	enum ip_family family;
	const char *ip;
	wg_time_t at;
	bool allowed;
	bool reset;		/* start a fresh limiter before this row */
};

#define V4(ip, at, ok) { IP_V4, (ip), (at), (ok), false }
#define V6(ip, at, ok) { IP_V6, (ip), (at), (ok), false }
#define RESET { IP_V4, NULL, 0, false, true }
#define BURST4(ip, at) V4(ip, at, true), V4(ip, at, true), V4(ip, at, true), \
		       V4(ip, at, true), V4(ip, at, true), V4(ip, at, false)

_Static_assert(RATELIMITER_PACKETS_BURSTABLE == 5 &&
	       RATELIMITER_PACKETS_PER_SECOND == 20,
	       "the rows below are written for a burst of 5 at 20/s");

static const struct row rows[] = {
	/* a burst of five, the sixth fails */
	RESET, BURST4("192.0.2.1", SEC(1)),
	/* one cost (50 ms) refills one packet, not a nanosecond earlier */
	V4("192.0.2.1", SEC(1) + COST - 1, false),
	V4("192.0.2.1", SEC(1) + COST, true),
	V4("192.0.2.1", SEC(1) + COST, false),
	/* 20/s is sustained; faster is not */
	V4("192.0.2.1", SEC(1) + 2 * COST, true),
	V4("192.0.2.1", SEC(1) + 3 * COST, true),
	V4("192.0.2.1", SEC(1) + 3 * COST + COST / 2, false),
	V4("192.0.2.1", SEC(1) + 4 * COST, true),
	/* a clock that goes back refills nothing and forgets nothing */
	V4("192.0.2.1", SEC(1), false),
	V4("192.0.2.1", SEC(1) + 4 * COST, false),
	V4("192.0.2.1", SEC(1) + 5 * COST, true),
	/* a long pause buys only one burst */
	BURST4("192.0.2.1", SEC(3600)),
	/* two half-costs make one packet */
	V4("192.0.2.1", SEC(3600) + COST / 2, false),
	V4("192.0.2.1", SEC(3600) + COST, true),
	/* the neighbour is untouched by all this */
	BURST4("192.0.2.2", SEC(3600)),
	V4("192.0.2.1", SEC(3600) + COST, false),

	/* v6: a /64 is one source, whatever the interface id */
	RESET,
	V6("2001:db8:1:2::1", SEC(5), true),
	V6("2001:db8:1:2::2", SEC(5), true),
	V6("2001:db8:1:2:ffff:ffff:ffff:ffff", SEC(5), true),
	V6("2001:db8:1:2::", SEC(5), true),
	V6("2001:db8:1:2:8000::", SEC(5), true),
	V6("2001:db8:1:2::77", SEC(5), false),
	/* the neighbouring /64s are other sources */
	V6("2001:db8:1:3::1", SEC(5), true),
	V6("2001:db8:1:1:ffff:ffff:ffff:ffff", SEC(5), true),
	V6("2001:db9:1:2::1", SEC(5), true),
	V6("2001:db8:1:2::1", SEC(5) + COST, true),
	V6("2001:db8:1:2::1", SEC(5) + COST, false),

	/* v4 and v6 are independent, even when the key bits are equal: the
	 * /64 0:0:102:304:: reads as the same 64-bit number as 1.2.3.4 */
	RESET, BURST4("1.2.3.4", SEC(7)),
	V6("0:0:102:304::1", SEC(7), true),
	V6("0:0:102:304::2", SEC(7), true),
	V6("::ffff:1.2.3.4", SEC(7), true),
	V6("::1.2.3.4", SEC(7), true),
	V4("1.2.3.4", SEC(7), false),
	V4("0.0.0.0", SEC(7), true),
	V6("::", SEC(7), true),
	V6("0:0:102:304::3", SEC(7), true),
	V6("0:0:102:304::4", SEC(7), true),
	V6("0:0:102:304::5", SEC(7), true),
	V6("0:0:102:304::6", SEC(7), false),

	/* time zero is a time like any other */
	RESET, BURST4("198.51.100.7", 0),
	V4("198.51.100.7", COST, true),
};

static void parse(enum ip_family family, const char *s, uint8_t ip[16])
{
	assert_int_equal(inet_pton(family == IP_V4 ? AF_INET : AF_INET6, s, ip),
			 1);
}

static void test_rows(void **state)
{
	uint8_t ip[16];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		if (r->reset) {
			ratelimiter_init(&rl, test_key);
			continue;
		}
		parse(r->family, r->ip, ip);
		if (ratelimiter_allow(&rl, r->family, ip, r->at) != r->allowed)
			fail_msg("row %zu: %s at %llu ns: expected %s", i,
				 r->ip, (unsigned long long)r->at,
				 r->allowed ? "allowed" : "dropped");
	}
}

static void test_bad_input(void **state)
{
	const uint8_t ip[16] = { 10, 0, 0, 1 };

	(void)state;
	ratelimiter_init(&rl, test_key);
	assert_false(ratelimiter_allow(&rl, (enum ip_family)0, ip, 0));
	assert_false(ratelimiter_allow(&rl, (enum ip_family)5, ip, 0));
	assert_false(ratelimiter_allow(&rl, IP_V4, NULL, 0));
	assert_false(ratelimiter_allow(&rl, IP_V6, NULL, 0));
	assert_true(ratelimiter_allow(&rl, IP_V4, ip, 0));
}

/* The slot a v4 source hashes to. This mirrors ratelimiter.c's hash input
 * (family byte, le64 key): if that changes, the sources below stop
 * colliding and the eviction asserts fail, which is the signal to update
 * this helper. */
static size_t slot_of(enum ip_family family, uint64_t key)
{
	uint8_t in[9] = { (uint8_t)family }, h[8];

	le64_store(in + 1, key);
	crypto_shorthash(h, in, sizeof(in), test_key);
	return (size_t)(le64_load(h) & (RATELIMITER_TABLE_SIZE - 1));
}

static size_t v4_slot(const uint8_t ip[4])
{
	return slot_of(IP_V4, (uint64_t)ip[0] << 24 | (uint64_t)ip[1] << 16 |
			      (uint64_t)ip[2] << 8 | ip[3]);
}

static bool allow4(const uint8_t ip[4], wg_time_t now)
{
	return ratelimiter_allow(&rl, IP_V4, ip, now);
}

static void exhaust4(const uint8_t ip[4], wg_time_t now)
{
	for (int i = 0; i < RATELIMITER_PACKETS_BURSTABLE; i++)
		assert_true(allow4(ip, now));
	assert_false(allow4(ip, now));
}

static void test_eviction(void **state)
{
	enum { N = 9 };		/* one more than the probe window */
	uint8_t src[N][4];
	size_t slot = 0;
	int n = 0;

	(void)state;
	/* Nine sources that share one probe window. */
	for (uint32_t i = 0; n < N && i < (1u << 24); i++) {
		uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				  (uint8_t)i };

		if (n == 0)
			slot = v4_slot(ip);
		if (v4_slot(ip) == slot)
			memcpy(src[n++], ip, 4);
	}
	assert_int_equal(n, N);

	/* Eight live sources fill the window, source k last seen at k ms. */
	ratelimiter_init(&rl, test_key);
	for (int k = 0; k < N - 1; k++)
		exhaust4(src[k], MS(k));

	/* The ninth evicts the one closest to full: the first. */
	exhaust4(src[N - 1], MS(10));
	assert_false(allow4(src[N - 2], MS(10)));	/* still tracked */
	exhaust4(src[0], MS(10));			/* forgotten: a burst */
	assert_true(allow4(src[1], MS(10)));	/* src[0] pushed it out */
	assert_false(allow4(src[N - 1], MS(10)));
	assert_false(allow4(src[0], MS(10)));

	/* Once everybody has refilled, every entry is as good as absent:
	 * each source gets its burst again. */
	for (int k = 0; k < N; k++)
		exhaust4(src[k], SEC(10));
}

/* A v4 address and a v6 /64 with the same 64-bit key, hashed to the same
 * slot, still count separately. */
static void test_family_collision(void **state)
{
	uint8_t ip4[4], ip6[16] = { 0 };
	uint32_t a;

	(void)state;
	for (a = 1; a < (1u << 24); a++)
		if (slot_of(IP_V4, a) == slot_of(IP_V6, a))
			break;
	assert_true(a < (1u << 24));
	for (int i = 0; i < 4; i++)
		ip4[i] = ip6[4 + i] = (uint8_t)(a >> (24 - 8 * i));

	ratelimiter_init(&rl, test_key);
	exhaust4(ip4, SEC(1));
	for (int k = 0; k < RATELIMITER_PACKETS_BURSTABLE; k++)
		assert_true(ratelimiter_allow(&rl, IP_V6, ip6, SEC(1)));
	assert_false(ratelimiter_allow(&rl, IP_V6, ip6, SEC(1)));
	assert_false(allow4(ip4, SEC(1)));
}

static void test_flood(void **state)
{
	const uint32_t sources = 4 * RATELIMITER_TABLE_SIZE;
	const uint8_t fresh4[4] = { 203, 0, 113, 9 };
	uint8_t fresh6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff };

	(void)state;
	ratelimiter_init(&rl, test_key);
	for (uint32_t i = 0; i < sources; i++) {
		uint8_t ip4[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				   (uint8_t)i };
		uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8,
				    (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				    (uint8_t)(i >> 8), (uint8_t)i, 0xaa };
		wg_time_t now = SEC(1) + i;	/* a nanosecond apart */

		/* A source's own burst holds while it is being served. */
		exhaust4(ip4, now);
		for (int k = 0; k < RATELIMITER_PACKETS_BURSTABLE; k++)
			assert_true(ratelimiter_allow(&rl, IP_V6, ip6, now));
		assert_false(ratelimiter_allow(&rl, IP_V6, ip6, now));
	}
	/* The table is full of live sources; a newcomer still gets in, and
	 * is limited like anyone else. */
	exhaust4(fresh4, SEC(1) + sources);
	for (int k = 0; k < RATELIMITER_PACKETS_BURSTABLE; k++)
		assert_true(ratelimiter_allow(&rl, IP_V6, fresh6,
					      SEC(1) + sources));
	assert_false(ratelimiter_allow(&rl, IP_V6, fresh6, SEC(1) + sources));

	size_t used = 0;
	for (size_t i = 0; i < RATELIMITER_TABLE_SIZE; i++)
		used += rl.table[i].used;
	assert_true(used > RATELIMITER_TABLE_SIZE / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_family_collision),
		cmocka_unit_test(test_flood),
	};

	if (!crypto_init()) {
		fprintf(stderr, "test_ratelimiter: crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
