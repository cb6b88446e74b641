/* test_meshview.c - a node's verified view: rosters and announcements
 * signed by the right keys are accepted; forged, altered, replayed, stale,
 * expired and foreign ones are rejected with a reason and change nothing;
 * address claims resolve by order whatever the arrival order. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh/announce.h"
#include "mesh/envelope.h"
#include "mesh/meshview.h"
#include "mesh/roster.h"

#define NOW_MS 1795000000000ULL

struct ident {
	uint8_t pk[32], sk[64];
};

static struct ident admin, other_admin, dev[5], stranger;

static void ident_make(struct ident *id, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

static int setup(void **state)
{
	unsigned i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	ident_make(&admin, 1);
	ident_make(&other_admin, 2);
	ident_make(&stranger, 3);
	for (i = 0; i < 5; i++)
		ident_make(&dev[i], (uint8_t)(10 + i));
	return 0;
}

/* A roster of devices 0..n-1; device 0 and 1 static (.10, .11). */
static char *roster_env(const struct ident *signer, uint64_t version, unsigned n,
			const char *range)
{
	struct roster r;
	char *body, *env;
	size_t len;
	unsigned i;

	memset(&r, 0, sizeof(r));
	strcpy(r.network, "acme");
	r.version = version;
	assert_true(mesh_range4_parse(&r.range, range));
	assert_true(mesh_range6_parse(&r.range, "fd00:1:2::/96"));
	memcpy(r.admins[0], admin.pk, 32);
	r.n_admins = 1;
	r.devices = calloc(n ? n : 1, sizeof(*r.devices));
	for (i = 0; i < n; i++) {
		struct roster_device *d = &r.devices[i];

		snprintf(d->owner, sizeof(d->owner), "owner%u", i);
		snprintf(d->name, sizeof(d->name), "dev%u", i);
		memcpy(d->key, dev[i].pk, 32);
		if (i < 2) {
			d->has_ip = true;
			assert_true(mesh_ip4_parse(&d->ip, i ? "100.80.0.11" : "100.80.0.10"));
		}
	}
	r.n_devices = n;
	assert_int_equal(roster_serialize(&r, &body, &len), 0);
	assert_int_equal(envelope_seal(ENV_ROSTER, signer->sk, body, len, &env), 0);
	free(body);
	roster_free(&r);
	return env;
}

static char *announce_env(const struct ident *signer, const struct ident *named,
			  uint64_t time_ms, const char *ip, uint64_t claim)
{
	struct announce a;
	char *body, *env;
	size_t len;

	memset(&a, 0, sizeof(a));
	strcpy(a.network, "acme");
	memcpy(a.device, named->pk, 32);
	memset(a.wg, 0x42, 32);
	assert_true(endpoint_parse(&a.endpoints[0], "192.0.2.1:51820", 15));
	a.n_endpoints = 1;
	if (ip) {
		a.has_ip = true;
		assert_true(mesh_ip4_parse(&a.ip, ip));
		a.claim = claim;
	}
	a.time_ms = time_ms;
	a.expires_s = time_ms / 1000 + 86400;
	assert_int_equal(announce_serialize(&a, &body, &len), 0);
	assert_int_equal(envelope_seal(ENV_ANNOUNCE, signer->sk, body, len, &env), 0);
	free(body);
	return env;
}

static void view_new(struct meshview *v, const struct ident *self)
{
	meshview_init(v, "acme", self->pk, (const uint8_t (*)[32])admin.pk, 1);
}

static int offer_r(struct meshview *v, char *env, uint64_t id, char *reason)
{
	int e = meshview_offer_roster(v, env, strlen(env), id, reason);

	free(env);
	return e;
}

static int offer_a(struct meshview *v, char *env, uint64_t id, char *reason)
{
	int e = meshview_offer_announce(v, env, strlen(env), id, NOW_MS, reason);

	free(env);
	return e;
}

