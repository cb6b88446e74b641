/* meshview.c - the node's verified view of its network (meshview.h).
 *
 * Invariant: a rejected offer leaves the view exactly as it was; every
 * check runs before the first change. Addresses are recomputed from
 * scratch after each accepted change (sorting the claims), so the result
 * depends only on the set of current messages, never on arrival order. */
#include "mesh/meshview.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "mesh/envelope.h"

static int fail(char reason[MESH_REASON_MAX], int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char reason[MESH_REASON_MAX], int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, MESH_REASON_MAX, fmt, ap);
	va_end(ap);
	return err;
}

/* The first 8 base64 characters of a key, to name it in a reason. */
static void key_short(const uint8_t key[MESH_KEY_LEN], char out[12])
{
	char b[64];

	mesh_b64_encode(b, sizeof(b), key, MESH_KEY_LEN);
	snprintf(out, 12, "%.8s...", b);
}

void meshview_init(struct meshview *v, const char *network,
		   const uint8_t self[MESH_KEY_LEN],
		   const uint8_t (*admins)[MESH_KEY_LEN], unsigned n_admins)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->network, sizeof(v->network), "%s", network);
	memcpy(v->self, self, MESH_KEY_LEN);
	if (n_admins > MESH_MAX_ADMINS)
		n_admins = MESH_MAX_ADMINS;
	memcpy(v->pinned, admins, n_admins * sizeof(*admins));
	v->n_pinned = n_admins;
}

void meshview_free(struct meshview *v)
{
	roster_free(&v->roster);
	free(v->roster_env);
	free(v->devs);
	memset(v, 0, sizeof(*v));
}

static bool pinned(const struct meshview *v, const uint8_t key[MESH_KEY_LEN])
{
	unsigned i;
	bool found = false;

	for (i = 0; i < v->n_pinned; i++)
		found |= crypto_equal(v->pinned[i], key, MESH_KEY_LEN);
	return found;
}

int meshview_find(const struct meshview *v, const uint8_t key[MESH_KEY_LEN])
{
	unsigned i;

	if (!v->has_roster)
		return -1;
	for (i = 0; i < v->roster.n_devices; i++)
		if (!memcmp(v->roster.devices[i].key, key, MESH_KEY_LEN))
			return (int)i;
	return -1;
}

struct claim {
	uint32_t ip;
	uint64_t order;
	unsigned idx;
};

static uint32_t ip_u32(struct mesh_ip4 ip)
{
	return (uint32_t)ip.b[0] << 24 | (uint32_t)ip.b[1] << 16 |
	       (uint32_t)ip.b[2] << 8 | ip.b[3];
}

static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool static_holder(const struct roster *r, uint32_t ip)
{
	unsigned i;

	for (i = 0; i < r->n_devices; i++)
		if (r->devices[i].has_ip && ip_u32(r->devices[i].ip) == ip)
			return true;
	return false;
}

/* Effective addresses: static ones as listed; of the dynamic claims of
 * one address, the lowest order wins unless a static device holds it. */
static void recompute(struct meshview *v)
{
	const struct roster *r = &v->roster;
	struct claim *c = NULL;
	unsigned i, n = 0;

	if (r->n_devices)
		c = malloc(r->n_devices * sizeof(*c));
	for (i = 0; i < r->n_devices; i++) {
		struct mv_device *d = &v->devs[i];

		d->has_ip = r->devices[i].has_ip;
		d->ip = r->devices[i].ip;
		if (d->has_ip || !d->announced || !d->ann.has_ip)
			continue;
		d->claim_order = d->ann.claim ? d->ann.claim : d->msg_id;
		if (c) {
			c[n].ip = ip_u32(d->ann.ip);
			c[n].order = d->claim_order;
			c[n].idx = i;
			n++;
		}
	}
	if (!c)
		return;
	qsort(c, n, sizeof(*c), claim_cmp);
	for (i = 0; i < n; i++) {
		bool first = i == 0 || c[i - 1].ip != c[i].ip;
		struct mv_device *d = &v->devs[c[i].idx];

		if (first && !static_holder(r, c[i].ip)) {
			d->has_ip = true;
			d->ip = d->ann.ip;
		}
	}
	free(c);
}

