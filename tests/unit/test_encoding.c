/* test_encoding.c - base64 and hex keys: known answers, a naive table-driven
 * reference on random keys, and every way an encoding can be wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The obvious implementation, with the table lookups the real one avoids. */
static void naive_base64(char out[45], const uint8_t key[32])
{
	uint8_t in[33] = { 0 };
	size_t i, o = 0;
	uint32_t w;

	memcpy(in, key, 32);
	for (i = 0; i < 33; i += 3) {
		w = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) |
		    in[i + 2];
		out[o++] = b64_alphabet[(w >> 18) & 63];
		out[o++] = b64_alphabet[(w >> 12) & 63];
		out[o++] = b64_alphabet[(w >> 6) & 63];
		out[o++] = b64_alphabet[w & 63];
	}
	out[43] = '=';
	out[44] = '\0';
}

static void fill_random(uint8_t *p, size_t len, uint32_t *seed)
{
	size_t i;

	for (i = 0; i < len; ++i) {
		*seed = *seed * 1103515245U + 12345U;
		p[i] = (uint8_t)(*seed >> 16);
	}
}

static void test_known_answers(void **state)
{
	uint8_t key[32], back[32];
	char b64[45], hex[65];
	size_t i;

	(void)state;
	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)i;
	key_to_base64(b64, key);
	assert_string_equal(b64,
			    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	key_to_hex(hex, key);
	assert_string_equal(hex, "000102030405060708090a0b0c0d0e0f"
				 "101112131415161718191a1b1c1d1e1f");
	for (i = 0; i < 32; ++i)
		key[i] = (uint8_t)(255 - i);
	key_to_base64(b64, key);
	assert_string_equal(b64,
			    "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=");
	assert_true(key_from_base64(back, b64, strlen(b64)));
	assert_memory_equal(back, key, 32);
	memset(key, 0, sizeof(key));
	key_to_base64(b64, key);
	assert_string_equal(b64,
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
}

static void test_round_trip_random(void **state)
{
	uint8_t key[32], back[32];
	char b64[45], ref[45], hex[65];
	uint32_t seed = 1;
	int n;

	(void)state;
	for (n = 0; n < 20000; ++n) {
		fill_random(key, sizeof(key), &seed);
		key_to_base64(b64, key);
		naive_base64(ref, key);
		assert_string_equal(b64, ref);
		assert_int_equal(strlen(b64), KEY_BASE64_LEN);
		assert_true(key_from_base64(back, b64, KEY_BASE64_LEN));
		assert_memory_equal(back, key, 32);
		key_to_hex(hex, key);
		assert_int_equal(strlen(hex), KEY_HEX_LEN);
		assert_true(key_from_hex(back, hex, KEY_HEX_LEN));
		assert_memory_equal(back, key, 32);
	}
}

static void test_base64_every_byte(void **state)
{
	char b64[45];
	uint8_t key[32];
	int c;
	size_t pos;

	(void)state;
	/* Every byte value in every data position (the last data digit
	 * apart: it has its own rule below) is accepted iff it is a digit. */
	for (pos = 0; pos < 42; ++pos) {
		for (c = 0; c < 256; ++c) {
			memset(b64, 'A', 43);
			b64[43] = '=';
			b64[44] = '\0';
			b64[pos] = (char)c;
			assert_int_equal(key_from_base64(key, b64, 44),
					 c != 0 && strchr(b64_alphabet, c) != NULL);
		}
	}
}

static void test_base64_errors(void **state)
{
	static const char good[] =
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	uint8_t key[32];
	char s[64];
	size_t i;

	(void)state;
	assert_true(key_from_base64(key, good, 44));
	/* wrong lengths */
	assert_false(key_from_base64(key, good, 0));
	assert_false(key_from_base64(key, good, 43));
	memcpy(s, good, 44);
	s[44] = 'A';
	assert_false(key_from_base64(key, s, 45));
	/* padding missing or replaced */
	memcpy(s, good, 44);
	s[43] = 'A';
	assert_false(key_from_base64(key, s, 44));
	s[43] = '\0';
	assert_false(key_from_base64(key, s, 44));
	/* URL-safe alphabet, whitespace, a second '=' */
	memcpy(s, good, 44);
	s[5] = '-';
	assert_false(key_from_base64(key, s, 44));
	s[5] = '_';
	assert_false(key_from_base64(key, s, 44));
	s[5] = ' ';
	assert_false(key_from_base64(key, s, 44));
	memcpy(s, good, 44);
	s[42] = '=';
	assert_false(key_from_base64(key, s, 44));
	/* The last data digit holds 4 key bits and 2 that must be zero:
	 * 'h' (33 = 0b100001) is "8" with a low bit set. */
	memcpy(s, good, 44);
	assert_int_equal(s[42], '8');
	for (i = 0; i < 64; ++i) {
		s[42] = b64_alphabet[i];
		assert_int_equal(key_from_base64(key, s, 44), (i & 3) == 0);
	}
	/* a failed decode leaves no partial key behind */
	memcpy(s, good, 44);
	s[43] = 'x';
	memset(key, 0xaa, sizeof(key));
	assert_false(key_from_base64(key, s, 44));
	for (i = 0; i < 32; ++i)
		assert_int_equal(key[i], 0);
}

static void test_hex_errors(void **state)
{
	static const char good[] = "000102030405060708090a0b0c0d0e0f"
				   "101112131415161718191a1b1c1d1e1f";
	uint8_t key[32], ref[32];
	char s[80];
	size_t i;
	int c;

	(void)state;
	assert_true(key_from_hex(ref, good, 64));
	assert_false(key_from_hex(key, good, 0));
	assert_false(key_from_hex(key, good, 63));
	memcpy(s, good, 64);
	s[64] = '0';
	assert_false(key_from_hex(key, s, 65));
	/* Uppercase is read (wireguard-go reads it too); output is lowercase. */
	memcpy(s, good, 64);
	for (i = 0; i < 64; ++i)
		if (s[i] >= 'a' && s[i] <= 'f')
			s[i] = (char)(s[i] - 'a' + 'A');
	assert_true(key_from_hex(key, s, 64));
	assert_memory_equal(key, ref, 32);
	/* Every byte value in every position is accepted iff a hex digit. */
	for (i = 0; i < 64; ++i) {
		for (c = 0; c < 256; ++c) {
			memcpy(s, good, 64);
			s[i] = (char)c;
			assert_int_equal(key_from_hex(key, s, 64),
					 (c >= '0' && c <= '9') ||
						 (c >= 'a' && c <= 'f') ||
						 (c >= 'A' && c <= 'F'));
		}
	}
	memcpy(s, good, 64);
	s[10] = 'g';
	memset(key, 0xaa, sizeof(key));
	assert_false(key_from_hex(key, s, 64));
	for (i = 0; i < 32; ++i)
		assert_int_equal(key[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_base64_every_byte),
		cmocka_unit_test(test_base64_errors),
		cmocka_unit_test(test_hex_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
