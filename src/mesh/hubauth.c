/* hubauth.c - signed hub requests (hubauth.h). The signature binds the
 * method, the path with its query, the time and the body's hash, so a
 * request cannot be moved to another path or given another body, and it
 * is only good for MESH_AUTH_WINDOW_S either side of its time. */
#include "mesh/hubauth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

enum { HUBAUTH_PATH_MAX = 2048 };

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

/* The signed text; NULL when method or path are too long. */
static char *request_text(const char *method, const char *path, int64_t t,
			  const void *body, size_t body_len, size_t *len)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	size_t cap;
	char *s;
	int n;

	if (strlen(method) > 16 || strlen(path) > HUBAUTH_PATH_MAX)
		return NULL;
	crypto_hash_sha256(h, body_len ? body : (const void *)"", body_len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	cap = strlen(method) + strlen(path) + sizeof(hex) + 64;
	s = malloc(cap);
	if (!s)
		return NULL;
	n = snprintf(s, cap, "weft hub request v1\n%s\n%s\n%" PRId64 "\n%s\n",
		     method, path, t, hex);
	if (n < 0 || (size_t)n >= cap) {
		free(s);
		return NULL;
	}
	*len = (size_t)n;
	return s;
}

void hubauth_make(char out[HUBAUTH_HEADER_MAX],
		  const uint8_t sk[MESH_SECRET_LEN], const char *method,
		  const char *path_and_query, const void *body, size_t body_len,
		  int64_t now)
{
	uint8_t sig[MESH_SIG_LEN];
	char key[64], sigb[128];
	size_t len = 0;
	char *text = request_text(method, path_and_query, now, body, body_len,
				  &len);

	out[0] = '\0';
	if (!text)
		return;
	crypto_sign_detached(sig, NULL, (const unsigned char *)text, len, sk);
	free(text);
	mesh_b64_encode(key, sizeof(key), sk + 32, MESH_KEY_LEN);
	mesh_b64_encode(sigb, sizeof(sigb), sig, MESH_SIG_LEN);
	snprintf(out, HUBAUTH_HEADER_MAX, "Weft key=%s, time=%" PRId64 ", sig=%s",
		 key, now, sigb);
}

/* Take "name=" then the value up to sep (or the end); advance *p. */
static bool field(const char **p, const char *name, char sep, char *buf,
		  size_t cap)
{
	size_t nlen = strlen(name), vlen;
	const char *end;

	if (strncmp(*p, name, nlen) != 0 || (*p)[nlen] != '=')
		return false;
	*p += nlen + 1;
	end = sep ? strchr(*p, sep) : *p + strlen(*p);
	if (!end)
		return false;
	vlen = (size_t)(end - *p);
	if (vlen == 0 || vlen >= cap)
		return false;
	memcpy(buf, *p, vlen);
	buf[vlen] = '\0';
	*p = end;
	if (sep) {
		if (strncmp(*p, ", ", 2) != 0)
			return false;
		*p += 2;
	}
	return true;
}

int hubauth_parse(struct hubauth *a, const char *value,
		  char reason[MESH_REASON_MAX])
{
	char key[64], tbuf[24], sig[128];
	const char *p = value;
	char *end;
	long long t;

	memset(a, 0, sizeof(*a));
	if (!value || strlen(value) >= HUBAUTH_HEADER_MAX)
		return fail(reason, -EINVAL, "Authorization is missing or too long");
	if (strncmp(p, "Weft ", 5) != 0)
		return fail(reason, -EINVAL, "Authorization scheme is not Weft");
	p += 5;
	if (!field(&p, "key", ',', key, sizeof(key)) ||
	    !field(&p, "time", ',', tbuf, sizeof(tbuf)) ||
	    !field(&p, "sig", 0, sig, sizeof(sig)))
		return fail(reason, -EINVAL,
			    "Authorization is not \"Weft key=K, time=T, sig=S\"");
	if (!mesh_b64_decode(a->key, MESH_KEY_LEN, key))
		return fail(reason, -EINVAL, "Authorization key is not a base64 key");
	if (!mesh_b64_decode(a->sig, MESH_SIG_LEN, sig))
		return fail(reason, -EINVAL,
			    "Authorization sig is not a base64 signature");
	if (tbuf[0] < '0' || tbuf[0] > '9' || (tbuf[0] == '0' && tbuf[1]))
		return fail(reason, -EINVAL, "Authorization time is not a number");
	errno = 0;
	t = strtoll(tbuf, &end, 10);
	if (errno || *end || t < 0)
		return fail(reason, -EINVAL, "Authorization time is not a number");
	a->time = t;
	return 0;
}

int hubauth_check(const struct hubauth *a, const char *method,
		  const char *path_and_query, const void *body,
		  size_t body_len, int64_t now, char reason[MESH_REASON_MAX])
{
	size_t len = 0;
	char *text;
	int ok;

	if (a->time > now + MESH_AUTH_WINDOW_S || a->time < now - MESH_AUTH_WINDOW_S)
		return fail(reason, -ETIME,
			    "request time is %" PRId64 " s away from the hub's clock "
			    "(allowed: %d s); check the clock",
			    a->time - now, MESH_AUTH_WINDOW_S);
	text = request_text(method, path_and_query, a->time, body, body_len, &len);
	if (!text)
		return fail(reason, -EINVAL, "request line too long");
	ok = crypto_sign_verify_detached(a->sig, (const unsigned char *)text,
					 len, a->key) == 0;
	free(text);
	if (!ok)
		return fail(reason, -EPERM, "request signature does not verify");
	return 0;
}
