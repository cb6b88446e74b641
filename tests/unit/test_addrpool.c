/* test_addrpool.c - the address pool: stickiness, avoidance, exhaustion,
 * conflicts, the file format and its errors, and random operations checked
 * against a deliberately naive model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/addrpool.h"
#include "core/allowedips.h"
#include "core/encoding.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"

static const uint8_t hash_key[ADDRPOOL_HASH_KEY_LEN] = { 0x5e, 0xed };

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	return p;
}

static void key_of(uint8_t key[32], unsigned n)
{
	memset(key, 0, 32);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[31] = 0x40;
}

static struct addrpool *pool_new(const char *net4, const char *net6)
{
	struct addrpool *p = calloc(1, sizeof(*p));
	struct ip_prefix n4, n6;

	assert_non_null(p);
	if (net4)
		n4 = pfx(net4);
	if (net6)
		n6 = pfx(net6);
	assert_true(addrpool_init(p, net4 ? &n4 : NULL, net6 ? &n6 : NULL,
				  hash_key));
	return p;
}

static void assert_prefix_equal(const struct ip_prefix *a,
				const struct ip_prefix *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->cidr, b->cidr);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
}

static void assert_is(const struct ip_prefix *a, const char *text)
{
	struct ip_prefix want = pfx(text);

	assert_prefix_equal(a, &want);
}

static bool inside(const struct ip_prefix *addr, const struct ip_prefix *net)
{
	unsigned whole = net->cidr / 8, rest = net->cidr % 8;

	if (addr->family != net->family || memcmp(addr->addr, net->addr, whole))
		return false;
	return !rest ||
	       ((addr->addr[whole] ^ net->addr[whole]) & (0xff << (8 - rest))) == 0;
}

/* ---- basics ---------------------------------------------------------- */

static void test_init_limits(void **state)
{
	struct addrpool *p = calloc(1, sizeof(*p));
	struct ip_prefix v4 = pfx("10.66.0.0/16"), v6 = pfx("fd66::/64");
	struct ip_prefix bad;

	(void)state;
	assert_non_null(p);
	assert_false(addrpool_init(p, NULL, NULL, hash_key));
	assert_false(addrpool_init(p, &v6, NULL, hash_key));
	assert_false(addrpool_init(p, &v4, &v4, hash_key));
	assert_false(addrpool_init(p, &v4, NULL, NULL));
	bad = pfx("10.0.0.0/7");
	assert_false(addrpool_init(p, &bad, NULL, hash_key));
	bad = pfx("10.0.0.0/31");
	assert_false(addrpool_init(p, &bad, NULL, hash_key));
	bad = pfx("fd00::/63");
	assert_false(addrpool_init(p, NULL, &bad, hash_key));
	bad = pfx("fd00::/127");
	assert_false(addrpool_init(p, NULL, &bad, hash_key));
	assert_true(addrpool_init(p, &v4, &v6, hash_key));
	assert_true(addrpool_init(p, NULL, &v6, hash_key));
	/* Host bits of the range are dropped. */
	bad = pfx("10.66.7.9/16");
	assert_true(addrpool_init(p, &bad, NULL, hash_key));
	assert_is(&p->net4, "10.66.0.0/16");
	free(p);
}

