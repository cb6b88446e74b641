/* wgquick.c - the wg-quick config for a stock WireGuard client, see
 * wgquick.h. */
#include "vpn/wgquick.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "core/parse.h"
#include "crypto/ct.h"

static int say(char err[WGQUICK_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int say(char err[WGQUICK_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, WGQUICK_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool ipv6_literal(const char *s, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	uint8_t a[16];

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, a) == 1;
}

static bool ipv4_literal(const char *s, size_t len)
{
	char tmp[INET_ADDRSTRLEN];
	uint8_t a[4];

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET, tmp, a) == 1;
}

static bool label_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-';
}

/* RFC 1123 host name: dot-separated labels of 1..63 letters, digits and
 * inner hyphens; the last label is not all digits (that would be a
 * mistyped IPv4 address). */
static bool dns_name(const char *s, size_t len)
{
	size_t start = 0;
	bool all_digits = true;

	if (len == 0 || len > WGQUICK_HOST_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
				return false;
			start = i + 1;
			if (i < len)
				all_digits = true;
			continue;
		}
		if (!label_char(s[i]))
			return false;
		if (s[i] < '0' || s[i] > '9')
			all_digits = false;
	}
	return !all_digits;
}

int wgquick_endpoint(const char *in, size_t len, uint16_t default_port,
		     char out[WGQUICK_ENDPOINT_MAX], char err[WGQUICK_ERR_MAX])
{
	const char *host = in, *port = NULL, *colon;
	size_t hlen = len, plen = 0, colons = 0;
	uint32_t p = default_port;
	bool v6 = false;
	int q = len > 60 ? 60 : (int)len, n;

	out[0] = '\0';
	err[0] = '\0';
	if (!in || len == 0)
		return say(err, "the endpoint is empty: give HOST[:PORT]");
	if (len >= WGQUICK_ENDPOINT_MAX || memchr(in, '\0', len))
		return say(err, "the endpoint \"%.*s...\" is too long", q, in);
	for (size_t i = 0; i < len; i++)
		colons += in[i] == ':';
	if (in[0] == '[') {
		const char *close = memchr(in, ']', len);

		if (!close)
			return say(err, "endpoint \"%.*s\": missing ']'", q, in);
		host = in + 1;
		hlen = (size_t)(close - host);
		if (!ipv6_literal(host, hlen))
			return say(err, "endpoint \"%.*s\": not an IPv6 address in brackets",
				   q, in);
		v6 = true;
		if (close + 1 < in + len) {
			if (close[1] != ':')
				return say(err, "endpoint \"%.*s\": expected :PORT after ']'",
					   q, in);
			port = close + 2;
			plen = (size_t)(in + len - port);
		}
	} else if (colons >= 2) {
		if (!ipv6_literal(in, len))
			return say(err, "endpoint \"%.*s\": an IPv6 address with a port goes in brackets, e.g. [2001:db8::1]:51820",
				   q, in);
		v6 = true;
	} else if (colons == 1) {
		colon = memchr(in, ':', len);
		hlen = (size_t)(colon - in);
		port = colon + 1;
		plen = (size_t)(in + len - port);
	}
	if (!v6 && !ipv4_literal(host, hlen) && !dns_name(host, hlen))
		return say(err, "endpoint \"%.*s\": \"%.*s\" is not a host name or IP address",
			   q, in, hlen > 60 ? 60 : (int)hlen, host);
	if (port && !parse_decimal32(port, plen, 1, 65535, &p))
		return say(err, "endpoint \"%.*s\": the port must be 1-65535", q, in);
	if (!port && !default_port)
		return say(err, "endpoint \"%.*s\": give a port, HOST:PORT", q, in);
	n = snprintf(out, WGQUICK_ENDPOINT_MAX, v6 ? "[%.*s]:%u" : "%.*s:%u",
		     (int)hlen, host, (unsigned)p);
	if (n < 0 || n >= WGQUICK_ENDPOINT_MAX) {
		out[0] = '\0';
		return say(err, "the endpoint \"%.*s...\" is too long", q, in);
	}
	return 0;
}

struct out {
	char *buf;
	size_t cap, used;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->cap - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->used) {
		o->full = true;
		return;
	}
	o->used += (size_t)n;
}

/* The bare address of p (no prefix length), or false for a bad family. */
static bool address_text(const struct ip_prefix *p, char out[INET6_ADDRSTRLEN])
{
	if (p->family != 4 && p->family != 6)
		return false;
	return inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, out,
			 INET6_ADDRSTRLEN) != NULL;
}

int wgquick_client_config(const struct wgquick_client *c, char *buf,
			  size_t cap)
{
	char key[KEY_BASE64_LEN + 1], a[INET6_ADDRSTRLEN];
	char ep[WGQUICK_ENDPOINT_MAX], err[WGQUICK_ERR_MAX];
	struct out o = { .buf = buf, .cap = cap };
	size_t eplen = strnlen(c->endpoint, sizeof(c->endpoint));

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if ((c->address4.family && c->address4.family != 4) ||
	    (c->address6.family && c->address6.family != 6) ||
	    (!c->address4.family && !c->address6.family) || c->n_dns > 2)
		return -EINVAL;
	for (size_t i = 0; i < c->n_dns; i++)
		if (c->dns[i].family != 4 && c->dns[i].family != 6)
			return -EINVAL;
	/* Checked, not rewritten: the caller normalised it already. */
	if (eplen == sizeof(c->endpoint) ||
	    wgquick_endpoint(c->endpoint, eplen, 0, ep, err) < 0 ||
	    strcmp(ep, c->endpoint) != 0)
		return -EINVAL;

	key_to_base64(key, c->private_key);
	put(&o, "[Interface]\nPrivateKey = %s\n", key);
	crypto_wipe(key, sizeof(key));
	put(&o, "Address = ");
	if (c->address4.family && address_text(&c->address4, a))
		put(&o, "%s/32", a);
	if (c->address6.family && address_text(&c->address6, a))
		put(&o, "%s%s/128", c->address4.family ? ", " : "", a);
	put(&o, "\n");
	for (size_t i = 0; i < c->n_dns; i++) {
		if (!address_text(&c->dns[i], a))
			return -EINVAL;
		put(&o, "%s%s", i ? ", " : "DNS = ", a);
	}
	if (c->n_dns)
		put(&o, "\n");
	if (c->mtu)
		put(&o, "MTU = %u\n", c->mtu);

	key_to_base64(key, c->server_public);
	put(&o, "\n[Peer]\nPublicKey = %s\n", key);
	put(&o, "Endpoint = %s\n", c->endpoint);
	put(&o, "AllowedIPs = 0.0.0.0/0, ::/0\n");
	if (c->persistent_keepalive)
		put(&o, "PersistentKeepalive = %u\n", c->persistent_keepalive);
	if (o.full) {
		crypto_wipe(buf, cap);
		buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)o.used;
}
