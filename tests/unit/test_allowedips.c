/* test_allowedips.c - the allowed-ips trie: hand-written cases, then a
 * random comparison against a naive list scanned for the longest match. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/allowedips.h"

static int peers[8];
#define A ((void *)&peers[0])
#define B ((void *)&peers[1])
#define C ((void *)&peers[2])
#define D ((void *)&peers[3])
#define E ((void *)&peers[4])
#define ALL_ONES6 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

/* Parse an address into one of a few rotating buffers, so several can be
 * used in one expression. */
static const uint8_t *ip(const char *s)
{
	static uint8_t bufs[8][16];
	static unsigned next;
	uint8_t *b = bufs[next++ % 8];

	memset(b, 0, 16);
	if (inet_pton(strchr(s, ':') ? AF_INET6 : AF_INET, s, b) != 1)
		fail_msg("bad address in test: %s", s);
	return b;
}

static enum ip_family fam(const char *s)
{
	return strchr(s, ':') ? IP_V6 : IP_V4;
}

static void ins(struct allowedips *t, const char *s, uint8_t cidr, void *owner)
{
	assert_int_equal(allowedips_insert(t, fam(s), ip(s), cidr, owner), 0);
}

static void *look(const struct allowedips *t, const char *s)
{
	return allowedips_lookup(t, fam(s), ip(s));
}

static int del(struct allowedips *t, const char *s, uint8_t cidr, void *owner)
{
	return allowedips_remove(t, fam(s), ip(s), cidr, owner);
}

/* --- walk collection --- */

struct walked {
	size_t n, stop_after;
	struct {
		enum ip_family family;
		uint8_t ip[16];
		uint8_t cidr;
	} e[2048];
};

static bool collect(void *ctx, enum ip_family family, const uint8_t *addr,
		    uint8_t cidr)
{
	struct walked *w = ctx;

	if (w->n >= sizeof(w->e) / sizeof(w->e[0]))
		fail_msg("walk yields too many prefixes");
	w->e[w->n].family = family;
	memset(w->e[w->n].ip, 0, 16);
	memcpy(w->e[w->n].ip, addr, family == IP_V4 ? 4 : 16);
	w->e[w->n].cidr = cidr;
	w->n++;
	return !w->stop_after || w->n < w->stop_after;
}

static struct walked *walk(const struct allowedips *t, void *owner,
			   size_t stop_after)
{
	static struct walked w;

	memset(&w, 0, sizeof(w));
	w.stop_after = stop_after;
	allowedips_walk_by_owner(t, owner, collect, &w);
	return &w;
}

/* v4 before v6, each ascending by (address, cidr). */
static void assert_walk_order(const struct walked *w)
{
	for (size_t i = 1; i < w->n; i++) {
		int c;

		if (w->e[i - 1].family != w->e[i].family) {
			assert_int_equal(w->e[i - 1].family, IP_V4);
			assert_int_equal(w->e[i].family, IP_V6);
			continue;
		}
		c = memcmp(w->e[i - 1].ip, w->e[i].ip, 16);
		assert_true(c < 0 ||
			    (c == 0 && w->e[i - 1].cidr < w->e[i].cidr));
	}
}

static bool walked_has(const struct walked *w, const char *s, uint8_t cidr)
{
	const uint8_t *a = ip(s);

	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].family == fam(s) && w->e[i].cidr == cidr &&
		    !memcmp(w->e[i].ip, a, fam(s) == IP_V4 ? 4 : 16))
			return true;
	return false;
}

/* --- hand-written cases --- */

