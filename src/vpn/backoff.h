/* backoff.h - when to try again: exponential backoff with full jitter,
 * for the client's reconnects (many clients of one server that lost them
 * all at once must not come back in lockstep). Pure. */
#ifndef WEFT_VPN_BACKOFF_H
#define WEFT_VPN_BACKOFF_H

#include <stdint.h>

#include "core/messages.h"	/* wg_time_t */

struct backoff {
	wg_time_t base, cap;	/* first delay; largest delay */
	unsigned attempt;	/* failures since the last success */
	uint64_t rng;		/* splitmix64 state */
};

/* base <= cap, both > 0. seed: any value (a random one in production). */
void backoff_init(struct backoff *b, wg_time_t base, wg_time_t cap,
		  uint64_t seed);
/* The delay before the next attempt: uniform in [d/2, d] where
 * d = min(cap, base * 2^attempt); then attempt++. */
wg_time_t backoff_next(struct backoff *b);
/* A success: the next failure starts from base again. */
void backoff_reset(struct backoff *b);

#endif
