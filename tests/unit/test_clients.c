/* test_clients.c - the named clients list: names at their limits, unique
 * names and keys, the sorted key index against a naive scan after random
 * adds and removes, the file format round trip, and every parse error with
 * its line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding.h"
#include "vpn/clients.h"

#define K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="
#define K0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static struct clients *list;

static int setup(void **state)
{
	(void)state;
	list = malloc(sizeof(*list));
	return list ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(list);
	return 0;
}

static void key_of(uint8_t key[32], unsigned n)
{
	memset(key, 0, 32);
	key[0] = (uint8_t)(n >> 8);	/* big-endian: sorted as n */
	key[1] = (uint8_t)n;
	key[31] = 0x55;
}

static void test_names(void **state)
{
	(void)state;
	assert_true(clients_name_valid("phone", 5));
	assert_true(clients_name_valid("a", 1));
	assert_true(clients_name_valid("Anna_s-phone.2", 14));
	assert_true(clients_name_valid("01234567890123456789012345678901", 32));
	assert_false(clients_name_valid("012345678901234567890123456789012", 33));
	assert_false(clients_name_valid("", 0));
	assert_false(clients_name_valid(NULL, 3));
	assert_false(clients_name_valid("a b", 3));
	assert_false(clients_name_valid("a/b", 3));
	assert_false(clients_name_valid("tëst", 5));
	assert_false(clients_name_valid("a\nb", 3));
	assert_false(clients_name_valid("ab\0", 3));
}

static void test_add_find_remove(void **state)
{
	uint8_t k1[32], k2[32], k3[32], zero[32] = { 0 };
	const struct client_entry *e;

	(void)state;
	key_of(k1, 1);
	key_of(k2, 2);
	key_of(k3, 3);
	clients_init(list);
	assert_int_equal(clients_add(list, "phone", k2), 0);
	assert_int_equal(clients_add(list, "laptop", k1), 0);
	assert_int_equal(clients_add(list, "phone", k3), -EEXIST);
	assert_int_equal(clients_add(list, "tablet", k1), -EEXIST);
	assert_int_equal(clients_add(list, "bad name", k3), -EINVAL);
	assert_int_equal(clients_add(list, "zero", zero), -EINVAL);
	assert_int_equal(clients_count(list), 2);
	/* File order is insertion order, not key order. */
	assert_string_equal(clients_at(list, 0)->name, "phone");
	assert_string_equal(clients_at(list, 1)->name, "laptop");
	assert_null(clients_at(list, 2));
	e = clients_find_key(list, k1);
	assert_non_null(e);
	assert_string_equal(e->name, "laptop");
	assert_null(clients_find_key(list, k3));
	assert_memory_equal(clients_find_name(list, "phone")->key, k2, 32);
	assert_null(clients_find_name(list, "phon"));
	assert_null(clients_find_name(list, "phones"));
	assert_true(clients_remove(list, "phone"));
	assert_false(clients_remove(list, "phone"));
	assert_null(clients_find_key(list, k2));
	assert_string_equal(clients_find_key(list, k1)->name, "laptop");
	assert_int_equal(clients_add(list, "phone", k2), 0);
	assert_string_equal(clients_at(list, 1)->name, "phone");
}

static void test_full(void **state)
{
	uint8_t k[32];
	char name[16];

	(void)state;
	clients_init(list);
	for (unsigned i = 0; i < CLIENTS_MAX; i++) {
		key_of(k, CLIENTS_MAX - i);	/* descending: worst for the index */
		snprintf(name, sizeof(name), "c%u", i);
		assert_int_equal(clients_add(list, name, k), 0);
	}
	key_of(k, 0);
	assert_int_equal(clients_add(list, "onemore", k), -ENOSPC);
	assert_int_equal(clients_count(list), CLIENTS_MAX);
	for (unsigned i = 1; i <= CLIENTS_MAX; i += 97) {
		key_of(k, i);
		snprintf(name, sizeof(name), "c%u", CLIENTS_MAX - i);
		assert_string_equal(clients_find_key(list, k)->name, name);
	}
}

/* The index against a linear scan, over random adds and removes. */
static void test_random_against_scan(void **state)
{
	static bool present[300];
	uint8_t k[32];
	char name[16];
	unsigned seed = 12345;

	(void)state;
	clients_init(list);
	memset(present, 0, sizeof(present));
	for (int step = 0; step < 20000; step++) {
		unsigned n;

		seed = seed * 1103515245 + 12345;
		n = (seed >> 8) % 300;
		key_of(k, n);
		snprintf(name, sizeof(name), "n%u", n);
		if ((seed >> 20) & 1) {
			assert_int_equal(clients_add(list, name, k),
					 present[n] ? -EEXIST : 0);
			present[n] = true;
		} else {
			assert_int_equal(clients_remove(list, name), present[n]);
			present[n] = false;
		}
		if (step % 500 == 0) {
			for (unsigned i = 0; i < 300; i++) {
				const struct client_entry *e;

				key_of(k, i);
				e = clients_find_key(list, k);
				assert_int_equal(e != NULL, present[i]);
				if (e) {
					snprintf(name, sizeof(name), "n%u", i);
					assert_string_equal(e->name, name);
				}
			}
		}
	}
}

