/* noise.c - the WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s:
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss, {t}
 *   <- e, ee, se, psk, {}
 *
 * Every step works on a copy of the handshake on the stack and commits it
 * with one assignment only when the whole message checked out; every path
 * leaves through one `out:` label that wipes the copy and the keys. */
#include "core/noise.h"

#include <string.h>

#include "core/noise_sym.h"
#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

_Static_assert((int)NOISE_HASH_LEN == (int)BLAKE2S_HASH_LEN, "hash size");
_Static_assert((int)NOISE_SYMMETRIC_KEY_LEN == (int)AEAD_KEY_LEN, "key size");
_Static_assert((int)NOISE_AUTHTAG_LEN == (int)AEAD_TAG_LEN, "tag size");
_Static_assert((int)NOISE_PUBLIC_KEY_LEN == (int)X25519_KEY_LEN, "dh size");

/* ck = HASH(construction); h = HASH(HASH(ck || identifier) || responder). */
static void handshake_start(uint8_t ck[NOISE_HASH_LEN],
			    uint8_t hash[NOISE_HASH_LEN],
			    const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t h[NOISE_HASH_LEN];

	blake2s256(ck, construction, sizeof(construction) - 1, NULL, 0);
	blake2s256(h, ck, NOISE_HASH_LEN, identifier, sizeof(identifier) - 1);
	blake2s256(hash, h, sizeof(h), responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* ck, key = KDF2(ck, precomputed DH(s, s)); false if it is zero. */
__attribute__((warn_unused_result))
static bool mix_precomputed_dh(uint8_t ck[NOISE_HASH_LEN],
			       uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			       const uint8_t dh[NOISE_PUBLIC_KEY_LEN])
{
	if (crypto_is_zero(dh, NOISE_PUBLIC_KEY_LEN))
		return false;
	noise_mix_key(ck, key, dh, NOISE_PUBLIC_KEY_LEN);
	return true;
}

/* ck, tau, key = KDF3(ck, psk); h = HASH(h || tau). */
static void mix_psk(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
		    uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	kdf_blake2s(ck, tau, key, ck, psk, NOISE_SYMMETRIC_KEY_LEN);
	noise_mix_hash(hash, tau, sizeof(tau));
	crypto_wipe(tau, sizeof(tau));
}

/* The type byte and the three reserved bytes, read as one le32 by every
 * implementation: anything else in the reserved bytes is another type. */
static bool header_is(const struct message_header *h, enum message_type type)
{
	return le32_load((const uint8_t *)h) == (uint32_t)type;
}

static void header_set(struct message_header *h, enum message_type type)
{
	le32_store((uint8_t *)h, (uint32_t)type);
}

/* ---- identity and per-peer set-up ---- */

bool noise_local_set_private(struct noise_local *local,
			     const uint8_t priv[NOISE_PUBLIC_KEY_LEN])
{
	crypto_wipe(local, sizeof(*local));
	if (!priv)
		return true;
	if (crypto_is_zero(priv, NOISE_PUBLIC_KEY_LEN))
		return false;
	memcpy(local->static_private, priv, NOISE_PUBLIC_KEY_LEN);
	x25519_clamp(local->static_private);
	if (!x25519_public_from_private(local->static_public,
					local->static_private)) {
		crypto_wipe(local, sizeof(*local));
		return false;
	}
	local->has_identity = true;
	return true;
}

void noise_handshake_precompute(struct noise_handshake *hs,
				const struct noise_local *local)
{
	/* x25519() zeroes the output when the result is zero. */
	if (!local->has_identity ||
	    !x25519(hs->precomputed_static_static, local->static_private,
		    hs->remote_static))
		crypto_wipe(hs->precomputed_static_static,
			    NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_set_psk(struct noise_handshake *hs,
			     const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		crypto_wipe(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *hs,
			  const struct noise_local *local,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	crypto_wipe(hs, sizeof(*hs));
	hs->state = HANDSHAKE_ZEROED;
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_psk(hs, psk);
	noise_handshake_precompute(hs, local);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	/* The replay and flood fields stay: they must outlive handshakes. */
	crypto_wipe(hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	crypto_wipe(hs->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	crypto_wipe(hs->hash, NOISE_HASH_LEN);
	crypto_wipe(hs->chaining_key, NOISE_HASH_LEN);
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void noise_keypair_clear(struct noise_keypair *kp)
{
	crypto_wipe(kp, sizeof(*kp));
}

/* ---- initiation ---- */

bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs,
				       const struct noise_local *local,
				       uint32_t local_index,
				       const struct noise_ops *ops)
{
	struct noise_handshake next = *hs;
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	bool ok = false;

	memset(dst, 0, sizeof(*dst));
	if (!local->has_identity)
		goto out;

	header_set(&dst->header, MESSAGE_HANDSHAKE_INITIATION);
	le32_store(dst->sender_index, local_index);
	handshake_start(next.chaining_key, next.hash, next.remote_static);

	/* e */
	if (!noise_make_ephemeral(next.ephemeral_private, dst->unencrypted_ephemeral,
			    ops))
		goto out;
	noise_mix_hash(next.hash, dst->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	noise_mix_key(next.chaining_key, NULL, dst->unencrypted_ephemeral,
		NOISE_PUBLIC_KEY_LEN);

	/* es */
	if (!noise_mix_dh(next.chaining_key, key, next.ephemeral_private,
		    next.remote_static))
		goto out;

	/* s */
	noise_encrypt_and_hash(dst->encrypted_static, local->static_public,
			 NOISE_PUBLIC_KEY_LEN, key, next.hash);

	/* ss */
	if (!mix_precomputed_dh(next.chaining_key, key,
				next.precomputed_static_static))
		goto out;

	/* {t} */
	ops->tai64n(ops->ctx, timestamp);
	noise_encrypt_and_hash(dst->encrypted_timestamp, timestamp,
			 NOISE_TIMESTAMP_LEN, key, next.hash);

	crypto_wipe(next.remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	next.remote_index = 0;
	next.local_index = local_index;
	next.state = HANDSHAKE_CREATED_INITIATION;
	*hs = next;
	ok = true;

out:
	if (!ok)
		crypto_wipe(dst, sizeof(*dst));
	crypto_wipe(&next, sizeof(next));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(timestamp, sizeof(timestamp));
	return ok;
}

/* Too soon after the last initiation we consumed from this peer? A clock
 * that went backwards counts as too soon. */
static bool initiation_is_flood(const struct noise_handshake *hs, wg_time_t now)
{
	return hs->have_consumed_initiation &&
	       now < hs->last_initiation_consumption +
			     NSEC_PER_SEC / INITIATIONS_PER_SECOND;
}

struct noise_handshake *
noise_handshake_consume_initiation(const struct message_handshake_initiation *src,
				   const struct noise_local *local,
				   noise_lookup_fn lookup, void *lookup_ctx,
				   wg_time_t now)
{
	struct noise_handshake next;
	struct noise_handshake *hs = NULL, *ret = NULL;
	uint8_t hash[NOISE_HASH_LEN], ck[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];

	/* Wiped at out: on every path, so it must be defined on every path. */
	memset(&next, 0, sizeof(next));
	if (!local->has_identity ||
	    !header_is(&src->header, MESSAGE_HANDSHAKE_INITIATION))
		goto out;

	handshake_start(ck, hash, local->static_public);

	/* e */
	memcpy(e, src->unencrypted_ephemeral, sizeof(e));
	noise_mix_hash(hash, e, sizeof(e));
	noise_mix_key(ck, NULL, e, sizeof(e));

	/* es */
	if (!noise_mix_dh(ck, key, local->static_private, e))
		goto out;

	/* s */
	if (!noise_decrypt_and_hash(s, src->encrypted_static,
			      sizeof(src->encrypted_static), key, hash))
		goto out;

	/* Only now is the sender known; everything below runs on a copy of
	 * its handshake. */
	hs = lookup(lookup_ctx, s);
	if (!hs || !crypto_equal(hs->remote_static, s, sizeof(s)))
		goto out;
	next = *hs;

	/* ss */
	if (!mix_precomputed_dh(ck, key, next.precomputed_static_static))
		goto out;

	/* {t} */
	if (!noise_decrypt_and_hash(timestamp, src->encrypted_timestamp,
			      sizeof(src->encrypted_timestamp), key, hash))
		goto out;

	/* Replay: TAI64N is big-endian, so memcmp orders it. */
	if (memcmp(timestamp, next.latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0)
		goto out;
	if (initiation_is_flood(&next, now))
		goto out;

	memcpy(next.latest_timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	next.last_initiation_consumption = now;
	next.have_consumed_initiation = true;
	memcpy(next.remote_ephemeral, e, sizeof(e));
	memcpy(next.hash, hash, sizeof(hash));
	memcpy(next.chaining_key, ck, sizeof(ck));
	next.remote_index = le32_load(src->sender_index);
	/* An initiation of ours still in flight is dead now. */
	crypto_wipe(next.ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	next.state = HANDSHAKE_CONSUMED_INITIATION;
	*hs = next;
	ret = hs;

out:
	crypto_wipe(&next, sizeof(next));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(s, sizeof(s));
	crypto_wipe(e, sizeof(e));
	crypto_wipe(timestamp, sizeof(timestamp));
	return ret;
}

/* ---- response ---- */

bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs,
				     const struct noise_local *local,
				     uint32_t local_index,
				     const struct noise_ops *ops)
{
	struct noise_handshake next = *hs;
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ok = false;

	memset(dst, 0, sizeof(*dst));
	if (!local->has_identity || next.state != HANDSHAKE_CONSUMED_INITIATION)
		goto out;

	header_set(&dst->header, MESSAGE_HANDSHAKE_RESPONSE);
	le32_store(dst->sender_index, local_index);
	le32_store(dst->receiver_index, next.remote_index);

	/* e */
	if (!noise_make_ephemeral(next.ephemeral_private, dst->unencrypted_ephemeral,
			    ops))
		goto out;
	noise_mix_hash(next.hash, dst->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	noise_mix_key(next.chaining_key, NULL, dst->unencrypted_ephemeral,
		NOISE_PUBLIC_KEY_LEN);

	/* ee */
	if (!noise_mix_dh(next.chaining_key, NULL, next.ephemeral_private,
		    next.remote_ephemeral))
		goto out;

	/* se */
	if (!noise_mix_dh(next.chaining_key, NULL, next.ephemeral_private,
		    next.remote_static))
		goto out;

	/* psk */
	mix_psk(next.chaining_key, next.hash, key, next.preshared_key);

	/* {} */
	noise_encrypt_and_hash(dst->encrypted_nothing, NULL, 0, key, next.hash);

	next.local_index = local_index;
	next.state = HANDSHAKE_CREATED_RESPONSE;
	*hs = next;
	ok = true;

out:
	if (!ok)
		crypto_wipe(dst, sizeof(*dst));
	crypto_wipe(&next, sizeof(next));
	crypto_wipe(key, sizeof(key));
	return ok;
}

bool noise_handshake_consume_response(const struct message_handshake_response *src,
				      struct noise_handshake *hs,
				      const struct noise_local *local)
{
	struct noise_handshake next = *hs;
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t e[NOISE_PUBLIC_KEY_LEN];
	uint8_t nothing[1];
	bool ok = false;

	if (!local->has_identity ||
	    !header_is(&src->header, MESSAGE_HANDSHAKE_RESPONSE) ||
	    next.state != HANDSHAKE_CREATED_INITIATION ||
	    le32_load(src->receiver_index) != next.local_index)
		goto out;

	/* e */
	memcpy(e, src->unencrypted_ephemeral, sizeof(e));
	noise_mix_hash(next.hash, e, sizeof(e));
	noise_mix_key(next.chaining_key, NULL, e, sizeof(e));

	/* ee */
	if (!noise_mix_dh(next.chaining_key, NULL, next.ephemeral_private, e))
		goto out;

	/* se */
	if (!noise_mix_dh(next.chaining_key, NULL, local->static_private, e))
		goto out;

	/* psk */
	mix_psk(next.chaining_key, next.hash, key, next.preshared_key);

	/* {} */
	if (!noise_decrypt_and_hash(nothing, src->encrypted_nothing,
			      sizeof(src->encrypted_nothing), key, next.hash))
		goto out;

	memcpy(next.remote_ephemeral, e, sizeof(e));
	next.remote_index = le32_load(src->sender_index);
	next.state = HANDSHAKE_CONSUMED_RESPONSE;
	*hs = next;
	ok = true;

out:
	crypto_wipe(&next, sizeof(next));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(e, sizeof(e));
	return ok;
}

/* ---- transport keys ---- */

bool noise_handshake_begin_session(struct noise_handshake *hs,
				   struct noise_keypair *kp, wg_time_t now)
{
	struct noise_keypair next;
	uint8_t first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];
	bool initiator;

	if (hs->state == HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return false;

	memset(&next, 0, sizeof(next));
	kdf_blake2s(first, second, NULL, hs->chaining_key, NULL, 0);
	memcpy(initiator ? next.send_key : next.recv_key, first, sizeof(first));
	memcpy(initiator ? next.recv_key : next.send_key, second, sizeof(second));
	next.send_counter = 0;
	replay_init(&next.replay);
	next.local_index = hs->local_index;
	next.remote_index = hs->remote_index;
	next.birthdate = now;
	next.i_am_the_initiator = initiator;
	next.valid = true;
	*kp = next;

	crypto_wipe(&next, sizeof(next));
	crypto_wipe(first, sizeof(first));
	crypto_wipe(second, sizeof(second));
	noise_handshake_clear(hs);
	return true;
}
