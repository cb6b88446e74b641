/* test_pathmsg.c - sealed path probes and signed relay registrations: round
 * trips, and every change an attacker could make refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/relay.h"
#include "mesh/pathmsg.h"

struct keys {
	uint8_t a_pub[MESH_KEY_LEN], a_priv[MESH_KEY_LEN];
	uint8_t b_pub[MESH_KEY_LEN], b_priv[MESH_KEY_LEN];
	uint8_t c_pub[MESH_KEY_LEN], c_priv[MESH_KEY_LEN];
	uint8_t ab[PATH_SHARED_LEN], ba[PATH_SHARED_LEN], ac[PATH_SHARED_LEN];
};

static void make_keys(struct keys *k)
{
	crypto_box_keypair(k->a_pub, k->a_priv);
	crypto_box_keypair(k->b_pub, k->b_priv);
	crypto_box_keypair(k->c_pub, k->c_priv);
	assert_int_equal(path_shared(k->ab, k->a_priv, k->b_pub), 0);
	assert_int_equal(path_shared(k->ba, k->b_priv, k->a_pub), 0);
	assert_int_equal(path_shared(k->ac, k->a_priv, k->c_pub), 0);
	assert_memory_equal(k->ab, k->ba, PATH_SHARED_LEN);
}

static struct path_probe probe(uint8_t sub, const uint8_t sender[MESH_KEY_LEN])
{
	struct path_probe pr;

	memset(&pr, 0, sizeof(pr));
	pr.sub = sub;
	memcpy(pr.sender, sender, MESH_KEY_LEN);
	randombytes_buf(pr.txid, sizeof(pr.txid));
	if (sub == WEFT_SUB_PONG) {
		pr.seen.family = IP_V6;
		pr.seen.port = 41641;
		memset(pr.seen.addr, 0x20, 16);
		pr.seen.addr[15] = 7;
	}
	return pr;
}

static const uint8_t subs[] = { WEFT_SUB_PING, WEFT_SUB_PONG, WEFT_SUB_PUNCH };

static void test_probe_round_trip(void **state)
{
	struct keys k;
	uint8_t msg[PATH_PROBE_LEN], sender[MESH_KEY_LEN];
	struct path_probe pr, got;

	(void)state;
	make_keys(&k);
	for (size_t i = 0; i < sizeof(subs); i++) {
		pr = probe(subs[i], k.a_pub);
		path_probe_seal(msg, &pr, k.ab);
		assert_int_equal(weft_subtype(msg, sizeof(msg)), subs[i]);
		assert_int_equal(path_probe_sender(msg, sizeof(msg), sender), 0);
		assert_memory_equal(sender, k.a_pub, MESH_KEY_LEN);
		/* B opens it with its side of the shared key. */
		memset(&got, 0xee, sizeof(got));
		assert_int_equal(path_probe_open(&got, msg, sizeof(msg), k.ba), 0);
		assert_int_equal(got.sub, subs[i]);
		assert_memory_equal(got.sender, k.a_pub, MESH_KEY_LEN);
		assert_memory_equal(got.txid, pr.txid, PATH_TXID_LEN);
		if (subs[i] == WEFT_SUB_PONG)
			assert_true(endpoint_equal(&got.seen, &pr.seen));
		else
			assert_int_equal(got.seen.family, 0);
		/* Wrong lengths. */
		assert_int_equal(path_probe_open(&got, msg, sizeof(msg) - 1, k.ba),
				 -EINVAL);
		assert_int_equal(path_probe_sender(msg, sizeof(msg) - 1, sender),
				 -EINVAL);
	}
	/* An IPv4 address seen. */
	pr = probe(WEFT_SUB_PONG, k.a_pub);
	memset(&pr.seen, 0, sizeof(pr.seen));
	pr.seen.family = IP_V4;
	pr.seen.port = 9;
	memcpy(pr.seen.addr, "\xc0\x00\x02\x01", 4);
	path_probe_seal(msg, &pr, k.ab);
	assert_int_equal(path_probe_open(&got, msg, sizeof(msg), k.ba), 0);
	assert_true(endpoint_equal(&got.seen, &pr.seen));
}

