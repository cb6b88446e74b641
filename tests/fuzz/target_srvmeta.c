/* target_srvmeta.c - fuzz the server.conf parser (vpn/srvstate.h): what it
 * refuses comes with one line and a zeroed result; what it accepts formats
 * again, and that text parses back to the same struct and formats to the
 * same text. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/srvstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[SRVMETA_MAX], again[SRVMETA_MAX];
	struct srvmeta m, back;
	char err[SRVSTATE_ERR_MAX];
	int n, n2;

	if (srvmeta_parse((const char *)data, size, &m, err) != 0) {
		check(err[0] != '\0');
		check(memchr(err, '\0', sizeof(err)) != NULL);
		check(strchr(err, '\n') == NULL);
		check(all_zero(&m, sizeof(m)));
		return 0;
	}
	check(m.n_dns <= SRVMETA_MAX_DNS);
	check(m.pool4.family || m.pool6.family);
	n = srvmeta_format(&m, text, sizeof(text));
	check(n > 0 && (size_t)n == strlen(text));
	check(srvmeta_parse(text, (size_t)n, &back, err) == 0);
	check(memcmp(&m, &back, sizeof(m)) == 0);
	n2 = srvmeta_format(&back, again, sizeof(again));
	check(n2 == n && memcmp(text, again, (size_t)n) == 0);
	return 0;
}
