/* target_hubauth.c - fuzz the hub's Authorization header and invites:
 * parse, and for accepted ones check that formatting (invite) round-trips
 * and that a check never crashes; refusals carry a printable reason. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/hubauth.h"
#include "mesh/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[4096], reason[MESH_REASON_MAX] = "", *line;
	struct hubauth a;
	struct invite iv, back;

	if (size < 1 || size >= sizeof(text))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		if (hubauth_parse(&a, text, reason) == 0)
			(void)hubauth_check(&a, "GET", "/v1/health", "", 0, a.time,
					    reason);
		check(memchr(reason, '\0', sizeof(reason)) != NULL);
		return 0;
	}
	if (invite_parse(&iv, text, reason) != 0)
		return 0;
	check(invite_format(&iv, &line) == 0);
	check(invite_parse(&back, line, reason) == 0);
	check(!memcmp(&iv, &back, sizeof(iv)));
	free(line);
	return 0;
}
