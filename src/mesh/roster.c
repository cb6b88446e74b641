/* roster.c - the roster payload (roster.h): strict parsing with every rule
 * of docs/mesh-protocol.md checked, serialising, editing. */
#include "mesh/roster.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/ct.h"

#define VERSION_MAX ((uint64_t)1 << 53)

#define fail mesh_reason

/* Every member of o is one of the NULL-terminated names. */
static const char *unknown_member(json_t *o, const char *const *names)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		const char *const *n;

		for (n = names; *n; n++)
			if (!strcmp(k, *n))
				break;
		if (!*n)
			return k;
	}
	return NULL;
}

static bool get_bool(json_t *o, const char *k, bool *out)
{
	json_t *v = json_object_get(o, k);

	if (!v) {
		*out = false;
		return true;
	}
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

static int parse_device(struct roster *r, json_t *d, unsigned i,
			char reason[MESH_REASON_MAX])
{
	static const char *const names[] = { "owner", "name", "key", "ip",
					     "exit", "relay", "tags", NULL };
	struct roster_device *dev = &r->devices[i];
	json_t *owner, *name, *key, *ip, *tags;
	const char *bad;

	if (!json_is_object(d))
		return fail(reason, -EINVAL, "devices[%u] is not an object", i);
	bad = unknown_member(d, names);
	if (bad)
		return fail(reason, -EINVAL, "devices[%u] has an unknown member \"%.32s\"",
			    i, bad);
	owner = json_object_get(d, "owner");
	name = json_object_get(d, "name");
	key = json_object_get(d, "key");
	if (!json_is_string(owner) || !mesh_name_valid(json_string_value(owner)) ||
	    !json_is_string(name) || !mesh_name_valid(json_string_value(name)))
		return fail(reason, -EINVAL,
			    "devices[%u]: owner and name must be 1-63 of A-Z a-z 0-9 . _ -",
			    i);
	strcpy(dev->owner, json_string_value(owner));
	strcpy(dev->name, json_string_value(name));
	if (!json_is_string(key) ||
	    !mesh_b64_decode(dev->key, MESH_KEY_LEN, json_string_value(key)))
		return fail(reason, -EINVAL, "device %s/%s: key is not a base64 key",
			    dev->owner, dev->name);
	ip = json_object_get(d, "ip");
	if (ip) {
		if (!json_is_string(ip) || !mesh_ip4_parse(&dev->ip, json_string_value(ip)))
			return fail(reason, -EINVAL, "device %s/%s: ip is not an IPv4 address",
				    dev->owner, dev->name);
		if (!mesh_range_usable(&r->range, dev->ip))
			return fail(reason, -EINVAL,
				    "device %s/%s: ip %s is not a usable address of the range",
				    dev->owner, dev->name, json_string_value(ip));
		dev->has_ip = true;
	}
	if (!get_bool(d, "exit", &dev->exit) || !get_bool(d, "relay", &dev->relay))
		return fail(reason, -EINVAL, "device %s/%s: exit and relay must be booleans",
			    dev->owner, dev->name);
	tags = json_object_get(d, "tags");
	if (tags) {
		size_t t;
		json_t *tv;

		if (!json_is_array(tags) || json_array_size(tags) > MESH_MAX_TAGS)
			return fail(reason, -EINVAL, "device %s/%s: tags must be an array of at most %d",
				    dev->owner, dev->name, MESH_MAX_TAGS);
		json_array_foreach(tags, t, tv) {
			if (!json_is_string(tv) || !mesh_name_valid(json_string_value(tv)))
				return fail(reason, -EINVAL, "device %s/%s: tag %zu is not a name",
					    dev->owner, dev->name, t);
			strcpy(dev->tags[t], json_string_value(tv));
		}
		dev->n_tags = (unsigned)json_array_size(tags);
	}
	return 0;
}

/* Unique keys, (owner, name) pairs and static addresses. O(n^2) over at
 * most MESH_MAX_DEVICES is bounded; rosters change rarely. */
static int check_unique(const struct roster *r, unsigned i,
			char reason[MESH_REASON_MAX])
{
	const struct roster_device *d = &r->devices[i];
	unsigned j;

	for (j = 0; j < i; j++) {
		const struct roster_device *o = &r->devices[j];

		if (!memcmp(o->key, d->key, MESH_KEY_LEN))
			return fail(reason, -EINVAL, "devices %s/%s and %s/%s have the same key",
				    o->owner, o->name, d->owner, d->name);
		if (!strcmp(o->owner, d->owner) && !strcmp(o->name, d->name))
			return fail(reason, -EINVAL, "device %s/%s is listed twice",
				    d->owner, d->name);
		if (o->has_ip && d->has_ip && !memcmp(o->ip.b, d->ip.b, 4))
			return fail(reason, -EINVAL, "devices %s/%s and %s/%s have the same ip",
				    o->owner, o->name, d->owner, d->name);
	}
	return 0;
}

int roster_parse(struct roster *r, const char *json, size_t len,
		 char reason[MESH_REASON_MAX])
{
	static const char *const names[] = { "network", "version", "range",
					     "range6", "admins", "relays", "stun",
					     "devices", NULL };
	json_error_t jerr;
	json_t *root, *v, *admins, *devices, *item;
	const char *bad;
	size_t i;
	int err = -EINVAL;

	memset(r, 0, sizeof(*r));
	reason[0] = '\0';
	if (len > MESH_ROSTER_BODY_MAX)
		return fail(reason, -EINVAL, "roster of %zu bytes is over the limit", len);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(reason, -EINVAL, "roster is not JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		fail(reason, err, "roster is not a JSON object");
		goto out;
	}
	bad = unknown_member(root, names);
	if (bad) {
		fail(reason, err, "roster has an unknown member \"%.32s\"", bad);
		goto out;
	}
	v = json_object_get(root, "network");
	if (!json_is_string(v) || !mesh_network_valid(json_string_value(v))) {
		fail(reason, err, "roster network must be 1-63 of a-z 0-9 -");
		goto out;
	}
	strcpy(r->network, json_string_value(v));
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    (uint64_t)json_integer_value(v) >= VERSION_MAX) {
		fail(reason, err, "roster version must be an integer from 1 to 2^53-1");
		goto out;
	}
	r->version = (uint64_t)json_integer_value(v);
	v = json_object_get(root, "range");
	if (!json_is_string(v) || !mesh_range4_parse(&r->range, json_string_value(v))) {
		fail(reason, err, "roster range must be an IPv4 prefix /8 to /30");
		goto out;
	}
	v = json_object_get(root, "range6");
	if (v && (!json_is_string(v) ||
		  !mesh_range6_parse(&r->range, json_string_value(v)))) {
		fail(reason, err, "roster range6 must be a ULA prefix /96");
		goto out;
	}
	admins = json_object_get(root, "admins");
	if (!json_is_array(admins) || json_array_size(admins) < 1 ||
	    json_array_size(admins) > MESH_MAX_ADMINS) {
		fail(reason, err, "roster admins must list 1 to %d keys", MESH_MAX_ADMINS);
		goto out;
	}
	json_array_foreach(admins, i, item) {
		if (!json_is_string(item) ||
		    !mesh_b64_decode(r->admins[i], MESH_KEY_LEN, json_string_value(item))) {
			fail(reason, err, "roster admins[%zu] is not a base64 key", i);
			goto out;
		}
	}
	r->n_admins = (unsigned)json_array_size(admins);
	v = json_object_get(root, "relays");
	if (v && mesh_endpoints_parse(v, r->relays, MESH_MAX_RELAYS, &r->n_relays,
				      "roster relays", reason))
		goto out;
	v = json_object_get(root, "stun");
	if (v && mesh_endpoints_parse(v, r->stun, MESH_MAX_RELAYS, &r->n_stun,
				      "roster stun", reason))
		goto out;
	devices = json_object_get(root, "devices");
	if (!json_is_array(devices) || json_array_size(devices) > MESH_MAX_DEVICES) {
		fail(reason, err, "roster devices must be an array of at most %d",
		     MESH_MAX_DEVICES);
		goto out;
	}
	if (json_array_size(devices)) {
		r->devices = calloc(json_array_size(devices), sizeof(*r->devices));
		if (!r->devices) {
			err = fail(reason, -ENOMEM, "out of memory");
			goto out;
		}
	}
	json_array_foreach(devices, i, item) {
		int e = parse_device(r, item, (unsigned)i, reason);

		if (!e)
			e = check_unique(r, (unsigned)i, reason);
		if (e) {
			err = e;
			goto out;
		}
		r->n_devices = (unsigned)i + 1;
	}
	err = 0;
out:
	json_decref(root);
	if (err)
		roster_free(r);
	return err;
}

