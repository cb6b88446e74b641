/* announce.c - the announcement payload (announce.h): strict parsing and
 * serialising. Who may announce, and when, is meshview.c's business. */
#include "mesh/announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define U53_MAX (((uint64_t)1 << 53) - 1)

#define fail(reason, ...) mesh_reason(reason, -EINVAL, __VA_ARGS__)

static bool get_u53(json_t *o, const char *k, bool required, uint64_t *out)
{
	json_t *v = json_object_get(o, k);

	*out = 0;
	if (!v)
		return !required;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > U53_MAX)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool parse_dns(struct ip_prefix *p, const char *s)
{
	memset(p, 0, sizeof(*p));
	if (strlen(s) < 40 && inet_pton(AF_INET, s, p->addr) == 1) {
		p->family = 4;
		p->cidr = 32;
		return true;
	}
	if (strlen(s) < 46 && inet_pton(AF_INET6, s, p->addr) == 1) {
		p->family = 6;
		p->cidr = 128;
		return true;
	}
	return false;
}

int announce_parse(struct announce *a, const char *json, size_t len,
		   char reason[MESH_REASON_MAX])
{
	static const char *const names[] = { "network", "device", "wg",
		"endpoints", "relays", "ip", "claim", "dns", "time", "expires", NULL };
	json_error_t jerr;
	json_t *root, *v, *item;
	const char *k;
	size_t i;
	int err = -EINVAL;

	memset(a, 0, sizeof(*a));
	reason[0] = '\0';
	if (len > MESH_BODY_MAX)
		return fail(reason, "announcement of %zu bytes is over the limit", len);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(reason, "announcement is not JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		fail(reason, "announcement is not a JSON object");
		goto out;
	}
	json_object_foreach(root, k, v) {
		const char *const *n;

		for (n = names; *n && strcmp(*n, k); n++)
			;
		if (!*n) {
			fail(reason, "announcement has an unknown member \"%.32s\"", k);
			goto out;
		}
	}
	v = json_object_get(root, "network");
	if (!json_is_string(v) || !mesh_network_valid(json_string_value(v))) {
		fail(reason, "announcement network is not a network name");
		goto out;
	}
	strcpy(a->network, json_string_value(v));
	v = json_object_get(root, "device");
	if (!json_is_string(v) ||
	    !mesh_b64_decode(a->device, MESH_KEY_LEN, json_string_value(v))) {
		fail(reason, "announcement device is not a base64 key");
		goto out;
	}
	v = json_object_get(root, "wg");
	if (!json_is_string(v) ||
	    !mesh_b64_decode(a->wg, MESH_KEY_LEN, json_string_value(v))) {
		fail(reason, "announcement wg is not a base64 key");
		goto out;
	}
	v = json_object_get(root, "endpoints");
	if (v) {
		if (!json_is_array(v) || json_array_size(v) > MESH_MAX_ENDPOINTS) {
			fail(reason, "announcement endpoints must be an array of at most %d",
			     MESH_MAX_ENDPOINTS);
			goto out;
		}
		json_array_foreach(v, i, item) {
			const char *s = json_is_string(item) ? json_string_value(item) : NULL;

			if (!s || strlen(s) >= ENDPOINT_STR_MAX ||
			    !endpoint_parse(&a->endpoints[i], s, strlen(s)) ||
			    a->endpoints[i].port == 0) {
				fail(reason, "announcement endpoints[%zu] is not ip:port", i);
				goto out;
			}
		}
		a->n_endpoints = (unsigned)json_array_size(v);
	}
	v = json_object_get(root, "relays");
	if (v && mesh_endpoints_parse(v, a->relays, MESH_MAX_RELAYS, &a->n_relays,
				      "announcement relays", reason))
		goto out;
	v = json_object_get(root, "ip");
	if (v) {
		if (!json_is_string(v) || !mesh_ip4_parse(&a->ip, json_string_value(v))) {
			fail(reason, "announcement ip is not an IPv4 address");
			goto out;
		}
		a->has_ip = true;
	}
	if (!get_u53(root, "claim", false, &a->claim)) {
		fail(reason, "announcement claim is not a message id");
		goto out;
	}
	if (a->claim && !a->has_ip) {
		fail(reason, "announcement has a claim but no ip");
		goto out;
	}
	v = json_object_get(root, "dns");
	if (v) {
		if (!json_is_array(v) || json_array_size(v) > 4) {
			fail(reason, "announcement dns must be an array of at most 4");
			goto out;
		}
		json_array_foreach(v, i, item) {
			if (!json_is_string(item) ||
			    !parse_dns(&a->dns[i], json_string_value(item))) {
				fail(reason, "announcement dns[%zu] is not an IP address", i);
				goto out;
			}
		}
		a->n_dns = (unsigned)json_array_size(v);
	}
	if (!get_u53(root, "time", true, &a->time_ms) || a->time_ms == 0 ||
	    !get_u53(root, "expires", true, &a->expires_s) || a->expires_s == 0) {
		fail(reason, "announcement time and expires must be positive integers");
		goto out;
	}
	err = 0;
out:
	json_decref(root);
	if (err)
		memset(a, 0, sizeof(*a));
	return err;
}

static json_t *key_json(const uint8_t key[MESH_KEY_LEN])
{
	char b[64];

	mesh_b64_encode(b, sizeof(b), key, MESH_KEY_LEN);
	return json_string(b);
}

int announce_serialize(const struct announce *a, char **json, size_t *len)
{
	json_t *root = json_object(), *eps = json_array();
	char buf[ENDPOINT_STR_MAX];
	unsigned i;
	int err = -ENOMEM;

	*json = NULL;
	if (!root || !eps || a->n_endpoints > MESH_MAX_ENDPOINTS || a->n_dns > 4)
		goto out;
	json_object_set_new(root, "network", json_string(a->network));
	json_object_set_new(root, "device", key_json(a->device));
	json_object_set_new(root, "wg", key_json(a->wg));
	for (i = 0; i < a->n_endpoints; i++) {
		endpoint_format(&a->endpoints[i], buf);
		json_array_append_new(eps, json_string(buf));
	}
	json_object_set(root, "endpoints", eps);
	if (a->n_relays) {
		json_t *rl = mesh_endpoints_json(a->relays,
						 a->n_relays > MESH_MAX_RELAYS ?
						 MESH_MAX_RELAYS : a->n_relays);

		if (!rl)
			goto out;
		json_object_set_new(root, "relays", rl);
	}
	if (a->has_ip) {
		mesh_ip4_format(a->ip, buf);
		json_object_set_new(root, "ip", json_string(buf));
		json_object_set_new(root, "claim", json_integer((json_int_t)a->claim));
	}
	if (a->n_dns) {
		json_t *dns = json_array();

		for (i = 0; i < a->n_dns; i++) {
			char s[INET6_ADDRSTRLEN];

			if (!inet_ntop(a->dns[i].family == 6 ? AF_INET6 : AF_INET,
				       a->dns[i].addr, s, sizeof(s)))
				s[0] = '\0';
			json_array_append_new(dns, json_string(s));
		}
		json_object_set_new(root, "dns", dns);
	}
	json_object_set_new(root, "time", json_integer((json_int_t)a->time_ms));
	json_object_set_new(root, "expires", json_integer((json_int_t)a->expires_s));
	*json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*json) {
		*len = strlen(*json);
		err = 0;
	}
out:
	json_decref(eps);
	json_decref(root);
	return err;
}
