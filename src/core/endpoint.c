/* endpoint.c - comparing, formatting and parsing numeric UDP endpoints. */
#include "core/endpoint.h"
#include "core/parse.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

static size_t addr_len(uint8_t family)
{
	return family == IP_V4 ? 4 : family == IP_V6 ? 16 : 0;
}

bool endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == 0)
		return true;
	if (a->relay != b->relay ||
	    (a->relay && memcmp(a->tag, b->tag, sizeof(a->tag)) != 0))
		return false;
	return a->port == b->port && a->scope_id == b->scope_id &&
	       memcmp(a->addr, b->addr, addr_len(a->family)) == 0;
}

size_t endpoint_cookie_bytes(const struct wg_endpoint *e, uint8_t out[18])
{
	size_t n = addr_len(e->family);

	if (n == 0)
		return 0;
	memcpy(out, e->addr, n);
	/* The port as it is on the wire: big-endian. */
	out[n] = (uint8_t)(e->port >> 8);
	out[n + 1] = (uint8_t)e->port;
	return n + 2;
}

void endpoint_format(const struct wg_endpoint *e, char out[ENDPOINT_STR_MAX])
{
	char ip[INET6_ADDRSTRLEN], tmp[ENDPOINT_STR_MAX + 16];
	int n = -1;

	out[0] = '\0';
	if (e->family == IP_V4 && inet_ntop(AF_INET, e->addr, ip, sizeof(ip)))
		n = snprintf(tmp, sizeof(tmp), "%s:%u", ip, e->port);
	else if (e->family == IP_V6 &&
		 inet_ntop(AF_INET6, e->addr, ip, sizeof(ip)))
		n = e->scope_id ? snprintf(tmp, sizeof(tmp), "[%s%%%u]:%u", ip,
					   e->scope_id, e->port)
				: snprintf(tmp, sizeof(tmp), "[%s]:%u", ip,
					   e->port);
	/* Only a v4-mapped address with a ten-digit scope is too long; it
	 * cannot be written, so it reads as unset rather than wrong. */
	if (n > 0 && n < ENDPOINT_STR_MAX)
		memcpy(out, tmp, (size_t)n + 1);
}

/* A scope is an interface index or, link-local addresses being tied to an
 * interface, its name. */
static bool parse_scope(const char *s, size_t len, uint32_t *scope)
{
	char name[IF_NAMESIZE];

	if (parse_decimal32(s, len, 1, UINT32_MAX, scope))
		return true;
	if (len == 0 || len >= sizeof(name) || memchr(s, '\0', len))
		return false;
	memcpy(name, s, len);
	name[len] = '\0';
	*scope = if_nametoindex(name);
	return *scope != 0;
}

bool endpoint_parse(struct wg_endpoint *e, const char *s, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *close, *pct;
	struct wg_endpoint r;
	uint32_t port;
	size_t hlen;

	memset(&r, 0, sizeof(r));
	if (len == 0 || len >= ENDPOINT_STR_MAX || memchr(s, '\0', len))
		return false;
	if (s[0] == '[') {
		close = memchr(s, ']', len);
		if (!close || close + 1 >= s + len || close[1] != ':')
			return false;
		colon = close + 1;
		pct = memchr(s + 1, '%', (size_t)(close - s - 1));
		hlen = (size_t)((pct ? pct : close) - (s + 1));
		if (hlen == 0 || hlen >= sizeof(host))
			return false;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, r.addr) != 1)
			return false;
		if (pct && !parse_scope(pct + 1, (size_t)(close - pct - 1),
					&r.scope_id))
			return false;
		r.family = IP_V6;
		/* [::ffff:a.b.c.d] is an IPv4 peer: our IPv6 socket is v6-only,
		 * so it must travel over the IPv4 one. */
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

		if (!memcmp(r.addr, mapped, sizeof(mapped)) && !pct) {
			memmove(r.addr, r.addr + 12, 4);
			memset(r.addr + 4, 0, 12);
			r.family = IP_V4;
		}
	} else {
		colon = memchr(s, ':', len);
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(host))
			return false;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, r.addr) != 1)
			return false;
		r.family = IP_V4;
	}
	if (!parse_decimal32(colon + 1, (size_t)(s + len - colon - 1), 1, 65535,
			&port))
		return false;
	r.port = (uint16_t)port;
	*e = r;
	return true;
}
