/* target_hubreq.c - fuzz weft-hub's request handler (hub/api.h) against an
 * in-memory database holding one network with a roster. The input is
 * split at NUL bytes into method, path, query, Authorization and body.
 * Every answer must be a status the API documents and a JSON body; every
 * 4xx must carry a printable one-line reason. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "hub/api.h"
#include "hub/store.h"
#include "mesh/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static struct api api;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void setup(void)
{
	uint8_t pk[32], sk[64], seed[32] = { 1 };
	char err[MESH_REASON_MAX], *env, body[512], key[64];
	uint64_t id;

	if (sodium_init() < 0 || store_open(&st, ":memory:", err))
		abort();
	crypto_sign_seed_keypair(pk, sk, seed);
	check(store_network_create(st, "acme", pk) == 0);
	mesh_b64_encode(key, sizeof(key), pk, 32);
	snprintf(body, sizeof(body),
		 "{\"network\":\"acme\",\"version\":1,\"range\":\"100.80.0.0/16\","
		 "\"admins\":[\"%s\"],\"devices\":[{\"owner\":\"a\",\"name\":\"b\","
		 "\"key\":\"%s\"}]}", key, key);
	check(envelope_seal(ENV_ROSTER, sk, body, strlen(body), &env) == 0);
	check(store_put_roster(st, "acme", env, 1,
			       (const uint8_t (*)[MESH_KEY_LEN])pk, 1, &id) == 0);
	free(env);
	api_init(&api, st);
}

/* The next NUL-terminated piece of the input (copied), or "" at the end. */
static char *piece(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z = *p < end ? memchr(*p, 0, (size_t)(end - *p)) : NULL;
	size_t n = z ? (size_t)(z - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	check(s != NULL);
	if (n)
		memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (z != NULL);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct api_request rq;
	struct api_response rs;
	char *method, *path, *query, *auth, *body;
	json_t *o;
	size_t blen;

	if (!st)
		setup();
	method = piece(&p, end);
	path = piece(&p, end);
	query = piece(&p, end);
	auth = piece(&p, end);
	blen = (size_t)(end - p);
	body = malloc(blen + 1);
	check(body != NULL);
	if (blen)
		memcpy(body, p, blen);
	body[blen] = '\0';
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.query = *query ? query : NULL;
	rq.auth = *auth ? auth : NULL;
	rq.body = body;
	rq.body_len = blen;
	rq.now = 1795000000;
	api_handle(&api, &rq, &rs);
	check(rs.status == 200 || (rs.status >= 400 && rs.status <= 500));
	check(rs.body != NULL);
	o = json_loads(rs.body, 0, NULL);
	check(json_is_object(o));
	if (rs.status >= 400) {
		const char *r = json_string_value(json_object_get(o, "error"));

		check(r && *r);
		for (; *r; r++)
			check((unsigned char)*r >= 0x20 && *r != 0x7f);
	}
	json_decref(o);
	free(rs.body);
	free(method);
	free(path);
	free(query);
	free(auth);
	free(body);
	return 0;
}