static void test_prefix_text(void **state)
{
	struct ip_prefix p;
	char s[ADDRPOOL_PREFIX_STR_MAX];

	(void)state;
	p = pfx("10.1.2.3");
	assert_int_equal(p.family, IP_V4);
	assert_int_equal(p.cidr, 32);
	addrpool_prefix_format(&p, s);
	assert_string_equal(s, "10.1.2.3/32");
	p = pfx("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128");
	addrpool_prefix_format(&p, s);
	assert_string_equal(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	p = pfx("fd00::/0");
	assert_int_equal(p.cidr, 0);
	assert_false(addrpool_prefix_parse(&p, "10.1.2.3/33", 11));
	assert_false(addrpool_prefix_parse(&p, "10.1.2.3/", 9));
	assert_false(addrpool_prefix_parse(&p, "10.1.2.3/+1", 11));
	assert_false(addrpool_prefix_parse(&p, "fd00::/129", 10));
	assert_false(addrpool_prefix_parse(&p, "10.1.2", 6));
	assert_false(addrpool_prefix_parse(&p, "", 0));
	assert_false(addrpool_prefix_parse(&p, "10.1.2.3\0/8", 11));
	assert_false(addrpool_prefix_parse(&p, NULL, 0));
	memset(&p, 0, sizeof(p));
	addrpool_prefix_format(&p, s);
	assert_string_equal(s, "");
}

/* The same key gets the same addresses, also after a release (when they
 * are still free) and in a new pool with the same hash key. */
static void test_sticky(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct addrpool *q = pool_new("10.66.0.0/16", "fd66::/64");
	struct ip_prefix a4[8], a6[8], b4, b6;
	uint8_t key[32];

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		key_of(key, i);
		assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4[i], &a6[i]),
				 ADDRPOOL_OK);
		assert_int_equal(a4[i].cidr, 16);
		assert_int_equal(a6[i].cidr, 64);
		assert_true(inside(&a4[i], &p->net4));
		assert_true(inside(&a6[i], &p->net6));
		for (unsigned j = 0; j < i; j++) {
			assert_memory_not_equal(a4[i].addr, a4[j].addr, 4);
			assert_memory_not_equal(a6[i].addr, a6[j].addr, 16);
		}
	}
	for (unsigned i = 0; i < 8; i++) {
		key_of(key, i);
		assert_int_equal(addrpool_assign(p, key, NULL, 0, &b4, &b6),
				 ADDRPOOL_OK);
		assert_prefix_equal(&b4, &a4[i]);
		assert_prefix_equal(&b6, &a6[i]);
		assert_true(addrpool_lookup(p, key, &b4, &b6));
		assert_prefix_equal(&b4, &a4[i]);
	}
	assert_int_equal(p->n, 8);

	key_of(key, 3);
	assert_true(addrpool_release(p, key));
	assert_false(addrpool_release(p, key));
	assert_false(addrpool_lookup(p, key, &b4, &b6));
	assert_int_equal(b4.family, 0);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &b4, &b6), ADDRPOOL_OK);
	assert_prefix_equal(&b4, &a4[3]);
	assert_prefix_equal(&b6, &a6[3]);

	/* Another pool, keys in reverse order: the same answers. */
	for (unsigned i = 8; i-- > 0;) {
		key_of(key, i);
		assert_int_equal(addrpool_assign(q, key, NULL, 0, &b4, &b6),
				 ADDRPOOL_OK);
		assert_prefix_equal(&b4, &a4[i]);
		assert_prefix_equal(&b6, &a6[i]);
	}
	free(p);
	free(q);
}

/* The first choice is the documented keyed hash. */
static void test_first_choice(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct ip_prefix a4, a6;
	uint8_t key[32], in[33], h[8];
	uint64_t v;

	(void)state;
	key_of(key, 77);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);

	in[0] = 4;
	memcpy(in + 1, key, 32);
	blake2s_keyed(h, 8, hash_key, sizeof(hash_key), in, sizeof(in));
	v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | h[i];
	v %= 65536;
	if (v > 1 && v < 65535) {
		assert_int_equal(a4.addr[2], (uint8_t)(v >> 8));
		assert_int_equal(a4.addr[3], (uint8_t)v);
	}
	in[0] = 6;
	blake2s_keyed(h, 8, hash_key, sizeof(hash_key), in, sizeof(in));
	for (int i = 0; i < 8; i++)
		assert_int_equal(a6.addr[15 - i], h[i]);
	free(p);
}