int meshview_offer_roster(struct meshview *v, const char *env, size_t len,
			  uint64_t id, char reason[MESH_REASON_MAX])
{
	struct envelope e;
	struct roster r;
	struct mv_device *devs = NULL;
	char who[12], *copy;
	unsigned i;
	int err;

	err = envelope_parse(&e, env, len, reason);
	if (err)
		return err;
	if (e.type != ENV_ROSTER) {
		envelope_free(&e);
		return fail(reason, -EINVAL, "an announcement was offered as a roster");
	}
	if (!pinned(v, e.signer)) {
		key_short(e.signer, who);
		envelope_free(&e);
		return fail(reason, -EPERM,
			    "roster signed by %s, which is not a pinned admin key", who);
	}
	if (!envelope_verify(&e)) {
		envelope_free(&e);
		return fail(reason, -EPERM,
			    "roster signature does not verify: forged or altered on the way");
	}
	err = roster_parse(&r, (const char *)e.body, e.body_len, reason);
	envelope_free(&e);
	if (err)
		return err;
	if (strcmp(r.network, v->network)) {
		err = fail(reason, -EINVAL, "roster is for network \"%s\", not \"%s\"",
			   r.network, v->network);
		goto bad;
	}
	if (v->has_roster && r.version < v->roster.version) {
		err = fail(reason, -ESTALE,
			   "roster version %llu is older than the accepted %llu: rollback refused",
			   (unsigned long long)r.version,
			   (unsigned long long)v->roster.version);
		goto bad;
	}
	if (v->has_roster && r.version == v->roster.version) {
		bool same = strlen(v->roster_env) == len && !memcmp(v->roster_env, env, len);

		if (!same) {
			err = fail(reason, -ESTALE,
				   "roster version %llu differs from the accepted one of the same version",
				   (unsigned long long)r.version);
			goto bad;
		}
		roster_free(&r);
		if (id > v->last_id)
			v->last_id = id;
		return MV_UNCHANGED;
	}
	copy = malloc(len + 1);
	if (r.n_devices)
		devs = calloc(r.n_devices, sizeof(*devs));
	if (!copy || (r.n_devices && !devs)) {
		free(copy);
		free(devs);
		err = fail(reason, -ENOMEM, "out of memory");
		goto bad;
	}
	memcpy(copy, env, len);
	copy[len] = '\0';
	/* Announcements of devices still listed carry over. */
	for (i = 0; i < r.n_devices; i++) {
		int old = meshview_find(v, r.devices[i].key);

		if (old >= 0)
			devs[i] = v->devs[old];
	}
	roster_free(&v->roster);
	free(v->roster_env);
	free(v->devs);
	v->roster = r;
	v->roster_env = copy;
	v->devs = devs;
	v->has_roster = true;
	memcpy(v->pinned, r.admins, sizeof(v->pinned));
	v->n_pinned = r.n_admins;
	if (id > v->last_id)
		v->last_id = id;
	recompute(v);
	v->generation++;
	return MV_ACCEPTED;
bad:
	roster_free(&r);
	return err;
}

