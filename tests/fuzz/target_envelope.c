/* target_envelope.c - fuzz the signed envelope and what it carries: the
 * envelope parser, then (signature aside) the roster and announcement
 * parsers on its body. Accepted input must serialise and parse back to the
 * same thing; refusals must come with a printable one-line reason. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/announce.h"
#include "mesh/envelope.h"
#include "mesh/roster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void reason_ok(const char *r)
{
	check(memchr(r, '\0', MESH_REASON_MAX) != NULL);
	for (; *r; r++)
		check(*r >= 0x20 && *r < 0x7f);
}

static void roster_case(const char *s, size_t n)
{
	char reason[MESH_REASON_MAX] = "", *out;
	struct roster r, back;
	size_t len;

	if (roster_parse(&r, s, n, reason) != 0) {
		reason_ok(reason);
		check(r.devices == NULL && r.n_devices == 0);
		return;
	}
	check(roster_serialize(&r, &out, &len) == 0);
	check(roster_parse(&back, out, len, reason) == 0);
	check(back.version == r.version && back.n_devices == r.n_devices &&
	      !memcmp(&back.range, &r.range, sizeof(r.range)));
	free(out);
	roster_free(&back);
	roster_free(&r);
}

static void announce_case(const char *s, size_t n)
{
	char reason[MESH_REASON_MAX] = "", *out;
	struct announce a, back;
	size_t len;

	if (announce_parse(&a, s, n, reason) != 0) {
		reason_ok(reason);
		return;
	}
	check(announce_serialize(&a, &out, &len) == 0);
	check(announce_parse(&back, out, len, reason) == 0);
	check(back.time_ms == a.time_ms && back.n_endpoints == a.n_endpoints &&
	      back.has_ip == a.has_ip && back.n_dns == a.n_dns);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reason[MESH_REASON_MAX] = "";
	struct envelope e;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (envelope_parse(&e, (const char *)data + 1, size - 1, reason)) {
			reason_ok(reason);
			check(e.body == NULL);
			return 0;
		}
		(void)envelope_verify(&e);
		if (e.type == ENV_ROSTER)
			roster_case((const char *)e.body, e.body_len);
		else
			announce_case((const char *)e.body, e.body_len);
		envelope_free(&e);
		break;
	case 1:
		roster_case((const char *)data + 1, size - 1);
		break;
	default:
		announce_case((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
