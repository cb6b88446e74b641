/* backoff.c - see backoff.h. "Equal jitter": half the delay fixed, half
 * random, so a retry never comes sooner than d/2 yet clients spread out. */
#include "vpn/backoff.h"

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void backoff_init(struct backoff *b, wg_time_t base, wg_time_t cap,
		  uint64_t seed)
{
	b->base = base ? base : 1;
	b->cap = cap < b->base ? b->base : cap;
	b->attempt = 0;
	b->rng = seed;
}

wg_time_t backoff_next(struct backoff *b)
{
	wg_time_t d = b->base;

	for (unsigned i = 0; i < b->attempt && d < b->cap; i++)
		d = d > b->cap / 2 ? b->cap : d * 2;
	if (d > b->cap)
		d = b->cap;
	if (b->attempt < 64)
		b->attempt++;
	return d - d / 2 + splitmix64(&b->rng) % (d / 2 + 1);
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
