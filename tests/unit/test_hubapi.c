/* test_hubapi.c - weft-hub's request handler without a network: every
 * endpoint's success and each class of refusal (400 401 403 404 405 409
 * 413), each refusal a {"error":"..."} of one line; rosters only from
 * pinned admins and only newer, admin handover, announcements only from
 * listed devices, signed by the requester, newer and not expired; events
 * in order, held when empty, retiring removed devices; rows written by
 * another process (a tampering hub) seen at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "hub/api.h"
#include "hub/store.h"
#include "mesh/envelope.h"
#include "mesh/hubauth.h"

#define NOW 1795000000LL
#define NET "/v1/networks/acme/"

struct key {
	uint8_t pk[32], sk[64];
	char b64[48];
};

static struct key admin, admin2, dev1, dev2, dev3, stranger;
static char dir[64], path[96];
static struct store *store;
static struct api api;

static void key_make(struct key *k, uint8_t seed_byte)
{
	uint8_t seed[32];

	memset(seed, seed_byte, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	mesh_b64_encode(k->b64, sizeof(k->b64), k->pk, 32);
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	key_make(&admin, 1);
	key_make(&admin2, 2);
	key_make(&dev1, 3);
	key_make(&dev2, 4);
	key_make(&dev3, 5);
	key_make(&stranger, 6);
	snprintf(dir, sizeof(dir), "/tmp/test_hubapi.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each test: a fresh database with network acme pinning admin. */
