/* test_replay.c - the replay window: a table of counters at the window's
 * edges, then a random comparison against a naive model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/messages.h"
#include "core/replay.h"

#define W ((uint64_t)COUNTER_WINDOW_SIZE)
#define BITS ((uint64_t)COUNTER_BITS_TOTAL)
#define R REJECT_AFTER_MESSAGES

struct row {
	uint64_t counter;
	bool expected;
	bool reset;		/* start a fresh window before this row */
};

#define T(c, e) { (c), (e), false }
#define RESET { 0, false, true }

/* H is the highest counter once the window has moved away from 0. */
#define H (W + 100)
#define F (1ULL << 40)

static const struct row rows[] = {
	/* first counters, in and out of order, a word boundary */
	T(0, true), T(1, true), T(1, false), T(0, false),
	T(9, true), T(8, true), T(7, true), T(7, false), T(9, false),
	T(63, true), T(64, true), T(64, false), T(63, false), T(65, true),

	/* the back edge of the window: h - W is in, h - W - 1 is out */
	T(H, true), T(H, false),
	T(H - W - 1, false), T(H - W, true), T(H - W, false),
	T(H - W + 1, true), T(H - 1, true), T(H - 1, false),
	T(0, false), T(65, false),

	/* jump by exactly the window: the old top is still inside */
	T(H + W, true), T(H, false), T(H - 1, false),
	T(H + 1, true), T(H + 1, false),
	/* jump by the window + 1: the old top falls out */
	T(H + 2 * W + 1, true), T(H + W, false), T(H + W + 1, true),
	T(H + W + 1, false),
	/* jump by the window - 1 */
	T(H + 3 * W, true), T(H + 2 * W + 1, false), T(H + 2 * W + 2, true),
	T(H + 2 * W, true), T(H + 2 * W - 1, false),

	/* a far jump: everything before is gone, the new edges hold */
	T(F, true), T(H + 3 * W, false), T(F, false), T(F - 1, true),
	T(F - W, true), T(F - W, false), T(F - W - 1, false),
	T(F + 1, true), T(F - W, false), T(F - W + 1, true),

	/* one counter per ring slot: X and X + BITS share a bit */
	RESET, T(BITS - 1, true), T(2 * BITS - 1, true), T(BITS - 1, false),
	T(2 * BITS - 2, true), T(BITS + 63, true), T(BITS + 62, false),

	/* the last word before the sliding one must read as clean */
	RESET, T(W - 1, true), T(W + 63, true), T(W, true), T(2 * W, true),
	T(W + 64, true), T(W + 127, true), T(W + 128, true), T(W + 63, false),
	T(W, false), T(W - 1, false),

	/* the end of a key's life */
	RESET, T(R - 1, true), T(R, false), T(R + 1, false),
	T(UINT64_MAX, false), T(UINT64_MAX - 1, false),
	T(R - 2, true), T(R - 1, false), T(R - 1 - W, true),
	T(R - 2 - W, false), T(R - W, true), T(0, false),
	RESET, T(R, false), T(0, true), T(R - 1, true), T(R - 1, false),
	T(0, false),
};

