/* uapi.c - the text configuration protocol: a bounded, allocation-free
 * parser for "set" bodies that drives a device through callbacks, and the
 * formatters for "get" replies. */
#include "core/uapi.h"
#include "core/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "crypto/ct.h"

enum uapi_key {
	KEY_UNKNOWN,
	/* device */
	KEY_PRIVATE_KEY,
	KEY_LISTEN_PORT,
	KEY_FWMARK,
	KEY_REPLACE_PEERS,
	/* starts a peer section */
	KEY_PUBLIC_KEY,
	/* peer */
	KEY_REMOVE,
	KEY_UPDATE_ONLY,
	KEY_PRESHARED_KEY,
	KEY_ENDPOINT,
	KEY_PERSISTENT_KEEPALIVE,
	KEY_REPLACE_ALLOWED_IPS,
	KEY_ALLOWED_IP,
	KEY_PROTOCOL_VERSION,
};

static const struct {
	const char *name;
	enum uapi_key key;
} keys[] = {
	{ "private_key", KEY_PRIVATE_KEY },
	{ "listen_port", KEY_LISTEN_PORT },
	{ "fwmark", KEY_FWMARK },
	{ "replace_peers", KEY_REPLACE_PEERS },
	{ "public_key", KEY_PUBLIC_KEY },
	{ "remove", KEY_REMOVE },
	{ "update_only", KEY_UPDATE_ONLY },
	{ "preshared_key", KEY_PRESHARED_KEY },
	{ "endpoint", KEY_ENDPOINT },
	{ "persistent_keepalive_interval", KEY_PERSISTENT_KEEPALIVE },
	{ "replace_allowed_ips", KEY_REPLACE_ALLOWED_IPS },
	{ "allowed_ip", KEY_ALLOWED_IP },
	{ "protocol_version", KEY_PROTOCOL_VERSION },
};

static enum uapi_key lookup_key(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); ++i)
		if (strlen(keys[i].name) == len &&
		    memcmp(keys[i].name, s, len) == 0)
			return keys[i].key;
	return KEY_UNKNOWN;
}

static bool is_device_key(enum uapi_key k)
{
	return k == KEY_PRIVATE_KEY || k == KEY_LISTEN_PORT ||
	       k == KEY_FWMARK || k == KEY_REPLACE_PEERS;
}

static bool is_true(const char *s, size_t len)
{
	return len == 4 && memcmp(s, "true", 4) == 0;
}

/* "a.b.c.d/n" or "v6/n"; the prefix length is required. */
static bool parse_allowed_ip(const char *s, size_t len, enum ip_family *family,
			     uint8_t ip[16], uint8_t *cidr)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = memchr(s, '/', len);
	size_t hlen, blen;
	uint32_t bits;

	if (!slash)
		return false;
	hlen = (size_t)(slash - s);
	blen = len - hlen - 1;
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	/* One spelling per length: "/024" is not "/24". */
	if (blen == 0 || blen > 3 || (blen > 1 && slash[1] == '0'))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, ip) == 1)
		*family = IP_V4;
	else if (inet_pton(AF_INET6, host, ip) == 1)
		*family = IP_V6;
	else
		return false;
	if (!parse_decimal32(slash + 1, blen, 0, *family == IP_V4 ? 32 : 128,
			     &bits))
		return false;
	*cidr = (uint8_t)bits;
	return true;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; ++i)
		acc |= p[i];
	return acc == 0;
}

#define CALL(fn, ...) (ops->fn ? ops->fn(ctx, __VA_ARGS__) : 0)
#define CALL0(fn) (ops->fn ? ops->fn(ctx) : 0)

/* One key=value line; in_peer tracks the section. */
static int set_line(const char *key, size_t klen, const char *val, size_t vlen,
		    bool *in_peer, const struct uapi_set_ops *ops, void *ctx)
{
	enum uapi_key k = lookup_key(key, klen);
	struct wg_endpoint ep;
	enum ip_family family;
	uint8_t bytes[32];
	uint32_t n;
	uint8_t cidr;
	int ret;

	if (k == KEY_UNKNOWN)
		return EPROTO;
	/* Device keys come first; once a peer is selected every key belongs
	 * to it, so a device key there is as misplaced as a peer key before
	 * the first public_key. */
	if (k != KEY_PUBLIC_KEY && is_device_key(k) == *in_peer)
		return EINVAL;

	switch (k) {
	case KEY_PRIVATE_KEY:
		if (!key_from_hex(bytes, val, vlen))
			return EINVAL;
		ret = CALL(private_key, bytes, all_zero(bytes, sizeof(bytes)));
		crypto_wipe(bytes, sizeof(bytes));
		return ret;
	case KEY_LISTEN_PORT:
		if (!parse_decimal32(val, vlen, 0, 65535, &n))
			return EINVAL;
		return CALL(listen_port, (uint16_t)n);
	case KEY_FWMARK:
		if (!parse_decimal32(val, vlen, 0, UINT32_MAX, &n))
			return EINVAL;
		return CALL(fwmark, n);
	case KEY_REPLACE_PEERS:
		return is_true(val, vlen) ? CALL0(replace_peers) : EINVAL;
	case KEY_PUBLIC_KEY:
		if (!key_from_hex(bytes, val, vlen))
			return EINVAL;
		if (*in_peer && (ret = CALL0(peer_end)) != 0)
			return ret;
		*in_peer = true;
		return CALL(peer_begin, bytes);
	case KEY_REMOVE:
		return is_true(val, vlen) ? CALL0(peer_remove) : EINVAL;
	case KEY_UPDATE_ONLY:
		return is_true(val, vlen) ? CALL0(peer_update_only) : EINVAL;
	case KEY_PRESHARED_KEY:
		if (!key_from_hex(bytes, val, vlen))
			return EINVAL;
		ret = CALL(peer_preshared_key, bytes);
		crypto_wipe(bytes, sizeof(bytes));
		return ret;
	case KEY_ENDPOINT:
		if (!endpoint_parse(&ep, val, vlen))
			return EINVAL;
		return CALL(peer_endpoint, &ep);
	case KEY_PERSISTENT_KEEPALIVE:
		if (!parse_decimal32(val, vlen, 0, 65535, &n))
			return EINVAL;
		return CALL(peer_persistent_keepalive, (uint16_t)n);
	case KEY_REPLACE_ALLOWED_IPS:
		return is_true(val, vlen) ? CALL0(peer_replace_allowed_ips)
					  : EINVAL;
	case KEY_ALLOWED_IP:
		if (!parse_allowed_ip(val, vlen, &family, bytes, &cidr))
			return EINVAL;
		return CALL(peer_allowed_ip, family, bytes, cidr);
	case KEY_PROTOCOL_VERSION:
		return vlen == 1 && val[0] == '1' ? 0 : EINVAL;
	case KEY_UNKNOWN:
		break;
	}
	return EPROTO;
}