static int setup(void **state)
{
	static unsigned n;
	char reason[MESH_REASON_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/hub%u.db", dir, n++);
	if (store_open(&store, path, reason) != 0 ||
	    store_network_create(store, "acme", admin.pk) != 0)
		return -1;
	api_init(&api, store);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_free(&api);
	store_close(store);
	return 0;
}

static void resp_free(struct api_response *rs)
{
	free(rs->body);
	rs->body = NULL;
}

/* The target split into path and query, as the HTTP layer hands it. */
static void handle(const char *method, const char *target, const char *auth,
		   const char *body, size_t len, int64_t now,
		   struct api_response *rs)
{
	char p[2048];
	const char *q = strchr(target, '?');
	size_t n = q ? (size_t)(q - target) : strlen(target);
	struct api_request rq = {
		.method = method, .path = p, .query = q ? q + 1 : NULL,
		.auth = auth, .body = body ? body : "", .body_len = len,
		.now = now,
	};

	assert_true(n < sizeof(p));
	memcpy(p, target, n);
	p[n] = '\0';
	api_handle(&api, &rq, rs);
}

/* One request; sk NULL: no Authorization. Returns the status. */
static int call_at(const char *method, const char *target,
		   const struct key *k, const char *body, int64_t now,
		   struct api_response *rs)
{
	char auth[HUBAUTH_HEADER_MAX];
	size_t len = body ? strlen(body) : 0;

	if (k)
		hubauth_make(auth, k->sk, method, target, body, len, now);
	handle(method, target, k ? auth : NULL, body, len, now, rs);
	return rs->status;
}

static int call(const char *method, const char *target, const struct key *k,
		const char *body, struct api_response *rs)
{
	return call_at(method, target, k, body, NOW, rs);
}

/* The status, and for a refusal: {"error":"one line"} naming want. */
static void expect_at(struct api_response *rs, int status, const char *want,
		      int line)
{
	json_t *j;

	if (rs->status != status)
		fail_msg("line %d: status %d, want %d: %s", line, rs->status, status,
			 rs->body ? rs->body : "(no body)");
	assert_non_null(rs->body);
	j = json_loads(rs->body, 0, NULL);
	assert_non_null(j);
	if (status >= 400) {
		json_t *e = json_object_get(j, "error");

		assert_true(json_is_string(e));
		assert_int_equal(json_object_size(j), 1);
		assert_null(strchr(json_string_value(e), '\n'));
		assert_true(strlen(json_string_value(e)) > 5);
		if (want && !strstr(json_string_value(e), want))
			fail_msg("line %d: error '%s' does not say '%s'", line,
				 json_string_value(e), want);
	}
	json_decref(j);
	resp_free(rs);
}

#define expect(rs, status, want) expect_at(rs, status, want, __LINE__)

/* ---------------------------------------------------------- messages */

/* A roster payload: devices dev1 (static, exit) and dev2 (dynamic),
 * and dev3 when with3. */
static char *roster_json(uint64_t version, const char *network,
			 const struct key *adm, bool with3)
{
	char *s = NULL;

	if (asprintf(&s,
		"{\"network\":\"%s\",\"version\":%llu,"
		"\"range\":\"100.80.0.0/16\",\"range6\":\"fd5e:1f2a:9c00::/96\","
		"\"admins\":[\"%s\"],\"devices\":["
		"{\"owner\":\"alice\",\"name\":\"laptop\",\"key\":\"%s\","
		"\"ip\":\"100.80.0.10\",\"exit\":true},"
		"{\"owner\":\"bob\",\"name\":\"phone\",\"key\":\"%s\"}%s%s%s]}",
		network, (unsigned long long)version, adm->b64, dev1.b64,
		dev2.b64, with3 ? ",{\"owner\":\"carol\",\"name\":\"pc\","
		"\"key\":\"" : "", with3 ? dev3.b64 : "", with3 ? "\"}" : "") < 0)
		abort();
	return s;
}

static char *seal(enum envelope_type t, const struct key *k, const char *body)
{
	char *env = NULL;

	assert_int_equal(envelope_seal(t, k->sk, body, strlen(body), &env), 0);
	return env;
}

static char *roster_env(uint64_t version, const struct key *signer,
			const struct key *adm, bool with3)
{
	char *body = roster_json(version, "acme", adm, with3);
	char *env = seal(ENV_ROSTER, signer, body);

	free(body);
	return env;
}

/* An announcement of k; ip NULL: none claimed. */
static char *announce_json(const struct key *k, const char *network,
			   uint64_t time_ms, uint64_t expires, const char *ip,
			   bool dns)
{
	char ipm[48] = "", *s = NULL;

	if (ip)
		snprintf(ipm, sizeof(ipm), "\"ip\":\"%s\",\"claim\":0,", ip);
	if (asprintf(&s,
		"{\"network\":\"%s\",\"device\":\"%s\","
		"\"wg\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
		"\"endpoints\":[\"192.0.2.7:51820\"],%s%s"
		"\"time\":%llu,\"expires\":%llu}",
		network, k->b64, ipm, dns ? "\"dns\":[\"192.0.2.53\"]," : "",
		(unsigned long long)time_ms, (unsigned long long)expires) < 0)
		abort();
	return s;
}

static char *announce_env(const struct key *k, uint64_t time_ms,
			  const char *ip)
{
	char *body = announce_json(k, "acme", time_ms, NOW + 86400, ip, false);
	char *env = seal(ENV_ANNOUNCE, k, body);

	free(body);
	return env;
}

static uint64_t publish(uint64_t version, const struct key *signer,
			const struct key *adm, bool with3)
{
	struct api_response rs;
	char *env = roster_env(version, signer, adm, with3);
	json_t *j;
	uint64_t id;

	assert_int_equal(call("POST", NET "roster", signer, env, &rs), 200);
	free(env);
	assert_true(rs.stored);
	assert_string_equal(rs.network, "acme");
	j = json_loads(rs.body, 0, NULL);
	assert_non_null(j);
	id = (uint64_t)json_integer_value(json_object_get(j, "id"));
	assert_int_equal(json_integer_value(json_object_get(j, "version")),
			 version);
	json_decref(j);
	resp_free(&rs);
	return id;
}

static uint64_t announce(const struct key *k, uint64_t time_ms,
			 const char *ip)
{
	struct api_response rs;
	char *env = announce_env(k, time_ms, ip);
	uint64_t id;

	if (call("POST", NET "announce", k, env, &rs) != 200)
		fail_msg("announce: %d %s", rs.status, rs.body);
	free(env);
	{
		json_t *j = json_loads(rs.body, 0, NULL);

		id = (uint64_t)json_integer_value(json_object_get(j, "id"));
		json_decref(j);
	}
	assert_true(id > 0);
	assert_true(rs.stored);
	resp_free(&rs);
	return id;
}

/* ---------------------------------------------------------- tests */

static void test_health_and_routes(void **state)
{
	struct api_response rs;

	(void)state;
	assert_int_equal(call("GET", "/v1/health", NULL, NULL, &rs), 200);
	assert_string_equal(rs.body, "{\"ok\":true}");
	resp_free(&rs);
	call("POST", "/v1/health", NULL, NULL, &rs);
	expect(&rs, 405, NULL);

	static const char *const bad[] = {
		"/", "/v1", "/v1/networks", "/v1/networks/", "/v1/networks/acme",
		"/v1/networks/acme/", "/v1/networks/acme/foo",
		"/v1/networks//roster", "/v2/networks/acme/roster",
		"/v1/networks/acme/roster/x", "/v1/healthz", "v1/health", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call("GET", bad[i], &admin, NULL, &rs);
		expect(&rs, 404, NULL);
	}
	/* An overlong target. */
	{
		char big[1500];

		memset(big, 'a', sizeof(big) - 1);
		big[0] = '/';
		big[sizeof(big) - 1] = '\0';
		call("GET", big, &admin, NULL, &rs);
		expect(&rs, 404, NULL);
	}
	call("PUT", NET "roster", &admin, NULL, &rs);
	expect(&rs, 405, NULL);
	call("GET", NET "announce", &admin, NULL, &rs);
	expect(&rs, 405, NULL);
	call("POST", NET "events", &admin, "{}", &rs);
	expect(&rs, 405, NULL);
	call("DELETE", NET "roster", &admin, NULL, &rs);
	expect(&rs, 405, NULL);
	/* Unknown networks, also malformed names. */
	call("GET", "/v1/networks/nope/roster", &admin, NULL, &rs);
	expect(&rs, 404, "unknown network nope");
	call("GET", "/v1/networks/Bad_Name/roster", &admin, NULL, &rs);
	expect(&rs, 404, NULL);
	/* Body limits per endpoint: a roster envelope carries up to 1 MiB
	 * of payload in base64. */
	assert_true(api_body_limit(NET "roster") >= MESH_ROSTER_BODY_MAX);
	assert_int_equal(api_body_limit(NET "announce"), MESH_BODY_MAX);
	assert_int_equal(api_body_limit(NET "events"), MESH_BODY_MAX);
	assert_int_equal(api_body_limit(NULL), MESH_BODY_MAX);
}

static void test_auth(void **state)
{
	struct api_response rs;
	char auth[HUBAUTH_HEADER_MAX];

	(void)state;
	call("GET", NET "events", NULL, NULL, &rs);
	expect(&rs, 401, "Authorization");
	handle("GET", NET "events", "Bearer xyz", NULL, 0, NOW, &rs);
	expect(&rs, 401, NULL);
	handle("GET", NET "events", "", NULL, 0, NOW, &rs);
	expect(&rs, 401, NULL);
	handle("GET", NET "events", "Weft key=x, time=1, sig=y", NULL, 0, NOW,
	       &rs);
	expect(&rs, 401, NULL);
	/* Outside the time window, both ways. */
	hubauth_make(auth, admin.sk, "GET", NET "events", NULL, 0, NOW - 66);
	handle("GET", NET "events", auth, NULL, 0, NOW, &rs);
	expect(&rs, 401, NULL);
	hubauth_make(auth, admin.sk, "GET", NET "events", NULL, 0, NOW + 120);
	handle("GET", NET "events", auth, NULL, 0, NOW, &rs);
	expect(&rs, 401, NULL);
	/* Signed for another request, or over another body: a wrong
	 * signature (403, as the protocol page says). */
	hubauth_make(auth, admin.sk, "GET", NET "roster", NULL, 0, NOW);
	handle("GET", NET "events", auth, NULL, 0, NOW, &rs);
	expect(&rs, 403, NULL);
	hubauth_make(auth, admin.sk, "GET", NET "events?since=1", NULL, 0, NOW);
	handle("GET", NET "events", auth, NULL, 0, NOW, &rs);
	expect(&rs, 403, NULL);
	hubauth_make(auth, admin.sk, "GET", NET "events", NULL, 0, NOW);
	handle("GET", NET "events?since=1", auth, NULL, 0, NOW, &rs);
	expect(&rs, 403, NULL);
	hubauth_make(auth, admin.sk, "POST", NET "announce", "{}", 2, NOW);
	handle("POST", NET "announce", auth, "{ }", 3, NOW, &rs);
	expect(&rs, 403, NULL);

	/* Before any roster only admins; a stranger never. */
	call("GET", NET "events", &dev1, NULL, &rs);
	expect(&rs, 403, "not an admin or device");
	call("GET", NET "events", &stranger, NULL, &rs);
	expect(&rs, 403, "not an admin or device");
	assert_int_equal(call("GET", NET "events", &admin, NULL, &rs), 200);
	assert_string_equal(rs.body, "{\"messages\":[],\"last\":0}");
	resp_free(&rs);
	publish(1, &admin, &admin, false);
	/* Now the roster's devices too. */
	assert_int_equal(call("GET", NET "events", &dev1, NULL, &rs), 200);
	resp_free(&rs);
	assert_int_equal(call("GET", NET "roster", &dev2, NULL, &rs), 200);
	resp_free(&rs);
	call("GET", NET "roster", &dev3, NULL, &rs);
	expect(&rs, 403, "not an admin or device");
}

static void test_roster(void **state)
{
	struct api_response rs;
	char *env, *body, *bad;
	uint64_t id1, id2;
	json_t *j;

	(void)state;
	call("GET", NET "roster", &admin, NULL, &rs);
	expect(&rs, 404, "no roster");
	id1 = publish(1, &admin, &admin, false);
	assert_true(id1 > 0);

	/* GET returns the envelope exactly as posted. */
	env = roster_env(1, &admin, &admin, false);
	assert_int_equal(call("GET", NET "roster", &dev1, NULL, &rs), 200);
	j = json_loads(rs.body, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), id1);
	assert_true(json_is_object(json_object_get(j, "roster")));
	json_decref(j);
	assert_non_null(strstr(rs.body, env));
	resp_free(&rs);

	/* The same again, an older one: 409. */
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 409, "not newer");
	free(env);
	/* A device may not publish. */
	env = roster_env(2, &admin, &admin, false);
	call("POST", NET "roster", &dev1, env, &rs);
	expect(&rs, 403, "admin");
	/* Bit flip in the signed body: bad signature. */
	bad = strdup(env);
	{
		char *b = strstr(bad, "\"body\":\"") + 8;

		b[10] = b[10] == 'A' ? 'B' : 'A';
	}
	call("POST", NET "roster", &admin, bad, &rs);
	expect(&rs, 403, "signature");
	free(bad);
	free(env);
	/* Signed by a key that is not pinned (even naming itself admin). */
	env = roster_env(2, &stranger, &stranger, false);
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 403, "not signed by an admin");
	free(env);
	/* Malformed JSON, wrong envelope type, bad payload, other network. */
	call("POST", NET "roster", &admin, "{\"type\":", &rs);
	expect(&rs, 400, NULL);
	call("POST", NET "roster", &admin, "", &rs);
	expect(&rs, 400, NULL);
	call("POST", NET "roster", &admin, "[]", &rs);
	expect(&rs, 400, NULL);
	env = announce_env(&admin, 1, NULL);
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 400, "not a roster");
	free(env);
	env = seal(ENV_ROSTER, &admin, "{\"network\":\"acme\",\"version\":2}");
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 400, NULL);
	free(env);
	body = roster_json(2, "other", &admin, false);
	env = seal(ENV_ROSTER, &admin, body);
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 400, "network other");
	free(env);
	free(body);
	/* Nothing above changed the roster. */
	assert_int_equal(call("GET", NET "roster", &admin, NULL, &rs), 200);
	j = json_loads(rs.body, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), id1);
	json_decref(j);
	resp_free(&rs);

	/* Version 5 after 1 is fine (strictly greater). */
	id2 = publish(5, &admin, &admin, false);
	assert_true(id2 > id1);
	env = roster_env(4, &admin, &admin, false);
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 409, "roster version 4");
	free(env);
}

