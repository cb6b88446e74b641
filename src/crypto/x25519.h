/* x25519.h - Curve25519 Diffie-Hellman over libsodium. */
#ifndef WEFT_CRYPTO_X25519_H
#define WEFT_CRYPTO_X25519_H

#include <stdbool.h>
#include <stdint.h>

enum x25519_lengths { X25519_KEY_LEN = 32 };

/* out = scalar * point. False when the result is all zeros (a low-order
 * point); out is then zeroed. */
__attribute__((warn_unused_result))
bool x25519(uint8_t out[X25519_KEY_LEN], const uint8_t scalar[X25519_KEY_LEN],
	    const uint8_t point[X25519_KEY_LEN]);

/* Public key of a private key (the private key is clamped first). False if
 * the private key is all zeros. */
__attribute__((warn_unused_result))
bool x25519_public_from_private(uint8_t pub[X25519_KEY_LEN],
				const uint8_t priv[X25519_KEY_LEN]);

/* Clamp a private key in place, as the Curve25519 paper prescribes. */
void x25519_clamp(uint8_t key[X25519_KEY_LEN]);

/* A fresh random clamped private key from the system CSPRNG. */
void x25519_generate_private(uint8_t priv[X25519_KEY_LEN]);

#endif