static json_t *key_json(const uint8_t key[MESH_KEY_LEN])
{
	char b[64];

	mesh_b64_encode(b, sizeof(b), key, MESH_KEY_LEN);
	return json_string(b);
}

int roster_serialize(const struct roster *r, char **json, size_t *len)
{
	json_t *root = json_object(), *admins = json_array(), *devices = json_array();
	char buf[48];
	unsigned i, t;
	int err = -ENOMEM;

	*json = NULL;
	if (!root || !admins || !devices)
		goto out;
	json_object_set_new(root, "network", json_string(r->network));
	json_object_set_new(root, "version", json_integer((json_int_t)r->version));
	mesh_range4_format(&r->range, buf);
	json_object_set_new(root, "range", json_string(buf));
	if (r->range.has6) {
		mesh_range6_format(&r->range, buf);
		json_object_set_new(root, "range6", json_string(buf));
	}
	for (i = 0; i < r->n_admins; i++)
		json_array_append_new(admins, key_json(r->admins[i]));
	json_object_set(root, "admins", admins);
	if (r->n_relays)
		json_object_set_new(root, "relays",
				    mesh_endpoints_json(r->relays, r->n_relays));
	if (r->n_stun)
		json_object_set_new(root, "stun", mesh_endpoints_json(r->stun, r->n_stun));
	for (i = 0; i < r->n_devices; i++) {
		const struct roster_device *d = &r->devices[i];
		json_t *o = json_object();

		if (!o)
			goto out;
		json_object_set_new(o, "owner", json_string(d->owner));
		json_object_set_new(o, "name", json_string(d->name));
		json_object_set_new(o, "key", key_json(d->key));
		if (d->has_ip) {
			mesh_ip4_format(d->ip, buf);
			json_object_set_new(o, "ip", json_string(buf));
		}
		if (d->exit)
			json_object_set_new(o, "exit", json_true());
		if (d->relay)
			json_object_set_new(o, "relay", json_true());
		if (d->n_tags) {
			json_t *tags = json_array();

			for (t = 0; t < d->n_tags; t++)
				json_array_append_new(tags, json_string(d->tags[t]));
			json_object_set_new(o, "tags", tags);
		}
		json_array_append_new(devices, o);
	}
	json_object_set(root, "devices", devices);
	*json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*json) {
		*len = strlen(*json);
		err = 0;
	}
