/* clock.h - time sources: a suspend-aware monotonic clock for every expiry,
 * and wall time only where the protocol (TAI64N) or a human needs it. */
#ifndef WEFT_OS_LINUX_CLOCK_H
#define WEFT_OS_LINUX_CLOCK_H

#include <stdint.h>

#include "core/messages.h"

/* Nanoseconds of CLOCK_BOOTTIME: monotonic, and time spent suspended
 * counts, so keys and handshakes expire across a suspend like in the
 * kernel driver. */
wg_time_t clock_now(void);

/* The handshake timestamp: TAI64N of the wall clock, big-endian, with the
 * nanoseconds rounded down so it does not leak fine timing. */
void clock_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN]);

/* CLOCK_REALTIME, e.g. for "last handshake" in the UAPI. */
void clock_wall(uint64_t *sec, uint64_t *nsec);
/* The same in milliseconds: signed message times of the mesh. */
uint64_t clock_wall_ms(void);

#endif
