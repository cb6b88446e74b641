/* blake2s.c - BLAKE2s, keyed BLAKE2s, HMAC-BLAKE2s and the Noise KDF over
 * OpenSSL 3 libcrypto. */
#include "crypto/blake2s.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/ct.h"

/* Fetched once by crypto_init(); read-only afterwards. */
static EVP_MD *md_blake2s;
static EVP_MAC *mac_blake2s;

/* Contexts are reused per thread: fetching the provider context on every
 * hash would double the cost of a mac1 check, which runs on every
 * handshake packet under load. OpenSSL's BLAKE2s final wipes the hash
 * state; the MAC context keeps the last key until the next call or thread
 * exit, which never outlives the key's own owner by much. */
struct thread_ctx {
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac;
};
static _Thread_local struct thread_ctx tctx;
static pthread_key_t tctx_key;

/* Control-plane rule: a library failure here is not recoverable. */
static _Noreturn void fatal(const char *what)
{
	char reason[256];

	ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
	fprintf(stderr, "weft: BLAKE2s (%s) failed in libcrypto: %s; "
		"cannot continue\n", what, reason);
	abort();
}

/* A caller broke the contract: fail loudly, as for a library failure. */
static _Noreturn void bug(const char *what)
{
	fprintf(stderr, "weft: BLAKE2s: %s; this is a bug in the caller\n", what);
	abort();
}

static void thread_ctx_free(void *p)
{
	struct thread_ctx *t = p;

	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->mac);
	t->md = NULL;
	t->mac = NULL;
}

bool blake2s_backend_init(void)
{
	if (md_blake2s && mac_blake2s)
		return true;
	md_blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	mac_blake2s = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_BLAKE2SMAC, NULL);
	if (!md_blake2s || !mac_blake2s ||
	    pthread_key_create(&tctx_key, thread_ctx_free) != 0) {
		EVP_MD_free(md_blake2s);
		EVP_MAC_free(mac_blake2s);
		md_blake2s = NULL;
		mac_blake2s = NULL;
		return false;
	}
	return true;
}

/* Register this thread's contexts for freeing at thread exit. */
static void thread_ctx_register(void)
{
	if (pthread_setspecific(tctx_key, &tctx) != 0)
		fatal("registering the thread's contexts");
}

static EVP_MD_CTX *md_ctx(void)
{
	if (!md_blake2s)
		bug("used before crypto_init()");
	if (!tctx.md) {
		if (!tctx.mac)
			thread_ctx_register();
		tctx.md = EVP_MD_CTX_new();
		if (!tctx.md)
			fatal("EVP_MD_CTX_new");
	}
	return tctx.md;
}

static EVP_MAC_CTX *mac_ctx(void)
{
	if (!mac_blake2s)
		bug("used before crypto_init()");
	if (!tctx.mac) {
		if (!tctx.md)
			thread_ctx_register();
		tctx.mac = EVP_MAC_CTX_new(mac_blake2s);
		if (!tctx.mac)
			fatal("EVP_MAC_CTX_new");
	}
	return tctx.mac;
}

void blake2s256(uint8_t out[BLAKE2S_HASH_LEN], const void *in1, size_t len1,
		const void *in2, size_t len2)
{
	EVP_MD_CTX *ctx = md_ctx();
	unsigned int outlen = 0;

	if (!EVP_DigestInit_ex2(ctx, md_blake2s, NULL) ||
	    (len1 && !EVP_DigestUpdate(ctx, in1, len1)) ||
	    (len2 && !EVP_DigestUpdate(ctx, in2, len2)) ||
	    !EVP_DigestFinal_ex(ctx, out, &outlen) ||
	    outlen != BLAKE2S_HASH_LEN)
		fatal("unkeyed hash");
}

void blake2s_keyed(uint8_t *out, size_t outlen, const uint8_t *key,
		   size_t keylen, const void *in, size_t inlen)
{
	EVP_MAC_CTX *ctx = mac_ctx();
	OSSL_PARAM params[2];
	size_t done = 0;

	if (outlen < 1 || outlen > BLAKE2S_HASH_LEN || keylen < 1 ||
	    keylen > BLAKE2S_KEY_MAX)
		bug("keyed hash output or key length not in 1..32");
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, keylen, params) ||
	    (inlen && !EVP_MAC_update(ctx, in, inlen)) ||
	    !EVP_MAC_final(ctx, out, &done, outlen) || done != outlen)
		fatal("keyed hash");
}

void hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *key,
		  size_t keylen, const void *in, size_t inlen)
{
	uint8_t pad[BLAKE2S_BLOCK_LEN];
	uint8_t inner[BLAKE2S_HASH_LEN];
	size_t i;

	/* RFC 2104: K is zero-padded to a block, or hashed if longer. */
	memset(pad, 0, sizeof(pad));
	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s256(pad, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(pad, key, keylen);

	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	blake2s256(inner, pad, sizeof(pad), in, inlen);

	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	blake2s256(out, pad, sizeof(pad), inner, sizeof(inner));

	crypto_wipe(pad, sizeof(pad));
	crypto_wipe(inner, sizeof(inner));
}

void kdf_blake2s(uint8_t *first, uint8_t *second, uint8_t *third,
		 const uint8_t chaining_key[BLAKE2S_HASH_LEN],
		 const void *data, size_t data_len)
{
	uint8_t secret[BLAKE2S_HASH_LEN];
	uint8_t t1[BLAKE2S_HASH_LEN], t2[BLAKE2S_HASH_LEN], t3[BLAKE2S_HASH_LEN];
	uint8_t buf[BLAKE2S_HASH_LEN + 1];

	/* tau0 = HMAC(ck, data). chaining_key may alias an output, so
	 * nothing is written to the outputs before this line. */
	hmac_blake2s(secret, chaining_key, BLAKE2S_HASH_LEN, data, data_len);

	/* tau1 = HMAC(tau0, 0x1) */
	buf[0] = 1;
	hmac_blake2s(t1, secret, sizeof(secret), buf, 1);

	/* tau2 = HMAC(tau0, tau1 || 0x2) */
	if (second || third) {
		memcpy(buf, t1, BLAKE2S_HASH_LEN);
		buf[BLAKE2S_HASH_LEN] = 2;
		hmac_blake2s(t2, secret, sizeof(secret), buf, sizeof(buf));
	}

	/* tau3 = HMAC(tau0, tau2 || 0x3) */
	if (third) {
		memcpy(buf, t2, BLAKE2S_HASH_LEN);
		buf[BLAKE2S_HASH_LEN] = 3;
		hmac_blake2s(t3, secret, sizeof(secret), buf, sizeof(buf));
	}

	memcpy(first, t1, BLAKE2S_HASH_LEN);
	if (second)
		memcpy(second, t2, BLAKE2S_HASH_LEN);
	if (third)
		memcpy(third, t3, BLAKE2S_HASH_LEN);

	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(t1, sizeof(t1));
	crypto_wipe(t2, sizeof(t2));
	crypto_wipe(t3, sizeof(t3));
	crypto_wipe(buf, sizeof(buf));
}
