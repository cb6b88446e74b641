/* noise_sym.c - the Noise symmetric-state steps (see noise_sym.h). */
#include "core/noise_sym.h"

#include <string.h>

#include "core/noise.h"
#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

void noise_mix_hash(uint8_t hash[NOISE_HASH_LEN], const void *data,
		    size_t len)
{
	uint8_t h[NOISE_HASH_LEN];

	blake2s256(h, hash, NOISE_HASH_LEN, data, len);
	memcpy(hash, h, sizeof(h));
}

void noise_mix_key(uint8_t ck[NOISE_HASH_LEN],
		   uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const void *data,
		   size_t len)
{
	kdf_blake2s(ck, key, NULL, ck, data, len);
}

bool noise_mix_dh(uint8_t ck[NOISE_HASH_LEN],
		  uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		  const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		  const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];

	if (!x25519(dh, priv, pub))
		return false;
	noise_mix_key(ck, key, dh, sizeof(dh));
	crypto_wipe(dh, sizeof(dh));
	return true;
}

void noise_encrypt_and_hash(uint8_t *dst, const void *src, size_t len,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN])
{
	aead_encrypt(dst, src, len, hash, NOISE_HASH_LEN, 0, key);
	noise_mix_hash(hash, dst, noise_encrypted_len(len));
}

bool noise_decrypt_and_hash(void *dst, const uint8_t *src, size_t srclen,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN])
{
	if (!aead_decrypt(dst, src, srclen, hash, NOISE_HASH_LEN, 0, key))
		return false;
	noise_mix_hash(hash, src, srclen);
	return true;
}

bool noise_make_ephemeral(uint8_t priv[NOISE_PUBLIC_KEY_LEN],
			  uint8_t pub[NOISE_PUBLIC_KEY_LEN],
			  const struct noise_ops *ops)
{
	ops->random(ops->ctx, priv, NOISE_PUBLIC_KEY_LEN);
	x25519_clamp(priv);
	return x25519_public_from_private(pub, priv);
}
