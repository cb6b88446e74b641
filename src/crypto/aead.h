/* aead.h - ChaCha20-Poly1305 (IETF, 96-bit nonce = 32 zero bits || le64
 * counter) and XChaCha20-Poly1305, as WireGuard uses them. In-place
 * operation (dst == src) is allowed. */
#ifndef WEFT_CRYPTO_AEAD_H
#define WEFT_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aead_lengths {
	AEAD_KEY_LEN = 32,
	AEAD_TAG_LEN = 16,
	XAEAD_NONCE_LEN = 24,
};

/* Choose the ChaCha20-Poly1305 backend: the faster of OpenSSL and
 * libsodium on this machine (measured, ~1 ms), or the one named by
 * WEFT_AEAD=openssl|libsodium. Called by crypto_init(). */
bool aead_backend_init(void);
const char *aead_backend_name(void);

/* dst receives len bytes of ciphertext followed by the 16-byte tag. */
void aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[AEAD_KEY_LEN]);

/* src holds len bytes: ciphertext then tag (len >= 16); dst receives
 * len - 16 bytes. False if authentication fails (dst then undefined). */
__attribute__((warn_unused_result))
bool aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[AEAD_KEY_LEN]);

void xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		   const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[XAEAD_NONCE_LEN],
		   const uint8_t key[AEAD_KEY_LEN]);

__attribute__((warn_unused_result))
bool xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		   const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[XAEAD_NONCE_LEN],
		   const uint8_t key[AEAD_KEY_LEN]);

#endif
