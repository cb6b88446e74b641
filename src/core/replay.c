/* replay.c - the receive-side replay window: a ring of 64-bit words holding
 * one bit per recent counter (RFC 6479), slid forward word by word. */
#include "core/replay.h"

#include <string.h>

enum replay_layout {
	WORD_BITS = 64,
	WORD_SHIFT = 6,
	RING_WORDS = COUNTER_BITS_TOTAL / WORD_BITS,
	RING_MASK = RING_WORDS - 1,
};

_Static_assert(COUNTER_BITS_TOTAL % WORD_BITS == 0, "whole words");
_Static_assert((RING_WORDS & RING_MASK) == 0, "ring size is a power of two");
/* The oldest counter the window accepts must still own its bit: the words
 * it spans, plus the word the newest counter is in, fit in the ring. */
_Static_assert(COUNTER_WINDOW_SIZE + WORD_BITS <= COUNTER_BITS_TOTAL,
	       "window fits the ring with one word to spare");
_Static_assert(COUNTER_WINDOW_SIZE % WORD_BITS == 0, "window ends on a word");

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

/* Accepts counter c when it has not been seen and, with h the highest
 * counter accepted so far, h - c <= COUNTER_WINDOW_SIZE. w->counter is h + 1,
 * or 0 before the first packet (then the ring is all zero). */
bool replay_check_and_update(struct replay_window *w, uint64_t counter)
{
	uint64_t word = counter >> WORD_SHIFT;
	uint64_t bit = 1ULL << (counter & (WORD_BITS - 1));
	uint64_t *slot;

	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	/* No overflow: counter < UINT64_MAX - COUNTER_WINDOW_SIZE - 1. */
	if (counter + COUNTER_WINDOW_SIZE + 1 < w->counter)
		return false;

	if (counter >= w->counter) {
		/* New highest counter: the words between the old top word and
		 * the new one now stand for counters never seen. Clearing
		 * more than the whole ring would only repeat itself. */
		if (w->counter != 0) {
			uint64_t top = (w->counter - 1) >> WORD_SHIFT;
			uint64_t skip = word - top;

			if (skip > RING_WORDS)
				skip = RING_WORDS;
			for (uint64_t i = 1; i <= skip; i++)
				w->bitmap[(top + i) & RING_MASK] = 0;
		}
		w->counter = counter + 1;
	}

	slot = &w->bitmap[word & RING_MASK];
	if (*slot & bit)
		return false;
	*slot |= bit;
	return true;
}