static void test_admin_handover(void **state)
{
	struct api_response rs;
	char *env;

	(void)state;
	/* v1 signed by admin lists admin2 as the admin from now on. */
	publish(1, &admin, &admin2, false);
	env = roster_env(2, &admin, &admin, false);
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 403, NULL);
	free(env);
	call("GET", NET "events", &admin, NULL, &rs);
	expect(&rs, 403, "not an admin or device");
	publish(2, &admin2, &admin2, false);
}

static void test_announce(void **state)
{
	struct api_response rs;
	char *env, *body;
	uint64_t t = (uint64_t)NOW * 1000, a1;

	(void)state;
	env = announce_env(&dev2, t, "100.80.3.4");
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 403, NULL);
	free(env);
	publish(1, &admin, &admin, false);
	a1 = announce(&dev2, t, "100.80.3.4");
	announce(&dev1, t, NULL);
	/* Not newer: the same or an older time. */
	env = announce_env(&dev2, t, "100.80.3.4");
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 409, "not newer");
	free(env);
	env = announce_env(&dev2, t - 1, "100.80.3.4");
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 409, "not newer");
	free(env);
	assert_true(announce(&dev2, t + 1, "100.80.3.5") > a1);
	/* Someone else's announcement, posted by another device. */
	env = announce_env(&dev2, t + 2, NULL);
	call("POST", NET "announce", &dev1, env, &rs);
	expect(&rs, 400, "requesting key");
	free(env);
	/* A device not in the roster (the admin may ask, but is no device). */
	env = announce_env(&admin, t, NULL);
	call("POST", NET "announce", &admin, env, &rs);
	expect(&rs, 403, "not in the roster");
	free(env);
	env = announce_env(&dev3, t, NULL);
	call("POST", NET "announce", &dev3, env, &rs);
	expect(&rs, 403, NULL);
	free(env);
	/* Bad signature. */
	env = announce_env(&dev2, t + 3, NULL);
	{
		char *s = strstr(env, "\"sig\":\"") + 7;

		s[5] = s[5] == 'A' ? 'B' : 'A';
	}
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 403, "signature");
	free(env);
	/* Wrong envelope type, malformed payload, other network. */
	env = roster_env(9, &dev2, &admin, false);
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, "announcement");
	free(env);
	env = seal(ENV_ANNOUNCE, &dev2, "{\"network\":\"acme\"}");
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, NULL);
	free(env);
	body = announce_json(&dev2, "other", t + 4, NOW + 3600, NULL, false);
	env = seal(ENV_ANNOUNCE, &dev2, body);
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, "another network");
	free(env);
	free(body);
	/* A device field that is not the signer. */
	body = announce_json(&dev1, "acme", t + 4, NOW + 3600, NULL, false);
	env = seal(ENV_ANNOUNCE, &dev2, body);
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, "another network or device");
	free(env);
	free(body);
	/* Expired, and from the future. */
	body = announce_json(&dev2, "acme", t + 5, NOW - 3600, NULL, false);
	env = seal(ENV_ANNOUNCE, &dev2, body);
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, "expired");
	free(env);
	free(body);
	body = announce_json(&dev2, "acme", t + 3600 * 1000, NOW + 86400,
			     NULL, false);
	env = seal(ENV_ANNOUNCE, &dev2, body);
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, "future");
	free(env);
	free(body);
	/* A static device claiming, a claim out of range, DNS from a
	 * device that is no exit. */
	env = announce_env(&dev1, t + 6, "100.80.0.11");
	call("POST", NET "announce", &dev1, env, &rs);
	expect(&rs, 400, "may not claim");
	free(env);
	env = announce_env(&dev2, t + 6, "100.81.0.1");
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, NULL);
	free(env);
	body = announce_json(&dev2, "acme", t + 7, NOW + 3600, "100.80.3.6",
			     true);
	env = seal(ENV_ANNOUNCE, &dev2, body);
	call("POST", NET "announce", &dev2, env, &rs);
	expect(&rs, 400, "DNS");
	free(env);
	free(body);
	/* The exit device may announce DNS. */
	body = announce_json(&dev1, "acme", t + 8, NOW + 3600, NULL, true);
	env = seal(ENV_ANNOUNCE, &dev1, body);
	assert_int_equal(call("POST", NET "announce", &dev1, env, &rs), 200);
	resp_free(&rs);
	free(env);
	free(body);
}

