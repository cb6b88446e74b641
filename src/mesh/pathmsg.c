/* pathmsg.c - relay registration and path probes (pathmsg.h). */
#include "mesh/pathmsg.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/relay.h"

static const char register_context[] = "weft relay register v1\n";

static void put_addr(uint8_t out[PATH_ADDR_LEN], const struct wg_endpoint *e)
{
	memset(out, 0, PATH_ADDR_LEN);
	if (!e || !e->family)
		return;
	out[0] = e->family == IP_V4 ? 4 : 6;
	out[2] = (uint8_t)(e->port >> 8);
	out[3] = (uint8_t)e->port;
	memcpy(out + 4, e->addr, e->family == IP_V4 ? 4 : 16);
}

static int get_addr(struct wg_endpoint *e, const uint8_t in[PATH_ADDR_LEN])
{
	memset(e, 0, sizeof(*e));
	if (in[0] == 0)
		return 0;
	if (in[0] != 4 && in[0] != 6)
		return -EINVAL;
	e->family = in[0] == 4 ? IP_V4 : IP_V6;
	e->port = (uint16_t)(in[2] << 8 | in[3]);
	memcpy(e->addr, in + 4, in[0] == 4 ? 4 : 16);
	return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int path_shared(uint8_t out[PATH_SHARED_LEN],
		const uint8_t my_private[MESH_KEY_LEN],
		const uint8_t their_public[MESH_KEY_LEN])
{
	return crypto_box_beforenm(out, their_public, my_private) ? -EINVAL : 0;
}

static bool is_probe(uint8_t sub)
{
	return sub == WEFT_SUB_PING || sub == WEFT_SUB_PONG || sub == WEFT_SUB_PUNCH;
}

/* The nonce a probe is sealed with: the one on the wire hashed with the
 * sender's key. The shared key is the same both ways, so without this a
 * probe A sent, its sender rewritten to B, would open at A as B's (a PONG
 * of A's reflected to A would answer A's own PING). */
static void probe_nonce(uint8_t nonce[PATH_NONCE_LEN], const uint8_t *msg)
{
	crypto_generichash(nonce, PATH_NONCE_LEN, msg + 4,
			   MESH_KEY_LEN + PATH_NONCE_LEN, NULL, 0);
}

void path_probe_seal(uint8_t out[PATH_PROBE_LEN], const struct path_probe *pr,
		     const uint8_t shared[PATH_SHARED_LEN])
{
	uint8_t body[PATH_PROBE_BODY];

	uint8_t nonce[PATH_NONCE_LEN];

	le32_store(out, weft_type(pr->sub));
	memcpy(out + 4, pr->sender, MESH_KEY_LEN);
	randombytes_buf(out + 4 + MESH_KEY_LEN, PATH_NONCE_LEN);
	memcpy(body, pr->txid, PATH_TXID_LEN);
	put_addr(body + PATH_TXID_LEN, pr->sub == WEFT_SUB_PONG ? &pr->seen : NULL);
	/* The subtype is bound through the body check, the sender through
	 * the nonce. */
	body[PATH_TXID_LEN + 1] = pr->sub;
	probe_nonce(nonce, out);
	crypto_box_easy_afternm(out + PATH_PROBE_HDR, body, sizeof(body),
				nonce, shared);
}

int path_probe_sender(const uint8_t *msg, size_t len,
		      uint8_t sender[MESH_KEY_LEN])
{
	if (len != PATH_PROBE_LEN || !is_probe(weft_subtype(msg, len)))
		return -EINVAL;
	memcpy(sender, msg + 4, MESH_KEY_LEN);
	return 0;
}

int path_probe_open(struct path_probe *pr, const uint8_t *msg, size_t len,
		    const uint8_t shared[PATH_SHARED_LEN])
{
	uint8_t body[PATH_PROBE_BODY], nonce[PATH_NONCE_LEN];
	uint8_t sub = weft_subtype(msg, len);

	if (len != PATH_PROBE_LEN || !is_probe(sub))
		return -EINVAL;
	probe_nonce(nonce, msg);
	if (crypto_box_open_easy_afternm(body, msg + PATH_PROBE_HDR,
					 PATH_PROBE_BODY + PATH_MAC_LEN,
					 nonce, shared))
		return -EINVAL;
	if (body[PATH_TXID_LEN + 1] != sub)
		return -EINVAL;
	body[PATH_TXID_LEN + 1] = 0;
	memset(pr, 0, sizeof(*pr));
	pr->sub = sub;
	memcpy(pr->sender, msg + 4, MESH_KEY_LEN);
	memcpy(pr->txid, body, PATH_TXID_LEN);
	if (get_addr(&pr->seen, body + PATH_TXID_LEN))
		return -EINVAL;
	return 0;
}

/* What a registration's signature covers: the context, then the bytes
 * after the header up to the signature. */
enum { REG_SIGNED = PATH_REGISTER_LEN - 4 - MESH_SIG_LEN };

static void register_digest(uint8_t out[sizeof(register_context) - 1 + REG_SIGNED],
			    const uint8_t *fields)
{
	memcpy(out, register_context, sizeof(register_context) - 1);
	memcpy(out + sizeof(register_context) - 1, fields, REG_SIGNED);
}

void path_register_seal(uint8_t out[PATH_REGISTER_LEN],
			const struct path_register *r,
			const uint8_t id_sk[MESH_SECRET_LEN])
{
	uint8_t m[sizeof(register_context) - 1 + REG_SIGNED], *p = out + 4;

	le32_store(out, weft_type(WEFT_SUB_REGISTER));
	memset(p, 0, MESH_NAME_MAX);
	memcpy(p, r->network, strnlen(r->network, MESH_NAME_MAX - 1));
	memcpy(p + MESH_NAME_MAX, r->device, MESH_KEY_LEN);
	memcpy(p + MESH_NAME_MAX + MESH_KEY_LEN, r->wg, MESH_KEY_LEN);
	put64(p + MESH_NAME_MAX + 2 * MESH_KEY_LEN, r->time_ms);
	register_digest(m, p);
	crypto_sign_detached(p + REG_SIGNED, NULL, m, sizeof(m), id_sk);
}

int path_register_open(struct path_register *r, const uint8_t *msg, size_t len)
{
	uint8_t m[sizeof(register_context) - 1 + REG_SIGNED];
	const uint8_t *p = msg + 4;

	if (len != PATH_REGISTER_LEN || weft_subtype(msg, len) != WEFT_SUB_REGISTER)
		return -EINVAL;
	/* The name: printable, NUL-terminated, NUL-padded. */
	if (p[MESH_NAME_MAX - 1] || !p[0])
		return -EINVAL;
	for (size_t i = 0, end = strnlen((const char *)p, MESH_NAME_MAX); i < MESH_NAME_MAX; i++)
		if (i < end ? p[i] < 0x21 || p[i] > 0x7e : p[i] != 0)
			return -EINVAL;
	register_digest(m, p);
	if (crypto_sign_verify_detached(p + REG_SIGNED, m, sizeof(m),
					p + MESH_NAME_MAX))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	memcpy(r->network, p, MESH_NAME_MAX);
	memcpy(r->device, p + MESH_NAME_MAX, MESH_KEY_LEN);
	memcpy(r->wg, p + MESH_NAME_MAX + MESH_KEY_LEN, MESH_KEY_LEN);
	r->time_ms = get64(p + MESH_NAME_MAX + 2 * MESH_KEY_LEN);
	return 0;
}

void path_registered_build(uint8_t out[PATH_REGISTERED_LEN], uint64_t time_ms,
			   const struct wg_endpoint *seen)
{
	le32_store(out, weft_type(WEFT_SUB_REGISTERED));
	put64(out + 4, time_ms);
	put_addr(out + 12, seen);
}

int path_registered_parse(const uint8_t *msg, size_t len, uint64_t *time_ms,
			  struct wg_endpoint *seen)
{
	if (len != PATH_REGISTERED_LEN ||
	    weft_subtype(msg, len) != WEFT_SUB_REGISTERED)
		return -EINVAL;
	*time_ms = get64(msg + 4);
	return get_addr(seen, msg + 12);
}