static void test_roster_rules(void **state)
{
	struct meshview v;
	char reason[MESH_REASON_MAX];
	char *env, *tampered;
	unsigned gen;

	(void)state;
	view_new(&v, &dev[2]);
	/* signed by a key that is not pinned */
	assert_int_equal(offer_r(&v, roster_env(&other_admin, 1, 3, "100.80.0.0/16"),
				 1, reason), -EPERM);
	assert_non_null(strstr(reason, "not a pinned admin"));
	assert_false(v.has_roster);
	assert_int_equal(offer_r(&v, roster_env(&admin, 2, 3, "100.80.0.0/16"), 2,
				 reason), MV_ACCEPTED);
	assert_int_equal(v.roster.version, 2);
	gen = v.generation;
	/* rollback */
	assert_int_equal(offer_r(&v, roster_env(&admin, 1, 4, "100.80.0.0/16"), 3,
				 reason), -ESTALE);
	assert_non_null(strstr(reason, "rollback"));
	/* same version, other content */
	assert_int_equal(offer_r(&v, roster_env(&admin, 2, 4, "100.80.0.0/16"), 4,
				 reason), -ESTALE);
	/* same bytes again: not an error */
	env = strdup(v.roster_env);
	assert_int_equal(offer_r(&v, env, 5, reason), MV_UNCHANGED);
	/* forged: one byte of the base64 body changed */
	env = roster_env(&admin, 3, 5, "100.80.0.0/16");
	tampered = strstr(env, "\"body\":\"") + 20;
	*tampered = *tampered == 'A' ? 'B' : 'A';
	assert_int_equal(offer_r(&v, env, 6, reason), -EPERM);
	assert_non_null(strstr(reason, "does not verify"));
	/* an announcement passed off as a roster */
	assert_int_equal(offer_r(&v, announce_env(&dev[2], &dev[2], NOW_MS, NULL, 0),
				 7, reason), -EINVAL);
	assert_int_equal(v.generation, gen);
	assert_int_equal(v.roster.version, 2);
	assert_int_equal(v.roster.n_devices, 3);
	meshview_free(&v);
}

static void test_roster_parse_rules(void **state)
{
	struct roster r;
	char reason[MESH_REASON_MAX];
	static const char *bad[] = {
		"{}",
		"[]",
		"{\"network\":\"acme\",\"version\":0,\"range\":\"100.80.0.0/16\",\"admins\":[],\"devices\":[]}",
		"{\"network\":\"Acme\",\"version\":1,\"range\":\"100.80.0.0/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":[]}",
		"{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.1/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":[]}",
		"{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":[],\"x\":1}",
		"{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":["
		"{\"owner\":\"a\",\"name\":\"b\",\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"ip\":\"10.0.0.1\"}]}",
		"{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":["
		"{\"owner\":\"a\",\"name\":\"b\",\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"},"
		"{\"owner\":\"a\",\"name\":\"c\",\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}]}",
		"{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":["
		"{\"owner\":\"a\",\"name\":\"b\",\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"ip\":\"100.80.0.255\"},"
		"{\"owner\":\"a\",\"name\":\"c\",\"key\":\"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\",\"ip\":\"100.80.0.255\"}]}",
		"{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\",\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":["
		"{\"owner\":\"a\",\"name\":\"b\",\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"ip\":\"100.80.255.255\"}]}",
	};
	const char *good = "{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\","
		"\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],\"devices\":["
		"{\"owner\":\"a\",\"name\":\"b\",\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"ip\":\"100.80.0.255\",\"exit\":true}]}";
	char *out;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reason[0] = '\0';
		assert_int_equal(roster_parse(&r, bad[i], strlen(bad[i]), reason), -EINVAL);
		assert_true(reason[0] != '\0');
		assert_null(r.devices);
	}
	assert_int_equal(roster_parse(&r, good, strlen(good), reason), 0);
	assert_int_equal(r.n_devices, 1);
	assert_true(r.devices[0].exit);
	assert_int_equal(roster_serialize(&r, &out, &len), 0);
	assert_string_equal(out, good);
	free(out);
	roster_free(&r);
}