static void check_v4_nest(struct allowedips *t)
{
	assert_ptr_equal(look(t, "10.1.2.3"), D);
	assert_ptr_equal(look(t, "10.1.2.4"), C);
	assert_ptr_equal(look(t, "10.1.2.255"), C);
	assert_ptr_equal(look(t, "10.1.3.1"), B);
	assert_ptr_equal(look(t, "10.1.255.255"), B);
	assert_ptr_equal(look(t, "10.2.0.0"), A);
	assert_ptr_equal(look(t, "10.255.255.255"), A);
	assert_null(look(t, "11.0.0.0"));
	assert_null(look(t, "9.255.255.255"));
	assert_ptr_equal(look(t, "192.168.0.1"), A);
	assert_ptr_equal(look(t, "192.168.255.255"), A);
	assert_null(look(t, "192.169.0.0"));
	assert_null(look(t, "192.167.255.255"));
	assert_null(look(t, "0.0.0.0"));
	assert_null(look(t, "255.255.255.255"));
	assert_null(look(t, "::"));
	assert_null(look(t, "::a01:203"));
}

static void test_v4_nested(void **state)
{
	struct allowedips t;

	(void)state;
	/* Shortest prefix first: every insert goes below an existing node. */
	allowedips_init(&t);
	ins(&t, "10.0.0.0", 8, A);
	ins(&t, "10.1.0.0", 16, B);
	ins(&t, "10.1.2.0", 24, C);
	ins(&t, "10.1.2.3", 32, D);
	ins(&t, "192.168.0.0", 16, A);
	check_v4_nest(&t);
	assert_null(t.root6);
	allowedips_free(&t);
	assert_null(t.root4);

	/* Longest first: every insert goes above an existing node. */
	allowedips_init(&t);
	ins(&t, "192.168.0.0", 16, A);
	ins(&t, "10.1.2.3", 32, D);
	ins(&t, "10.1.2.0", 24, C);
	ins(&t, "10.1.0.0", 16, B);
	ins(&t, "10.0.0.0", 8, A);
	check_v4_nest(&t);
	allowedips_free(&t);
}

static void test_empty(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_null(look(&t, "1.2.3.4"));
	assert_null(look(&t, "::1"));
	assert_int_equal(del(&t, "1.2.3.4", 32, A), -ENOENT);
	assert_int_equal(walk(&t, A, 0)->n, 0);
	allowedips_remove_by_owner(&t, A);
	assert_int_equal(t.seq, 0);
	allowedips_free(&t);
}