/* The ids of an events answer, and its last. */
static unsigned events_ids(const char *query, const struct key *k,
			   uint64_t *ids, unsigned max, uint64_t *last)
{
	char target[128];
	struct api_response rs;
	json_t *j, *msgs, *m;
	size_t i;
	unsigned n = 0;

	snprintf(target, sizeof(target), NET "events%s", query);
	if (call("GET", target, k, NULL, &rs) != 200)
		fail_msg("events: %d %s", rs.status, rs.body);
	j = json_loads(rs.body, 0, NULL);
	assert_non_null(j);
	msgs = json_object_get(j, "messages");
	assert_true(json_is_array(msgs));
	json_array_foreach(msgs, i, m) {
		const char *t = json_string_value(json_object_get(m, "type"));

		assert_non_null(t);
		assert_true(strcmp(t, "roster") == 0 || strcmp(t, "announce") == 0);
		assert_true(json_is_object(json_object_get(m, "env")) ||
			    json_is_string(json_object_get(m, "env")) ||
			    json_is_array(json_object_get(m, "env")));
		if (n < max)
			ids[n] = (uint64_t)json_integer_value(json_object_get(m, "id"));
		n++;
	}
	*last = (uint64_t)json_integer_value(json_object_get(j, "last"));
	json_decref(j);
	resp_free(&rs);
	return n;
}