static void test_announce_rules(void **state)
{
	struct meshview v;
	char reason[MESH_REASON_MAX];
	char *env, *p;
	unsigned gen;

	(void)state;
	view_new(&v, &dev[2]);
	assert_int_equal(offer_a(&v, announce_env(&dev[0], &dev[0], NOW_MS, NULL, 0), 1,
				 reason), -EPERM);
	assert_non_null(strstr(reason, "before any roster"));
	assert_int_equal(offer_r(&v, roster_env(&admin, 1, 4, "100.80.0.0/16"), 2,
				 reason), MV_ACCEPTED);
	assert_int_equal(offer_a(&v, announce_env(&dev[0], &dev[0], NOW_MS, NULL, 0), 3,
				 reason), MV_ACCEPTED);
	gen = v.generation;
	/* not in the roster */
	assert_int_equal(offer_a(&v, announce_env(&stranger, &stranger, NOW_MS + 1,
						  NULL, 0), 4, reason), -EPERM);
	assert_non_null(strstr(reason, "not in the roster"));
	/* signed by one device, naming another */
	assert_int_equal(offer_a(&v, announce_env(&dev[1], &dev[0], NOW_MS + 1, NULL, 0),
				 5, reason), -EPERM);
	/* replayed / stale */
	assert_int_equal(offer_a(&v, announce_env(&dev[0], &dev[0], NOW_MS - 1, NULL, 0),
				 6, reason), -ESTALE);
	/* expired, and from the future */
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3],
						  NOW_MS - 2ULL * 86400 * 1000, NULL, 0),
				 7, reason), -ETIME);
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3],
						  NOW_MS + 3600 * 1000, NULL, 0),
				 8, reason), -ETIME);
	/* a static device claiming an address; a claim outside the range */
	assert_int_equal(offer_a(&v, announce_env(&dev[1], &dev[1], NOW_MS, "100.80.0.50",
						  0), 9, reason), -EINVAL);
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS, "10.0.0.5", 0),
				 10, reason), -EINVAL);
	/* forged: the body altered after signing */
	env = announce_env(&dev[3], &dev[3], NOW_MS, "100.80.0.50", 0);
	p = strstr(env, "\"body\":\"") + 30;
	*p = *p == 'A' ? 'B' : 'A';
	assert_int_equal(offer_a(&v, env, 11, reason), -EPERM);
	assert_non_null(strstr(reason, "does not verify"));
	assert_int_equal(v.generation, gen);
	assert_false(v.devs[3].announced);
	/* the same announcement again is harmless */
	assert_int_equal(offer_a(&v, announce_env(&dev[0], &dev[0], NOW_MS, NULL, 0), 12,
				 reason), MV_UNCHANGED);
	meshview_free(&v);
}

static void test_claims(void **state)
{
	struct meshview v, w;
	char reason[MESH_REASON_MAX];

	(void)state;
	view_new(&v, &dev[2]);
	view_new(&w, &dev[3]);
	assert_int_equal(offer_r(&v, roster_env(&admin, 1, 4, "100.80.0.0/16"), 1,
				 reason), MV_ACCEPTED);
	assert_int_equal(offer_r(&w, roster_env(&admin, 1, 4, "100.80.0.0/16"), 1,
				 reason), MV_ACCEPTED);
	/* v sees 2's claim first, w sees 3's first: both agree 2 wins
	 * (message 5 < 6). */
	assert_int_equal(offer_a(&v, announce_env(&dev[2], &dev[2], NOW_MS, "100.80.1.1", 0),
				 5, reason), MV_ACCEPTED);
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS, "100.80.1.1", 0),
				 6, reason), MV_ACCEPTED);
	assert_int_equal(offer_a(&w, announce_env(&dev[3], &dev[3], NOW_MS, "100.80.1.1", 0),
				 6, reason), MV_ACCEPTED);
	assert_false(meshview_self_lost(&w));
	assert_int_equal(offer_a(&w, announce_env(&dev[2], &dev[2], NOW_MS, "100.80.1.1", 0),
				 5, reason), MV_ACCEPTED);
	assert_true(v.devs[2].has_ip);
	assert_false(v.devs[3].has_ip);
	assert_true(w.devs[2].has_ip);
	assert_false(w.devs[3].has_ip);
	assert_false(meshview_self_lost(&v));
	assert_true(meshview_self_lost(&w));
	/* a refresh by the winner keeps its first claim's order */
	assert_int_equal(offer_a(&v, announce_env(&dev[2], &dev[2], NOW_MS + 1,
						  "100.80.1.1", 5), 9, reason), MV_ACCEPTED);
	assert_true(v.devs[2].has_ip);
	assert_false(v.devs[3].has_ip);
	/* the loser moves; both hold addresses */
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS + 1,
						  "100.80.1.2", 0), 10, reason), MV_ACCEPTED);
	assert_true(v.devs[3].has_ip);
	assert_int_equal(v.devs[3].ip.b[3], 2);
	/* a claim of a static address never wins */
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS + 2,
						  "100.80.0.10", 0), 11, reason), MV_ACCEPTED);
	assert_false(v.devs[3].has_ip);
	assert_true(v.devs[0].has_ip);
	meshview_free(&v);
	meshview_free(&w);
}

