/* test_announce.c - an announcement's relays: round trip through
 * serialise and parse, the limit, and entries refused with a reason that
 * names them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mesh/announce.h"

static void make(struct announce *a, unsigned n_relays)
{
	static const char *const relays[] = { "192.0.2.1:3478", "[2001:db8::7]:3478",
					      "198.51.100.1:443", "203.0.113.9:3478" };

	memset(a, 0, sizeof(*a));
	strcpy(a->network, "acme");
	memset(a->device, 0x11, sizeof(a->device));
	memset(a->wg, 0x42, sizeof(a->wg));
	assert_true(endpoint_parse(&a->endpoints[0], "10.1.2.3:51820", 14));
	a->n_endpoints = 1;
	for (unsigned i = 0; i < n_relays; i++)
		assert_true(endpoint_parse(&a->relays[i], relays[i], strlen(relays[i])));
	a->n_relays = n_relays;
	a->time_ms = 1795000000000ULL;
	a->expires_s = 1795000000ULL + 86400;
}

/* The announcement's JSON with its relays member replaced by members. */
static char *with_relays(const char *members)
{
	struct announce a;
	char *json, *out, *p, *end;
	size_t len;

	make(&a, 1);
	assert_int_equal(announce_serialize(&a, &json, &len), 0);
	p = strstr(json, "\"relays\":[");
	assert_non_null(p);
	end = strchr(p, ']');
	assert_non_null(end);
	out = malloc(len + strlen(members) + 1);
	assert_non_null(out);
	sprintf(out, "%.*s%s%s", (int)(p - json), json, members, end + 1);
	free(json);
	return out;
}

static void test_relays_round_trip(void **state)
{
	struct announce a, b;
	char reason[MESH_REASON_MAX], *json;
	size_t len;

	(void)state;
	for (unsigned n = 0; n <= MESH_MAX_RELAYS; n++) {
		make(&a, n);
		assert_int_equal(announce_serialize(&a, &json, &len), 0);
		assert_int_equal(announce_parse(&b, json, len, reason), 0);
		assert_int_equal(b.n_relays, n);
		for (unsigned i = 0; i < n; i++)
			assert_true(endpoint_equal(&b.relays[i], &a.relays[i]));
		assert_true(endpoint_equal(&b.endpoints[0], &a.endpoints[0]));
		if (!n)
			assert_null(strstr(json, "relays"));
		free(json);
	}
}

static void test_relays_refused(void **state)
{
	static const struct {
		const char *members, *reason;
	} bad[] = {
		{ "\"relays\":[\"192.0.2.1:1\",\"192.0.2.2:1\",\"192.0.2.3:1\","
		  "\"192.0.2.4:1\",\"192.0.2.5:1\"]",
		  "announcement relays must be an array of at most 4" },
		{ "\"relays\":{}", "announcement relays must be an array" },
		{ "\"relays\":[\"192.0.2.1:1\",\"192.0.2.1\"]", "announcement relays[1] is not ip:port" },
		{ "\"relays\":[\"192.0.2.1:0\"]", "announcement relays[0] is not ip:port" },
		{ "\"relays\":[\"relay.example:3478\"]", "announcement relays[0] is not ip:port" },
		{ "\"relays\":[\"[::1]:70000\"]", "announcement relays[0] is not ip:port" },
		{ "\"relays\":[true]", "announcement relays[0] is not ip:port" },
	};
	struct announce a;
	char reason[MESH_REASON_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *json = with_relays(bad[i].members);

		assert_int_equal(announce_parse(&a, json, strlen(json), reason), -EINVAL);
		if (!strstr(reason, bad[i].reason))
			fail_msg("case %zu: reason \"%s\", want \"%s\"", i, reason,
				 bad[i].reason);
		free(json);
	}
	/* The replacement itself is sound. */
	{
		char *json = with_relays("\"relays\":[\"192.0.2.9:9\"]");

		assert_int_equal(announce_parse(&a, json, strlen(json), reason), 0);
		assert_int_equal(a.n_relays, 1);
		assert_int_equal(a.relays[0].port, 9);
		free(json);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relays_round_trip),
		cmocka_unit_test(test_relays_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
