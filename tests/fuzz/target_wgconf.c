/* target_wgconf.c - fuzz the wg(8) config reader: whatever it accepts must
 * be a complete request that the UAPI parser accepts in turn; whatever it
 * rejects must come with a one-line message and leave the output as it
 * was. The first input byte picks setconf/addconf and strip. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/uapi.h"
#include "core/wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 20];
	static const struct uapi_set_ops none;
	struct uapi_buf b = { out, 0, sizeof(out), false };
	struct wgconf_error err;
	size_t lines = 1, i;
	uint8_t flags;
	int ret;

	if (size == 0)
		return 0;
	flags = data[0];
	++data;
	--size;
	for (i = 0; i < size; ++i)
		lines += data[i] == '\n';
	/* A small buffer now and then, to reach the "too big" paths. */
	if (flags & 4)
		b.cap = 64 + (flags >> 3) * 16;
	ret = wgconf_to_uapi((const char *)data, size, flags & 1, flags & 2,
			     &b, &err);
	if (ret != 0) {
		check(ret == -1);
		check(b.len == 0);
		check(err.line <= lines);
		check(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		check(strchr(err.msg, '\n') == NULL);
		check(err.msg[0] != '\0');
		return 0;
	}
	check(!b.truncated);
	check(b.len >= 7 && memcmp(out, "set=1\n", 6) == 0);
	check(out[b.len - 1] == '\n' && out[b.len - 2] == '\n');
	check(strlen(out) == b.len);
	check(uapi_set((const uint8_t *)out + 6, b.len - 7, &none, NULL) == 0);
	return 0;
}