static uint32_t counter_rnd(void *arg)
{
	uint32_t *c = arg;

	return (*c)++;
}

static void test_pick(void **state)
{
	struct meshview v;
	char reason[MESH_REASON_MAX];
	struct mesh_ip4 prev, got;
	uint32_t c = 0;

	(void)state;
	view_new(&v, &dev[2]);
	/* /29: .1 .. .6 usable; no static device in it (ours are .10/.11
	 * of the /16 roster, so use a range that holds them). */
	assert_int_equal(offer_r(&v, roster_env(&admin, 1, 4, "100.80.0.8/29"), 1,
				 reason), MV_ACCEPTED);
	/* previous address reused while free */
	assert_true(mesh_ip4_parse(&prev, "100.80.0.12"));
	assert_int_equal(meshview_pick_ip(&v, &prev, counter_rnd, &c, &got), 0);
	assert_memory_equal(got.b, prev.b, 4);
	/* taken by device 3: another is picked, never static/net/broadcast */
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS, "100.80.0.12", 0),
				 2, reason), MV_ACCEPTED);
	assert_int_equal(meshview_pick_ip(&v, &prev, counter_rnd, &c, &got), 0);
	assert_true(got.b[3] == 9 || got.b[3] == 13 || got.b[3] == 14);
	/* fill the rest: .9 .13 .14 free; take them via device 4 + self checks */
	assert_int_equal(offer_a(&v, announce_env(&dev[4], &dev[4], NOW_MS, "100.80.0.9", 0),
				 3, reason), -EPERM);	/* dev 4 not in a 4-device roster */
	meshview_free(&v);
}

static void test_removed_device(void **state)
{
	struct meshview v;
	char reason[MESH_REASON_MAX];

	(void)state;
	view_new(&v, &dev[0]);
	assert_int_equal(offer_r(&v, roster_env(&admin, 1, 4, "100.80.0.0/16"), 1,
				 reason), MV_ACCEPTED);
	assert_int_equal(offer_a(&v, announce_env(&dev[1], &dev[1], NOW_MS, NULL, 0), 2,
				 reason), MV_ACCEPTED);
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS, "100.80.9.9", 0),
				 3, reason), MV_ACCEPTED);
	/* version 2 lists devices 0..2 only: 3 is gone with its announcement,
	 * 1's carries over. */
	assert_int_equal(offer_r(&v, roster_env(&admin, 2, 3, "100.80.0.0/16"), 4,
				 reason), MV_ACCEPTED);
	assert_int_equal(v.roster.n_devices, 3);
	assert_true(v.devs[1].announced);
	assert_int_equal(meshview_find(&v, dev[3].pk), -1);
	assert_int_equal(offer_a(&v, announce_env(&dev[3], &dev[3], NOW_MS + 5,
						  "100.80.9.9", 0), 5, reason), -EPERM);
	assert_int_equal(v.last_id, 4);
	meshview_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roster_rules),
		cmocka_unit_test(test_roster_parse_rules),
		cmocka_unit_test(test_announce_rules),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_removed_device),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
