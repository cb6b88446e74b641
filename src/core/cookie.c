/* cookie.c - mac1/mac2 on handshake messages and cookie replies under load
 * (whitepaper §5.4.4, §5.4.7). */
#include "core/cookie.h"

#include <string.h>

#include "core/noise.h"
#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"

/* The labels of whitepaper §5.4.4, without a terminating NUL. */
static const uint8_t mac1_label[8] = "mac1----";
static const uint8_t cookie_label[8] = "cookie--";

_Static_assert((int)NOISE_SYMMETRIC_KEY_LEN == (int)BLAKE2S_HASH_LEN,
	       "key is a hash");
_Static_assert((int)NOISE_SYMMETRIC_KEY_LEN == (int)AEAD_KEY_LEN,
	       "key is an aead key");
_Static_assert((int)COOKIE_NONCE_LEN == (int)XAEAD_NONCE_LEN, "xchacha nonce");
_Static_assert(sizeof(((struct message_handshake_cookie *)0)->encrypted_cookie)
	       == COOKIE_LEN + AEAD_TAG_LEN, "cookie ciphertext");

static void derive_keys(uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN],
			uint8_t cookie_key[NOISE_SYMMETRIC_KEY_LEN],
			const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	blake2s256(mac1_key, mac1_label, sizeof(mac1_label), pub,
		   NOISE_PUBLIC_KEY_LEN);
	blake2s256(cookie_key, cookie_label, sizeof(cookie_label), pub,
		   NOISE_PUBLIC_KEY_LEN);
}

/* now >= birthdate + seconds; a birthdate in the future (a clock that went
 * backwards) counts as expired, which is the safe side for both users. */
static bool has_expired(wg_time_t birthdate, uint64_t seconds, wg_time_t now)
{
	return now < birthdate || now - birthdate >= seconds * NSEC_PER_SEC;
}

/* Offsets of mac1 and mac2 in a message of len bytes ending in the macs. */
static size_t mac1_offset(size_t len)
{
	return len - sizeof(struct message_macs);
}

static size_t mac2_offset(size_t len)
{
	return mac1_offset(len) + COOKIE_MAC_LEN;
}

/* mac1 is keyed with a 32-byte hash, mac2 with the 16-byte cookie. */
static void compute_mac(uint8_t out[COOKIE_MAC_LEN], const uint8_t *key,
			size_t keylen, const uint8_t *msg, size_t len)
{
	blake2s_keyed(out, COOKIE_MAC_LEN, key, keylen, msg, len);
}

/* The cookie for src: MAC(secret, src), with the secret regenerated once it
 * is COOKIE_SECRET_MAX_AGE old, which invalidates every cookie given out. */
static void make_cookie(uint8_t cookie[COOKIE_LEN], struct cookie_checker *c,
			const uint8_t *src, size_t src_len, wg_time_t now,
			const struct noise_ops *ops)
{
	static const uint8_t no_src;

	if (!c->secret_valid ||
	    has_expired(c->secret_birthdate, COOKIE_SECRET_MAX_AGE, now)) {
		ops->random(ops->ctx, c->secret, sizeof(c->secret));
		c->secret_birthdate = now;
		c->secret_valid = true;
	}
	blake2s_keyed(cookie, COOKIE_LEN, c->secret, sizeof(c->secret),
		      src_len ? src : &no_src, src_len);
}

void cookie_checker_init(struct cookie_checker *c,
			 const uint8_t our_public[NOISE_PUBLIC_KEY_LEN])
{
	crypto_wipe(c, sizeof(*c));
	/* Without an identity the keys stay all zeros, which
	 * cookie_validate_packet() treats as "reject everything": a zero key
	 * would otherwise be one that anybody can compute. */
	if (our_public)
		derive_keys(c->mac1_key, c->cookie_encryption_key, our_public);
}