static void test_reserved_never_given(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/28", "fd66::/124");
	struct ip_prefix a4, a6, s4, s6;
	uint8_t key[32];
	bool seen[16] = { false };

	(void)state;
	addrpool_server_address(p, &s4, &s6);
	assert_is(&s4, "10.66.0.1/28");
	assert_is(&s6, "fd66::1/124");
	/* 16 - network - server - broadcast = 13. */
	for (unsigned i = 0; i < 13; i++) {
		key_of(key, i);
		assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6),
				 ADDRPOOL_OK);
		assert_true(a4.addr[3] >= 2 && a4.addr[3] <= 14);
		assert_true(a6.addr[15] >= 2 && a6.addr[15] <= 14);
		assert_false(seen[a4.addr[3]]);
		seen[a4.addr[3]] = true;
	}
	key_of(key, 13);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6),
			 ADDRPOOL_FULL);
	assert_int_equal(a4.family, 0);
	assert_int_equal(p->n, 13);
	/* A known key still gets its own. */
	key_of(key, 5);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);

	free(p);
	p = pool_new("192.168.7.4/30", NULL);
	key_of(key, 1);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);
	assert_is(&a4, "192.168.7.6/30");
	assert_int_equal(a6.family, 0);
	key_of(key, 2);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6),
			 ADDRPOOL_FULL);
	free(p);
}

static void test_avoidance(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct ip_prefix a4, a6, b4, b6, avoid[3];
	uint8_t key[32];

	(void)state;
	key_of(key, 1);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);

	/* Subnets elsewhere: the address stays. */
	avoid[0] = pfx("192.168.0.0/16");
	avoid[1] = pfx("fc00::/8");
	assert_int_equal(addrpool_assign(p, key, avoid, 2, &b4, &b6), ADDRPOOL_OK);
	assert_prefix_equal(&b4, &a4);
	assert_prefix_equal(&b6, &a6);

	/* The client's LAN now covers its v4 address: it moves, v6 stays. */
	avoid[0] = a4;
	avoid[0].cidr = 24;
	avoid[0].addr[3] = 0;
	assert_int_equal(addrpool_assign(p, key, avoid, 1, &b4, &b6), ADDRPOOL_OK);
	assert_false(inside(&b4, &avoid[0]));
	assert_prefix_equal(&b6, &a6);
	/* Back on a LAN without overlap: the new address sticks. */
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);
	assert_prefix_equal(&a4, &b4);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->n4, 1);

	/* New keys, most of whose hashed starts lie in large avoided blocks
	 * (the server's own address is left free). */
	for (unsigned i = 100; i < 140; i++) {
		avoid[0] = pfx("10.66.64.0/18");
		avoid[1] = pfx("10.66.128.0/17");
		avoid[2] = pfx("fd66::8000:0:0:0/65");
		key_of(key, i);
		assert_int_equal(addrpool_assign(p, key, avoid, 3, &a4, &a6),
				 ADDRPOOL_OK);
		for (int j = 0; j < 3; j++) {
			assert_false(inside(&a4, &avoid[j]));
			assert_false(inside(&a6, &avoid[j]));
		}
		assert_int_equal(a4.addr[2] & 0xc0, 0);
		assert_int_equal(a6.addr[8] & 0x80, 0);
	}
	/* Host bits in an avoided prefix are ignored. */
	avoid[0] = pfx("10.66.128.77/17");
	key_of(key, 200);
	assert_int_equal(addrpool_assign(p, key, avoid, 1, &a4, &a6), ADDRPOOL_OK);
	assert_int_equal(a4.addr[2] & 0x80, 0);
	free(p);
}

static void test_conflict(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct ip_prefix a4, a6, avoid[4];
	uint8_t key[32];
	size_t n_before;

	(void)state;
	key_of(key, 1);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);
	n_before = p->n;

