/* replay.h - the sliding replay window over 64-bit message counters
 * (RFC 6479 style bitmap of COUNTER_BITS_TOTAL bits). */
#ifndef WEFT_CORE_REPLAY_H
#define WEFT_CORE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"

struct replay_window {
	uint64_t counter;	/* highest counter seen, plus one */
	uint64_t bitmap[COUNTER_BITS_TOTAL / 64];
};

void replay_init(struct replay_window *w);

/* Check counter against the window and record it. Call only after the
 * packet authenticated. False for a replay, a counter too old for the
 * window, or one >= REJECT_AFTER_MESSAGES. */
__attribute__((warn_unused_result))
bool replay_check_and_update(struct replay_window *w, uint64_t counter);

#endif
