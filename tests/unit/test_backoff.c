/* test_backoff.c - reconnect delays: doubling up to the cap, jitter within
 * [d/2, d], spread across clients, reset after a success. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vpn/backoff.h"

#define S 1000000000ULL

static void test_doubles_to_cap(void **state)
{
	struct backoff b;
	const wg_time_t want[] = { 1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 30 * S,
				   30 * S, 30 * S };

	(void)state;
	backoff_init(&b, 1 * S, 30 * S, 42);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		wg_time_t d = backoff_next(&b);

		assert_true(d >= want[i] - want[i] / 2);
		assert_true(d <= want[i]);
	}
	backoff_reset(&b);
	assert_true(backoff_next(&b) <= 1 * S);
}

static void test_jitter_spreads(void **state)
{
	wg_time_t first[64];
	size_t distinct = 0;

	(void)state;
	for (uint64_t seed = 0; seed < 64; seed++) {
		struct backoff b;

		backoff_init(&b, 1 * S, 30 * S, seed * 7919);
		for (int i = 0; i < 5; i++)
			first[seed] = backoff_next(&b);	/* 5th: d = 16 s */
		assert_true(first[seed] >= 8 * S && first[seed] <= 16 * S);
	}
	for (size_t i = 0; i < 64; i++) {
		size_t j;

		for (j = 0; j < i && first[j] != first[i]; j++)
			;
		distinct += j == i;
	}
	/* 64 clients that failed together retry at (nearly) 64 times. */
	assert_true(distinct >= 60);
}

static void test_no_overflow(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 1, UINT64_MAX / 3, 1);
	for (int i = 0; i < 200; i++)
		assert_true(backoff_next(&b) <= UINT64_MAX / 3);
	backoff_init(&b, 0, 0, 1);	/* nonsense in: still a delay out */
	assert_true(backoff_next(&b) >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_cap),
		cmocka_unit_test(test_jitter_spreads),
		cmocka_unit_test(test_no_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
