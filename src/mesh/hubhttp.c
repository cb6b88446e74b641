/* hubhttp.c - one signed request to weft-hub (hubhttp.h). */
#define _GNU_SOURCE
#include "mesh/hubhttp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "mesh/hubauth.h"

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct hub_reply *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->len + len > HUBHTTP_REPLY_MAX)
		return 0;	/* aborts the transfer */
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	const volatile int *cancel = arg;

	(void)a, (void)b, (void)c, (void)d;
	return cancel && *cancel;
}

/* {"error":"..."} of a refusal into r->error. */
static void take_reason(struct hub_reply *r)
{
	json_t *o = r->body ? json_loads(r->body, 0, NULL) : NULL;
	json_t *e = json_object_get(o, "error");
	size_t i;

	snprintf(r->error, sizeof(r->error), "the hub answered HTTP %ld%s%s", r->status,
		 json_is_string(e) ? ": " : "", json_is_string(e) ? json_string_value(e) : "");
	for (i = 0; r->error[i]; i++)
		if ((unsigned char)r->error[i] < 0x20 || r->error[i] == 0x7f)
			r->error[i] = '?';
	json_decref(o);
}

int hubhttp_request(const char *hub, const uint8_t *sk, const char *method,
		    const char *path_and_query, const char *body, size_t body_len,
		    long timeout_ms, const volatile int *cancel,
		    struct hub_reply *r)
{
	char url[MESH_URL_MAX + 512], auth[HUBAUTH_HEADER_MAX + 32];
	char hv[HUBAUTH_HEADER_MAX];
	struct curl_slist *hdr = NULL;
	size_t hl = strlen(hub);
	CURLcode rc;
	CURL *c;
	int err = 0;

	memset(r, 0, sizeof(*r));
	while (hl && hub[hl - 1] == '/')
		hl--;
	if (hl >= MESH_URL_MAX || strlen(path_and_query) > 500) {
		snprintf(r->error, sizeof(r->error), "hub URL too long");
		return -EINVAL;
	}
	snprintf(url, sizeof(url), "%.*s%s", (int)hl, hub, path_and_query);
	c = curl_easy_init();
	if (!c) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -ENOMEM;
	}
	if (sk) {
		hubauth_make(hv, sk, method, path_and_query, body ? body : "",
			     body ? body_len : 0, (int64_t)time(NULL));
		snprintf(auth, sizeof(auth), "Authorization: %s", hv);
		hdr = curl_slist_append(hdr, auth);
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "weft");
	/* A long poll sends nothing while it waits: without probes, a NAT
	 * that forgot the connection leaves it hanging until the timeout. */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (!r->body)
			r->body = strdup("");
		if (r->status >= 400)
			take_reason(r);
	} else {
		err = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
		      rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ?
		      -EHOSTUNREACH : -EIO;
		snprintf(r->error, sizeof(r->error), "no answer from the hub at %.*s: %s",
			 (int)hl, hub, curl_easy_strerror(rc));
		free(r->body);
		r->body = NULL;
		r->len = 0;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return err;
}

void hub_reply_free(struct hub_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