out:
	json_decref(admins);
	json_decref(devices);
	json_decref(root);
	return err;
}

void roster_free(struct roster *r)
{
	free(r->devices);
	r->devices = NULL;
	r->n_devices = 0;
}

const struct roster_device *roster_find(const struct roster *r,
					const uint8_t key[MESH_KEY_LEN])
{
	unsigned i;

	for (i = 0; i < r->n_devices; i++)
		if (!memcmp(r->devices[i].key, key, MESH_KEY_LEN))
			return &r->devices[i];
	return NULL;
}

const struct roster_device *roster_find_name(const struct roster *r,
					     const char *owner, const char *name)
{
	unsigned i;

	for (i = 0; i < r->n_devices; i++)
		if (!strcmp(r->devices[i].owner, owner) &&
		    !strcmp(r->devices[i].name, name))
			return &r->devices[i];
	return NULL;
}

bool roster_is_admin(const struct roster *r, const uint8_t key[MESH_KEY_LEN])
{
	unsigned i;

	for (i = 0; i < r->n_admins; i++)
		if (crypto_equal(r->admins[i], key, MESH_KEY_LEN))
			return true;
	return false;
}

int roster_add_device(struct roster *r, const struct roster_device *d,
		      char reason[MESH_REASON_MAX])
{
	struct roster_device *n;
	int err;

	if (r->n_devices >= MESH_MAX_DEVICES)
		return fail(reason, -ENOSPC, "the roster already lists %d devices",
			    MESH_MAX_DEVICES);
	if (!mesh_name_valid(d->owner) || !mesh_name_valid(d->name))
		return fail(reason, -EINVAL,
			    "owner and device must be 1-63 of A-Z a-z 0-9 . _ -");
	if (d->has_ip && !mesh_range_usable(&r->range, d->ip))
		return fail(reason, -EINVAL, "the address is not a usable address of the range");
	n = realloc(r->devices, (r->n_devices + 1) * sizeof(*n));
	if (!n)
		return fail(reason, -ENOMEM, "out of memory");
	r->devices = n;
	r->devices[r->n_devices] = *d;
	err = check_unique(r, r->n_devices, reason);
	if (err)
		return -EEXIST;
	r->n_devices++;
	return 0;
}

int roster_remove_device(struct roster *r, const char *owner, const char *name,
			 char reason[MESH_REASON_MAX])
{
	unsigned i;

	for (i = 0; i < r->n_devices; i++) {
		if (strcmp(r->devices[i].owner, owner) || strcmp(r->devices[i].name, name))
			continue;
		memmove(&r->devices[i], &r->devices[i + 1],
			(r->n_devices - i - 1) * sizeof(r->devices[0]));
		r->n_devices--;
		return 0;
	}
	return fail(reason, -ENOENT, "no device %s/%s in the roster", owner, name);
}