static void test_default_routes(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	ins(&t, "0.0.0.0", 0, A);
	assert_ptr_equal(look(&t, "0.0.0.0"), A);
	assert_ptr_equal(look(&t, "255.255.255.255"), A);
	assert_ptr_equal(look(&t, "128.0.0.0"), A);
	assert_null(look(&t, "::"));
	ins(&t, "1.2.3.4", 32, B);
	ins(&t, "0.0.0.0", 1, C);
	assert_ptr_equal(look(&t, "1.2.3.4"), B);
	assert_ptr_equal(look(&t, "1.2.3.5"), C);
	assert_ptr_equal(look(&t, "127.255.255.255"), C);
	assert_ptr_equal(look(&t, "128.0.0.0"), A);
	assert_int_equal(del(&t, "0.0.0.0", 0, A), 0);
	assert_null(look(&t, "128.0.0.0"));
	assert_ptr_equal(look(&t, "1.2.3.4"), B);
	assert_ptr_equal(look(&t, "1.2.3.5"), C);

	ins(&t, "::", 0, D);
	ins(&t, "8000::", 1, E);
	assert_ptr_equal(look(&t, "::"), D);
	assert_ptr_equal(look(&t, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
			 D);
	assert_ptr_equal(look(&t, "8000::"), E);
	assert_ptr_equal(look(&t, ALL_ONES6), E);
	assert_ptr_equal(look(&t, "1.2.3.4"), B);
	/* v4 and v6 are separate tables, also for the default route. */
	assert_int_equal(del(&t, "0.0.0.0", 0, D), -ENOENT);
	assert_int_equal(del(&t, "::", 0, D), 0);
	assert_int_equal(del(&t, "8000::", 1, E), 0);
	assert_null(t.root6);
	allowedips_free(&t);
}

static void test_v6(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	ins(&t, "2001:db8::", 32, A);
	ins(&t, "2001:db8:1::", 48, B);
	ins(&t, "2001:db8:1::1", 128, C);
	ins(&t, "fe80::", 10, D);
	/* Around the boundary between the two 64-bit halves. */
	ins(&t, "2001:db8:2::", 63, B);
	ins(&t, "2001:db8:2:1::", 64, C);
	ins(&t, "2001:db8:2:1:8000::", 65, D);
	ins(&t, "2001:db8:2:1::2", 127, E);
	ins(&t, "2001:db8:2:1::3", 128, A);

	assert_ptr_equal(look(&t, "2001:db8:1::1"), C);
	assert_ptr_equal(look(&t, "2001:db8:1::2"), B);
	assert_ptr_equal(look(&t, "2001:db8:1:ffff::1"), B);
	assert_ptr_equal(look(&t, "2001:db8:3::"), A);
	assert_ptr_equal(look(&t, "2001:db8:ffff::"), A);
	assert_null(look(&t, "2001:db9::"));
	assert_null(look(&t, "2001:db7:ffff::"));
	assert_ptr_equal(look(&t, "fe80::1"), D);
	assert_ptr_equal(look(&t, "febf:ffff::1"), D);
	assert_null(look(&t, "fec0::"));
	assert_ptr_equal(look(&t, "2001:db8:2::5"), B);
	assert_ptr_equal(look(&t, "2001:db8:2:1:7fff:ffff:ffff:ffff"), C);
	assert_ptr_equal(look(&t, "2001:db8:2:1:8000::"), D);
	assert_ptr_equal(look(&t, "2001:db8:2:1:ffff:ffff:ffff:ffff"), D);
	assert_ptr_equal(look(&t, "2001:db8:2:1::1"), C);
	assert_ptr_equal(look(&t, "2001:db8:2:1::2"), E);
	assert_ptr_equal(look(&t, "2001:db8:2:1::3"), A);
	assert_ptr_equal(look(&t, "2001:db8:2:1::4"), C);
	assert_ptr_equal(look(&t, "2001:db8:2:2::"), A);
	assert_null(look(&t, "32.1.13.184"));	/* 2001:0db8 as v4 */
	assert_null(t.root4);
	allowedips_free(&t);
}

static void test_host_routes(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	ins(&t, "255.255.255.255", 32, A);
	ins(&t, "0.0.0.0", 32, B);
	ins(&t, ALL_ONES6, 128, C);
	ins(&t, "::", 128, D);
	assert_ptr_equal(look(&t, "255.255.255.255"), A);
	assert_null(look(&t, "255.255.255.254"));
	assert_ptr_equal(look(&t, "0.0.0.0"), B);
	assert_null(look(&t, "0.0.0.1"));
	assert_ptr_equal(look(&t, ALL_ONES6), C);
	assert_null(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"));
	assert_null(look(&t, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_ptr_equal(look(&t, "::"), D);
	assert_null(look(&t, "::1"));
	assert_null(look(&t, "8000::"));
	allowedips_free(&t);
}

static void test_owner_change(void **state)
{
	struct allowedips t;
	uint64_t seq;

	(void)state;
	allowedips_init(&t);
	ins(&t, "10.0.0.0", 24, A);
	ins(&t, "10.0.0.0", 25, C);
	seq = t.seq;
	ins(&t, "10.0.0.0", 24, B);
	assert_true(t.seq > seq);
	assert_ptr_equal(look(&t, "10.0.0.200"), B);
	assert_ptr_equal(look(&t, "10.0.0.1"), C);
	assert_int_equal(walk(&t, A, 0)->n, 0);
	assert_int_equal(walk(&t, B, 0)->n, 1);
	/* The same prefix and owner again is not a change. */
	seq = t.seq;
	ins(&t, "10.0.0.0", 24, B);
	assert_int_equal(t.seq, seq);
	/* Only the current owner removes it. */
	assert_int_equal(del(&t, "10.0.0.0", 24, A), -ENOENT);
	assert_ptr_equal(look(&t, "10.0.0.200"), B);
	assert_int_equal(del(&t, "10.0.0.0", 24, B), 0);
	assert_null(look(&t, "10.0.0.200"));
	assert_ptr_equal(look(&t, "10.0.0.1"), C);
	assert_int_equal(del(&t, "10.0.0.0", 25, C), 0);
	assert_null(t.root4);
	allowedips_free(&t);
}

static void test_masked_host_bits(void **state)
{
	struct allowedips t;
	struct walked *w;
	uint64_t seq;

	(void)state;
	allowedips_init(&t);
	ins(&t, "10.1.2.3", 8, A);
	ins(&t, "2001:db8:2:1:ffff:1:2:3", 65, A);
	ins(&t, "1.2.3.4", 0, B);
	w = walk(&t, A, 0);
	assert_int_equal(w->n, 2);
	assert_true(walked_has(w, "10.0.0.0", 8));
	assert_true(walked_has(w, "2001:db8:2:1:8000::", 65));
	w = walk(&t, B, 0);
	assert_int_equal(w->n, 1);
	assert_true(walked_has(w, "0.0.0.0", 0));
	assert_ptr_equal(look(&t, "10.200.0.0"), A);
	assert_ptr_equal(look(&t, "11.0.0.0"), B);
	assert_ptr_equal(look(&t, "2001:db8:2:1:8000::"), A);
	assert_null(look(&t, "2001:db8:2:1:7fff::"));

	/* Host bits are ignored on re-insert and on removal too. */
	seq = t.seq;
	ins(&t, "10.0.0.0", 8, C);
	assert_true(t.seq > seq);
	assert_ptr_equal(look(&t, "10.1.2.3"), C);
	assert_int_equal(walk(&t, C, 0)->n, 1);
	assert_int_equal(del(&t, "10.9.9.9", 8, C), 0);
	assert_int_equal(del(&t, "2001:db8:2:1:c000::", 65, A), 0);
	assert_int_equal(del(&t, "9.9.9.9", 0, B), 0);
	assert_null(t.root4);
	assert_null(t.root6);
	allowedips_free(&t);
}

static void test_invalid(void **state)
{
	struct allowedips t;
	uint64_t seq;

	(void)state;
	allowedips_init(&t);
	ins(&t, "10.0.0.0", 8, A);
	seq = t.seq;
	assert_int_equal(allowedips_insert(&t, IP_V4, ip("10.0.0.0"), 33, A),
			 -EINVAL);
	assert_int_equal(allowedips_insert(&t, IP_V4, ip("10.0.0.0"), 255, A),
			 -EINVAL);
	assert_int_equal(allowedips_insert(&t, IP_V6, ip("::"), 129, A),
			 -EINVAL);
	assert_int_equal(allowedips_insert(&t, (enum ip_family)5, ip("::"),
					   8, A), -EINVAL);
	assert_int_equal(allowedips_insert(&t, (enum ip_family)0, ip("::"),
					   0, A), -EINVAL);
	assert_int_equal(allowedips_insert(&t, IP_V4, ip("10.0.0.0"), 8, NULL),
			 -EINVAL);
	assert_int_equal(allowedips_remove(&t, IP_V4, ip("10.0.0.0"), 33, A),
			 -EINVAL);
	assert_int_equal(allowedips_remove(&t, (enum ip_family)5, ip("::"),
					   8, A), -EINVAL);
	assert_null(allowedips_lookup(&t, (enum ip_family)5, ip("::")));
	assert_int_equal(t.seq, seq);
	assert_ptr_equal(look(&t, "10.0.0.1"), A);
	assert_null(t.root6);
	allowedips_free(&t);
}

static void test_remove(void **state)
{
	struct allowedips t;
	uint64_t seq;

	(void)state;
	allowedips_init(&t);
	/* These two make a branch node at 10.0.0.0/23 that owns nothing. */
	ins(&t, "10.0.0.0", 24, A);
	ins(&t, "10.0.1.0", 24, A);
	ins(&t, "10.0.0.128", 25, B);
	seq = t.seq;
	assert_int_equal(del(&t, "10.0.0.0", 23, A), -ENOENT);
	assert_int_equal(allowedips_remove(&t, IP_V4, ip("10.0.0.0"), 23, NULL),
			 -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0", 22, A), -ENOENT);
	assert_int_equal(del(&t, "10.0.2.0", 24, A), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0", 25, A), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0", 32, A), -ENOENT);
	assert_int_equal(del(&t, "::", 0, A), -ENOENT);
	assert_int_equal(t.seq, seq);

	/* Remove a node with one child: the child moves up. */
	assert_int_equal(del(&t, "10.0.0.0", 24, A), 0);
	assert_true(t.seq > seq);
	assert_null(look(&t, "10.0.0.1"));
	assert_ptr_equal(look(&t, "10.0.0.129"), B);
	assert_ptr_equal(look(&t, "10.0.1.1"), A);
	assert_int_equal(del(&t, "10.0.0.0", 24, A), -ENOENT);
	/* Remove a leaf under a branch node: the branch goes too. */
	assert_int_equal(del(&t, "10.0.1.0", 24, A), 0);
	assert_null(look(&t, "10.0.1.1"));
	assert_ptr_equal(look(&t, "10.0.0.129"), B);
	/* A node with two children stays as a branch. */
	ins(&t, "10.0.0.0", 16, C);
	ins(&t, "10.0.128.0", 24, D);
	assert_int_equal(del(&t, "10.0.0.0", 16, C), 0);
	assert_ptr_equal(look(&t, "10.0.0.129"), B);
	assert_ptr_equal(look(&t, "10.0.128.1"), D);
	assert_null(look(&t, "10.0.64.1"));
	assert_int_equal(del(&t, "10.0.0.128", 25, B), 0);
	assert_int_equal(del(&t, "10.0.128.0", 24, D), 0);
	assert_null(t.root4);
	allowedips_free(&t);
}

static void test_remove_by_owner(void **state)
{
	struct allowedips t;
	uint64_t seq;

	(void)state;
	allowedips_init(&t);
	ins(&t, "0.0.0.0", 0, A);
	ins(&t, "10.0.0.0", 8, B);
	ins(&t, "10.1.0.0", 16, A);
	ins(&t, "10.1.1.0", 24, B);
	ins(&t, "10.1.1.1", 32, A);
	ins(&t, "10.2.0.0", 16, A);
	ins(&t, "10.3.0.0", 16, A);
	ins(&t, "::", 0, B);
	ins(&t, "2001:db8::", 32, A);
	ins(&t, "2001:db8::1", 128, A);
	ins(&t, "2001:db8::2", 128, B);
	seq = t.seq;
	allowedips_remove_by_owner(&t, A);
	assert_true(t.seq > seq);
	assert_int_equal(walk(&t, A, 0)->n, 0);
	assert_int_equal(walk(&t, B, 0)->n, 4);
	assert_null(look(&t, "11.0.0.0"));
	assert_ptr_equal(look(&t, "10.1.0.1"), B);
	assert_ptr_equal(look(&t, "10.1.1.1"), B);
	assert_ptr_equal(look(&t, "10.2.0.1"), B);
	assert_ptr_equal(look(&t, "2001:db8::1"), B);
	assert_ptr_equal(look(&t, "2001:db8::2"), B);

	seq = t.seq;
	allowedips_remove_by_owner(&t, A);
	allowedips_remove_by_owner(&t, C);
	assert_int_equal(t.seq, seq);
	allowedips_remove_by_owner(&t, B);
	assert_null(t.root4);
	assert_null(t.root6);
	allowedips_free(&t);
}

static void test_walk(void **state)
{
	static const struct {
		const char *ip;
		uint8_t cidr;
	} set[] = {
		{ "192.168.1.0", 24 }, { "10.0.0.0", 8 }, { "10.0.0.0", 16 },
		{ "10.128.0.0", 9 }, { "0.0.0.0", 0 }, { "10.0.0.1", 32 },
		{ "172.16.0.0", 12 }, { "255.255.255.255", 32 },
		{ "fd00::", 8 }, { "::", 0 }, { "2001:db8::", 32 },
		{ "2001:db8::", 48 }, { "2001:db8:8000::", 33 }, { "::1", 128 },
	};
	const size_t n = sizeof(set) / sizeof(set[0]);
	struct allowedips t;
	struct walked *w;

	(void)state;
	allowedips_init(&t);
	for (size_t i = 0; i < n; i++) {
		unsigned max = fam(set[i].ip) == IP_V4 ? 32 : 128;
		unsigned c = set[i].cidr;

		ins(&t, set[i].ip, set[i].cidr, A);
		/* Another owner's prefixes in between must not show up. */
		ins(&t, set[i].ip, (uint8_t)(c < max ? c + 1 : c - 1), B);
	}
	w = walk(&t, A, 0);
	assert_int_equal(w->n, n);
	for (size_t i = 0; i < n; i++)
		assert_true(walked_has(w, set[i].ip, set[i].cidr));
	assert_walk_order(w);
	assert_int_equal(w->e[0].family, IP_V4);
	assert_int_equal(w->e[0].cidr, 0);
	assert_int_equal(w->e[n - 1].family, IP_V6);
	assert_true(walked_has(w, "::", 0));
	assert_int_equal(w->e[8].family, IP_V6);
	assert_int_equal(w->e[8].cidr, 0);

	w = walk(&t, B, 0);
	assert_int_equal(w->n, n);
	assert_walk_order(w);

	/* Stop early, also in the middle of the v4 table. */
	assert_int_equal(walk(&t, A, 3)->n, 3);
	assert_int_equal(walk(&t, A, 1)->n, 1);
	assert_int_equal(walk(&t, A, 9)->n, 9);
	assert_int_equal(walk(&t, C, 0)->n, 0);
	allowedips_free(&t);
	assert_null(t.root4);
	assert_null(t.root6);
}

/* --- the naive model: a list scanned for the longest match --- */

enum { MODEL_MAX = 600 };

struct entry {
	enum ip_family family;
	uint8_t ip[16];		/* masked to cidr */
	uint8_t cidr;
	void *owner;
};

struct model {
	struct entry e[MODEL_MAX];
	size_t n;
};

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned cidr)
{
	unsigned bytes = cidr / 8, rest = cidr % 8;

	if (memcmp(a, b, bytes))
		return false;
	return !rest || !((a[bytes] ^ b[bytes]) & (0xff00 >> rest));
}

static void mask(uint8_t *a, unsigned cidr)
{
	for (unsigned i = 0; i < 16; i++) {
		if (cidr >= 8 * (i + 1))
			continue;
		a[i] &= cidr > 8 * i ? (uint8_t)(0xff00 >> (cidr - 8 * i)) : 0;
	}
}

/* The index of prefix a/cidr in the model, or -1. */
static long model_find(const struct model *m, enum ip_family family,
		       const uint8_t *a, unsigned cidr)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].family == family && m->e[i].cidr == cidr &&
		    prefix_eq(m->e[i].ip, a, cidr))
			return (long)i;
	return -1;
}

