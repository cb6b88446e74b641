/* stun.c - STUN Binding requests and answers (stun.h). */
#include "mesh/stun.h"

#include <errno.h>
#include <string.h>

enum {
	BINDING_REQUEST = 0x0001,
	BINDING_SUCCESS = 0x0101,
	ATTR_MAPPED_ADDRESS = 0x0001,
	ATTR_CHANGE_REQUEST = 0x0003,
	ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	ATTR_OTHER_ADDRESS = 0x802c,
	CHANGE_PORT = 0x02,
	FAMILY_V4 = 0x01,
	FAMILY_V6 = 0x02,
};

static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

bool stun_is(const uint8_t *msg, size_t len)
{
	return len >= STUN_HEADER_LEN && (msg[0] & 0xc0) == 0 &&
	       !memcmp(msg + 4, cookie, 4) && (be16(msg + 2) & 3) == 0 &&
	       (size_t)be16(msg + 2) + STUN_HEADER_LEN == len;
}

static void header(uint8_t *out, unsigned type, unsigned body,
		   const uint8_t txid[STUN_TXID_LEN])
{
	put16(out, type);
	put16(out + 2, body);
	memcpy(out + 4, cookie, 4);
	memcpy(out + 8, txid, STUN_TXID_LEN);
}

size_t stun_request(uint8_t out[STUN_REQUEST_MAX],
		    const uint8_t txid[STUN_TXID_LEN], bool change_port)
{
	if (!change_port) {
		header(out, BINDING_REQUEST, 0, txid);
		return STUN_HEADER_LEN;
	}
	header(out, BINDING_REQUEST, 8, txid);
	put16(out + 20, ATTR_CHANGE_REQUEST);
	put16(out + 22, 4);
	memset(out + 24, 0, 4);
	out[27] = CHANGE_PORT;
	return STUN_REQUEST_MAX;
}

/* Call fn on each attribute (type, value, length) until it returns
 * nonzero; -EINVAL when one runs past the end. */
static int walk(const uint8_t *msg, size_t len,
		int (*fn)(void *arg, unsigned type, const uint8_t *v, size_t vlen),
		void *arg)
{
	size_t off = STUN_HEADER_LEN;

	while (off + 4 <= len) {
		unsigned type = be16(msg + off);
		size_t vlen = be16(msg + off + 2);
		int r;

		if (vlen > len - off - 4)
			return -EINVAL;
		r = fn(arg, type, msg + off + 4, vlen);
		if (r)
			return r;
		off += 4 + ((vlen + 3) & ~(size_t)3);
	}
	return 0;
}

static int find_change(void *arg, unsigned type, const uint8_t *v, size_t vlen)
{
	if (type == ATTR_CHANGE_REQUEST && vlen == 4)
		*(bool *)arg = (v[3] & CHANGE_PORT) != 0;
	return 0;
}

int stun_parse_request(const uint8_t *msg, size_t len,
		       uint8_t txid[STUN_TXID_LEN], bool *change_port)
{
	if (!stun_is(msg, len) || be16(msg) != BINDING_REQUEST)
		return -EINVAL;
	*change_port = false;
	if (walk(msg, len, find_change, change_port))
		return -EINVAL;
	memcpy(txid, msg + 8, STUN_TXID_LEN);
	return 0;
}

/* An address attribute; xor: XOR-MAPPED-ADDRESS's encoding. */
static size_t put_addr(uint8_t *out, unsigned type, const struct wg_endpoint *e,
		       const uint8_t txid[STUN_TXID_LEN], bool xor)
{
	size_t alen = e->family == IP_V4 ? 4 : 16;
	uint8_t mask[16];

	memcpy(mask, cookie, 4);
	memcpy(mask + 4, txid, STUN_TXID_LEN);
	put16(out, type);
	put16(out + 2, (unsigned)(4 + alen));
	out[4] = 0;
	out[5] = e->family == IP_V4 ? FAMILY_V4 : FAMILY_V6;
	put16(out + 6, xor ? e->port ^ 0x2112 : e->port);
	for (size_t i = 0; i < alen; i++)
		out[8 + i] = xor ? e->addr[i] ^ mask[i] : e->addr[i];
	return 8 + alen;
}

size_t stun_response(uint8_t out[STUN_RESPONSE_MAX],
		     const uint8_t txid[STUN_TXID_LEN],
		     const struct wg_endpoint *mapped,
		     const struct wg_endpoint *other)
{
	size_t n = STUN_HEADER_LEN;

	n += put_addr(out + n, ATTR_XOR_MAPPED_ADDRESS, mapped, txid, true);
	if (other && other->family)
		n += put_addr(out + n, ATTR_OTHER_ADDRESS, other, txid, false);
	header(out, BINDING_SUCCESS, (unsigned)(n - STUN_HEADER_LEN), txid);
	return n;
}

struct found {
	const uint8_t *txid;
	struct wg_endpoint *ep;
	bool xor_seen, any;
};

static int find_mapped(void *arg, unsigned type, const uint8_t *v, size_t vlen)
{
	struct found *f = arg;
	bool xor = type == ATTR_XOR_MAPPED_ADDRESS;
	uint8_t mask[16];
	size_t alen;

	if ((!xor && type != ATTR_MAPPED_ADDRESS) || (!xor && f->xor_seen) || vlen < 8)
		return 0;
	if (v[1] == FAMILY_V4 && vlen == 8)
		alen = 4;
	else if (v[1] == FAMILY_V6 && vlen == 20)
		alen = 16;
	else
		return 0;
	memcpy(mask, cookie, 4);
	memcpy(mask + 4, f->txid, STUN_TXID_LEN);
	memset(f->ep, 0, sizeof(*f->ep));
	f->ep->family = alen == 4 ? IP_V4 : IP_V6;
	f->ep->port = (uint16_t)(be16(v + 2) ^ (xor ? 0x2112 : 0));
	for (size_t i = 0; i < alen; i++)
		f->ep->addr[i] = (uint8_t)(v[4 + i] ^ (xor ? mask[i] : 0));
	f->any = true;
	f->xor_seen |= xor;
	return 0;
}

int stun_parse_response(const uint8_t *msg, size_t len,
			uint8_t txid[STUN_TXID_LEN], struct wg_endpoint *mapped)
{
	struct found f = { msg + 8, mapped, false, false };

	if (!stun_is(msg, len) || be16(msg) != BINDING_SUCCESS)
		return -EINVAL;
	if (walk(msg, len, find_mapped, &f) || !f.any)
		return -EINVAL;
	memcpy(txid, msg + 8, STUN_TXID_LEN);
	return 0;
}
