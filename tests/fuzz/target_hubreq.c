/* target_hubreq.c - fuzz weft-hub's request handler (hub/api.h) against an
 * in-memory store holding network acme with a published roster. Input:
 * one flags byte, then METHOD \n TARGET \n AUTHORIZATION \n BODY. Flag 1
 * replaces the Authorization by a valid one of the admin, flag 2 of a
 * listed device (so the fuzzer gets past authentication to the body
 * parsers). Every answer must be 200 or a 4xx with {"error":"one line"};
 * the hub must never answer 5xx to a request. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "hub/api.h"
#include "hub/store.h"
#include "mesh/envelope.h"
#include "mesh/hubauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1795000000LL

static struct store *store;
static struct api api;
static uint8_t admin_pk[32], admin_sk[64], dev_pk[32], dev_sk[64];

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void init(void)
{
	char err[MESH_REASON_MAX], a64[48], d64[48], body[1024], *env = NULL;
	char auth[HUBAUTH_HEADER_MAX];
	uint8_t seed[32];
	struct api_request rq = { 0 };
	struct api_response rs;

	check(sodium_init() >= 0);
	memset(seed, 1, sizeof(seed));
	crypto_sign_seed_keypair(admin_pk, admin_sk, seed);
	memset(seed, 2, sizeof(seed));
	crypto_sign_seed_keypair(dev_pk, dev_sk, seed);
	mesh_b64_encode(a64, sizeof(a64), admin_pk, 32);
	mesh_b64_encode(d64, sizeof(d64), dev_pk, 32);
	check(store_open(&store, ":memory:", err) == 0);
	check(store_network_create(store, "acme", admin_pk) == 0);
	api_init(&api, store);
	snprintf(body, sizeof(body),
		 "{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\","
		 "\"range6\":\"fd5e:1f2a:9c00::/96\",\"admins\":[\"%s\"],"
		 "\"devices\":[{\"owner\":\"bob\",\"name\":\"phone\",\"key\":\"%s\"}]}",
		 a64, d64);
	check(envelope_seal(ENV_ROSTER, admin_sk, body, strlen(body), &env) == 0);
	hubauth_make(auth, admin_sk, "POST", "/v1/networks/acme/roster", env,
		     strlen(env), NOW);
	rq.method = "POST";
	rq.path = "/v1/networks/acme/roster";
	rq.auth = auth;
	rq.body = env;
	rq.body_len = strlen(env);
	rq.now = NOW;
	api_handle(&api, &rq, &rs);
	check(rs.status == 200);
	free(rs.body);
	free(env);
}

/* The next '\n'-terminated field of [*p, end), NUL-terminated copy. */
static char *field(const uint8_t **p, const uint8_t *end, size_t max)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s;

	if (n > max)
		n = max;
	s = malloc(n + 1);
	check(s != NULL);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	char *method, *target, *auth, *path, *q, signed_auth[HUBAUTH_HEADER_MAX];
	struct api_request rq = { 0 };
	struct api_response rs;
	json_t *j;
	uint8_t flags;

	if (!store)
		init();
	if (size < 1)
		return 0;
	flags = data[0];
	method = field(&p, end, 16);
	target = field(&p, end, 1024);
	auth = field(&p, end, 512);
	path = strdup(target);
	check(path != NULL);
	q = strchr(path, '?');
	if (q)
		*q++ = '\0';
	rq.method = method;
	rq.path = path;
	rq.query = q;
	rq.auth = auth[0] || !(flags & 4) ? auth : NULL;
	rq.body = (const char *)p;
	rq.body_len = (size_t)(end - p);
	rq.now = NOW;
	if (flags & 3) {
		hubauth_make(signed_auth, (flags & 1) ? admin_sk : dev_sk, method,
			     target, rq.body, rq.body_len, NOW);
		rq.auth = signed_auth;
	}
	if (rq.body_len > api_body_limit(path))
		goto out;	/* the HTTP layer answers 413 */
	api_handle(&api, &rq, &rs);
	check(rs.body != NULL);
	check(rs.status == 200 || (rs.status >= 400 && rs.status < 500));
	j = json_loads(rs.body, 0, NULL);
	check(json_is_object(j));
	if (rs.status >= 400) {
		json_t *e = json_object_get(j, "error");

		check(json_is_string(e));
		check(strchr(json_string_value(e), '\n') == NULL);
	}
	json_decref(j);
	free(rs.body);
out:
	free(path);
	free(method);
	free(target);
	free(auth);
	return 0;
}
