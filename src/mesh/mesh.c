/* mesh.c - names, address ranges and base64 for the team mesh modules. */
#include "mesh/mesh.h"

#include <errno.h>
#include <jansson.h>

#include "core/endpoint.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

static bool name_chars(const char *s, bool network)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= MESH_NAME_MAX - 1)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			continue;
		if (!network && ((c >= 'A' && c <= 'Z') || c == '.' || c == '_'))
			continue;
		return false;
	}
	return !(network && s[0] == '-');
}

bool mesh_name_valid(const char *s)
{
	return name_chars(s, false);
}

bool mesh_network_valid(const char *s)
{
	return name_chars(s, true);
}

static uint32_t ip4_u32(struct mesh_ip4 ip)
{
	return (uint32_t)ip.b[0] << 24 | (uint32_t)ip.b[1] << 16 |
	       (uint32_t)ip.b[2] << 8 | ip.b[3];
}

bool mesh_ip4_parse(struct mesh_ip4 *ip, const char *s)
{
	struct in_addr a;

	if (!s || strlen(s) > 15 || inet_pton(AF_INET, s, &a) != 1)
		return false;
	memcpy(ip->b, &a, 4);
	return true;
}

void mesh_ip4_format(struct mesh_ip4 ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip.b[0], ip.b[1], ip.b[2], ip.b[3]);
}

/* "text/n" split: copies the address part into buf; n in [0, max]. */
static bool split_prefix(const char *s, char *buf, size_t cap, unsigned *n,
			 unsigned max)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t alen;
	unsigned v = 0;
	const char *p;

	if (!slash)
		return false;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= cap)
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	p = slash + 1;
	if (!*p || strlen(p) > 3 || (p[0] == '0' && p[1]))
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > max)
		return false;
	*n = v;
	return true;
}

bool mesh_range4_parse(struct mesh_range *r, const char *s)
{
	char buf[16];
	unsigned n;
	struct mesh_ip4 ip;
	uint32_t mask;

	if (!split_prefix(s, buf, sizeof(buf), &n, 32) || n < 8 || n > 30 ||
	    !mesh_ip4_parse(&ip, buf))
		return false;
	mask = n ? ~0U << (32 - n) : 0;
	if (ip4_u32(ip) & ~mask)
		return false;
	r->net = ip;
	r->cidr = (uint8_t)n;
	return true;
}

bool mesh_range6_parse(struct mesh_range *r, const char *s)
{
	char buf[48];
	unsigned n;
	uint8_t a[16];
	static const uint8_t zero[4];

	if (!split_prefix(s, buf, sizeof(buf), &n, 128) || n != 96 ||
	    inet_pton(AF_INET6, buf, a) != 1)
		return false;
	if ((a[0] & 0xfe) != 0xfc || memcmp(a + 12, zero, 4) != 0)
		return false;
	memcpy(r->net6, a, 16);
	r->has6 = true;
	return true;
}

void mesh_range4_format(const struct mesh_range *r, char out[24])
{
	snprintf(out, 24, "%u.%u.%u.%u/%u", r->net.b[0], r->net.b[1],
		 r->net.b[2], r->net.b[3], r->cidr);
}

void mesh_range6_format(const struct mesh_range *r, char out[48])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(AF_INET6, r->net6, a, sizeof(a)))
		a[0] = '\0';
	snprintf(out, 48, "%s/96", a);
}

bool mesh_range_usable(const struct mesh_range *r, struct mesh_ip4 ip)
{
	uint32_t mask, v = ip4_u32(ip), net = ip4_u32(r->net);

	if (r->cidr < 8 || r->cidr > 30)
		return false;
	mask = ~0U << (32 - r->cidr);
	if ((v & mask) != net)
		return false;
	return v != net && v != (net | ~mask);
}

void mesh_range_ip6(const struct mesh_range *r, struct mesh_ip4 ip,
		    uint8_t out[16])
{
	memcpy(out, r->net6, 12);
	memcpy(out + 12, ip.b, 4);
}

bool mesh_b64_decode(uint8_t *out, size_t n, const char *s)
{
	size_t got = 0;
	const char *end = NULL;

	if (!s || strlen(s) != sodium_base64_ENCODED_LEN(n,
				sodium_base64_VARIANT_ORIGINAL) - 1)
		return false;
	if (sodium_base642bin(out, n, s, strlen(s), NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return got == n && end && *end == '\0';
}

void mesh_b64_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
	if (cap < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL)) {
		if (cap)
			out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_ORIGINAL);
}

int mesh_reason(char reason[MESH_REASON_MAX], int err, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(reason, MESH_REASON_MAX, fmt, ap);
	va_end(ap);
	for (i = 0; reason[i]; i++)
		if ((unsigned char)reason[i] < 0x20 || (unsigned char)reason[i] >= 0x7f)
			reason[i] = '?';
	return err;
}

int mesh_endpoints_parse(const void *jv, struct wg_endpoint *out, unsigned max,
			 unsigned *n, const char *what, char reason[MESH_REASON_MAX])
{
	const json_t *v = jv, *item;
	size_t i;

	*n = 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		return mesh_reason(reason, -EINVAL,
				   "%s must be an array of at most %u ip:port", what, max);
	json_array_foreach(v, i, item) {
		const char *s = json_is_string(item) ? json_string_value(item) : NULL;

		if (!s || strlen(s) >= ENDPOINT_STR_MAX ||
		    !endpoint_parse(&out[i], s, strlen(s)) || out[i].port == 0)
			return mesh_reason(reason, -EINVAL, "%s[%zu] is not ip:port", what, i);
	}
	*n = (unsigned)json_array_size(v);
	return 0;
}

void *mesh_endpoints_json(const struct wg_endpoint *eps, unsigned n)
{
	json_t *a = json_array();
	char buf[ENDPOINT_STR_MAX];

	for (unsigned i = 0; a && i < n; i++) {
		endpoint_format(&eps[i], buf);
		if (json_array_append_new(a, json_string(buf))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
