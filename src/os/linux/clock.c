/* clock.c - monotonic and wall clocks, and the TAI64N handshake timestamp. */
#include "os/linux/clock.h"

#include <time.h>

enum tai64n_values {
	/* TAI64 labels second 0 of 1970 TAI as 2^62; TAI ran 10 s ahead of
	 * UTC in 1970. Using the same base as the kernel driver and
	 * wireguard-go keeps timestamps monotonic when a key moves between
	 * implementations (a peer rejects an initiation whose timestamp is
	 * not newer than the last one it saw). */
	TAI64_BASE_OFFSET = 10,
	/* Round the nanoseconds down to 2^24 ns (~16.8 ms), the largest power
	 * of two under the 1/INITIATIONS_PER_SECOND a peer accepts anyway,
	 * so the timestamp reveals nothing finer. */
	TAI64N_NSEC_GRANULE = 1 << 24,
};

_Static_assert(TAI64N_NSEC_GRANULE <= NSEC_PER_SEC / INITIATIONS_PER_SECOND,
	       "timestamp granularity must stay below the initiation rate");

static void read_clock(clockid_t id, struct timespec *ts)
{
	/* Fails only for an invalid clock id, which these are not. */
	if (clock_gettime(id, ts) != 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = 0;
	}
}

wg_time_t clock_now(void)
{
	struct timespec ts;

	read_clock(CLOCK_BOOTTIME, &ts);
	return (wg_time_t)ts.tv_sec * NSEC_PER_SEC + (wg_time_t)ts.tv_nsec;
}

static void be64_store(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void clock_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct timespec ts;

	read_clock(CLOCK_REALTIME, &ts);
	be64_store(out, (1ULL << 62) + TAI64_BASE_OFFSET + (uint64_t)ts.tv_sec);
	be32_store(out + 8, (uint32_t)ts.tv_nsec & ~(uint32_t)(TAI64N_NSEC_GRANULE - 1));
}

void clock_wall(uint64_t *sec, uint64_t *nsec)
{
	struct timespec ts;

	read_clock(CLOCK_REALTIME, &ts);
	*sec = (uint64_t)ts.tv_sec;
	*nsec = (uint64_t)ts.tv_nsec;
}

uint64_t clock_wall_ms(void)
{
	uint64_t sec, nsec;

	clock_wall(&sec, &nsec);
	return sec * 1000 + nsec / 1000000;
}