static void test_events(void **state)
{
	uint64_t t = (uint64_t)NOW * 1000, r1, r2, a1, a2, a3, ids[8], last;
	struct api_response rs;

	(void)state;
	r1 = publish(1, &admin, &admin, true);
	a1 = announce(&dev1, t, NULL);
	a2 = announce(&dev2, t, "100.80.3.4");
	a3 = announce(&dev3, t, "100.80.3.5");
	a1 = announce(&dev1, t + 1, NULL);	/* replaces the first */
	assert_int_equal(events_ids("", &dev1, ids, 8, &last), 4);
	assert_int_equal(ids[0], r1);
	assert_int_equal(ids[1], a2);
	assert_int_equal(ids[2], a3);
	assert_int_equal(ids[3], a1);
	assert_int_equal(last, a1);
	assert_int_equal(events_ids("?since=0", &dev1, ids, 8, &last), 4);
	{
		char q[64];

		snprintf(q, sizeof(q), "?since=%llu&wait=0",
			 (unsigned long long)a2);
		assert_int_equal(events_ids(q, &dev2, ids, 8, &last), 2);
		assert_int_equal(ids[0], a3);
		snprintf(q, sizeof(q), "?wait=0&since=%llu",
			 (unsigned long long)a1);
		assert_int_equal(events_ids(q, &dev2, ids, 8, &last), 0);
		assert_int_equal(last, a1);	/* since, when none */
	}
	/* Nothing new and wait: hold (the HTTP layer suspends the request
	 * and asks api_events again when woken). */
	{
		char q[96];

		snprintf(q, sizeof(q), NET "events?since=%llu&wait=25",
			 (unsigned long long)a1);
		assert_int_equal(call("GET", q, &dev2, NULL, &rs), 200);
		assert_true(rs.wait);
		assert_int_equal(rs.wait_s, 25);
		assert_int_equal(rs.since, a1);
		assert_string_equal(rs.network, "acme");
		resp_free(&rs);
		/* wait=0 or something new: answered at once. */
		snprintf(q, sizeof(q), NET "events?since=%llu&wait=0",
			 (unsigned long long)a1);
		assert_int_equal(call("GET", q, &dev2, NULL, &rs), 200);
		assert_false(rs.wait);
		resp_free(&rs);
		snprintf(q, sizeof(q), NET "events?since=%llu&wait=25",
			 (unsigned long long)a2);
		assert_int_equal(call("GET", q, &dev2, NULL, &rs), 200);
		assert_false(rs.wait);
		resp_free(&rs);
	}
	api_events(&api, "acme", a1, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(rs.body, "\"messages\":[]"));
	resp_free(&rs);
	/* A new roster without dev3: the next message, and dev3 is out. */
	r2 = publish(2, &admin, &admin, false);
	api_events(&api, "acme", a1, &rs);
	assert_int_equal(rs.status, 200);
	assert_null(strstr(rs.body, "\"messages\":[]"));
	resp_free(&rs);
	assert_true(events_ids("", &dev1, ids, 8, &last) >= 3);
	assert_int_equal(last, r2);
	call("GET", NET "events", &dev3, NULL, &rs);
	expect(&rs, 403, NULL);

	/* Bad queries. */
	static const char *const bad[] = {
		"?since=-1", "?since=x", "?since=", "?since", "?wait=31",
		"?wait=1&wait=2", "?since=1&since=2", "?foo=1",
		"?since=99999999999999999999", "?&", "?since=1x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char q[96];

		snprintf(q, sizeof(q), NET "events%s", bad[i]);
		call("GET", q, &dev1, NULL, &rs);
		expect(&rs, 400, "since=ID");
	}
}

