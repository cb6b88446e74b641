/* api.c - weft-hub's request handler (see api.h): routing, request
 * authentication, the checks the hub can make on rosters and
 * announcements, and the JSON answers. No network, no clock of its own. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hub/api.h"
#include "hub/store.h"
#include "mesh/announce.h"
#include "mesh/envelope.h"
#include "mesh/hubauth.h"
#include "mesh/roster.h"

enum { ROSTER_CACHE = 8 };

/* The parsed current roster of one network, valid while nobody else
 * committed (data_version) and we stored no roster for it. */
struct roster_cache {
	bool used;
	char network[MESH_NAME_MAX];
	bool has;		/* a parsable current roster exists */
	uint64_t id;
	struct roster r;
	unsigned age;
};

struct hub_api {
	struct hub_store *store;
	int64_t data_version;
	unsigned clock;
	struct roster_cache cache[ROSTER_CACHE];
};

enum endpoint {
	EP_HEALTH,
	EP_ROSTER,
	EP_ANNOUNCE,
	EP_EVENTS,
};

struct route {
	enum endpoint ep;
	char network[MESH_NAME_MAX];
	const char *query;	/* after '?', or NULL */
};

static const char oom_body[] = "{\"error\":\"hub out of memory\"}";

/* ------------------------------------------------------------ answers */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *p;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		p = realloc(b->p, ncap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n
						       : sizeof(tmp) - 1);
}

static void answer(struct hub_response *rs, int status, struct sbuf *b)
{
	if (b->failed || !b->p) {
		free(b->p);
		rs->status = 500;
		rs->body = strdup(oom_body);
		rs->body_len = rs->body ? strlen(rs->body) : 0;
		return;
	}
	rs->status = status;
	rs->body = b->p;
	rs->body_len = b->len;
}

/* {"error":"..."}: one line, printable ASCII, JSON-escaped. */
__attribute__((format(printf, 3, 4)))
static void fail(struct hub_response *rs, int status, const char *fmt, ...)
{
	char line[MESH_REASON_MAX + 128];
	struct sbuf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sb_add(&b, "{\"error\":\"", 10);
	for (const unsigned char *c = (const unsigned char *)line; *c; c++) {
		char esc[3] = { '\\', (char)*c, 0 };

		if (*c == '"' || *c == '\\')
			sb_add(&b, esc, 2);
		else if (*c < 0x20 || *c > 0x7e)
			sb_add(&b, " ", 1);
		else
			sb_add(&b, (const char *)c, 1);
	}
	sb_add(&b, "\"}", 2);
	answer(rs, status, &b);
}

void hub_response_free(struct hub_response *rs)
{
	free(rs->body);
	rs->body = NULL;
	rs->body_len = 0;
}

/* ------------------------------------------------------------ roster cache */

static void cache_drop(struct roster_cache *c)
{
	if (c->used && c->has)
		roster_free(&c->r);
	memset(c, 0, sizeof(*c));
}

static void cache_refresh(struct hub_api *api)
{
	int64_t v;

	if (hub_store_data_version(api->store, &v) != 0 ||
	    v != api->data_version) {
		for (unsigned i = 0; i < ROSTER_CACHE; i++)
			cache_drop(&api->cache[i]);
		api->data_version = v;
	}
}

static void cache_forget(struct hub_api *api, const char *network)
{
	for (unsigned i = 0; i < ROSTER_CACHE; i++)
		if (api->cache[i].used &&
		    strcmp(api->cache[i].network, network) == 0)
			cache_drop(&api->cache[i]);
}

/* The network's current roster, parsed, or NULL when it has none (or the
 * stored one does not parse: a hand-written row is not trusted). -EIO on
 * a storage failure. */