static void model_insert(struct model *m, enum ip_family family,
			 const uint8_t *a, unsigned cidr, void *owner)
{
	long i = model_find(m, family, a, cidr);
	struct entry *e;

	if (i >= 0) {
		e = &m->e[i];
	} else {
		assert_true(m->n < MODEL_MAX);
		e = &m->e[m->n++];
		e->family = family;
		memcpy(e->ip, a, 16);
		mask(e->ip, cidr);
		e->cidr = (uint8_t)cidr;
	}
	e->owner = owner;
}

static int model_remove(struct model *m, enum ip_family family,
			const uint8_t *a, unsigned cidr, void *owner)
{
	long i = model_find(m, family, a, cidr);

	if (i < 0 || m->e[i].owner != owner)
		return -ENOENT;
	m->e[i] = m->e[--m->n];
	return 0;
}

static void model_remove_by_owner(struct model *m, void *owner)
{
	for (size_t i = 0; i < m->n;)
		if (m->e[i].owner == owner)
			m->e[i] = m->e[--m->n];
		else
			i++;
}

static void *model_lookup(const struct model *m, enum ip_family family,
			  const uint8_t *a)
{
	const struct entry *best = NULL;

	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].family == family &&
		    (!best || m->e[i].cidr > best->cidr) &&
		    prefix_eq(m->e[i].ip, a, m->e[i].cidr))
			best = &m->e[i];
	return best ? best->owner : NULL;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Overwrite the first cidr bits of a with those of src. */