static void exec_sql(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Another process writes the database (a second hub, or a tampering one):
 * the next request sees it, and garbage rows do not break the answer. */
static void test_foreign_writes(void **state)
{
	uint64_t t = (uint64_t)NOW * 1000, r1, a1, ids[8], last;
	struct api_response rs;
	char *env, sql[4096];

	(void)state;
	r1 = publish(1, &admin, &admin, false);
	call("GET", NET "events", &dev3, NULL, &rs);
	expect(&rs, 403, NULL);
	/* A roster v2 with dev3 written by another process. */
	env = roster_env(2, &admin, &admin, true);
	snprintf(sql, sizeof(sql),
		 "UPDATE messages SET current = 0 WHERE type = 'roster';"
		 "INSERT INTO messages(network, type, device, env, current) "
		 "VALUES('acme', 'roster', '%s', '%s', 1);"
		 "UPDATE networks SET roster_version = 2 WHERE name = 'acme';",
		 admin.b64, env);
	free(env);
	exec_sql(sql);
	assert_int_equal(events_ids("", &dev3, ids, 8, &last), 1);
	assert_true(ids[0] > r1);
	/* Garbage rows go out as they are (nodes check every message and
	 * reject these); they never break the answer's framing. */
	exec_sql("INSERT INTO messages(network, type, device, env, current) "
		 "VALUES('acme', 'announce', 'x', '{not json', 1)");
	a1 = announce(&dev3, t, NULL);
	assert_int_equal(events_ids("", &dev1, ids, 8, &last), 3);
	assert_int_equal(ids[2], a1);
	assert_int_equal(last, a1);
	exec_sql("INSERT INTO messages(network, type, device, env, current) "
		 "VALUES('acme', 'announce', 'y', '[1]', 1)");
	{
		char q[64];

		snprintf(q, sizeof(q), "?since=%llu", (unsigned long long)a1);
		assert_int_equal(events_ids(q, &dev1, ids, 8, &last), 1);
		assert_int_equal(last, a1 + 1);
	}
	/* A hand-broken admins column pins nobody: no roster gets in. */
	exec_sql("UPDATE networks SET admins = 'garbage'");
	env = roster_env(3, &admin, &admin, true);
	call("POST", NET "roster", &admin, env, &rs);
	expect(&rs, 403, NULL);
	free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health_and_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_handover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_announce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_writes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