#define CONFLICT(count) do {						\
		struct ip_prefix c4, c6;				\
		assert_int_equal(addrpool_assign(p, key, avoid, count, &c4, \
						 &c6), ADDRPOOL_CONFLICT); \
		assert_int_equal(c4.family, 0);				\
		assert_int_equal(c6.family, 0);				\
		assert_true(addrpool_lookup(p, key, &c4, &c6));		\
		assert_prefix_equal(&c4, &a4);				\
		assert_prefix_equal(&c6, &a6);				\
		assert_int_equal(p->n, n_before);			\
	} while (0)

	avoid[0] = pfx("10.0.0.0/8");
	CONFLICT(1);
	avoid[0] = pfx("0.0.0.0/0");
	CONFLICT(1);
	avoid[0] = pfx("fd00::/8");
	CONFLICT(1);
	/* Two halves make the whole. */
	avoid[0] = pfx("10.66.0.0/17");
	avoid[1] = pfx("10.66.128.0/17");
	CONFLICT(2);
	/* The server's own address. */
	avoid[0] = pfx("10.66.0.0/24");
	CONFLICT(1);
	avoid[0] = pfx("fd66::1/128");
	CONFLICT(1);
	free(p);

	/* A /29: .2 to .6 are a client's; all avoided is a conflict. */
	p = pool_new("10.66.0.0/29", NULL);
	key_of(key, 1);
	avoid[0] = pfx("10.66.0.2/31");
	avoid[1] = pfx("10.66.0.4/31");
	avoid[2] = pfx("10.66.0.6/32");
	assert_int_equal(addrpool_assign(p, key, avoid, 3, &a4, &a6),
			 ADDRPOOL_CONFLICT);
	/* One address left by the subnets, and it is taken: full. */
	key_of(key, 9);
	assert_int_equal(addrpool_assign(p, key, avoid, 2, &a4, &a6), ADDRPOOL_OK);
	assert_is(&a4, "10.66.0.6/29");
	key_of(key, 1);
	assert_int_equal(addrpool_assign(p, key, avoid, 2, &a4, &a6),
			 ADDRPOOL_FULL);
#undef CONFLICT
	free(p);
}

static void test_arguments(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct ip_prefix a4, a6, avoid[ADDRPOOL_MAX_AVOID + 1];
	uint8_t key[32];

	(void)state;
	key_of(key, 1);
	for (size_t i = 0; i < ADDRPOOL_MAX_AVOID + 1; i++)
		avoid[i] = pfx("192.168.0.0/24");
	assert_int_equal(addrpool_assign(p, key, avoid, ADDRPOOL_MAX_AVOID + 1,
					 &a4, &a6), ADDRPOOL_INVALID);
	assert_int_equal(addrpool_assign(p, key, NULL, 1, &a4, &a6),
			 ADDRPOOL_INVALID);
	assert_int_equal(addrpool_assign(p, NULL, NULL, 0, &a4, &a6),
			 ADDRPOOL_INVALID);
	avoid[0].family = 5;
	assert_int_equal(addrpool_assign(p, key, avoid, 1, &a4, &a6),
			 ADDRPOOL_INVALID);
	avoid[0] = pfx("192.168.0.0/24");
	avoid[0].cidr = 33;
	assert_int_equal(addrpool_assign(p, key, avoid, 1, &a4, &a6),
			 ADDRPOOL_INVALID);
	assert_int_equal(p->n, 0);
	assert_int_equal(addrpool_assign(p, key, avoid + 1, ADDRPOOL_MAX_AVOID,
					 NULL, NULL), ADDRPOOL_OK);
	assert_false(addrpool_release(p, NULL));
	free(p);
}

/* ADDRPOOL_MAX_CLIENTS keys fill the map even when addresses are left. */
static void test_capacity(void **state)
{
	struct addrpool *p = pool_new("10.0.0.0/8", "fd66::/64");
	struct ip_prefix a4, a6;
	uint8_t key[32];

	(void)state;
	for (unsigned i = 0; i < ADDRPOOL_MAX_CLIENTS; i++) {
		key_of(key, i);
		assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6),
				 ADDRPOOL_OK);
	}
	key_of(key, ADDRPOOL_MAX_CLIENTS);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6),
			 ADDRPOOL_FULL);
	key_of(key, 17);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);
	assert_true(addrpool_release(p, key));
	key_of(key, ADDRPOOL_MAX_CLIENTS);
	assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6), ADDRPOOL_OK);
	for (size_t i = 1; i < p->n4; i++)
		assert_true(p->used4[i - 1] < p->used4[i]);
	free(p);
}

/* ---- the file -------------------------------------------------------- */