static void copy_prefix(uint8_t *a, const uint8_t *src, unsigned cidr)
{
	for (unsigned i = 0; i < cidr; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		a[i / 8] = (uint8_t)((a[i / 8] & ~bit) | (src[i / 8] & bit));
	}
}

/* Addresses cluster under a few bases, so prefixes nest and overlap. */
static const uint8_t bases[4][16] = {
	{ 10, 1, 2, 3, 0x20, 0x01, 0x0d, 0xb8 },
	{ 10, 1, 130, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0xff },
	{ 192, 168, 0, 0, 0xfd, 0, 0, 0, 0, 0, 0, 1 },
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
};

static void random_addr(uint8_t *a, enum ip_family family)
{
	unsigned bits = family == IP_V4 ? 32 : 128;

	for (unsigned i = 0; i < 16; i++)
		a[i] = (uint8_t)rnd();
	if (below(8)) {
		/* keep a random-length head of a base */
		unsigned keep = below(bits + 1);
		uint8_t base[16];

		memcpy(base, bases[below(4)], 16);
		copy_prefix(a, base, keep);
	}
	if (family == IP_V4)
		memset(a + 4, 0, 12);
}

/* An address inside a prefix already in the model, or a random one. */
static void lookup_addr(const struct model *m, uint8_t *a,
			enum ip_family family)
{
	random_addr(a, family);
	if (m->n && below(4)) {
		const struct entry *e = &m->e[below((unsigned)m->n)];

		if (e->family == family)
			copy_prefix(a, e->ip, e->cidr);
	}
}

