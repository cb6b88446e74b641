/* target_uapi.c - fuzz the UAPI "set" parser: callbacks check that what
 * reaches a device is always well-formed and in a legal order, and the
 * "get" formatters run on what was set. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "core/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	bool in_peer, committed;
	unsigned peers;
	char out[4096];
	struct uapi_buf buf;
	struct uapi_peer_info peer;
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static int device_key(void *ctx)
{
	struct state *s = ctx;

	check(!s->in_peer && !s->committed);
	return 0;
}

static int peer_key(void *ctx)
{
	struct state *s = ctx;

	check(s->in_peer && !s->committed);
	return 0;
}

static int s_private_key(void *ctx, const uint8_t key[32], bool clear)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < 32; ++i)
		acc |= key[i];
	check(clear == (acc == 0));
	return device_key(ctx);
}

static int s_listen_port(void *ctx, uint16_t port)
{
	(void)port;
	return device_key(ctx);
}

static int s_fwmark(void *ctx, uint32_t mark)
{
	(void)mark;
	return device_key(ctx);
}

static int s_replace_peers(void *ctx)
{
	return device_key(ctx);
}

static int s_peer_begin(void *ctx, const uint8_t key[32])
{
	struct state *s = ctx;

	check(!s->in_peer && !s->committed);
	s->in_peer = true;
	memset(&s->peer, 0, sizeof(s->peer));
	memcpy(s->peer.public_key, key, 32);
	return 0;
}

static int s_peer_psk(void *ctx, const uint8_t psk[32])
{
	struct state *s = ctx;

	memcpy(s->peer.preshared_key, psk, 32);
	return peer_key(ctx);
}

static int s_peer_endpoint(void *ctx, const struct wg_endpoint *ep)
{
	struct state *s = ctx;
	char text[ENDPOINT_STR_MAX];
	struct wg_endpoint back;

	check(ep->family == IP_V4 || ep->family == IP_V6);
	check(ep->port != 0);
	check(ep->family == IP_V6 || ep->scope_id == 0);
	/* what is parsed formats and parses back to the same endpoint */
	endpoint_format(ep, text);
	check(endpoint_parse(&back, text, strlen(text)));
	check(endpoint_equal(ep, &back));
	s->peer.endpoint = *ep;
	return peer_key(ctx);
}

static int s_peer_keepalive(void *ctx, uint16_t seconds)
{
	struct state *s = ctx;

	s->peer.persistent_keepalive = seconds;
	return peer_key(ctx);
}

static int s_peer_flag(void *ctx)
{
	return peer_key(ctx);
}

static int s_peer_allowed_ip(void *ctx, enum ip_family family,
			     const uint8_t *ip, uint8_t cidr)
{
	struct state *s = ctx;

	check(family == IP_V4 || family == IP_V6);
	check(cidr <= (family == IP_V4 ? 32 : 128));
	s->buf.len = 0;
	s->buf.truncated = false;
	uapi_format_allowed_ip(&s->buf, family, ip, cidr);
	check(!s->buf.truncated && s->buf.len > 0);
	return peer_key(ctx);
}

static int s_peer_end(void *ctx)
{
	struct state *s = ctx;

	check(s->in_peer && !s->committed);
	s->in_peer = false;
	s->peers++;
	s->buf.len = 0;
	s->buf.truncated = false;
	uapi_format_peer(&s->buf, &s->peer);
	check(!s->buf.truncated);
	/* the reply of a get is itself key=value lines */
	check(s->buf.len > 0 && s->buf.data[s->buf.len - 1] == '\n');
	return 0;
}

static void s_commit(void *ctx, bool ok)
{
	struct state *s = ctx;

	(void)ok;
	check(!s->committed);
	s->committed = true;
}

static const struct uapi_set_ops ops = {
	.private_key = s_private_key,
	.listen_port = s_listen_port,
	.fwmark = s_fwmark,
	.replace_peers = s_replace_peers,
	.peer_begin = s_peer_begin,
	.peer_remove = s_peer_flag,
	.peer_update_only = s_peer_flag,
	.peer_preshared_key = s_peer_psk,
	.peer_endpoint = s_peer_endpoint,
	.peer_persistent_keepalive = s_peer_keepalive,
	.peer_replace_allowed_ips = s_peer_flag,
	.peer_allowed_ip = s_peer_allowed_ip,
	.peer_end = s_peer_end,
	.commit = s_commit,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.buf.data = s.out;
	s.buf.cap = sizeof(s.out);
	ret = uapi_set(data, size, &ops, &s);
	check(s.committed);
	check(ret >= 0);
	check(ret != 0 || !s.in_peer);
	return 0;
}