static void test_serialise_round_trip(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct addrpool *q = pool_new("10.66.0.0/16", "fd66::/64");
	size_t cap = (ADDRPOOL_MAX_CLIENTS + 1) * ADDRPOOL_LINE_MAX;
	char *buf = malloc(cap), *buf2 = malloc(cap);
	struct ip_prefix a4, a6, b4, b6;
	struct addrpool_error err;
	uint8_t key[32];
	size_t len, len2;

	(void)state;
	assert_non_null(buf);
	assert_non_null(buf2);
	/* An empty pool is one comment line. */
	assert_int_equal(addrpool_serialise(p, buf, cap, &len), 0);
	assert_int_equal(addrpool_load(q, buf, len, &err), 0);
	assert_int_equal(q->n, 0);
	for (unsigned i = 0; i < 300; i++) {
		key_of(key, i);
		assert_int_equal(addrpool_assign(p, key, NULL, 0, &a4, &a6),
				 ADDRPOOL_OK);
	}
	for (unsigned i = 0; i < 300; i += 7) {
		key_of(key, i);
		assert_true(addrpool_release(p, key));
	}
	assert_int_equal(addrpool_serialise(p, buf, cap, &len), 0);
	assert_int_equal(addrpool_load(q, buf, len, &err), 0);
	assert_int_equal(q->n, p->n);
	for (unsigned i = 0; i < 300; i++) {
		bool has;

		key_of(key, i);
		has = addrpool_lookup(p, key, &a4, &a6);
		assert_int_equal(addrpool_lookup(q, key, &b4, &b6), has);
		if (has) {
			assert_prefix_equal(&a4, &b4);
			assert_prefix_equal(&a6, &b6);
		}
	}
	assert_int_equal(addrpool_serialise(q, buf2, cap, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf, buf2, len);

	/* Too small a buffer, at every size. */
	for (size_t c = 0; c < 300; c++)
		assert_int_equal(addrpool_serialise(p, buf2, c, &len2), -ENOSPC);
	assert_int_equal(addrpool_serialise(p, buf2, len - 1, &len2), -ENOSPC);
	assert_int_equal(addrpool_serialise(p, buf2, len, &len2), 0);

	/* A loaded map sticks like a live one. */
	key_of(key, 1);
	assert_true(addrpool_lookup(q, key, &a4, &a6));
	assert_int_equal(addrpool_assign(q, key, NULL, 0, &b4, &b6), ADDRPOOL_OK);
	assert_prefix_equal(&a4, &b4);
	free(buf);
	free(buf2);
	free(p);
	free(q);
}

static void test_load_forms(void **state)
{
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct addrpool *v4only = pool_new("10.66.0.0/16", NULL);
	struct addrpool_error err;
	struct ip_prefix a4, a6;
	char key[KEY_BASE64_LEN + 1], key2[KEY_BASE64_LEN + 1], text[512];
	uint8_t k[32], k2[32];
	int n;

	(void)state;
	key_of(k, 1);
	key_of(k2, 2);
	key_to_base64(key, k);
	key_to_base64(key2, k2);
	n = snprintf(text, sizeof(text),
		     "# comment\n\n   \t\n%s\t10.66.3.4   fd66::3:4\r\n"
		     "  %s - fd66::9  \n# end", key, key2);
	assert_int_equal(addrpool_load(p, text, (size_t)n, &err), 0);
	assert_int_equal(p->n, 2);
	assert_true(addrpool_lookup(p, k, &a4, &a6));
	assert_is(&a4, "10.66.3.4/16");
	assert_is(&a6, "fd66::3:4/64");
	assert_true(addrpool_lookup(p, k2, &a4, &a6));
	assert_int_equal(a4.family, 0);
	/* A missing family is filled in on the next assignment; the v6
	 * address stays. */
	assert_int_equal(addrpool_assign(p, k2, NULL, 0, &a4, &a6), ADDRPOOL_OK);
	assert_int_equal(a4.family, IP_V4);
	assert_is(&a6, "fd66::9/64");

	n = snprintf(text, sizeof(text), "%s 10.66.3.4 -", key);
	assert_int_equal(addrpool_load(v4only, text, (size_t)n, &err), 0);
	assert_int_equal(addrpool_load(v4only, "", 0, &err), 0);
	assert_int_equal(v4only->n, 0);
	assert_int_equal(addrpool_load(v4only, NULL, 0, &err), 0);
	free(p);
	free(v4only);
}

struct bad_file {
	const char *text;	/* K: a key, L: another key */
	unsigned line;
	const char *says;
};

static void test_load_errors(void **state)
{
	static const struct bad_file cases[] = {
		{ "garbage\n", 1, "expected" },
		{ "# ok\nK 10.66.0.5\n", 2, "found 2" },
		{ "K 10.66.0.5 fd66::5 extra\n", 1, "more than 3" },
		{ "\n\nxyz 10.66.0.5 fd66::5\n", 3, "not a base64" },
		{ "K 10.66.0.500 fd66::5\n", 1, "not an IPv4" },
		{ "K fd66::5 fd66::5\n", 1, "not an IPv4" },
		{ "K 10.66.0.5 10.66.0.6\n", 1, "not an IPv6" },
		{ "K 10.67.0.5 fd66::5\n", 1, "outside the pool 10.66.0.0/16" },
		{ "K 10.66.0.5 fd67::5\n", 1, "outside the pool fd66::/64" },
		{ "K 10.66.0.0 fd66::5\n", 1, "network, broadcast or server" },
		{ "K 10.66.0.1 fd66::5\n", 1, "network, broadcast or server" },
		{ "K 10.66.255.255 fd66::5\n", 1, "network, broadcast" },
		{ "K 10.66.0.5 fd66::1\n", 1, "network, broadcast or server" },
		{ "K 10.66.0.5 fd66::5\nL 10.66.0.5 fd66::6\n", 2,
		  "already given to the key on line 1" },
		{ "K 10.66.0.5 fd66::5\n#\nL 10.66.0.6 fd66::5\n", 3,
		  "already given to the key on line 1" },
		{ "K 10.66.0.5 fd66::5\n\nK 10.66.0.6 fd66::6\n", 3,
		  "already listed on line 1" },
		{ "K - -\n", 1, "no address" },
		{ "K 10.66.0.5 fd66::5 \x01\n", 1, "more than 3" },
		{ " 10.66.0.5\n", 1, "found 1" },
	};
	struct addrpool *p = pool_new("10.66.0.0/16", "fd66::/64");
	struct addrpool *v4only = pool_new("10.66.0.0/16", NULL);
	char key[KEY_BASE64_LEN + 1], key2[KEY_BASE64_LEN + 1];
	char text[1024];
	struct addrpool_error err;
	uint8_t k[32];

	(void)state;
	key_of(k, 1);
	key_to_base64(key, k);
	key_of(k, 2);
	key_to_base64(key2, k);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t n = 0;

		for (const char *s = cases[i].text; *s; s++) {
			const char *put = *s == 'K' ? key : *s == 'L' ? key2 : NULL;
			size_t len = put ? strlen(put) : 1;

			assert_true(n + len < sizeof(text));
			memcpy(text + n, put ? put : s, len);
			n += len;
		}
		/* A map first, so that the error is seen to empty it. */
		{
			char good[128];

			snprintf(good, sizeof(good), "%s 10.66.9.9 fd66::9:9\n",
				 key);
			assert_int_equal(addrpool_load(p, good, strlen(good),
						       &err), 0);
			assert_int_equal(p->n, 1);
		}
		assert_int_equal(addrpool_load(p, text, n, &err), -1);
		if (err.line != cases[i].line ||
		    !strstr(err.msg, cases[i].says))
			fail_msg("case %zu: line %u: %s", i, err.line, err.msg);
		assert_int_equal(p->n, 0);
		assert_int_equal(p->n4, 0);
		assert_int_equal(p->n6, 0);
	}

	/* The pool has no v6 range. */
	snprintf(text, sizeof(text), "%s 10.66.0.5 fd66::5\n", key);
	assert_int_equal(addrpool_load(v4only, text, strlen(text), &err), -1);
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.msg, "no IPv6 range"));

	/* A NUL byte, a line too long. */
	assert_int_equal(addrpool_load(p, "# x\n\0\n", 6, &err), -1);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "NUL"));
	memset(text, '#', sizeof(text));
	text[ADDRPOOL_LINE_MAX] = '\n';
	assert_int_equal(addrpool_load(p, text, ADDRPOOL_LINE_MAX + 1, &err), 0);
	text[ADDRPOOL_LINE_MAX] = '#';
	text[ADDRPOOL_LINE_MAX + 1] = '\n';
	assert_int_equal(addrpool_load(p, text, ADDRPOOL_LINE_MAX + 2, &err), -1);
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.msg, "longer than"));
	free(p);
	free(v4only);
}