int uapi_set(const uint8_t *buf, size_t len, const struct uapi_set_ops *ops,
	     void *ctx)
{
	/* (an empty body may come as NULL: no arithmetic on it) */
	const char *p = (const char *)buf, *end = len ? p + len : p, *nl, *eq;
	bool in_peer = false;
	size_t llen;
	int ret = 0;

	if (len > UAPI_MAX_REQUEST)
		ret = EMSGSIZE;
	while (ret == 0 && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		llen = (size_t)((nl ? nl : end) - p);
		if (llen == 0 || llen > UAPI_MAX_LINE ||
		    memchr(p, '\0', llen)) {
			ret = EINVAL;
			break;
		}
		/* A line with no '=' is not protocol at all (wireguard-go
		 * also answers EPROTO there). */
		eq = memchr(p, '=', llen);
		if (!eq) {
			ret = EPROTO;
			break;
		}
		ret = set_line(p, (size_t)(eq - p), eq + 1,
			       llen - (size_t)(eq - p) - 1, &in_peer, ops, ctx);
		p += llen + (nl ? 1 : 0);
	}
	if (ret == 0 && in_peer)
		ret = CALL0(peer_end);
	if (ops->commit)
		ops->commit(ctx, ret == 0);
	return ret;
}

static void append(struct uapi_buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void append(struct uapi_buf *out, const char *fmt, ...)
{
	char line[UAPI_MAX_LINE + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) || out->truncated ||
	    out->cap - out->len < (size_t)n + 1) {
		out->truncated = true;
	} else {
		memcpy(out->data + out->len, line, (size_t)n + 1);
		out->len += (size_t)n;
	}
}

/* "name=<hex>\n" written in place, so the secret is copied only once. */
static void append_key(struct uapi_buf *out, const char *name,
		       const uint8_t key[KEY_LEN])
{
	size_t nlen = strlen(name), need = nlen + 1 + KEY_HEX_LEN + 1;
	char *p;

	if (out->truncated || out->cap - out->len < need + 1) {
		out->truncated = true;
		return;
	}
	p = out->data + out->len;
	memcpy(p, name, nlen);
	p[nlen] = '=';
	key_to_hex(p + nlen + 1, key);	/* writes the NUL we overwrite */
	p[need - 1] = '\n';
	p[need] = '\0';
	out->len += need;
}

void uapi_format_device(struct uapi_buf *out, const struct uapi_device_info *d)
{
	if (d->has_private_key)
		append_key(out, "private_key", d->private_key);
	append(out, "listen_port=%u\n", d->listen_port);
	if (d->fwmark)
		append(out, "fwmark=%" PRIu32 "\n", d->fwmark);
}

void uapi_format_peer(struct uapi_buf *out, const struct uapi_peer_info *p)
{
	char ep[ENDPOINT_STR_MAX];

	append_key(out, "public_key", p->public_key);
	append_key(out, "preshared_key", p->preshared_key);
	append(out, "protocol_version=1\n");
	if (p->endpoint.family) {
		endpoint_format(&p->endpoint, ep);
		append(out, "endpoint=%s\n", ep);
	}
	append(out, "last_handshake_time_sec=%" PRIu64 "\n",
	       p->last_handshake_sec);
	append(out, "last_handshake_time_nsec=%" PRIu64 "\n",
	       p->last_handshake_nsec);
	append(out, "tx_bytes=%" PRIu64 "\n", p->tx_bytes);
	append(out, "rx_bytes=%" PRIu64 "\n", p->rx_bytes);
	append(out, "persistent_keepalive_interval=%u\n",
	       p->persistent_keepalive);
}

void uapi_format_allowed_ip(struct uapi_buf *out, enum ip_family family,
			    const uint8_t *ip, uint8_t cidr)
{
	char s[INET6_ADDRSTRLEN];

	if (family != IP_V4 && family != IP_V6)
		return;
	if (!inet_ntop(family == IP_V4 ? AF_INET : AF_INET6, ip, s, sizeof(s)))
		return;
	append(out, "allowed_ip=%s/%u\n", s, cidr);
}

void uapi_format_errno(struct uapi_buf *out, int err)
{
	append(out, "errno=%d\n\n", err);
}
