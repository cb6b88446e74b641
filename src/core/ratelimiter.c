/* ratelimiter.c - per-source token buckets for handshake messages under load.
 *
 * Each source (an IPv4 address, or an IPv6 /64 since one host usually owns a
 * whole /64) has a bucket of nanoseconds: it refills at one nanosecond per
 * nanosecond up to its capacity (cost x burst), and a packet costs the cost. So a
 * source gets RATELIMITER_PACKETS_BURSTABLE packets at once and then
 * RATELIMITER_PACKETS_PER_SECOND.
 *
 * The table is fixed (no allocation, no garbage collector) and uses open
 * addressing: a source lives in one of PROBE_SLOTS consecutive slots after
 * its SipHash bucket. The key is secret, so a remote party cannot aim many
 * sources at one probe window.
 *
 * A bucket that has refilled to full means exactly what an absent entry
 * means, so such entries are free for reuse without any expiry sweep. When
 * every probed slot holds a live source, we evict the one closest to full
 * (ties: the least recently seen): that loses the least state, and the
 * evicted source at worst gets its burst again. The alternative, refusing
 * new sources while the window is busy, would let a flood of sources lock
 * every newcomer out, which is worse than a bounded extra burst. */
#include "core/ratelimiter.h"

#include <string.h>

#include <sodium.h>

enum ratelimiter_costs {
	PACKET_COST = NSEC_PER_SEC / RATELIMITER_PACKETS_PER_SECOND,
	PROBE_SLOTS = 8,
};

_Static_assert((RATELIMITER_TABLE_SIZE & (RATELIMITER_TABLE_SIZE - 1)) == 0,
	       "table size is a power of two");
_Static_assert((int)PROBE_SLOTS <= (int)RATELIMITER_TABLE_SIZE,
	       "probe within table");
_Static_assert(RATELIMITER_PACKETS_BURSTABLE >= 1, "a bucket holds a packet");
_Static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8,
	       "SipHash-2-4");

static uint64_t be64_load(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t source_key(enum ip_family family, const uint8_t *ip)
{
	if (family == IP_V4)
		return (uint64_t)ip[0] << 24 | (uint64_t)ip[1] << 16 |
		       (uint64_t)ip[2] << 8 | ip[3];
	return be64_load(ip);	/* the /64 */
}

static size_t source_slot(const struct ratelimiter *r, enum ip_family family,
			  uint64_t key)
{
	uint8_t in[9], h[crypto_shorthash_BYTES];

	in[0] = (uint8_t)family;
	le64_store(in + 1, key);
	crypto_shorthash(h, in, sizeof(in), r->hash_key);
	return (size_t)(le64_load(h) & (RATELIMITER_TABLE_SIZE - 1));
}

/* Tokens of e at now. A clock that went backwards refills nothing. */
static uint64_t refilled(const struct ratelimiter *r,
			const struct ratelimiter_entry *e, wg_time_t now)
{
	uint64_t elapsed = now > e->last_time ? now - e->last_time : 0;

	if (e->tokens >= r->capacity || elapsed >= r->capacity - e->tokens)
		return r->capacity;
	return e->tokens + elapsed;
}

void ratelimiter_init(struct ratelimiter *r, const uint8_t key[16])
{
	ratelimiter_init_rate(r, key, PACKET_COST, RATELIMITER_PACKETS_BURSTABLE);
}

void ratelimiter_init_rate(struct ratelimiter *r, const uint8_t key[16],
			   uint64_t interval, unsigned burst)
{
	memset(r->table, 0, sizeof(r->table));
	memcpy(r->hash_key, key, sizeof(r->hash_key));
	r->cost = interval ? interval : 1;
	r->capacity = r->cost * (burst ? burst : 1);
}

bool ratelimiter_allow(struct ratelimiter *r, enum ip_family family,
		       const uint8_t *ip, wg_time_t now)
{
	struct ratelimiter_entry *e, *victim = NULL;
	uint64_t key, level, victim_level = 0;
	size_t first;

	if (!ip || (family != IP_V4 && family != IP_V6))
		return false;
	key = source_key(family, ip);
	first = source_slot(r, family, key);

	for (size_t i = 0; i < PROBE_SLOTS; i++) {
		e = &r->table[(first + i) & (RATELIMITER_TABLE_SIZE - 1)];
		if (e->used && e->family == family && e->key == key) {
			e->tokens = refilled(r, e, now);
			if (now > e->last_time)
				e->last_time = now;
			if (e->tokens < r->cost)
				return false;
			e->tokens -= r->cost;
			return true;
		}
		level = e->used ? refilled(r, e, now) : r->capacity;
		if (!victim || level > victim_level ||
		    (level == victim_level &&
		     e->last_time < victim->last_time)) {
			victim = e;
			victim_level = level;
		}
	}

	/* A new source (or one whose entry was reused): a full bucket, less
	 * this packet. */
	victim->used = true;
	victim->family = (uint8_t)family;
	victim->key = key;
	victim->last_time = now;
	victim->tokens = r->capacity - r->cost;
	return true;
}