/* One line too many. */
static void test_load_capacity(void **state)
{
	struct addrpool *p = pool_new("10.0.0.0/8", NULL);
	size_t cap = (ADDRPOOL_MAX_CLIENTS + 2) * ADDRPOOL_LINE_MAX, n = 0;
	char *text = malloc(cap), key[KEY_BASE64_LEN + 1];
	struct addrpool_error err;
	uint8_t k[32];

	(void)state;
	assert_non_null(text);
	for (unsigned i = 0; i <= ADDRPOOL_MAX_CLIENTS; i++) {
		key_of(k, i);
		key_to_base64(key, k);
		n += (size_t)snprintf(text + n, cap - n, "%s 10.%u.%u.%u -\n",
				      key, 1 + (i >> 16), (i >> 8) & 0xff,
				      i & 0xff);
	}
	assert_int_equal(addrpool_load(p, text, n, &err), -1);
	assert_int_equal(err.line, ADDRPOOL_MAX_CLIENTS + 1);
	assert_non_null(strstr(err.msg, "more than"));
	free(text);
	free(p);
}

/* ---- against a naive model ------------------------------------------ */

enum { MODEL_KEYS = 40, MODEL_V4 = 32, MODEL_V6 = 64 };

struct model {
	bool has[MODEL_KEYS];
	unsigned off4[MODEL_KEYS], off6[MODEL_KEYS];
};

