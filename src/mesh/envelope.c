/* envelope.c - the signed envelope (envelope.h). The signature covers a
 * per-type prefix and the payload bytes exactly as carried. */
#include "mesh/envelope.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

/* Largest envelope text: base64 of the largest body plus the rest. */
#define ENVELOPE_JSON_MAX (MESH_ROSTER_BODY_MAX / 3 * 4 + 4096)

static const char *const type_names[] = {
	[ENV_ROSTER] = "roster",
	[ENV_ANNOUNCE] = "announce",
};

const char *envelope_type_name(enum envelope_type t)
{
	return (unsigned)t < 2 ? type_names[t] : "?";
}

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

/* The bytes signed: "weft <type> v1\n" || body. */
static unsigned char *signed_bytes(enum envelope_type type, const void *body,
				   size_t len, size_t *out_len)
{
	char prefix[32];
	int plen = snprintf(prefix, sizeof(prefix), "weft %s v1\n",
			    envelope_type_name(type));
	unsigned char *m = malloc((size_t)plen + len + 1);

	if (!m)
		return NULL;
	memcpy(m, prefix, (size_t)plen);
	if (len)
		memcpy(m + plen, body, len);
	*out_len = (size_t)plen + len;
	return m;
}

static const char *member_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int envelope_parse(struct envelope *e, const char *json, size_t len,
		   char reason[MESH_REASON_MAX])
{
	json_error_t jerr;
	json_t *root;
	const char *type, *body, *signer, *sig, *key;
	json_t *val;
	size_t blen, got = 0;
	const char *end = NULL;
	int err = -EINVAL;

	memset(e, 0, sizeof(*e));
	reason[0] = '\0';
	if (len > ENVELOPE_JSON_MAX)
		return fail(reason, "envelope of %zu bytes is over the limit", len);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(reason, "envelope is not JSON: %s (line %d)",
			    jerr.text, jerr.line);
	if (!json_is_object(root)) {
		fail(reason, "envelope is not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, val) {
		if (strcmp(key, "type") && strcmp(key, "body") &&
		    strcmp(key, "signer") && strcmp(key, "sig")) {
			fail(reason, "envelope has an unknown member \"%.32s\"", key);
			goto out;
		}
	}
	type = member_str(root, "type");
	body = member_str(root, "body");
	signer = member_str(root, "signer");
	sig = member_str(root, "sig");
	if (!type || !body || !signer || !sig) {
		fail(reason, "envelope lacks a string type, body, signer or sig");
		goto out;
	}
	if (!strcmp(type, "roster"))
		e->type = ENV_ROSTER;
	else if (!strcmp(type, "announce"))
		e->type = ENV_ANNOUNCE;
	else {
		fail(reason, "envelope type \"%.32s\" is neither roster nor announce",
		     type);
		goto out;
	}
	if (!mesh_b64_decode(e->signer, MESH_KEY_LEN, signer)) {
		fail(reason, "envelope signer is not a base64 32-byte key");
		goto out;
	}
	if (!mesh_b64_decode(e->sig, MESH_SIG_LEN, sig)) {
		fail(reason, "envelope sig is not a base64 64-byte signature");
		goto out;
	}
	blen = strlen(body);
	if (blen / 4 * 3 > MESH_ROSTER_BODY_MAX) {
		fail(reason, "envelope body is over the limit");
		goto out;
	}
	e->body = malloc(blen / 4 * 3 + 1);
	if (!e->body) {
		err = -ENOMEM;
		fail(reason, "out of memory");
		goto out;
	}
	if (sodium_base642bin(e->body, blen / 4 * 3 + 1, body, blen, NULL, &got,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    !end || *end != '\0' || got == 0) {
		free(e->body);
		e->body = NULL;
		fail(reason, "envelope body is not base64");
		goto out;
	}
	e->body[got] = '\0';
	e->body_len = got;
	err = 0;
out:
	json_decref(root);
	return err;
}

bool envelope_verify(const struct envelope *e)
{
	size_t mlen = 0;
	unsigned char *m;
	bool ok;

	if (!e->body)
		return false;
	m = signed_bytes(e->type, e->body, e->body_len, &mlen);
	if (!m)
		return false;
	ok = crypto_sign_verify_detached(e->sig, m, mlen, e->signer) == 0;
	free(m);
	return ok;
}

int envelope_seal(enum envelope_type type, const uint8_t sk[MESH_SECRET_LEN],
		  const char *body, size_t body_len, char **json)
{
	uint8_t sig[MESH_SIG_LEN];
	char signer[64], sigb[128];
	size_t mlen = 0, b64len;
	unsigned char *m;
	char *b64;
	int n;

	*json = NULL;
	if ((unsigned)type > ENV_ANNOUNCE || body_len > MESH_ROSTER_BODY_MAX)
		return -EINVAL;
	m = signed_bytes(type, body, body_len, &mlen);
	if (!m)
		return -ENOMEM;
	crypto_sign_detached(sig, NULL, m, mlen, sk);
	free(m);
	/* sk is seed || public key (libsodium's layout). */
	mesh_b64_encode(signer, sizeof(signer), sk + 32, MESH_KEY_LEN);
	mesh_b64_encode(sigb, sizeof(sigb), sig, MESH_SIG_LEN);
	b64len = sodium_base64_ENCODED_LEN(body_len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64len);
	if (!b64)
		return -ENOMEM;
	sodium_bin2base64(b64, b64len, (const unsigned char *)body, body_len,
			  sodium_base64_VARIANT_ORIGINAL);
	*json = malloc(b64len + 256);
	if (!*json) {
		free(b64);
		return -ENOMEM;
	}
	n = snprintf(*json, b64len + 256,
		     "{\"type\":\"%s\",\"body\":\"%s\",\"signer\":\"%s\",\"sig\":\"%s\"}",
		     envelope_type_name(type), b64, signer, sigb);
	free(b64);
	if (n < 0 || (size_t)n >= b64len + 256) {
		free(*json);
		*json = NULL;
		return -EOVERFLOW;
	}
	return 0;
}

void envelope_free(struct envelope *e)
{
	free(e->body);
	e->body = NULL;
	e->body_len = 0;
}