void cookie_maker_init(struct cookie_maker *m,
		       const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	crypto_wipe(m, sizeof(*m));
	if (peer_public)
		derive_keys(m->mac1_key, m->cookie_encryption_key, peer_public);
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c,
					     const uint8_t *msg, size_t len,
					     const uint8_t *src, size_t src_len,
					     bool check_cookie, wg_time_t now,
					     const struct noise_ops *ops)
{
	const struct message_macs *macs;
	enum cookie_mac_state ret = INVALID_MAC;
	uint8_t computed[COOKIE_MAC_LEN];
	uint8_t cookie[COOKIE_LEN];

	if (!msg || len < sizeof(struct message_macs) || (!src && src_len))
		return INVALID_MAC;
	if (crypto_is_zero(c->mac1_key, sizeof(c->mac1_key)))
		return INVALID_MAC;
	macs = (const struct message_macs *)(msg + mac1_offset(len));

	compute_mac(computed, c->mac1_key, sizeof(c->mac1_key), msg,
		    mac1_offset(len));
	if (!crypto_equal(computed, macs->mac1, COOKIE_MAC_LEN))
		goto out;
	ret = VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;

	make_cookie(cookie, c, src, src_len, now, ops);
	compute_mac(computed, cookie, sizeof(cookie), msg, mac2_offset(len));
	if (!crypto_equal(computed, macs->mac2, COOKIE_MAC_LEN))
		goto out;
	ret = VALID_MAC_WITH_COOKIE;
out:
	crypto_wipe(computed, sizeof(computed));
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}

void cookie_add_mac_to_packet(uint8_t *msg, size_t len,
			      struct cookie_maker *m, wg_time_t now)
{
	struct message_macs *macs;

	if (!msg || len < sizeof(struct message_macs))
		return;
	macs = (struct message_macs *)(msg + mac1_offset(len));

	compute_mac(macs->mac1, m->mac1_key, sizeof(m->mac1_key), msg,
		    mac1_offset(len));
	memcpy(m->last_mac1_sent, macs->mac1, COOKIE_MAC_LEN);
	m->have_sent_mac1 = true;

	/* Stop using the cookie COOKIE_SECRET_LATENCY before the checker's
	 * secret could have rotated under it. */
	if (m->have_cookie &&
	    !has_expired(m->cookie_birthdate,
			 COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, now))
		compute_mac(macs->mac2, m->cookie, sizeof(m->cookie), msg,
			    mac2_offset(len));
	else
		memset(macs->mac2, 0, COOKIE_MAC_LEN);
}

void cookie_message_create(struct message_handshake_cookie *dst,
			   const uint8_t *msg, size_t len,
			   uint32_t sender_index,
			   struct cookie_checker *c,
			   const uint8_t *src, size_t src_len, wg_time_t now,
			   const struct noise_ops *ops)
{
	const struct message_macs *macs;
	uint8_t cookie[COOKIE_LEN];

	memset(dst, 0, sizeof(*dst));
	/* Left as MESSAGE_INVALID: callers only answer messages whose mac1
	 * checked out, so this is a programming error, not a wire one. */
	if (!msg || len < sizeof(struct message_macs) || (!src && src_len))
		return;
	macs = (const struct message_macs *)(msg + mac1_offset(len));

	dst->header.type = MESSAGE_HANDSHAKE_COOKIE;
	le32_store(dst->receiver_index, sender_index);
	ops->random(ops->ctx, dst->nonce, sizeof(dst->nonce));
	make_cookie(cookie, c, src, src_len, now, ops);
	/* The AD binds the reply to the message it answers: only the sender
	 * of that mac1 can use it. */
	xaead_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN, macs->mac1,
		      COOKIE_MAC_LEN, dst->nonce, c->cookie_encryption_key);
	crypto_wipe(cookie, sizeof(cookie));
}

bool cookie_message_consume(const struct message_handshake_cookie *src,
			    struct cookie_maker *m, wg_time_t now)
{
	uint8_t cookie[COOKIE_LEN];

	if (!src || !m->have_sent_mac1)
		return false;
	if (!xaead_decrypt(cookie, src->encrypted_cookie,
			   sizeof(src->encrypted_cookie), m->last_mac1_sent,
			   COOKIE_MAC_LEN, src->nonce,
			   m->cookie_encryption_key)) {
		crypto_wipe(cookie, sizeof(cookie));
		return false;
	}
	memcpy(m->cookie, cookie, COOKIE_LEN);
	m->cookie_birthdate = now;
	m->have_cookie = true;
	/* One reply per mac1 sent: a replayed reply cannot refresh the
	 * cookie's birthdate. */
	m->have_sent_mac1 = false;
	crypto_wipe(cookie, sizeof(cookie));
	return true;
}
