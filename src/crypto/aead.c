/* aead.c - ChaCha20-Poly1305 (two backends: OpenSSL's assembly or
 * libsodium, whichever is faster on this machine, measured at start-up)
 * and XChaCha20-Poly1305 (libsodium; OpenSSL has none). */
#include "crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(AEAD_TAG_LEN == crypto_aead_chacha20poly1305_IETF_ABYTES, "tag");
_Static_assert(AEAD_KEY_LEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES, "key");
_Static_assert(XAEAD_NONCE_LEN == crypto_aead_xchacha20poly1305_IETF_NPUBBYTES,
	       "xnonce");

enum { NONCE_LEN = crypto_aead_chacha20poly1305_IETF_NPUBBYTES };

/* WireGuard's 96-bit nonce: 32 zero bits, then the counter little-endian. */
static void make_nonce(uint8_t n[NONCE_LEN], uint64_t counter)
{
	n[0] = n[1] = n[2] = n[3] = 0;
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* ---- libsodium ---- */

static void sodium_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			   const uint8_t *ad, size_t adlen, uint64_t nonce,
			   const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t n[NONCE_LEN];

	make_nonce(n, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL,
		src, len, ad, adlen, NULL, n, key);
}

static bool sodium_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
			   const uint8_t *ad, size_t adlen, uint64_t nonce,
			   const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t n[NONCE_LEN];

	make_nonce(n, nonce);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL,
		src, len - AEAD_TAG_LEN, src + len - AEAD_TAG_LEN, ad, adlen,
		n, key) == 0;
}

/* ---- OpenSSL ---- */

static EVP_CIPHER *ossl_cipher;
static pthread_key_t ossl_key;

/* Per thread, one context per direction, bound to the cipher once: then
 * each packet only sets key and nonce. Re-binding the cipher per packet
 * makes OpenSSL free and rebuild its provider context every time (~20%
 * of the cost at tunnel packet sizes). */
struct ossl_ctxs {
	EVP_CIPHER_CTX *enc, *dec;
};
static _Thread_local struct ossl_ctxs ossl_tls;

static void ossl_ctxs_free(void *p)
{
	struct ossl_ctxs *c = p;

	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	c->enc = c->dec = NULL;
}

static struct ossl_ctxs *ctxs_get(void)
{
	struct ossl_ctxs *c = &ossl_tls;

	if (!c->enc) {
		c->enc = EVP_CIPHER_CTX_new();
		c->dec = EVP_CIPHER_CTX_new();
		if (!c->enc || !c->dec ||
		    !EVP_EncryptInit_ex(c->enc, ossl_cipher, NULL, NULL, NULL) ||
		    !EVP_DecryptInit_ex(c->dec, ossl_cipher, NULL, NULL, NULL) ||
		    pthread_setspecific(ossl_key, c) != 0) {
			fprintf(stderr, "weft: cannot set up an OpenSSL cipher context\n");
			abort();
		}
	}
	return c;
}

static void ossl_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			 const uint8_t *ad, size_t adlen, uint64_t nonce,
			 const uint8_t key[AEAD_KEY_LEN])
{
	EVP_CIPHER_CTX *c = ctxs_get()->enc;
	uint8_t n[NONCE_LEN];
	OSSL_PARAM params[2];
	int outl;

	make_nonce(n, nonce);
	params[0] = OSSL_PARAM_construct_octet_string("tag", dst + len,
						      AEAD_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	/* len fits an int: packets are bounded far below 2 GiB. */
	if (!EVP_EncryptInit_ex(c, NULL, NULL, key, n) ||
	    (adlen && !EVP_EncryptUpdate(c, NULL, &outl, ad, (int)adlen)) ||
	    !EVP_EncryptUpdate(c, dst, &outl, src, (int)len) ||
	    !EVP_EncryptFinal_ex(c, dst + outl, &outl) ||
	    !EVP_CIPHER_CTX_get_params(c, params)) {
		fprintf(stderr, "weft: OpenSSL ChaCha20-Poly1305 failed\n");
		abort();
	}
}

static bool ossl_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
			 const uint8_t *ad, size_t adlen, uint64_t nonce,
			 const uint8_t key[AEAD_KEY_LEN])
{
	EVP_CIPHER_CTX *c = ctxs_get()->dec;
	uint8_t n[NONCE_LEN], tag[AEAD_TAG_LEN];
	size_t clen = len - AEAD_TAG_LEN;
	OSSL_PARAM params[2];
	int outl;

	make_nonce(n, nonce);
	/* Copy the tag first: with dst == src the plaintext may overwrite it. */
	memcpy(tag, src + clen, AEAD_TAG_LEN);
	params[0] = OSSL_PARAM_construct_octet_string("tag", tag, AEAD_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_DecryptInit_ex(c, NULL, NULL, key, n) ||
	    !EVP_CIPHER_CTX_set_params(c, params) ||
	    (adlen && !EVP_DecryptUpdate(c, NULL, &outl, ad, (int)adlen)) ||
	    !EVP_DecryptUpdate(c, dst, &outl, src, (int)clen))
		return false;
	/* Final verifies the tag (in constant time). */
	return EVP_DecryptFinal_ex(c, dst + outl, &outl) == 1;
}

/* ---- selection ---- */

struct aead_backend {
	const char *name;
	void (*encrypt)(uint8_t *, const uint8_t *, size_t, const uint8_t *,
			size_t, uint64_t, const uint8_t *);
	bool (*decrypt)(uint8_t *, const uint8_t *, size_t, const uint8_t *,
			size_t, uint64_t, const uint8_t *);
};

static const struct aead_backend backends[] = {
	{ "openssl", ossl_encrypt, ossl_decrypt },
	{ "libsodium", sodium_encrypt, sodium_decrypt },
};

/* Until aead_backend_init() chose, libsodium (needs no set-up). */
static const struct aead_backend *backend = &backends[1];

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds to encrypt and decrypt a few hundred tunnel-sized packets. */
static double measure(const struct aead_backend *b)
{
	static uint8_t buf[1440 + AEAD_TAG_LEN];
	uint8_t key[AEAD_KEY_LEN] = { 1 };
	double best = 1e9;

	for (int round = 0; round < 3; round++) {
		double t = now_sec();

		for (uint64_t i = 0; i < 300; i++) {
			b->encrypt(buf, buf, 1440, NULL, 0, i, key);
			if (!b->decrypt(buf, buf, sizeof(buf), NULL, 0, i, key))
				return 1e9;
		}
		t = now_sec() - t;
		if (t < best)
			best = t;
	}
	return best;
}

bool aead_backend_init(void)
{
	const char *force = getenv("WEFT_AEAD");

	ossl_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (!ossl_cipher || pthread_key_create(&ossl_key, ossl_ctxs_free) != 0) {
		/* OpenSSL without ChaCha20-Poly1305: libsodium does it all. */
		backend = &backends[1];
		return true;
	}
	if (force && *force) {
		for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
			if (!strcmp(force, backends[i].name))
				backend = &backends[i];
		return true;
	}
	backend = measure(&backends[0]) <= measure(&backends[1]) ? &backends[0]
								  : &backends[1];
	return true;
}

const char *aead_backend_name(void)
{
	return backend->name;
}

void aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[AEAD_KEY_LEN])
{
	backend->encrypt(dst, src, len, ad, adlen, nonce, key);
}

bool aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen, uint64_t nonce,
		  const uint8_t key[AEAD_KEY_LEN])
{
	if (len < AEAD_TAG_LEN)
		return false;
	return backend->decrypt(dst, src, len, ad, adlen, nonce, key);
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