static void test_round_trip(void **state)
{
	static char buf[CLIENTS_LINE_MAX * 4];
	static struct clients back;
	uint8_t k1[32], k2[32];
	char err[CLIENTS_ERR_MAX];
	size_t len;

	(void)state;
	assert_true(key_from_base64(k1, K1, 44));
	assert_true(key_from_base64(k2, K2, 44));
	clients_init(list);
	assert_int_equal(clients_add(list, "phone", k1), 0);
	assert_int_equal(clients_add(list, "01234567890123456789012345678901", k2), 0);
	assert_int_equal(clients_serialise(list, buf, sizeof(buf), &len), 0);
	assert_non_null(strstr(buf, "\nphone " K1 "\n"));
	assert_non_null(strstr(buf, "\n01234567890123456789012345678901 " K2 "\n"));
	assert_int_equal(buf[0], '#');
	assert_int_equal(clients_parse(&back, buf, len, err), 0);
	assert_int_equal(clients_count(&back), 2);
	assert_string_equal(clients_at(&back, 0)->name, "phone");
	assert_memory_equal(clients_at(&back, 1)->key, k2, 32);
	/* Too small a buffer: -ENOSPC, at every length. */
	for (size_t cap = 0; cap < len; cap++)
		assert_int_equal(clients_serialise(list, buf, cap, &len), -ENOSPC);
	/* Empty list: the header only, which parses to nothing. */
	clients_init(list);
	assert_int_equal(clients_serialise(list, buf, sizeof(buf), &len), 0);
	assert_int_equal(clients_parse(&back, buf, len, err), 0);
	assert_int_equal(clients_count(&back), 0);
}

static void test_parse_forms(void **state)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"   \t\n"
		"  phone\t" K1 "  \r\n"
		"# another\n"
		"laptop " K2;	/* no final newline */
	char err[CLIENTS_ERR_MAX];

	(void)state;
	assert_int_equal(clients_parse(list, text, strlen(text), err), 0);
	assert_int_equal(clients_count(list), 2);
	assert_string_equal(clients_at(list, 1)->name, "laptop");
	assert_int_equal(clients_parse(list, "", 0, err), 0);
	assert_int_equal(clients_count(list), 0);
}

static void bad_n(const char *text, size_t len, const char *want)
{
	char err[CLIENTS_ERR_MAX];
	uint8_t k[32];

	key_of(k, 7);
	clients_init(list);
	assert_int_equal(clients_add(list, "old", k), 0);
	if (clients_parse(list, text, len, err) != -EINVAL)
		fail_msg("accepted: %s", text);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
	assert_int_equal(clients_count(list), 0);	/* left empty */
}

static void bad(const char *text, const char *want)
{
	bad_n(text, strlen(text), want);
}

static void test_parse_errors(void **state)
{
	static char longline[CLIENTS_LINE_MAX + 10];
	static const char nul[] = "phone " K1 "\nx\0y " K2 "\n";

	(void)state;
	bad("phone\n", "line 1: expected \"NAME PUBLIC-KEY\", found 1 field");
	bad("phone " K1 " extra\n", "line 1: expected \"NAME PUBLIC-KEY\", found more than 2 fields");
	bad("# c\nph/one " K1 "\n", "line 2: \"ph/one\" is not a client name");
	bad("phone AAAA\n", "line 1: \"AAAA\" is not a base64 public key");
	bad("phone " K0 "\n", "line 1: the public key is all zeros");
	bad("phone " K1 "\nphone " K2 "\n", "line 2: the name phone is already on line 1");
	bad("phone " K1 "\n\ntablet " K1 "\n", "line 3: this key is already client phone on line 1");
	bad_n(nul, sizeof(nul) - 1, "line 2: a NUL byte");
	memset(longline, 'a', sizeof(longline));
	bad_n(longline, sizeof(longline), "line 1: longer than 160 characters");
}

static void test_parse_capacity(void **state)
{
	size_t cap = (CLIENTS_MAX + 2) * CLIENTS_LINE_MAX, len = 0;
	char *text = malloc(cap), err[CLIENTS_ERR_MAX], b64[KEY_BASE64_LEN + 1];
	uint8_t k[32];

	(void)state;
	assert_non_null(text);
	for (unsigned i = 0; i <= CLIENTS_MAX; i++) {
		key_of(k, i);
		key_to_base64(b64, k);
		len += (size_t)snprintf(text + len, cap - len, "c%u %s\n", i, b64);
	}
	assert_int_equal(clients_parse(list, text, len, err), -EINVAL);
	assert_non_null(strstr(err, "line 4097: more than 4096 clients"));
	/* One fewer line fits exactly. */
	len = (size_t)(strstr(text, "\nc4096 ") - text) + 1;
	assert_int_equal(clients_parse(list, text, len, err), 0);
	assert_int_equal(clients_count(list), CLIENTS_MAX);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_random_against_scan),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_capacity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
