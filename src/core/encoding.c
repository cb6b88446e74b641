/* encoding.c - keys to and from base64 and hex without secret-dependent
 * branches or table lookups: every character goes through the same masks. */
#include "core/encoding.h"

#include "crypto/ct.h"

/* All-ones when a < b, else zero; a and b below 2^31. */
static inline uint32_t mask_lt(uint32_t a, uint32_t b)
{
	return 0U - ((a - b) >> 31);
}

/* All-ones when lo <= c <= hi, else zero. */
static inline uint32_t mask_range(uint32_t c, uint32_t lo, uint32_t hi)
{
	return ~mask_lt(c, lo) & mask_lt(c, hi + 1);
}

static inline uint32_t mask_eq(uint32_t a, uint32_t b)
{
	return mask_range(a, b, b);
}

/* One of the 64 base64 digits for v in [0, 63]. */
static char b64_char(uint32_t v)
{
	uint32_t c = v + 'A';

	/* Each step moves the ranges at and above a boundary. */
	c += mask_range(v, 26, 63) & (('a' - 26) - 'A');
	c -= mask_range(v, 52, 63) & (('a' - 26) - ('0' - 52));
	c -= mask_range(v, 62, 63) & (('0' - 52 + 62) - '+');
	c += mask_eq(v, 63) & ('/' - ('+' + 1));
	return (char)c;
}

/* The value of a base64 digit; *bad gets all-ones when c is not one. */
static uint32_t b64_value(uint32_t c, uint32_t *bad)
{
	uint32_t v = 0, ok = 0, m;

	m = mask_range(c, 'A', 'Z');
	v |= m & (c - 'A');
	ok |= m;
	m = mask_range(c, 'a', 'z');
	v |= m & (c - 'a' + 26);
	ok |= m;
	m = mask_range(c, '0', '9');
	v |= m & (c - '0' + 52);
	ok |= m;
	m = mask_eq(c, '+');
	v |= m & 62;
	ok |= m;
	m = mask_eq(c, '/');
	v |= m & 63;
	ok |= m;
	*bad |= ~ok;
	return v;
}

static char hex_char(uint32_t n)
{
	return (char)(n + '0' + (mask_range(n, 10, 15) & ('a' - '0' - 10)));
}

/* Accepts both cases: the protocol writes lowercase, other tools may not. */
static uint32_t hex_value(uint32_t c, uint32_t *bad)
{
	uint32_t lower = c | 0x20, v = 0, ok = 0, m;

	m = mask_range(c, '0', '9');
	v |= m & (c - '0');
	ok |= m;
	m = mask_range(lower, 'a', 'f');
	v |= m & (lower - 'a' + 10);
	ok |= m;
	*bad |= ~ok;
	return v;
}

void key_to_base64(char out[KEY_BASE64_LEN + 1], const uint8_t key[KEY_LEN])
{
	size_t i, o = 0;
	uint32_t w;

	for (i = 0; i + 3 <= KEY_LEN; i += 3) {
		w = ((uint32_t)key[i] << 16) | ((uint32_t)key[i + 1] << 8) |
		    key[i + 2];
		out[o++] = b64_char((w >> 18) & 63);
		out[o++] = b64_char((w >> 12) & 63);
		out[o++] = b64_char((w >> 6) & 63);
		out[o++] = b64_char(w & 63);
	}
	/* 32 = 30 + 2: the last two bytes make three digits and one '='. */
	w = ((uint32_t)key[30] << 16) | ((uint32_t)key[31] << 8);
	out[o++] = b64_char((w >> 18) & 63);
	out[o++] = b64_char((w >> 12) & 63);
	out[o++] = b64_char((w >> 6) & 63);
	out[o++] = '=';
	out[o] = '\0';
	crypto_wipe(&w, sizeof(w));
}

bool key_from_base64(uint8_t key[KEY_LEN], const char *s, size_t len)
{
	uint32_t bad = 0, w;
	size_t i, o = 0;

	if (len != KEY_BASE64_LEN)
		return false;
	for (i = 0; i + 4 <= 40; i += 4) {
		w = b64_value((uint8_t)s[i], &bad) << 18;
		w |= b64_value((uint8_t)s[i + 1], &bad) << 12;
		w |= b64_value((uint8_t)s[i + 2], &bad) << 6;
		w |= b64_value((uint8_t)s[i + 3], &bad);
		key[o++] = (uint8_t)(w >> 16);
		key[o++] = (uint8_t)(w >> 8);
		key[o++] = (uint8_t)w;
	}
	w = b64_value((uint8_t)s[40], &bad) << 18;
	w |= b64_value((uint8_t)s[41], &bad) << 12;
	w |= b64_value((uint8_t)s[42], &bad) << 6;
	/* The third digit carries 6 bits of which only 4 are key: the two
	 * left over must be zero, so every key has one spelling. */
	bad |= mask_lt(0, (w >> 6) & 3);
	bad |= ~mask_eq((uint8_t)s[43], '=');
	key[o++] = (uint8_t)(w >> 16);
	key[o++] = (uint8_t)(w >> 8);
	crypto_wipe(&w, sizeof(w));
	if (bad) {
		crypto_wipe(key, KEY_LEN);
		return false;
	}
	return true;
}

void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN])
{
	size_t i;

	for (i = 0; i < KEY_LEN; ++i) {
		out[i * 2] = hex_char(key[i] >> 4);
		out[i * 2 + 1] = hex_char(key[i] & 15);
	}
	out[KEY_HEX_LEN] = '\0';
}

bool key_from_hex(uint8_t key[KEY_LEN], const char *s, size_t len)
{
	uint32_t bad = 0;
	size_t i;

	if (len != KEY_HEX_LEN)
		return false;
	for (i = 0; i < KEY_LEN; ++i)
		key[i] = (uint8_t)((hex_value((uint8_t)s[i * 2], &bad) << 4) |
				   hex_value((uint8_t)s[i * 2 + 1], &bad));
	if (bad) {
		crypto_wipe(key, KEY_LEN);
		return false;
	}
	return true;
}
