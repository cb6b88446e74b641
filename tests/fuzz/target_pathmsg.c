/* target_pathmsg.c - fuzz the path messages a node and the relay take from
 * anyone: probes (opened with a fixed key), relay registrations and their
 * answers. The first byte picks the parser. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/relay.h"
#include "mesh/pathmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* The key of the seeds in corpus/pathmsg: private keys 0x01.. and 0x02..
 * (the seeds' sender is the first). */
static uint8_t shared[PATH_SHARED_LEN];

static void init(void)
{
	static bool done;
	uint8_t a[MESH_KEY_LEN], b[MESH_KEY_LEN], b_pub[MESH_KEY_LEN];

	if (done)
		return;
	check(sodium_init() >= 0);
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	check(crypto_scalarmult_base(b_pub, b) == 0);
	check(path_shared(shared, a, b_pub) == 0);
	done = true;
}

static void probe_case(const uint8_t *msg, size_t len)
{
	uint8_t sender[MESH_KEY_LEN];
	struct path_probe pr;

	if (path_probe_open(&pr, msg, len, shared) != 0)
		return;
	check(len == PATH_PROBE_LEN);
	check(path_probe_sender(msg, len, sender) == 0);
	check(!memcmp(sender, pr.sender, MESH_KEY_LEN));
	check(pr.sub == weft_subtype(msg, len));
	check(pr.seen.family == 0 || pr.seen.family == IP_V4 || pr.seen.family == IP_V6);
}

static void register_case(const uint8_t *msg, size_t len)
{
	struct path_register r;
	size_t n;

	if (path_register_open(&r, msg, len) != 0)
		return;
	n = strnlen(r.network, MESH_NAME_MAX);
	check(n > 0 && n < MESH_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		check(r.network[i] > 0x20 && r.network[i] < 0x7f);
}

static void registered_case(const uint8_t *msg, size_t len)
{
	uint8_t out[PATH_REGISTERED_LEN];
	struct wg_endpoint seen, back;
	uint64_t t, t2;

	if (path_registered_parse(msg, len, &t, &seen) != 0)
		return;
	path_registered_build(out, t, &seen);
	check(path_registered_parse(out, sizeof(out), &t2, &back) == 0);
	check(t == t2 && endpoint_equal(&seen, &back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sender[MESH_KEY_LEN];

	init();
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		(void)path_probe_sender(data + 1, size - 1, sender);
		probe_case(data + 1, size - 1);
		break;
	case 1:
		register_case(data + 1, size - 1);
		break;
	default:
		registered_case(data + 1, size - 1);
		break;
	}
	return 0;
}
