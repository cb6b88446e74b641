/* invite.c - the one-line invite (invite.h): "weft1:" and the base64url
 * (no padding) of a small JSON object. */
#include "mesh/invite.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#define INVITE_PREFIX "weft1:"
enum { INVITE_JSON_MAX = 2048 };

static int fail(char reason[MESH_REASON_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(char reason[MESH_REASON_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, MESH_REASON_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool url_ok(const char *u)
{
	size_t i, n = strlen(u);

	if (n >= MESH_URL_MAX)
		return false;
	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
		return false;
	for (i = 0; i < n; i++)
		if (u[i] <= ' ' || u[i] >= 0x7f || u[i] == '"' || u[i] == '\\')
			return false;
	return n > 8;
}

int invite_format(const struct invite *iv, char **line)
{
	json_t *root = json_object(), *admins = json_array();
	char *js = NULL;
	size_t cap, jl;
	unsigned i;
	int err = -ENOMEM;

	*line = NULL;
	if (!root || !admins)
		goto out;
	if (!url_ok(iv->hub) || !mesh_network_valid(iv->network) ||
	    iv->n_admins < 1 || iv->n_admins > MESH_MAX_ADMINS) {
		err = -EINVAL;
		goto out;
	}
	json_object_set_new(root, "hub", json_string(iv->hub));
	json_object_set_new(root, "network", json_string(iv->network));
	for (i = 0; i < iv->n_admins; i++) {
		char b[64];

		mesh_b64_encode(b, sizeof(b), iv->admins[i], MESH_KEY_LEN);
		json_array_append_new(admins, json_string(b));
	}
	json_object_set(root, "admin", admins);
	js = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!js)
		goto out;
	jl = strlen(js);
	cap = sizeof(INVITE_PREFIX) +
	      sodium_base64_ENCODED_LEN(jl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*line = malloc(cap);
	if (!*line)
		goto out;
	strcpy(*line, INVITE_PREFIX);
	sodium_bin2base64(*line + strlen(INVITE_PREFIX), cap - strlen(INVITE_PREFIX),
			  (const unsigned char *)js, jl,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	err = 0;
out:
	free(js);
	json_decref(admins);
	json_decref(root);
	return err;
}

int invite_parse(struct invite *iv, const char *line, char reason[MESH_REASON_MAX])
{
	unsigned char buf[INVITE_JSON_MAX];
	size_t got = 0, len, i;
	const char *end = NULL, *k;
	json_error_t jerr;
	json_t *root, *v, *item;
	int err = -EINVAL;

	memset(iv, 0, sizeof(*iv));
	if (!line || strncmp(line, INVITE_PREFIX, strlen(INVITE_PREFIX)))
		return fail(reason, "an invite starts with \"" INVITE_PREFIX "\"");
	line += strlen(INVITE_PREFIX);
	len = strlen(line);
	if (len == 0 || len > INVITE_JSON_MAX * 4 / 3)
		return fail(reason, "the invite is empty or too long");
	if (sodium_base642bin(buf, sizeof(buf) - 1, line, len, NULL, &got, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    !end || *end)
		return fail(reason, "the invite is damaged (not base64url); copy it again");
	root = json_loadb((const char *)buf, got, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(reason, "the invite is damaged (not JSON); copy it again");
	}
	json_object_foreach(root, k, v) {
		if (strcmp(k, "hub") && strcmp(k, "network") && strcmp(k, "admin")) {
			fail(reason, "the invite has an unknown member \"%.32s\"", k);
			goto out;
		}
	}
	v = json_object_get(root, "hub");
	if (!json_is_string(v) || !url_ok(json_string_value(v))) {
		fail(reason, "the invite's hub is not an http(s) URL");
		goto out;
	}
	strcpy(iv->hub, json_string_value(v));
	v = json_object_get(root, "network");
	if (!json_is_string(v) || !mesh_network_valid(json_string_value(v))) {
		fail(reason, "the invite's network is not a network name");
		goto out;
	}
	strcpy(iv->network, json_string_value(v));
	v = json_object_get(root, "admin");
	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > MESH_MAX_ADMINS) {
		fail(reason, "the invite must carry 1 to %d admin keys", MESH_MAX_ADMINS);
		goto out;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) ||
		    !mesh_b64_decode(iv->admins[i], MESH_KEY_LEN, json_string_value(item))) {
			fail(reason, "the invite's admin key %zu is not a base64 key", i);
			goto out;
		}
	}
	iv->n_admins = (unsigned)json_array_size(v);
	err = 0;
out:
	json_decref(root);
	if (err)
		memset(iv, 0, sizeof(*iv));
	return err;
}