static uint64_t model_start(uint8_t family, const uint8_t key[32], uint64_t size)
{
	uint8_t in[33], h[8];
	uint64_t v = 0;

	in[0] = family;
	memcpy(in + 1, key, 32);
	blake2s_keyed(h, 8, hash_key, sizeof(hash_key), in, sizeof(in));
	for (int i = 7; i >= 0; i--)
		v = v << 8 | h[i];
	return v % size;
}

static struct ip_prefix model_addr(const struct ip_prefix *net, unsigned off)
{
	struct ip_prefix a = *net;
	size_t last = net->family == IP_V4 ? 3 : 15;

	a.addr[last] = (uint8_t)(a.addr[last] | off);
	return a;
}

static bool model_avoided(const struct ip_prefix *net, unsigned off,
			  const struct ip_prefix *avoid, size_t n)
{
	struct ip_prefix a = model_addr(net, off);

	for (size_t i = 0; i < n; i++)
		if (inside(&a, &avoid[i]))
			return true;
	return false;
}

/* One family: keep, or the first free offset from the start. */
static enum addrpool_result model_choose(const struct model *m, size_t k,
					 uint8_t family,
					 const struct ip_prefix *net,
					 const uint8_t key[32],
					 const struct ip_prefix *avoid,
					 size_t n, unsigned *out)
{
	unsigned size = family == IP_V4 ? MODEL_V4 : MODEL_V6;
	unsigned cur = family == IP_V4 ? m->off4[k] : m->off6[k];
	unsigned start = (unsigned)model_start(family, key, size);
	bool reachable = false;

	if (m->has[k] && !model_avoided(net, cur, avoid, n)) {
		*out = cur;
		return ADDRPOOL_OK;
	}
	for (unsigned i = 0; i < size; i++) {
		unsigned off = (start + i) % size;
		bool used = false;

		if (off == 0 || off == 1 || off == size - 1 ||
		    model_avoided(net, off, avoid, n))
			continue;
		reachable = true;
		for (size_t j = 0; j < MODEL_KEYS; j++)
			if (j != k && m->has[j] &&
			    (family == IP_V4 ? m->off4[j] : m->off6[j]) == off)
				used = true;
		if (!used) {
			*out = off;
			return ADDRPOOL_OK;
		}
	}
	return reachable ? ADDRPOOL_FULL : ADDRPOOL_CONFLICT;
}