static void test_probe_tampering(void **state)
{
	struct keys k;
	uint8_t msg[PATH_PROBE_LEN], bad[PATH_PROBE_LEN];
	struct path_probe pr, got;

	(void)state;
	make_keys(&k);
	for (size_t s = 0; s < sizeof(subs); s++) {
		pr = probe(subs[s], k.a_pub);
		path_probe_seal(msg, &pr, k.ab);
		/* Any bit of any byte, header and sender included. */
		for (size_t i = 0; i < sizeof(msg); i++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(bad, msg, sizeof(bad));
				bad[i] ^= (uint8_t)(1u << bit);
				assert_int_equal(path_probe_open(&got, bad, sizeof(bad),
								 k.ba), -EINVAL);
			}
		}
		/* A key shared with someone else. */
		assert_int_equal(path_probe_open(&got, msg, sizeof(msg), k.ac),
				 -EINVAL);
		/* Another subtype in the header. */
		for (size_t t = 0; t < sizeof(subs); t++) {
			if (t == s)
				continue;
			memcpy(bad, msg, sizeof(bad));
			bad[1] = subs[t];
			assert_int_equal(path_probe_open(&got, bad, sizeof(bad), k.ba),
					 -EINVAL);
		}
		/* Not a probe at all. */
		memcpy(bad, msg, sizeof(bad));
		bad[1] = WEFT_SUB_REGISTER;
		assert_int_equal(path_probe_open(&got, bad, sizeof(bad), k.ba), -EINVAL);
		assert_int_equal(path_probe_sender(bad, sizeof(bad), got.sender), -EINVAL);
	}
}

/* The key is the same both ways: a probe A sent must not open as one from
 * B when someone sends it back to A with B's key as the sender (a PONG A
 * sent would then answer A's own PING). */
static void test_probe_reflection(void **state)
{
	struct keys k;
	uint8_t msg[PATH_PROBE_LEN];
	struct path_probe pr, got;

	(void)state;
	make_keys(&k);
	for (size_t s = 0; s < sizeof(subs); s++) {
		pr = probe(subs[s], k.a_pub);
		path_probe_seal(msg, &pr, k.ab);
		memcpy(msg + 4, k.b_pub, MESH_KEY_LEN);
		assert_int_equal(path_probe_open(&got, msg, sizeof(msg), k.ab),
				 -EINVAL);
	}
}

struct ident {
	uint8_t pk[MESH_KEY_LEN], sk[MESH_SECRET_LEN];
};

static struct path_register reg(const struct ident *id)
{
	struct path_register r;

	memset(&r, 0, sizeof(r));
	strcpy(r.network, "acme-corp");
	memcpy(r.device, id->pk, MESH_KEY_LEN);
	randombytes_buf(r.wg, sizeof(r.wg));
	r.time_ms = 1700000000123ULL;
	return r;
}

enum {
	OFF_NETWORK = 4,
	OFF_DEVICE = OFF_NETWORK + MESH_NAME_MAX,
	OFF_WG = OFF_DEVICE + MESH_KEY_LEN,
	OFF_TIME = OFF_WG + MESH_KEY_LEN,
	OFF_SIG = OFF_TIME + 8,
};

