/* noise_sym.h - the Noise symmetric-state steps (MixHash, MixKey, DH,
 * EncryptAndHash, DecryptAndHash, ephemeral keys) shared by the WireGuard
 * handshake (noise.c) and the admission protocol (admission.c). */
#ifndef WEFT_CORE_NOISE_SYM_H
#define WEFT_CORE_NOISE_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

struct noise_ops;

/* h = HASH(h || data) */
void noise_mix_hash(uint8_t hash[NOISE_HASH_LEN], const void *data,
		    size_t len);

/* ck, key = KDF2(ck, data); key may be NULL (KDF1). */
void noise_mix_key(uint8_t ck[NOISE_HASH_LEN],
		   uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const void *data,
		   size_t len);

/* ck, key = KDF2(ck, DH(priv, pub)); false if the DH result is zero. */
__attribute__((warn_unused_result))
bool noise_mix_dh(uint8_t ck[NOISE_HASH_LEN],
		  uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		  const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		  const uint8_t pub[NOISE_PUBLIC_KEY_LEN]);

/* dst = AEAD(key, 0, src, h); h = HASH(h || dst). */
void noise_encrypt_and_hash(uint8_t *dst, const void *src, size_t len,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN]);

/* dst = AEAD-open(key, 0, src, h); h = HASH(h || src). srclen includes
 * the tag; h is unchanged when authentication fails. */
__attribute__((warn_unused_result))
bool noise_decrypt_and_hash(void *dst, const uint8_t *src, size_t srclen,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN]);

/* A fresh ephemeral key pair from the caller's randomness. */
__attribute__((warn_unused_result))
bool noise_make_ephemeral(uint8_t priv[NOISE_PUBLIC_KEY_LEN],
			  uint8_t pub[NOISE_PUBLIC_KEY_LEN],
			  const struct noise_ops *ops);

#endif