static int current_roster(struct hub_api *api, const char *network,
			  const struct roster **out, uint64_t *id)
{
	struct roster_cache *c = NULL, *victim = &api->cache[0];
	char reason[MESH_REASON_MAX];
	struct envelope e;
	char *env;
	size_t len;
	int ret;

	*out = NULL;
	for (unsigned i = 0; i < ROSTER_CACHE; i++) {
		struct roster_cache *x = &api->cache[i];

		if (x->used && strcmp(x->network, network) == 0) {
			c = x;
			break;
		}
		if (!x->used || x->age < victim->age)
			victim = x;
	}
	if (!c) {
		c = victim;
		cache_drop(c);
		c->used = true;
		snprintf(c->network, sizeof(c->network), "%s", network);
		ret = hub_store_current(api->store, network, HUB_MSG_ROSTER,
					NULL, &c->id, &env, &len);
		if (ret == -ENOENT) {
			c->has = false;
		} else if (ret) {
			cache_drop(c);
			return -EIO;
		} else {
			if (envelope_parse(&e, env, len, reason) == 0) {
				c->has = e.type == ENV_ROSTER &&
					 roster_parse(&c->r, (const char *)e.body,
						      e.body_len, reason) == 0;
				envelope_free(&e);
			}
			free(env);
		}
	}
	c->age = ++api->clock;
	if (c->has) {
		*out = &c->r;
		*id = c->id;
	}
	return 0;
}

int hub_api_new(struct hub_api **out, struct hub_store *store)
{
	struct hub_api *api = calloc(1, sizeof(*api));

	*out = api;
	if (!api)
		return -ENOMEM;
	api->store = store;
	api->data_version = -1;
	return 0;
}

void hub_api_free(struct hub_api *api)
{
	if (!api)
		return;
	for (unsigned i = 0; i < ROSTER_CACHE; i++)
		cache_drop(&api->cache[i]);
	free(api);
}

/* ------------------------------------------------------------ routing */

/* 0, -ENOENT (404), with the route filled. */
static int route_parse(struct route *r, const char *target)
{
	const char *q = strchr(target, '?'), *name, *slash, *rest;
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	static const char pfx[] = "/v1/networks/";

	memset(r, 0, sizeof(*r));
	r->query = q ? q + 1 : NULL;
	if (plen == 10 && memcmp(target, "/v1/health", 10) == 0) {
		r->ep = EP_HEALTH;
		return 0;
	}
	if (plen <= sizeof(pfx) - 1 || memcmp(target, pfx, sizeof(pfx) - 1))
		return -ENOENT;
	name = target + sizeof(pfx) - 1;
	slash = memchr(name, '/', plen - (size_t)(name - target));
	if (!slash || slash == name || (size_t)(slash - name) >= MESH_NAME_MAX)
		return -ENOENT;
	memcpy(r->network, name, (size_t)(slash - name));
	r->network[slash - name] = '\0';
	rest = slash + 1;
	plen -= (size_t)(rest - target);
	if (plen == 6 && memcmp(rest, "roster", 6) == 0)
		r->ep = EP_ROSTER;
	else if (plen == 8 && memcmp(rest, "announce", 8) == 0)
		r->ep = EP_ANNOUNCE;
	else if (plen == 6 && memcmp(rest, "events", 6) == 0)
		r->ep = EP_EVENTS;
	else
		return -ENOENT;
	return 0;
}

size_t hub_api_body_limit(const char *method, const char *target)
{
	struct route r;

	if (method && target && strcmp(method, "POST") == 0 &&
	    route_parse(&r, target) == 0 && r.ep == EP_ROSTER)
		return MESH_ROSTER_BODY_MAX;
	return MESH_BODY_MAX;
}

static bool method_ok(enum endpoint ep, const char *m)
{
	switch (ep) {
	case EP_HEALTH:
	case EP_EVENTS:
		return strcmp(m, "GET") == 0;
	case EP_ROSTER:
		return strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0;
	case EP_ANNOUNCE:
		return strcmp(m, "POST") == 0;
	}
	return false;
}

