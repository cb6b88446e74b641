/* parse.c - bounded decimal parsing (see parse.h). */
#include "core/parse.h"

bool parse_decimal(const char *s, size_t len, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_decimal32(const char *s, size_t len, uint32_t min, uint32_t max,
		     uint32_t *out)
{
	uint64_t v;

	/* At most ten digits, however many of them are leading zeros. */
	if (len > 10 || !parse_decimal(s, len, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}
