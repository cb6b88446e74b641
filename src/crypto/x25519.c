/* x25519.c - Curve25519 Diffie-Hellman over libsodium. */
#include "crypto/x25519.h"

#include <string.h>

#include <sodium.h>

#include "crypto/ct.h"

_Static_assert(X25519_KEY_LEN == crypto_scalarmult_BYTES, "x25519 size");

bool x25519(uint8_t out[X25519_KEY_LEN], const uint8_t scalar[X25519_KEY_LEN],
	    const uint8_t point[X25519_KEY_LEN])
{
	/* libsodium clamps the scalar itself and fails on a zero result;
	 * check for zero here too so the contract does not depend on the
	 * library version. */
	if (crypto_scalarmult(out, scalar, point) != 0 ||
	    crypto_is_zero(out, X25519_KEY_LEN)) {
		crypto_wipe(out, X25519_KEY_LEN);
		return false;
	}
	return true;
}

bool x25519_public_from_private(uint8_t pub[X25519_KEY_LEN],
				const uint8_t priv[X25519_KEY_LEN])
{
	uint8_t k[X25519_KEY_LEN];
	bool ok;

	if (crypto_is_zero(priv, X25519_KEY_LEN)) {
		crypto_wipe(pub, X25519_KEY_LEN);
		return false;
	}
	memcpy(k, priv, sizeof(k));
	x25519_clamp(k);
	ok = crypto_scalarmult_base(pub, k) == 0;
	crypto_wipe(k, sizeof(k));
	if (!ok)
		crypto_wipe(pub, X25519_KEY_LEN);
	return ok;
}

void x25519_clamp(uint8_t key[X25519_KEY_LEN])
{
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

void x25519_generate_private(uint8_t priv[X25519_KEY_LEN])
{
	crypto_random(priv, X25519_KEY_LEN);
	x25519_clamp(priv);
}