/* A decimal number of at most 19 digits, no sign, no leading zeros. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* events' query: since=ID and wait=S, each at most once, nothing else. */
static bool events_query(const char *q, uint64_t *since, unsigned *wait,
			 char why[96])
{
	bool have_since = false, have_wait = false;
	uint64_t w = 0;

	*since = 0;
	*wait = 0;
	while (q && *q) {
		const char *amp = strchr(q, '&'), *eq;
		size_t n = amp ? (size_t)(amp - q) : strlen(q);

		eq = memchr(q, '=', n);
		if (!eq) {
			snprintf(why, 96, "query parameter without a value");
			return false;
		}
		if (eq - q == 5 && memcmp(q, "since", 5) == 0 && !have_since) {
			have_since = true;
			if (!parse_u64(eq + 1, n - 6, INT64_MAX, since)) {
				snprintf(why, 96, "since must be a message id");
				return false;
			}
		} else if (eq - q == 4 && memcmp(q, "wait", 4) == 0 &&
			   !have_wait) {
			have_wait = true;
			if (!parse_u64(eq + 1, n - 5, HUB_WAIT_MAX_S, &w)) {
				snprintf(why, 96, "wait must be 0 to %d seconds",
					 HUB_WAIT_MAX_S);
				return false;
			}
		} else {
			snprintf(why, 96, "unknown or repeated query parameter "
				 "(since and wait are known)");
			return false;
		}
		q = amp ? amp + 1 : q + n;
	}
	*wait = (unsigned)w;
	return true;
}

/* ------------------------------------------------------------ endpoints */

static void key_short(char out[48], const uint8_t key[MESH_KEY_LEN])
{
	mesh_b64_encode(out, 48, key, MESH_KEY_LEN);
}

static bool pinned(const struct hub_network *n, const uint8_t key[MESH_KEY_LEN])
{
	for (unsigned i = 0; i < n->n_admins; i++)
		if (memcmp(n->admins[i], key, MESH_KEY_LEN) == 0)
			return true;
	return false;
}

static void post_roster(struct hub_api *api, const struct route *rt,
			const struct hub_network *net,
			const struct hub_request *rq, struct hub_response *rs)
{
	char reason[MESH_REASON_MAX], k[48];
	uint8_t (*keep)[MESH_KEY_LEN] = NULL;
	struct envelope e;
	struct roster r;
	struct sbuf b = { 0 };
	uint64_t id;
	int ret;

	if (envelope_parse(&e, (const char *)rq->body, rq->body_len,
			   reason) != 0) {
		fail(rs, 400, "bad roster envelope: %s", reason);
		return;
	}
	if (e.type != ENV_ROSTER) {
		fail(rs, 400, "envelope type is %s, expected roster",
		     envelope_type_name(e.type));
		goto out;
	}
	if (!pinned(net, e.signer)) {
		key_short(k, e.signer);
		fail(rs, 403, "roster signer %s is not an admin pinned for "
		     "network %s", k, rt->network);
		goto out;
	}
	if (!envelope_verify(&e)) {
		fail(rs, 403, "bad roster signature");
		goto out;
	}
	if (roster_parse(&r, (const char *)e.body, e.body_len, reason) != 0) {
		fail(rs, 400, "bad roster: %s", reason);
		goto out;
	}
	if (strcmp(r.network, rt->network) != 0) {
		fail(rs, 400, "roster is for network %s, posted to %s",
		     r.network, rt->network);
		goto out_roster;
	}
	if (r.version <= net->roster_version) {
		fail(rs, 409, "roster version %llu is not newer than the "
		     "accepted version %llu", (unsigned long long)r.version,
		     (unsigned long long)net->roster_version);
		goto out_roster;
	}
	if (r.n_devices) {
		keep = calloc(r.n_devices, sizeof(*keep));
		if (!keep) {
			fail(rs, 500, "hub out of memory");
			goto out_roster;
		}
		for (unsigned i = 0; i < r.n_devices; i++)
			memcpy(keep[i], r.devices[i].key, MESH_KEY_LEN);
	}
	cache_forget(api, rt->network);
	ret = hub_store_put_roster(api->store, rt->network, r.version,
				   (const uint8_t (*)[MESH_KEY_LEN])r.admins,
				   r.n_admins, e.signer,
				   (const uint8_t (*)[MESH_KEY_LEN])keep,
				   r.n_devices, (const char *)rq->body,
				   rq->body_len, &id);
	free(keep);
	if (ret) {
		fail(rs, 500, "hub storage failed: %s",
		     hub_store_error(api->store));
		goto out_roster;
	}
	rs->stored = true;
	rs->stored_id = id;
	snprintf(rs->network, sizeof(rs->network), "%s", rt->network);
	sb_printf(&b, "{\"id\":%llu,\"version\":%llu}",
		  (unsigned long long)id, (unsigned long long)r.version);
	answer(rs, 200, &b);
out_roster:
	roster_free(&r);
out:
	envelope_free(&e);
}

