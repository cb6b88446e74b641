/* ct.h - constant-time comparison, wiping and the crypto library start-up. */
#ifndef WEFT_CRYPTO_CT_H
#define WEFT_CRYPTO_CT_H

#include <stdbool.h>
#include <stddef.h>

/* Call once before any other crypto function; false if a library failed
 * to initialise (the caller reports and exits). */
__attribute__((warn_unused_result)) bool crypto_init(void);

/* Constant-time equality of two len-byte buffers. */
__attribute__((warn_unused_result))
bool crypto_equal(const void *a, const void *b, size_t len);

/* Constant-time test for all-zero bytes. */
__attribute__((warn_unused_result))
bool crypto_is_zero(const void *p, size_t len);

/* Wipe a secret; never optimised away. */
void crypto_wipe(void *p, size_t len);

/* len bytes from the system CSPRNG. */
void crypto_random(void *p, size_t len);

#endif