static void check_walks(const struct allowedips *t, const struct model *m)
{
	for (size_t o = 0; o < 4; o++) {
		struct walked *w = walk(t, &peers[o], 0);
		size_t want = 0;

		for (size_t i = 0; i < m->n; i++)
			if (m->e[i].owner == &peers[o])
				want++;
		assert_int_equal(w->n, want);
		assert_walk_order(w);
		for (size_t i = 0; i < w->n; i++) {
			long j = model_find(m, w->e[i].family, w->e[i].ip,
					    w->e[i].cidr);

			assert_true(j >= 0);
			assert_ptr_equal(m->e[j].owner, &peers[o]);
			/* and the walk reports host bits cleared */
			assert_memory_equal(m->e[j].ip, w->e[i].ip, 16);
		}
	}
}

/* One lookup in both; true on a match. */
static bool same_lookup(const struct allowedips *t, const struct model *m,
			enum ip_family family)
{
	uint8_t a[16];
	void *want, *got;

	lookup_addr(m, a, family);
	want = model_lookup(m, family, a);
	got = allowedips_lookup(t, family, a);
	assert_ptr_equal(got, want);
	return got != NULL;
}

static void same_insert(struct allowedips *t, struct model *m,
			enum ip_family family, unsigned cidr, void *owner)
{
	uint8_t a[16];