/* The time of the device's current announcement, 0 when none (or the
 * stored one does not parse). */
static int last_time(struct hub_api *api, const char *network,
		     const uint8_t dev[MESH_KEY_LEN], uint64_t *t)
{
	char reason[MESH_REASON_MAX], *env;
	struct envelope e;
	struct announce a;
	uint64_t id;
	size_t len;
	int ret;

	*t = 0;
	ret = hub_store_current(api->store, network, HUB_MSG_ANNOUNCE, dev,
				&id, &env, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (envelope_parse(&e, env, len, reason) == 0) {
		if (announce_parse(&a, (const char *)e.body, e.body_len,
				   reason) == 0)
			*t = a.time_ms;
		envelope_free(&e);
	}
	free(env);
	return 0;
}

static void post_announce(struct hub_api *api, const struct route *rt,
			  const struct roster *ros, const uint8_t key[MESH_KEY_LEN],
			  const struct hub_request *rq, struct hub_response *rs)
{
	char reason[MESH_REASON_MAX], k[48];
	const struct roster_device *d;
	uint64_t now_ms = (uint64_t)rq->now * 1000, last;
	struct envelope e;
	struct announce a;
	struct sbuf b = { 0 };
	uint64_t id;

	if (envelope_parse(&e, (const char *)rq->body, rq->body_len,
			   reason) != 0) {
		fail(rs, 400, "bad announcement envelope: %s", reason);
		return;
	}
	if (e.type != ENV_ANNOUNCE) {
		fail(rs, 400, "envelope type is %s, expected announce",
		     envelope_type_name(e.type));
		goto out;
	}
	if (memcmp(e.signer, key, MESH_KEY_LEN) != 0) {
		fail(rs, 403, "announcement signer is not the requesting key");
		goto out;
	}
	d = roster_find(ros, e.signer);
	if (!d) {
		key_short(k, e.signer);
		fail(rs, 403, "device %s is not in the roster of network %s",
		     k, rt->network);
		goto out;
	}
	if (!envelope_verify(&e)) {
		fail(rs, 403, "bad announcement signature");
		goto out;
	}
	if (announce_parse(&a, (const char *)e.body, e.body_len, reason)) {
		fail(rs, 400, "bad announcement: %s", reason);
		goto out;
	}
	if (memcmp(a.device, e.signer, MESH_KEY_LEN) != 0) {
		fail(rs, 400, "announcement's device is not its signer");
		goto out;
	}
	if (strcmp(a.network, rt->network) != 0) {
		fail(rs, 400, "announcement is for network %s, posted to %s",
		     a.network, rt->network);
		goto out;
	}
	if (a.time_ms > now_ms + MESH_SKEW_MS) {
		fail(rs, 400, "announcement time is in the future; check the "
		     "device's clock");
		goto out;
	}
	if (a.expires_s > UINT64_MAX / 1000 ||
	    a.expires_s * 1000 + MESH_SKEW_MS < now_ms) {
		fail(rs, 400, "announcement has expired; check the device's "
		     "clock");
		goto out;
	}
	if (a.has_ip && d->has_ip) {
		fail(rs, 400, "device %s/%s has a static address and may not "
		     "claim one", d->owner, d->name);
		goto out;
	}
	if (a.has_ip && !mesh_range_usable(&ros->range, a.ip)) {
		fail(rs, 400, "claimed address is outside the network's range");
		goto out;
	}
	if (a.n_dns && !d->exit) {
		fail(rs, 400, "only exit devices announce DNS resolvers");
		goto out;
	}
	if (last_time(api, rt->network, e.signer, &last) != 0) {
		fail(rs, 500, "hub storage failed: %s",
		     hub_store_error(api->store));
		goto out;
	}
	if (a.time_ms <= last) {
		fail(rs, 409, "announcement time %llu is not newer than the "
		     "last one (%llu)", (unsigned long long)a.time_ms,
		     (unsigned long long)last);
		goto out;
	}
	if (hub_store_put_announce(api->store, rt->network, e.signer,
				   (const char *)rq->body, rq->body_len,
				   &id) != 0) {
		fail(rs, 500, "hub storage failed: %s",
		     hub_store_error(api->store));
		goto out;
	}
	rs->stored = true;
	rs->stored_id = id;
	snprintf(rs->network, sizeof(rs->network), "%s", rt->network);
	sb_printf(&b, "{\"id\":%llu}", (unsigned long long)id);
	answer(rs, 200, &b);
out:
	envelope_free(&e);
}

static void get_roster(struct hub_api *api, const struct route *rt,
		       struct hub_response *rs)
{
	struct sbuf b = { 0 };
	uint64_t id;
	char *env;
	size_t len;
	int ret;

	ret = hub_store_current(api->store, rt->network, HUB_MSG_ROSTER, NULL,
				&id, &env, &len);
	if (ret == -ENOENT) {
		fail(rs, 404, "network %s has no roster yet; an admin "
		     "publishes one with weft admin publish", rt->network);
		return;
	}
	if (ret) {
		fail(rs, 500, "hub storage failed: %s",
		     hub_store_error(api->store));
		return;
	}
	sb_printf(&b, "{\"id\":%llu,\"roster\":", (unsigned long long)id);
	sb_add(&b, env, len);
	sb_add(&b, "}", 1);
	free(env);
	answer(rs, 200, &b);
}

/* A stored envelope goes out as JSON only if it is a JSON object: a row
 * written by hand must not break the framing of the whole answer. */
static bool env_is_object(const char *env, size_t len)
{
	json_t *j = json_loadb(env, len, 0, NULL);
	bool ok = json_is_object(j);

	json_decref(j);
	return ok;
}

/* The answer; *count: messages found (also those not sent). */
static void events_answer(struct hub_api *api, const char *network,
			  uint64_t since, struct hub_response *rs,
			  unsigned *count)
{
	struct sbuf b = { 0 };
	struct hub_msg *m;
	uint64_t last = since;
	unsigned n;

	*count = 0;
	if (hub_store_events(api->store, network, since, HUB_EVENTS_MAX, &m,
			     &n) != 0) {
		fail(rs, 500, "hub storage failed: %s",
		     hub_store_error(api->store));
		return;
	}
	*count = n;
	rs->n_messages = n;
	sb_add(&b, "{\"messages\":[", 13);
	for (unsigned i = 0, out = 0; i < n; i++) {
		last = m[i].id;
		if (!env_is_object(m[i].env, m[i].env_len))
			continue;
		sb_printf(&b, "%s{\"id\":%llu,\"type\":\"%s\",\"env\":",
			  out++ ? "," : "", (unsigned long long)m[i].id,
			  m[i].type == HUB_MSG_ROSTER ? "roster" : "announce");
		sb_add(&b, m[i].env, m[i].env_len);
		sb_add(&b, "}", 1);
	}
	sb_printf(&b, "],\"last\":%llu}", (unsigned long long)last);
	hub_msgs_free(m, n);
	answer(rs, 200, &b);
}

void hub_api_events(struct hub_api *api, const char *network, uint64_t since,
		    struct hub_response *rs)
{
	unsigned n;

	memset(rs, 0, sizeof(*rs));
	events_answer(api, network, since, rs, &n);
}

/* ------------------------------------------------------------ the handler */

void hub_api_handle(struct hub_api *api, const struct hub_request *rq,
		    struct hub_response *rs)
{
	char reason[MESH_REASON_MAX], why[96], k[48];
	const struct roster *ros = NULL;
	struct hub_network net;
	struct hubauth auth;
	struct route rt;
	uint64_t since = 0, rid = 0;
	unsigned wait = 0, n;
	bool admin, ok;
	int ret;

	memset(rs, 0, sizeof(*rs));
	if (!rq->method || !rq->target || rq->target[0] != '/' ||
	    strlen(rq->target) > HUB_TARGET_MAX ||
	    route_parse(&rt, rq->target) != 0) {
		fail(rs, 404, "unknown path; the API is under "
		     "/v1/networks/NETWORK/ (roster, announce, events)");
		return;
	}
	if (!method_ok(rt.ep, rq->method)) {
		fail(rs, 405, "method not allowed here");
		return;
	}
	if (rq->body_too_big) {
		fail(rs, 413, "request body over the limit of %zu bytes",
		     hub_api_body_limit(rq->method, rq->target));
		return;
	}
	if (rt.ep == EP_HEALTH) {
		struct sbuf b = { 0 };

		if (rt.query) {
			fail(rs, 400, "health takes no query");
			return;
		}
		sb_add(&b, "{\"ok\":true}", 11);
		answer(rs, 200, &b);
		return;
	}
	if (rt.ep == EP_EVENTS) {
		if (!events_query(rt.query, &since, &wait, why)) {
			fail(rs, 400, "bad events query: %s", why);
			return;
		}
	} else if (rt.query) {
		fail(rs, 400, "this request takes no query");
		return;
	}
	if (strcmp(rq->method, "GET") == 0 && rq->body_len) {
		fail(rs, 400, "a GET request carries no body");
		return;
	}
	if (!mesh_network_valid(rt.network)) {
		fail(rs, 404, "unknown network (names are 1-63 of a-z 0-9 -)");
		return;
	}
	cache_refresh(api);
	ret = hub_store_network(api->store, rt.network, &net);
	if (ret == -ENOENT) {
		fail(rs, 404, "unknown network %s; the hub operator creates it "
		     "with weft-hub create-network", rt.network);
		return;
	}
	if (ret || current_roster(api, rt.network, &ros, &rid) != 0) {
		fail(rs, 500, "hub storage failed: %s",
		     hub_store_error(api->store));
		return;
	}

	/* Who is asking: a signed request from an admin pinned for the
	 * network or a device of its current roster. */
	if (!rq->auth || !rq->auth[0]) {
		fail(rs, 401, "missing Authorization; sign the request with the "
		     "device or admin key (Weft key=, time=, sig=)");
		return;
	}
	if (hubauth_parse(&auth, rq->auth, reason) != 0) {
		fail(rs, 401, "bad Authorization: %s", reason);
		return;
	}
	if (hubauth_check(&auth, rq->method, rq->target, rq->body,
			  rq->body_len, rq->now, reason) != 0) {
		fail(rs, 401, "bad Authorization: %s", reason);
		return;
	}
	admin = pinned(&net, auth.key) || (ros && roster_is_admin(ros, auth.key));
	ok = admin || (ros && roster_find(ros, auth.key));
	if (!ok) {
		key_short(k, auth.key);
		fail(rs, 403, "key %s is not an admin or device of network %s%s",
		     k, rt.network,
		     ros ? "" : " (no roster yet: only admins)");
		return;
	}

	switch (rt.ep) {
	case EP_ROSTER:
		if (strcmp(rq->method, "GET") == 0) {
			get_roster(api, &rt, rs);
		} else if (!pinned(&net, auth.key)) {
			fail(rs, 403, "only an admin pinned for network %s "
			     "publishes its roster", rt.network);
		} else {
			post_roster(api, &rt, &net, rq, rs);
		}
		return;
	case EP_ANNOUNCE:
		if (!ros) {
			fail(rs, 403, "network %s has no roster yet",
			     rt.network);
			return;
		}
		post_announce(api, &rt, ros, auth.key, rq, rs);
		return;
	case EP_EVENTS:
		events_answer(api, rt.network, since, rs, &n);
		if (rs->status == 200 && wait && n == 0) {
			hub_response_free(rs);
			rs->status = 0;
			rs->wait_s = wait;
			snprintf(rs->network, sizeof(rs->network), "%s",
				 rt.network);
			rs->since = since;
		}
		return;
	case EP_HEALTH:
		break;
	}
}
