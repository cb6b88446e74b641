/* aead.c - ChaCha20-Poly1305 and XChaCha20-Poly1305 over libsodium. */
#include "crypto/aead.h"

#include <sodium.h>


_Static_assert(AEAD_TAG_LEN == crypto_aead_chacha20poly1305_IETF_ABYTES, "tag");
_Static_assert(AEAD_KEY_LEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES, "key");
_Static_assert(XAEAD_NONCE_LEN == crypto_aead_xchacha20poly1305_IETF_NPUBBYTES,
	       "xnonce");

/* WireGuard's 96-bit nonce: 32 zero bits, then the counter little-endian. */
static void make_nonce(uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES],
		       uint64_t counter)
{
	int i;

	n[0] = n[1] = n[2] = n[3] = 0;
	for (i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(counter >> (8 * i));
}

void aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	make_nonce(n, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL,
		src, len, ad, adlen, NULL, n, key);
}

bool aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (len < AEAD_TAG_LEN)
		return false;
	make_nonce(n, nonce);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL,
		src, len - AEAD_TAG_LEN, src + len - AEAD_TAG_LEN, ad, adlen,
		n, key) == 0;
}

void xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		   const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[XAEAD_NONCE_LEN],
		   const uint8_t key[AEAD_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL,
		src, len, ad, adlen, NULL, nonce, key);
}

bool xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		   const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[XAEAD_NONCE_LEN],
		   const uint8_t key[AEAD_KEY_LEN])
{
	if (len < AEAD_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL,
		src, len - AEAD_TAG_LEN, src + len - AEAD_TAG_LEN, ad, adlen,
		nonce, key) == 0;
}