static void test_register(void **state)
{
	struct ident id, other;
	struct path_register r, got;
	uint8_t msg[PATH_REGISTER_LEN], bad[PATH_REGISTER_LEN];

	(void)state;
	assert_int_equal(OFF_SIG + MESH_SIG_LEN, PATH_REGISTER_LEN);
	crypto_sign_keypair(id.pk, id.sk);
	crypto_sign_keypair(other.pk, other.sk);
	r = reg(&id);
	path_register_seal(msg, &r, id.sk);
	assert_int_equal(weft_subtype(msg, sizeof(msg)), WEFT_SUB_REGISTER);
	memset(&got, 0xee, sizeof(got));
	assert_int_equal(path_register_open(&got, msg, sizeof(msg)), 0);
	assert_string_equal(got.network, "acme-corp");
	assert_memory_equal(got.device, id.pk, MESH_KEY_LEN);
	assert_memory_equal(got.wg, r.wg, MESH_KEY_LEN);
	assert_int_equal(got.time_ms, r.time_ms);
	assert_int_equal(path_register_open(&got, msg, sizeof(msg) - 1), -EINVAL);

	/* Every byte after the header is signed; the header is checked. */
	for (size_t i = 0; i < sizeof(msg); i++) {
		memcpy(bad, msg, sizeof(bad));
		bad[i] ^= 0x01;
		assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
	}
	/* Named fields, each changed whole. */
	memcpy(bad, msg, sizeof(bad));
	memcpy(bad + OFF_NETWORK, "acme-cork", 9);
	assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
	memcpy(bad, msg, sizeof(bad));
	bad[OFF_TIME + 7]++;
	assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
	memcpy(bad, msg, sizeof(bad));
	memset(bad + OFF_WG, 0x42, MESH_KEY_LEN);
	assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
	/* Someone else's device key with this signature. */
	memcpy(bad, msg, sizeof(bad));
	memcpy(bad + OFF_DEVICE, other.pk, MESH_KEY_LEN);
	assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
	/* Signed by another key than the device's. */
	path_register_seal(bad, &r, other.sk);
	assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);

	/* Names the relay could not print or compare: refused although
	 * signed. */
	static const char *const names[] = { "acme corp", "acme\tcorp", "acme\x7f",
					      "caf\xc3\xa9", "" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = reg(&id);
		strcpy(r.network, names[i]);
		path_register_seal(bad, &r, id.sk);
		assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
	}
	/* Garbage after the name's NUL, signed. */
	r = reg(&id);
	path_register_seal(bad, &r, id.sk);
	bad[OFF_NETWORK + 20] = 'x';
	{
		uint8_t m[64 + PATH_REGISTER_LEN];
		static const char ctx[] = "weft relay register v1\n";
		size_t n = sizeof(ctx) - 1 + (OFF_SIG - OFF_NETWORK);

		memcpy(m, ctx, sizeof(ctx) - 1);
		memcpy(m + sizeof(ctx) - 1, bad + OFF_NETWORK, OFF_SIG - OFF_NETWORK);
		crypto_sign_detached(bad + OFF_SIG, NULL, m, n, id.sk);
		assert_int_equal(path_register_open(&got, bad, sizeof(bad)), -EINVAL);
		/* The same signing without the garbage is accepted: the
		 * refusal above is the padding's. */
		bad[OFF_NETWORK + 20] = 0;
		memcpy(m + sizeof(ctx) - 1, bad + OFF_NETWORK, OFF_SIG - OFF_NETWORK);
		crypto_sign_detached(bad + OFF_SIG, NULL, m, n, id.sk);
		assert_int_equal(path_register_open(&got, bad, sizeof(bad)), 0);
	}
	/* The longest name fits; a longer one is cut at MESH_NAME_MAX - 1. */
	r = reg(&id);
	memset(r.network, 'n', MESH_NAME_MAX - 1);
	r.network[MESH_NAME_MAX - 1] = 0;
	path_register_seal(msg, &r, id.sk);
	assert_int_equal(path_register_open(&got, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(got.network), MESH_NAME_MAX - 1);
}

static void test_registered(void **state)
{
	uint8_t msg[PATH_REGISTERED_LEN];
	struct wg_endpoint seen = { .family = IP_V4, .port = 51820 }, got;
	uint64_t t;

	(void)state;
	memcpy(seen.addr, "\xcb\x00\x71\x05", 4);
	path_registered_build(msg, 0x0102030405060708ULL, &seen);
	assert_int_equal(weft_subtype(msg, sizeof(msg)), WEFT_SUB_REGISTERED);
	assert_int_equal(path_registered_parse(msg, sizeof(msg), &t, &got), 0);
	assert_int_equal(t, 0x0102030405060708ULL);
	assert_true(endpoint_equal(&got, &seen));

	seen.family = IP_V6;
	memset(seen.addr, 0xfd, 16);
	path_registered_build(msg, 1, &seen);
	assert_int_equal(path_registered_parse(msg, sizeof(msg), &t, &got), 0);
	assert_true(endpoint_equal(&got, &seen));
	/* No address seen. */
	path_registered_build(msg, 2, NULL);
	assert_int_equal(path_registered_parse(msg, sizeof(msg), &t, &got), 0);
	assert_int_equal(t, 2);
	assert_int_equal(got.family, 0);

	/* Wrong length, subtype, family. */
	assert_int_equal(path_registered_parse(msg, sizeof(msg) - 1, &t, &got),
			 -EINVAL);
	msg[1] = WEFT_SUB_REGISTER;
	assert_int_equal(path_registered_parse(msg, sizeof(msg), &t, &got), -EINVAL);
	path_registered_build(msg, 2, &seen);
	msg[12] = 5;
	assert_int_equal(path_registered_parse(msg, sizeof(msg), &t, &got), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_round_trip),
		cmocka_unit_test(test_probe_tampering),
		cmocka_unit_test(test_probe_reflection),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_registered),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
