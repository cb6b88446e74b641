/* blake2s.h - BLAKE2s hash, keyed BLAKE2s, HMAC-BLAKE2s and the Noise KDF,
 * over OpenSSL's libcrypto (libsodium has no BLAKE2s). */
#ifndef WEFT_CRYPTO_BLAKE2S_H
#define WEFT_CRYPTO_BLAKE2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum blake2s_lengths {
	BLAKE2S_HASH_LEN = 32,
	BLAKE2S_BLOCK_LEN = 64,
	BLAKE2S_KEY_MAX = 32,
};

/* Fetch the libcrypto algorithms once; called by crypto_init(), not by
 * anyone else. False if libcrypto lacks BLAKE2s. */
__attribute__((warn_unused_result)) bool blake2s_backend_init(void);

/* Unkeyed BLAKE2s-256 of in1 || in2 (in2 may be NULL with len2 0). */
void blake2s256(uint8_t out[BLAKE2S_HASH_LEN], const void *in1, size_t len1,
		const void *in2, size_t len2);

/* Keyed BLAKE2s with a 1..32-byte output (WireGuard's MAC(): outlen 16).
 * key may be 1..32 bytes. */
void blake2s_keyed(uint8_t *out, size_t outlen, const uint8_t *key,
		   size_t keylen, const void *in, size_t inlen);

/* HMAC(BLAKE2s-256) as in RFC 2104 with a 64-byte block. */
void hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *key,
		  size_t keylen, const void *in, size_t inlen);

/* The Noise/WireGuard KDF: up to three 32-byte outputs (first may not be
 * NULL; second/third NULL when unused) from chaining_key and data. Wipes
 * its intermediates. Output buffers may alias chaining_key. */
void kdf_blake2s(uint8_t *first, uint8_t *second, uint8_t *third,
		 const uint8_t chaining_key[BLAKE2S_HASH_LEN],
		 const void *data, size_t data_len);

#endif