	random_addr(a, family);
	model_insert(m, family, a, cidr, owner);
	assert_int_equal(allowedips_insert(t, family, a, (uint8_t)cidr, owner),
			 0);
}

/* Remove an existing prefix (host bits scrambled, owner right or wrong) or
 * a random one from both; true if it was there. */
static bool same_remove(struct allowedips *t, struct model *m,
			enum ip_family family, void *owner)
{
	unsigned cidr = below(family == IP_V4 ? 33 : 129);
	uint64_t seq = t->seq;
	uint8_t a[16];
	int want;

	if (m->n && below(4)) {
		const struct entry *e = &m->e[below((unsigned)m->n)];

		family = e->family;
		cidr = e->cidr;
		random_addr(a, family);
		copy_prefix(a, e->ip, cidr);
		if (below(2))
			owner = e->owner;
	} else {
		random_addr(a, family);
	}
	want = model_remove(m, family, a, cidr, owner);
	assert_int_equal(allowedips_remove(t, family, a, (uint8_t)cidr, owner),
			 want);
	assert_true(want ? t->seq == seq : t->seq > seq);
	return want == 0;
}

static enum ip_family random_family(void)
{
	return below(2) ? IP_V4 : IP_V6;
}

static void test_against_model(void **state)
{
	struct model *m = calloc(1, sizeof(*m));
	struct allowedips t;
	unsigned long hits = 0, misses = 0, removed = 0;

	(void)state;
	assert_non_null(m);
	rng_state = 0xa110ed1b5ULL;
	allowedips_init(&t);

	for (unsigned long op = 0; op < 300000; op++) {
		enum ip_family family = random_family();
		unsigned bits = family == IP_V4 ? 32 : 128;
		unsigned k = below(1000);
		void *owner = &peers[below(4)];

		if (k < 500) {
			if (same_lookup(&t, m, family))
				hits++;
			else
				misses++;
		} else if (k < 750 && m->n < MODEL_MAX) {
			/* Mostly /8 and longer, so that lookups also miss;
			 * now and then anything down to /0. */
			unsigned cidr = below(50) ? 8 + below(bits - 7)
						  : below(bits + 1);

			same_insert(&t, m, family, cidr, owner);
		} else if (k < 999) {
			removed += same_remove(&t, m, family, owner);
		} else {
			model_remove_by_owner(m, owner);
			allowedips_remove_by_owner(&t, owner);
		}
		if (op % 5000 == 0)
			check_walks(&t, m);
	}
	check_walks(&t, m);
	print_message("%lu hits, %lu misses, %lu removed\n", hits, misses,
		      removed);
	assert_true(hits > 10000);
	assert_true(misses > 10000);
	assert_true(removed > 10000);

	/* Remove everything one prefix at a time: nothing may be left. */
	while (m->n) {
		struct entry e = m->e[below((unsigned)m->n)];

		assert_int_equal(allowedips_remove(&t, e.family, e.ip, e.cidr,
						   e.owner), 0);
		assert_int_equal(model_remove(m, e.family, e.ip, e.cidr,
					      e.owner), 0);
		for (int i = 0; i < 4; i++)
			same_lookup(&t, m, random_family());
	}
	assert_null(t.root4);
	assert_null(t.root6);

	/* Fill again, then empty it owner by owner. */
	for (int i = 0; i < MODEL_MAX; i++) {
		enum ip_family family = random_family();

		same_insert(&t, m, family, below(family == IP_V4 ? 33 : 129),
			    &peers[below(4)]);
	}
	check_walks(&t, m);
	for (int o = 0; o < 4; o++) {
		model_remove_by_owner(m, &peers[o]);
		allowedips_remove_by_owner(&t, &peers[o]);
		check_walks(&t, m);
		for (int i = 0; i < 2000; i++)
			same_lookup(&t, m, random_family());
	}
	assert_int_equal(m->n, 0);
	assert_null(t.root4);
	assert_null(t.root6);
	allowedips_free(&t);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_v4_nested),
		cmocka_unit_test(test_default_routes),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_host_routes),
		cmocka_unit_test(test_owner_change),
		cmocka_unit_test(test_masked_host_bits),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_by_owner),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
