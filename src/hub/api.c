/* api.c - weft-hub's requests (api.h). Order of checks for every request:
 * path and method, network known, Authorization well formed and in its
 * time window, signature, the key's role, then the body. */
#define _GNU_SOURCE
#include "hub/api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/ct.h"
#include "mesh/announce.h"
#include "mesh/envelope.h"
#include "mesh/hubauth.h"

void api_init(struct api *a, struct store *s)
{
	memset(a, 0, sizeof(*a));
	a->store = s;
}

void api_free(struct api *a)
{
	unsigned i;

	for (i = 0; i < API_ROSTER_CACHE; i++) {
		if (a->cache[i].valid)
			roster_free(&a->cache[i].roster);
		a->cache[i].valid = false;
	}
}

void api_error(struct api_response *rs, int status, const char *reason)
{
	json_t *o = json_pack("{s:s}", "error", reason);

	free(rs->body);
	rs->status = status;
	rs->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
}

static void api_errorf(struct api_response *rs, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void api_errorf(struct api_response *rs, int status, const char *fmt, ...)
{
	char reason[MESH_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	api_error(rs, status, reason);
}

static void api_ok(struct api_response *rs, char *body)
{
	free(rs->body);
	rs->status = body ? 200 : 500;
	rs->body = body ? body : strdup("{\"error\":\"out of memory\"}");
}

/* A store error: 503 while the database server is away (the store
 * reconnects by itself), else 500. */
static void db_error(struct api_response *rs, int err)
{
	if (err == -ENOTCONN)
		api_error(rs, 503, "the hub's database is unreachable; try again shortly");
	else
		api_error(rs, 500, "database error");
}

size_t api_body_limit(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	if (n >= 7 && !strcmp(path + n - 7, "/roster"))
		return MESH_ROSTER_BODY_MAX / 3 * 4 + 4096;
	return MESH_BODY_MAX;
}

/* The id of the roster of network that the cache holds, 0 none. */
static uint64_t cached_roster_id(const struct api *a, const char *network)
{
	for (unsigned i = 0; i < API_ROSTER_CACHE; i++)
		if (a->cache[i].valid && !strcmp(a->cache[i].network, network))
			return a->cache[i].id;
	return 0;
}

/* The parsed current roster of network, or NULL when none. */
static const struct roster *current_roster(struct api *a, const char *network,
					   const struct store_network *n)
{
	struct api_cached_roster *c = NULL;
	struct envelope e;
	char reason[MESH_REASON_MAX];
	struct roster r;
	unsigned i;

	if (!n->roster_id)
		return NULL;
	/* This network's slot (hit, or stale), else a free or the oldest. */
	for (i = 0; i < API_ROSTER_CACHE; i++) {
		struct api_cached_roster *s = &a->cache[i];

		if (s->valid && !strcmp(s->network, network)) {
			c = s;
			break;
		}
		if (!c || (c->valid && (!s->valid || s->used < c->used)))
			c = s;
	}
	c->used = ++a->uses;
	if (c->valid && c->id == n->roster_id && !strcmp(c->network, network))
		return &c->roster;
	if (!n->roster_env)
		return NULL;	/* not sent: we were thought to hold it */
	if (envelope_parse(&e, n->roster_env, strlen(n->roster_env), reason))
		return NULL;
	if (roster_parse(&r, (const char *)e.body, e.body_len, reason)) {
		envelope_free(&e);
		return NULL;
	}
	envelope_free(&e);
	if (c->valid)
		roster_free(&c->roster);
	c->roster = r;
	c->id = n->roster_id;
	snprintf(c->network, sizeof(c->network), "%s", network);
	c->valid = true;
	return &c->roster;
}

static bool is_admin(const struct store_network *n, const uint8_t key[MESH_KEY_LEN])
{
	unsigned i;
	bool found = false;

	for (i = 0; i < n->n_admins; i++)
		found |= crypto_equal(n->admins[i], key, MESH_KEY_LEN);
	return found;
}

/* "since=N&wait=S" in any order, each at most once. */
static bool parse_query(const char *q, uint64_t *since, unsigned *wait)
{
	bool seen_since = false, seen_wait = false;

	*since = 0;
	*wait = 0;
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		char buf[40];
		char *end;
		unsigned long long v;
		const char *eq;

		if (len >= sizeof(buf))
			return false;
		memcpy(buf, q, len);
		buf[len] = '\0';
		eq = strchr(buf, '=');
		if (!eq || !eq[1] || eq[1] < '0' || eq[1] > '9' || strlen(eq + 1) > 19)
			return false;
		v = strtoull(eq + 1, &end, 10);
		if (*end)
			return false;
		if (!strncmp(buf, "since=", 6) && !seen_since) {
			*since = v;
			seen_since = true;
		} else if (!strncmp(buf, "wait=", 5) && !seen_wait && v <= API_WAIT_MAX) {
			*wait = (unsigned)v;
			seen_wait = true;
		} else {
			return false;
		}
		q = amp ? amp + 1 : q + len;
	}
	return true;
}

void api_events(struct api *a, const char *network, uint64_t since,
		struct api_response *rs)
{
	unsigned count = 0;
	char *json = NULL;
	int err;

	err = store_events(a->store, network, since, API_EVENTS_LIMIT, &json, &count);
	if (err) {
		free(json);
		db_error(rs, err);
		return;
	}
	api_ok(rs, json);
}

static void post_roster(struct api *a, const char *network,
			const struct store_network *n, const struct api_request *rq,
			struct api_response *rs)
{
	char reason[MESH_REASON_MAX];
	struct envelope e;
	struct roster r;
	uint64_t id = 0;
	int err;

	if (envelope_parse(&e, rq->body, rq->body_len, reason))
		return api_error(rs, 400, reason);
	if (e.type != ENV_ROSTER) {
		envelope_free(&e);
		return api_error(rs, 400, "the envelope is not a roster");
	}
	if (!is_admin(n, e.signer)) {
		envelope_free(&e);
		return api_errorf(rs, 403, "the roster is not signed by an admin key of %s",
				  network);
	}
	if (!envelope_verify(&e)) {
		envelope_free(&e);
		return api_error(rs, 403, "the roster signature does not verify");
	}
	if (roster_parse(&r, (const char *)e.body, e.body_len, reason)) {
		envelope_free(&e);
		return api_error(rs, 400, reason);
	}
	envelope_free(&e);
	if (strcmp(r.network, network)) {
		roster_free(&r);
		return api_errorf(rs, 400, "the roster is for network %s, not %s",
				  r.network, network);
	}
	if (r.version <= n->roster_version) {
		api_errorf(rs, 409, "roster version %" PRIu64 " is not newer than the hub's %"
			   PRIu64, r.version, n->roster_version);
		roster_free(&r);
		return;
	}
	err = store_put_roster(a->store, network, rq->body, r.version,
			       (const uint8_t (*)[MESH_KEY_LEN])r.admins, r.n_admins, &id);
	if (err == -ESTALE)
		api_errorf(rs, 409, "roster version %" PRIu64 " is not newer than the "
			   "hub's (another hub stored one meanwhile)", r.version);
	else if (err)
		db_error(rs, err);
	if (err) {
		roster_free(&r);
		return;
	}
	{
		char *out = NULL;

		if (asprintf(&out, "{\"id\":%" PRIu64 ",\"version\":%" PRIu64 "}", id,
			     r.version) < 0)
			out = NULL;
		api_ok(rs, out);
	}
	roster_free(&r);
	rs->stored = true;
}

static void post_announce(struct api *a, const char *network,
			  const struct roster *r, const uint8_t key[MESH_KEY_LEN],
			  const struct api_request *rq, struct api_response *rs)
{
	char reason[MESH_REASON_MAX], dev64[64], *old = NULL, *out = NULL;
	const struct roster_device *d;
	struct envelope e;
	struct announce an;
	uint64_t id = 0;
	int err;

	if (envelope_parse(&e, rq->body, rq->body_len, reason))
		return api_error(rs, 400, reason);
	if (e.type != ENV_ANNOUNCE || memcmp(e.signer, key, MESH_KEY_LEN)) {
		envelope_free(&e);
		return api_error(rs, 400,
				 "the body must be an announcement signed by the requesting key");
	}
	if (!envelope_verify(&e)) {
		envelope_free(&e);
		return api_error(rs, 403, "the announcement signature does not verify");
	}
	err = announce_parse(&an, (const char *)e.body, e.body_len, reason);
	envelope_free(&e);
	if (err)
		return api_error(rs, 400, reason);
	d = roster_find(r, key);
	if (!d)
		return api_errorf(rs, 403, "this device is not in the roster of %s", network);
	if (strcmp(an.network, network) || memcmp(an.device, key, MESH_KEY_LEN))
		return api_error(rs, 400, "the announcement names another network or device");
	if (an.has_ip && (d->has_ip || !mesh_range_usable(&r->range, an.ip)))
		return api_error(rs, 400,
				 "the announcement claims an address it may not claim");
	if (an.expires_s * 1000 + MESH_SKEW_MS < (uint64_t)rq->now * 1000)
		return api_error(rs, 400, "the announcement has expired");
	/* A time from the future would lock the device's later, correct
	 * announcements out (each must be newer) until that time. */
	if (an.time_ms > (uint64_t)rq->now * 1000 + MESH_SKEW_MS)
		return api_error(rs, 400, "the announcement's time is in the "
				 "future; check the device's clock");
	if (an.n_dns && !d->exit)
		return api_error(rs, 400, "only an exit device announces DNS "
				 "resolvers");
	mesh_b64_encode(dev64, sizeof(dev64), key, MESH_KEY_LEN);
	err = store_current_announce(a->store, network, dev64, &old);
	if (err)
		return db_error(rs, err);
	if (old) {
		struct envelope oe;
		struct announce oa;

		if (!envelope_parse(&oe, old, strlen(old), reason)) {
			if (!announce_parse(&oa, (const char *)oe.body, oe.body_len, reason) &&
			    an.time_ms <= oa.time_ms) {
				envelope_free(&oe);
				free(old);
				return api_error(rs, 409,
						 "the announcement is not newer than the last one");
			}
			envelope_free(&oe);
		}
		free(old);
	}
	err = store_put_announce(a->store, network, dev64, rq->body, &id);
	if (err)
		return db_error(rs, err);
	if (asprintf(&out, "{\"id\":%" PRIu64 "}", id) < 0)
		out = NULL;
	api_ok(rs, out);
	rs->stored = true;
}

void api_handle(struct api *a, const struct api_request *rq,
		struct api_response *rs)
{
	static const char prefix[] = "/v1/networks/";
	char network[MESH_NAME_MAX], reason[MESH_REASON_MAX], pq[2200];
	const char *p, *slash, *what;
	struct store_network n;
	const struct roster *r;
	struct hubauth au;
	bool admin;
	int err;

	memset(rs, 0, sizeof(*rs));
	if (!strcmp(rq->path, "/v1/health")) {
		if (strcmp(rq->method, "GET"))
			return api_error(rs, 405, "use GET");
		return api_ok(rs, strdup("{\"ok\":true}"));
	}
	if (strncmp(rq->path, prefix, strlen(prefix)))
		return api_error(rs, 404, "no such path; the API is under /v1/networks/NAME/");
	p = rq->path + strlen(prefix);
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= sizeof(network))
		return api_error(rs, 404, "no such path");
	memcpy(network, p, (size_t)(slash - p));
	network[slash - p] = '\0';
	what = slash + 1;
	if (!mesh_network_valid(network))
		return api_error(rs, 404, "not a network name");
	if (strcmp(what, "roster") && strcmp(what, "announce") && strcmp(what, "events"))
		return api_error(rs, 404, "no such path; use roster, announce or events");
	if (!strcmp(what, "events") ? strcmp(rq->method, "GET") :
	    !strcmp(what, "announce") ? strcmp(rq->method, "POST") :
	    (strcmp(rq->method, "GET") && strcmp(rq->method, "POST")))
		return api_error(rs, 405, "method not allowed here");
	/* The roster itself only when it is asked for or not yet parsed. */
	err = store_network_get_cached(a->store, network,
				       !strcmp(what, "roster") && !strcmp(rq->method, "GET") ?
				       0 : cached_roster_id(a, network), &n);
	if (err == -ENOENT)
		return api_errorf(rs, 404, "unknown network %s", network);
	if (err)
		return db_error(rs, err);
	if (!rq->auth) {
		store_network_free(&n);
		return api_error(rs, 401, "missing Authorization: requests are signed "
				 "by a device or admin key");
	}
	if (hubauth_parse(&au, rq->auth, reason)) {
		store_network_free(&n);
		return api_error(rs, 401, reason);
	}
	snprintf(pq, sizeof(pq), "%s%s%s", rq->path, rq->query ? "?" : "",
		 rq->query ? rq->query : "");
	err = hubauth_check(&au, rq->method, pq, rq->body, rq->body_len, rq->now, reason);
	if (err) {
		store_network_free(&n);
		return api_error(rs, err == -ETIME ? 401 : 403, reason);
	}
	admin = is_admin(&n, au.key);
	r = current_roster(a, network, &n);
	if (!admin && !(r && roster_find(r, au.key))) {
		store_network_free(&n);
		return api_errorf(rs, 403, "this key is not an admin or device of %s; "
				  "ask an admin to add it and publish", network);
	}
	if (!strcmp(what, "roster") && !strcmp(rq->method, "POST")) {
		if (!admin)
			api_error(rs, 403, "only an admin may publish a roster");
		else
			post_roster(a, network, &n, rq, rs);
	} else if (!strcmp(what, "roster")) {
		char *out = NULL;

		if (!n.roster_env)
			api_error(rs, 404, "no roster published yet");
		else if (asprintf(&out, "{\"id\":%" PRIu64 ",\"roster\":%s}", n.roster_id,
				  n.roster_env) < 0)
			api_error(rs, 500, "out of memory");
		else
			api_ok(rs, out);
	} else if (!strcmp(what, "announce")) {
		if (!r || !roster_find(r, au.key))
			api_errorf(rs, 403, "this device is not in the roster of %s", network);
		else
			post_announce(a, network, r, au.key, rq, rs);
	} else {
		uint64_t since;
		unsigned wait;

		if (!parse_query(rq->query, &since, &wait)) {
			api_error(rs, 400, "events takes since=ID and wait=0..30");
		} else {
			api_events(a, network, since, rs);
			if (rs->status == 200 && wait &&
			    strstr(rs->body, "\"messages\":[]")) {
				rs->wait = true;
				rs->wait_s = wait;
				rs->since = since;
			}
		}
	}
	snprintf(rs->network, sizeof(rs->network), "%s", network);
	store_network_free(&n);
}
