/* ratelimiter.h - per-source token buckets for handshake initiations under
 * load: INITIATIONS_PER_SECOND with a small burst, per IPv4 address or IPv6
 * /64. A fixed-size table keyed with SipHash (a secret key, so sources
 * cannot choose collisions); no allocation after init. */
#ifndef WEFT_CORE_RATELIMITER_H
#define WEFT_CORE_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/allowedips.h"
#include "core/messages.h"

enum ratelimiter_limits {
	RATELIMITER_PACKETS_PER_SECOND = 20,
	RATELIMITER_PACKETS_BURSTABLE = 5,
	RATELIMITER_TABLE_SIZE = 8192,	/* entries, power of two */
};

struct ratelimiter_entry {
	uint64_t key;		/* v4 address or v6 /64 (with family: the key) */
	wg_time_t last_time;
	uint64_t tokens;
	bool used;
	uint8_t family;		/* enum ip_family: a v6 /64 spans all 64 bits of
				 * key, so the family has to live beside it */
};

struct ratelimiter {
	uint8_t hash_key[16];
	uint64_t cost;		/* ns of refill one packet takes */
	uint64_t capacity;	/* ns: cost x burst */
	struct ratelimiter_entry table[RATELIMITER_TABLE_SIZE];
};

/* key: 16 random bytes for SipHash. */
void ratelimiter_init(struct ratelimiter *r, const uint8_t key[16]);

/* Another rate: one packet per interval ns after a burst of burst. */
void ratelimiter_init_rate(struct ratelimiter *r, const uint8_t key[16],
			   uint64_t interval, unsigned burst);

/* True if a packet from ip (4 or 16 bytes) may pass now. */
__attribute__((warn_unused_result))
bool ratelimiter_allow(struct ratelimiter *r, enum ip_family family,
		       const uint8_t *ip, wg_time_t now);

#endif