static struct ip_prefix random_prefix(const struct ip_prefix *net4,
				      const struct ip_prefix *net6)
{
	bool v4 = rand() % 2;
	struct ip_prefix p = v4 ? *net4 : *net6;
	unsigned bits = v4 ? 32 : 128;

	/* Mostly inside the pool, sometimes around or over it. */
	p.cidr = (uint8_t)(bits - (unsigned)(rand() % 8));
	if (rand() % 10 == 0)
		p.cidr = (uint8_t)(bits - 8 - (unsigned)(rand() % 4));
	p.addr[bits / 8 - 1] = (uint8_t)rand();
	return p;
}

static void test_random_against_model(void **state)
{
	struct ip_prefix net4 = pfx("172.16.9.0/27"), net6 = pfx("fd12::40/122");
	struct addrpool *p = calloc(1, sizeof(*p));
	struct model m;
	unsigned counts[4] = { 0 };

	(void)state;
	assert_non_null(p);
	assert_true(addrpool_init(p, &net4, &net6, hash_key));
	memset(&m, 0, sizeof(m));
	srand(1234);
	for (unsigned step = 0; step < 20000; step++) {
		size_t k = (size_t)rand() % MODEL_KEYS;
		uint8_t key[32];
		struct ip_prefix avoid[4], a4, a6, s4, s6;
		size_t n = (size_t)rand() % 4;
		enum addrpool_result want, got;
		unsigned o4 = 0, o6 = 0;

		key_of(key, (unsigned)k);
		if (rand() % 8 == 0) {
			assert_int_equal(addrpool_release(p, key), m.has[k]);
			m.has[k] = false;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			avoid[i] = random_prefix(&net4, &net6);

		addrpool_server_address(p, &s4, &s6);
		if (model_avoided(&net4, 1, avoid, n) ||
		    model_avoided(&net6, 1, avoid, n))
			want = ADDRPOOL_CONFLICT;
		else if ((want = model_choose(&m, k, IP_V4, &net4, key, avoid,
					      n, &o4)) == ADDRPOOL_OK)
			want = model_choose(&m, k, IP_V6, &net6, key, avoid, n,
					    &o6);
		got = addrpool_assign(p, key, avoid, n, &a4, &a6);
		assert_int_equal(got, want);
		counts[got]++;
		if (got == ADDRPOOL_OK) {
			struct ip_prefix w4 = model_addr(&net4, o4);
			struct ip_prefix w6 = model_addr(&net6, o6);

			assert_prefix_equal(&a4, &w4);
			assert_prefix_equal(&a6, &w6);
			m.has[k] = true;
			m.off4[k] = o4;
			m.off6[k] = o6;
		}
		/* The whole map agrees. */
		for (size_t j = 0; j < MODEL_KEYS; j++) {
			uint8_t kj[32];

			key_of(kj, (unsigned)j);
			assert_int_equal(addrpool_lookup(p, kj, &a4, &a6),
					 m.has[j]);
			if (m.has[j]) {
				struct ip_prefix w4 = model_addr(&net4, m.off4[j]);

				assert_prefix_equal(&a4, &w4);
			}
		}
	}
	/* Every outcome happened many times. */
	print_message("ok %u, full %u, conflict %u\n", counts[ADDRPOOL_OK],
		      counts[ADDRPOOL_FULL], counts[ADDRPOOL_CONFLICT]);
	assert_true(counts[ADDRPOOL_OK] > 5000);
	assert_true(counts[ADDRPOOL_FULL] > 1000);
	assert_true(counts[ADDRPOOL_CONFLICT] > 1000);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init() ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_limits),
		cmocka_unit_test(test_prefix_text),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_first_choice),
		cmocka_unit_test(test_reserved_never_given),
		cmocka_unit_test(test_avoidance),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_serialise_round_trip),
		cmocka_unit_test(test_load_forms),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_capacity),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
