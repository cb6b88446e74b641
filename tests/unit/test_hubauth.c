/* test_hubauth.c - hub request signatures, the envelope and the invite:
 * what one side makes the other accepts; any change to method, path, body,
 * time or key is refused; malformed text gets a reason. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh/envelope.h"
#include "mesh/hubauth.h"
#include "mesh/invite.h"

static uint8_t pk[32], sk[64];

static int setup(void **state)
{
	uint8_t seed[32] = { 7 };

	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_seed_keypair(pk, sk, seed);
	return 0;
}

static void test_request_roundtrip(void **state)
{
	char hdr[HUBAUTH_HEADER_MAX], reason[MESH_REASON_MAX];
	struct hubauth a;
	const char *body = "{\"x\":1}";

	(void)state;
	hubauth_make(hdr, sk, "POST", "/v1/networks/acme/announce", body,
		     strlen(body), 1000);
	assert_int_equal(hubauth_parse(&a, hdr, reason), 0);
	assert_memory_equal(a.key, pk, 32);
	assert_int_equal(a.time, 1000);
	assert_int_equal(hubauth_check(&a, "POST", "/v1/networks/acme/announce", body,
				       strlen(body), 1030, reason), 0);
	assert_int_equal(hubauth_check(&a, "GET", "/v1/networks/acme/announce", body,
				       strlen(body), 1000, reason), -EPERM);
	assert_int_equal(hubauth_check(&a, "POST", "/v1/networks/acmf/announce", body,
				       strlen(body), 1000, reason), -EPERM);
	assert_int_equal(hubauth_check(&a, "POST", "/v1/networks/acme/announce", "{}",
				       2, 1000, reason), -EPERM);
	assert_int_equal(hubauth_check(&a, "POST", "/v1/networks/acme/announce", body,
				       strlen(body), 1061, reason), -ETIME);
	assert_int_equal(hubauth_check(&a, "POST", "/v1/networks/acme/announce", body,
				       strlen(body), 939, reason), -ETIME);
	a.key[0] ^= 1;
	assert_int_equal(hubauth_check(&a, "POST", "/v1/networks/acme/announce", body,
				       strlen(body), 1000, reason), -EPERM);
}

static void test_request_malformed(void **state)
{
	static const char *bad[] = {
		"", "Bearer x", "Weft key=, time=1, sig=x", "Weft time=1, key=a, sig=b",
		"Weft key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, time=-1, sig=AAAA",
		"Weft key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, time=01, sig=AAAA",
		"Weft key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, time=1, sig=AAAA",
		"Weft key=AAAA, time=1, sig=AAAA",
	};
	char reason[MESH_REASON_MAX];
	struct hubauth a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reason[0] = '\0';
		assert_int_equal(hubauth_parse(&a, bad[i], reason), -EINVAL);
		assert_true(reason[0] != '\0');
	}
}

static void test_envelope(void **state)
{
	char reason[MESH_REASON_MAX], *json, *p;
	struct envelope e;

	(void)state;
	assert_int_equal(envelope_seal(ENV_ANNOUNCE, sk, "{\"a\":1}", 7, &json), 0);
	assert_int_equal(envelope_parse(&e, json, strlen(json), reason), 0);
	assert_true(envelope_verify(&e));
	assert_int_equal(e.body_len, 7);
	assert_string_equal((char *)e.body, "{\"a\":1}");
	/* the same bytes under the other type do not verify */
	e.type = ENV_ROSTER;
	assert_false(envelope_verify(&e));
	envelope_free(&e);
	p = strstr(json, "announce");
	memcpy(p, "rosterxx", 8);
	assert_int_equal(envelope_parse(&e, json, strlen(json), reason), -EINVAL);
	free(json);
	assert_int_equal(envelope_parse(&e, "{\"type\":\"roster\"}", 17, reason), -EINVAL);
	assert_int_equal(envelope_parse(&e, "nope", 4, reason), -EINVAL);
	assert_null(e.body);
}

static void test_invite(void **state)
{
	struct invite iv, back;
	char reason[MESH_REASON_MAX], *line;

	(void)state;
	memset(&iv, 0, sizeof(iv));
	strcpy(iv.hub, "http://192.0.2.1:7480");
	strcpy(iv.network, "acme");
	memcpy(iv.admins[0], pk, 32);
	iv.n_admins = 1;
	assert_int_equal(invite_format(&iv, &line), 0);
	assert_int_equal(strncmp(line, "weft1:", 6), 0);
	assert_int_equal(invite_parse(&back, line, reason), 0);
	assert_memory_equal(&iv, &back, sizeof(iv));
	line[10] ^= 1;
	assert_int_equal(invite_parse(&back, line, reason), -EINVAL);
	free(line);
	assert_int_equal(invite_parse(&back, "weft2:abc", reason), -EINVAL);
	strcpy(iv.hub, "ftp://x");
	assert_int_equal(invite_format(&iv, &line), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_invite),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