int meshview_offer_announce(struct meshview *v, const char *env, size_t len,
			    uint64_t id, uint64_t now_ms,
			    char reason[MESH_REASON_MAX])
{
	struct envelope e;
	struct announce a;
	const struct roster_device *rd;
	struct mv_device *d;
	char who[12];
	int idx, err;

	if (!v->has_roster)
		return fail(reason, -EPERM, "announcement before any roster was accepted");
	err = envelope_parse(&e, env, len, reason);
	if (err)
		return err;
	if (e.type != ENV_ANNOUNCE) {
		envelope_free(&e);
		return fail(reason, -EINVAL, "a roster was offered as an announcement");
	}
	idx = meshview_find(v, e.signer);
	if (idx < 0) {
		key_short(e.signer, who);
		envelope_free(&e);
		return fail(reason, -EPERM,
			    "announcement from %s, which is not in the roster", who);
	}
	rd = &v->roster.devices[idx];
	if (!envelope_verify(&e)) {
		envelope_free(&e);
		return fail(reason, -EPERM,
			    "announcement of %s/%s does not verify: forged or altered on the way",
			    rd->owner, rd->name);
	}
	err = announce_parse(&a, (const char *)e.body, e.body_len, reason);
	if (!err && memcmp(a.device, e.signer, MESH_KEY_LEN))
		err = fail(reason, -EPERM,
			   "announcement signed by %s/%s names another device",
			   rd->owner, rd->name);
	envelope_free(&e);
	if (err)
		return err;
	if (strcmp(a.network, v->network))
		return fail(reason, -EINVAL, "announcement of %s/%s is for network \"%s\"",
			    rd->owner, rd->name, a.network);
	if (a.has_ip && rd->has_ip)
		return fail(reason, -EINVAL,
			    "announcement of %s/%s claims an address but the roster gives it one",
			    rd->owner, rd->name);
	if (a.has_ip && !mesh_range_usable(&v->roster.range, a.ip))
		return fail(reason, -EINVAL,
			    "announcement of %s/%s claims an address outside the range",
			    rd->owner, rd->name);
	d = &v->devs[idx];
	if (d->announced && a.time_ms <= d->ann.time_ms) {
		if (a.time_ms == d->ann.time_ms && !memcmp(&a, &d->ann, sizeof(a))) {
			if (id > v->last_id)
				v->last_id = id;
			return MV_UNCHANGED;
		}
		return fail(reason, -ESTALE,
			    "announcement of %s/%s is not newer than the one in force (replayed?)",
			    rd->owner, rd->name);
	}
	if (a.expires_s * 1000 + MESH_SKEW_MS < now_ms)
		return fail(reason, -ETIME, "announcement of %s/%s has expired",
			    rd->owner, rd->name);
	if (a.time_ms > now_ms + MESH_SKEW_MS)
		return fail(reason, -ETIME,
			    "announcement of %s/%s is from the future; check the clocks",
			    rd->owner, rd->name);
	d->ann = a;
	d->msg_id = id;
	d->announced = true;
	if (id > v->last_id)
		v->last_id = id;
	recompute(v);
	v->generation++;
	return MV_ACCEPTED;
}

const struct roster_device *meshview_self_entry(const struct meshview *v)
{
	int i = meshview_find(v, v->self);

	return i < 0 ? NULL : &v->roster.devices[i];
}

const struct mv_device *meshview_self_state(const struct meshview *v)
{
	int i = meshview_find(v, v->self);

	return i < 0 ? NULL : &v->devs[i];
}

bool meshview_ip_taken(const struct meshview *v, struct mesh_ip4 ip)
{
	unsigned i;

	if (!v->has_roster)
		return false;
	for (i = 0; i < v->roster.n_devices; i++) {
		const struct roster_device *rd = &v->roster.devices[i];
		const struct mv_device *d = &v->devs[i];

		if (rd->has_ip && !memcmp(rd->ip.b, ip.b, 4))
			return true;
		if (!memcmp(rd->key, v->self, MESH_KEY_LEN))
			continue;
		if (d->announced && d->ann.has_ip && !memcmp(d->ann.ip.b, ip.b, 4))
			return true;
	}
	return false;
}

int meshview_pick_ip(const struct meshview *v, const struct mesh_ip4 *previous,
		     uint32_t (*rnd)(void *arg), void *arg, struct mesh_ip4 *out)
{
	const struct mesh_range *r = &v->roster.range;
	uint32_t size, net, start = 0, k;
	unsigned tries;

	if (!v->has_roster)
		return -ENOENT;
	if (previous && mesh_range_usable(r, *previous) &&
	    !meshview_ip_taken(v, *previous)) {
		*out = *previous;
		return 0;
	}
	size = (uint32_t)1 << (32 - r->cidr);
	net = ip_u32(r->net);
	/* Random probes first, then a scan from a random start so that a
	 * nearly full range still finds its last free address. */
	for (tries = 0; tries < 64 + size; tries++) {
		struct mesh_ip4 ip;
		uint32_t a;

		if (tries == 64)
			start = rnd(arg) % size;
		k = tries < 64 ? rnd(arg) % size : (start + tries - 64) % size;
		a = net + k;
		ip.b[0] = (uint8_t)(a >> 24);
		ip.b[1] = (uint8_t)(a >> 16);
		ip.b[2] = (uint8_t)(a >> 8);
		ip.b[3] = (uint8_t)a;
		if (mesh_range_usable(r, ip) && !meshview_ip_taken(v, ip)) {
			*out = ip;
			return 0;
		}
	}
	return -ENOSPC;
}

bool meshview_self_lost(const struct meshview *v)
{
	const struct roster_device *rd = meshview_self_entry(v);
	const struct mv_device *d = meshview_self_state(v);

	return rd && d && !rd->has_ip && d->announced && d->ann.has_ip &&
	       (!d->has_ip || memcmp(d->ip.b, d->ann.ip.b, 4));
}
