/* test_roster.c - a roster's relays and STUN servers: round trip through
 * parse and serialise, the limit, and entries refused with a reason that
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

#include "mesh/roster.h"

#define HEAD "{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\"," \
	"\"admins\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]"
#define DEVICES ",\"devices\":[{\"owner\":\"a\",\"name\":\"b\"," \
	"\"key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"}]}"

static int parse(struct roster *r, const char *members, char reason[MESH_REASON_MAX])
{
	char json[2048];
	int n = snprintf(json, sizeof(json), HEAD "%s" DEVICES, members);

	assert_true(n > 0 && (size_t)n < sizeof(json));
	reason[0] = '\0';
	return roster_parse(r, json, (size_t)n, reason);
}

static void test_relays_round_trip(void **state)
{
	static const char good[] = HEAD
		",\"relays\":[\"192.0.2.1:3478\",\"[2001:db8::1]:3478\"]"
		",\"stun\":[\"198.51.100.7:19302\"]" DEVICES;
	struct roster r;
	struct wg_endpoint want;
	char reason[MESH_REASON_MAX], *out;
	size_t len;

	(void)state;
	assert_int_equal(roster_parse(&r, good, strlen(good), reason), 0);
	assert_int_equal(r.n_relays, 2);
	assert_int_equal(r.n_stun, 1);
	assert_true(endpoint_parse(&want, "[2001:db8::1]:3478", 18));
	assert_true(endpoint_equal(&r.relays[1], &want));
	assert_int_equal(r.stun[0].port, 19302);
	assert_int_equal(roster_serialize(&r, &out, &len), 0);
	assert_string_equal(out, good);
	assert_int_equal(len, strlen(good));
	free(out);
	roster_free(&r);

	/* As many as allowed. */
	assert_int_equal(parse(&r, ",\"relays\":[\"192.0.2.1:1\",\"192.0.2.2:1\","
			       "\"192.0.2.3:1\",\"192.0.2.4:1\"],\"stun\":[\"192.0.2.5:1\","
			       "\"192.0.2.6:1\",\"192.0.2.7:1\",\"192.0.2.8:1\"]", reason), 0);
	assert_int_equal(r.n_relays, MESH_MAX_RELAYS);
	assert_int_equal(r.n_stun, MESH_MAX_RELAYS);
	roster_free(&r);
	/* Empty or absent: none, and none written. */
	assert_int_equal(parse(&r, ",\"relays\":[],\"stun\":[]", reason), 0);
	assert_int_equal(r.n_relays, 0);
	assert_int_equal(roster_serialize(&r, &out, &len), 0);
	assert_null(strstr(out, "relays"));
	assert_null(strstr(out, "stun"));
	free(out);
	roster_free(&r);
}

static void test_relays_refused(void **state)
{
	static const struct {
		const char *members, *reason;
	} bad[] = {
		{ ",\"relays\":[\"192.0.2.1:1\",\"192.0.2.2:1\",\"192.0.2.3:1\","
		  "\"192.0.2.4:1\",\"192.0.2.5:1\"]", "roster relays must be an array of at most 4" },
		{ ",\"stun\":[\"192.0.2.1:1\",\"192.0.2.2:1\",\"192.0.2.3:1\","
		  "\"192.0.2.4:1\",\"192.0.2.5:1\"]", "roster stun must be an array of at most 4" },
		{ ",\"relays\":\"192.0.2.1:3478\"", "roster relays must be an array" },
		{ ",\"relays\":[\"192.0.2.1:3478\",\"192.0.2.1\"]", "roster relays[1] is not ip:port" },
		{ ",\"relays\":[\"192.0.2.1:0\"]", "roster relays[0] is not ip:port" },
		{ ",\"relays\":[\"relay.example:3478\"]", "roster relays[0] is not ip:port" },
		{ ",\"relays\":[\"192.0.2.1:65536\"]", "roster relays[0] is not ip:port" },
		{ ",\"relays\":[\"2001:db8::1:3478\"]", "roster relays[0] is not ip:port" },
		{ ",\"relays\":[3478]", "roster relays[0] is not ip:port" },
		{ ",\"relays\":[null]", "roster relays[0] is not ip:port" },
		{ ",\"stun\":[\"192.0.2.1:3478\",\"192.0.2.1:3478 \"]", "roster stun[1] is not ip:port" },
	};
	struct roster r;
	char reason[MESH_REASON_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&r, bad[i].members, reason), -EINVAL);
		if (!strstr(reason, bad[i].reason))
			fail_msg("case %zu: reason \"%s\", want \"%s\"", i, reason,
				 bad[i].reason);
		assert_null(r.devices);
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
