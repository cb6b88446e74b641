/* ct.c - constant-time helpers, wiping, randomness and crypto start-up. */
#include "crypto/ct.h"

#include <pthread.h>

#include <sodium.h>

#include "crypto/aead.h"
#include "crypto/blake2s.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;

static void init_libraries(void)
{
	/* sodium_init() returns 1 when already initialised: that is fine. */
	init_ok = sodium_init() >= 0 && blake2s_backend_init() &&
		  aead_backend_init();
}

bool crypto_init(void)
{
	if (pthread_once(&init_once, init_libraries) != 0)
		return false;
	return init_ok;
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool crypto_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

void crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void crypto_random(void *p, size_t len)
{
	randombytes_buf(p, len);
}