static void test_table(void **state)
{
	struct replay_window w;
	size_t failures = 0;

	(void)state;
	replay_init(&w);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got;

		if (rows[i].reset) {
			replay_init(&w);
			continue;
		}
		got = replay_check_and_update(&w, rows[i].counter);
		if (got != rows[i].expected) {
			print_error("row %zu: counter %llu: got %d, want %d\n",
				    i, (unsigned long long)rows[i].counter,
				    got, rows[i].expected);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Every counter in a fully used ring is rejected, and so is every counter
 * once the window moves a whole ring ahead; the next word is clean. */
static void test_ring_wraps(void **state)
{
	struct replay_window w;
	uint64_t base = 5 * BITS;

	(void)state;
	replay_init(&w);
	for (uint64_t c = base; c < base + BITS; c++)
		assert_true(replay_check_and_update(&w, c));
	for (uint64_t c = base + BITS - 1 - W; c < base + BITS; c++)
		assert_false(replay_check_and_update(&w, c));
	for (uint64_t c = base; c < base + BITS - 1 - W; c++)
		assert_false(replay_check_and_update(&w, c));
	/* Each of these reuses the slot of a counter seen one ring ago. */
	for (uint64_t c = base + BITS; c < base + BITS + 64; c++)
		assert_true(replay_check_and_update(&w, c));
	/* Walk forward one word at a time through several rings. */
	for (uint64_t c = base + BITS + 64; c < base + 4 * BITS; c += 64) {
		assert_true(replay_check_and_update(&w, c + 63));
		assert_true(replay_check_and_update(&w, c));
		assert_false(replay_check_and_update(&w, c));
		assert_false(replay_check_and_update(&w, c - BITS));
	}
}

/* --- the naive model: every counter ever accepted, and the highest --- */

enum { SET_BITS = 17, SET_SLOTS = 1 << SET_BITS, EPOCH = 50000 };
_Static_assert(EPOCH * 2 < SET_SLOTS, "set stays sparse");

struct model {
	uint64_t seen[SET_SLOTS];	/* open addressing, UINT64_MAX free */
	uint64_t max;
	bool any;
};

static void model_init(struct model *m)
{
	memset(m->seen, 0xff, sizeof(m->seen));
	m->max = 0;
	m->any = false;
}

static bool model_accept(struct model *m, uint64_t c)
{
	size_t i = (size_t)((c * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));

	if (c >= R)
		return false;
	if (m->any && m->max > c && m->max - c > W)
		return false;
	for (; m->seen[i] != UINT64_MAX; i = (i + 1) & (SET_SLOTS - 1))
		if (m->seen[i] == c)
			return false;
	m->seen[i] = c;
	if (!m->any || c > m->max)
		m->max = c;
	m->any = true;
	return true;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a < b ? 0 : a - b;
}

static uint64_t next_counter(const struct model *m, const uint64_t *recent)
{
	uint64_t h = m->max;
	unsigned k = (unsigned)below(100);


	if (k < 40)
		return add_sat(h, 1 + below(4));
	if (k < 55)
		return sub_sat(h, below(W + 64));
	if (k < 65)
		return sub_sat(add_sat(h, 3), W + below(7));
	if (k < 75)
		return recent[below(256)];
	if (k < 80)
		return add_sat(h, W - 3 + below(7));
	if (k < 85)
		return add_sat(h, BITS * (1 + below(2)) - 2 + below(5));
	if (k < 90)
		return add_sat(h, 64 * (1 + below(1 << 20)));
	if (k < 92)
		/* Near the end of a key's life, cross it now and then. */
		return h >= R - 100000 ? add_sat(sub_sat(R, 2), below(4))
				       : add_sat(h, 1);
	return below(h + 1);
}

static void test_against_model(void **state)
{
	struct model *m = malloc(sizeof(*m));
	struct replay_window w;
	uint64_t recent[256] = { 0 };
	unsigned long accepted = 0, rejected = 0;
	const uint64_t bases[] = { 0, 1ULL << 32, F, R - 100000 };

	(void)state;
	assert_non_null(m);
	rng_state = 0x5eed0f7e9ab1e5ULL;
	for (unsigned long op = 0; op < 1000000; op++) {
		uint64_t c;
		bool want, got;

		if (op % EPOCH == 0) {
			uint64_t base = bases[(op / EPOCH) % 4];

			replay_init(&w);
			model_init(m);
			if (base) {
				assert_true(model_accept(m, base));
				assert_true(replay_check_and_update(&w, base));
			}
			for (size_t i = 0; i < 256; i++)
				recent[i] = base;
		}
		c = next_counter(m, recent);
		recent[op & 255] = c;
		want = model_accept(m, c);
		got = replay_check_and_update(&w, c);
		if (want != got)
			fail_msg("op %lu: counter %llu (max %llu): got %d, "
				 "want %d", op, (unsigned long long)c,
				 (unsigned long long)m->max, got, want);
		if (got)
			accepted++;
		else
			rejected++;
	}
	print_message("%lu accepted, %lu rejected\n", accepted, rejected);
	/* Both outcomes must have been exercised plenty. */
	assert_true(accepted > 100000);
	assert_true(rejected > 100000);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
