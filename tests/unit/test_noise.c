/* test_noise.c - the handshake end to end with fixed keys, deterministic
 * randomness and a counter clock: known answers, state after every step,
 * and rejection of every tampered, replayed or flooding message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/noise.h"
#include "crypto/aead.h"
#include "crypto/ct.h"

enum {
	INITIATOR_INDEX = 0x11223344,
	RESPONDER_INDEX = 0x55667788,
	FLOOD_INTERVAL = NSEC_PER_SEC / INITIATIONS_PER_SECOND,
};

/* Fake randomness: a running byte counter. Fake TAI64N: a clock whose
 * seconds advance by one on every reading. */
struct fake {
	uint8_t next;
	uint64_t sec;
};

static void fake_random(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = f->next++;
}

static void fake_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct fake *f = ctx;
	uint64_t label = (1ULL << 62) + ++f->sec;
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	memset(out + 8, 0, 4);	/* nanoseconds */
}

/* One party: identity, its handshake with the other party, its fakes. */
struct side {
	struct noise_local local;
	struct noise_handshake hs;
	struct fake fake;
	struct noise_ops ops;
};

/* The responder's peer table, for the lookup callback. */
struct table {
	struct noise_handshake *hs[4];
	size_t n;
	unsigned calls;
};

static struct noise_handshake *lookup(void *ctx,
	const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN])
{
	struct table *t = ctx;
	size_t i;

	t->calls++;
	for (i = 0; i < t->n; i++)
		if (crypto_equal(t->hs[i]->remote_static, remote_static,
				 NOISE_PUBLIC_KEY_LEN))
			return t->hs[i];
	return NULL;
}

/* A broken lookup: the first peer, whoever asks. */
static struct noise_handshake *lookup_any(void *ctx,
	const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN])
{
	struct table *t = ctx;

	(void)remote_static;
	return t->hs[0];
}

static void seq(uint8_t *p, size_t n, uint8_t start)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		assert_true(n < max);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void side_init(struct side *s, uint8_t key_start, uint8_t random_start)
{
	uint8_t priv[NOISE_PUBLIC_KEY_LEN];

	memset(s, 0, sizeof(*s));
	seq(priv, sizeof(priv), key_start);
	assert_true(noise_local_set_private(&s->local, priv));
	s->fake.next = random_start;
	s->fake.sec = 1600000000;
	s->ops = (struct noise_ops){ .ctx = &s->fake, .random = fake_random,
				     .tai64n = fake_tai64n };
}

/* The initiator's key is 01..20, the responder's 41..60: the keys of the
 * known-answer vectors below. */
static void pair_init(struct side *i, struct side *r, struct table *t,
		      const uint8_t *psk_i, const uint8_t *psk_r)
{
	side_init(i, 0x01, 0x10);
	side_init(r, 0x41, 0x90);
	noise_handshake_init(&i->hs, &i->local, r->local.static_public, psk_i);
	noise_handshake_init(&r->hs, &r->local, i->local.static_public, psk_r);
	memset(t, 0, sizeof(*t));
	t->hs[t->n++] = &r->hs;
}

/* Field by field: a committed struct assignment need not copy padding. */
static void assert_hs_equal(const struct noise_handshake *a,
			    const struct noise_handshake *b)
{
	assert_int_equal(a->state, b->state);
	assert_memory_equal(a->remote_static, b->remote_static, 32);
	assert_memory_equal(a->preshared_key, b->preshared_key, 32);
	assert_memory_equal(a->precomputed_static_static,
			    b->precomputed_static_static, 32);
	assert_memory_equal(a->ephemeral_private, b->ephemeral_private, 32);
	assert_memory_equal(a->remote_ephemeral, b->remote_ephemeral, 32);
	assert_memory_equal(a->hash, b->hash, 32);
	assert_memory_equal(a->chaining_key, b->chaining_key, 32);
	assert_int_equal(a->local_index, b->local_index);
	assert_int_equal(a->remote_index, b->remote_index);
	assert_memory_equal(a->latest_timestamp, b->latest_timestamp,
			    NOISE_TIMESTAMP_LEN);
	assert_int_equal(a->last_initiation_consumption,
			 b->last_initiation_consumption);
	assert_int_equal(a->have_consumed_initiation,
			 b->have_consumed_initiation);
}

/* The part of a message Noise covers: everything before the macs. */
#define noise_part(type) offsetof(type, macs)

/* ---- known answers ---------------------------------------------------- */

/* Produced by an independent Python model of the whitepaper's §5.4
 * (hashlib.blake2s, hmac, and the X25519 / ChaCha20Poly1305 classes of the
 * `cryptography` package), run with this file's keys, fakes (initiator
 * random bytes from 0x10, responder's from 0x90, timestamp 2^62 +
 * 1600000001 s, 0 ns) and indices. Macs are left zero. The psk variant
 * uses psk = a0..bf. send/recv are the initiator's transport keys. */
static const char kat_nopsk_initiation[] =
	"0100000044332211d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a95"
	"77a804cb9367ff66f10fae52364b7c0ccaef6d9cff2ad7e5b6ba37a513e9be33"
	"494c92761805ba8a9183a23326db3c083cdc9e3658d4270dabfc850c22aaa2d3"
	"bae093d36509884401ce1fd26def6a632579ec1c000000000000000000000000"
	"0000000000000000000000000000000000000000";
static const char kat_nopsk_response[] =
	"0200000088776655443322119fd7ad6dcff4298dd3f96d5b1b2af910a0535b14"
	"88d7f8fabb349a982880b615b484e74ea4eec8b9f7c6f0653c21b07600000000"
	"00000000000000000000000000000000000000000000000000000000";
static const char kat_nopsk_send[] =
	"c07927d7edc6eaeb85c11f63f4f066e5ff9fdbfe77b8bac3bd291a5f06ae3849";
static const char kat_nopsk_recv[] =
	"ca1acdba89c0569279c2fff3fcf48986cadbff2eea8f79d88b6d365ecebc4e1d";
static const char kat_psk_response[] =
	"0200000088776655443322119fd7ad6dcff4298dd3f96d5b1b2af910a0535b14"
	"88d7f8fabb349a982880b615761e21c12ee6967586f9e7b3b33bd20c00000000"
	"00000000000000000000000000000000000000000000000000000000";
static const char kat_psk_send[] =
	"61acd43e291cf909c0639b1c8e9ebe4f76ddad6c2ec08b0e217963157eac8783";
static const char kat_psk_recv[] =
	"5ce09530a7f0e8dfa0ea8f7a2c09eb34b730ab10083c0a2ed0aae3e8378d1eef";

static void run_known_answer(const uint8_t *psk, const char *want_init,
			     const char *want_resp, const char *want_send,
			     const char *want_recv)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_keypair ki, kr;
	uint8_t want[sizeof(init)], key[32], zero[sizeof(ki)];
	uint8_t msg[64], box[64 + AEAD_TAG_LEN];
	const wg_time_t now = 5 * NSEC_PER_SEC;

	pair_init(&i, &r, &t, psk, psk);
	memset(zero, 0, sizeof(zero));

	/* -> e, es, s, ss, {t} */
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	assert_int_equal(unhex(want, sizeof(want), want_init), sizeof(init));
	assert_memory_equal(&init, want, sizeof(init));
	assert_int_equal(i.hs.state, HANDSHAKE_CREATED_INITIATION);
	assert_int_equal(i.hs.local_index, INITIATOR_INDEX);
	assert_false(crypto_is_zero(i.hs.ephemeral_private, 32));
	assert_false(crypto_is_zero(i.hs.hash, 32));
	assert_false(crypto_is_zero(i.hs.chaining_key, 32));

	assert_ptr_equal(noise_handshake_consume_initiation(&init, &r.local,
							    lookup, &t, now),
			 &r.hs);
	assert_int_equal(r.hs.state, HANDSHAKE_CONSUMED_INITIATION);
	assert_int_equal(r.hs.remote_index, INITIATOR_INDEX);
	assert_memory_equal(r.hs.remote_ephemeral, init.unencrypted_ephemeral, 32);
	assert_memory_equal(r.hs.hash, i.hs.hash, 32);
	assert_memory_equal(r.hs.chaining_key, i.hs.chaining_key, 32);
	assert_true(r.hs.have_consumed_initiation);
	assert_int_equal(r.hs.last_initiation_consumption, now);
	assert_int_equal(r.hs.latest_timestamp[7], (1600000001ULL & 0xff));

	/* <- e, ee, se, psk, {} */
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	assert_int_equal(unhex(want, sizeof(want), want_resp), sizeof(resp));
	assert_memory_equal(&resp, want, sizeof(resp));
	assert_int_equal(r.hs.state, HANDSHAKE_CREATED_RESPONSE);
	assert_int_equal(r.hs.local_index, RESPONDER_INDEX);

	assert_true(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	assert_int_equal(i.hs.state, HANDSHAKE_CONSUMED_RESPONSE);
	assert_int_equal(i.hs.remote_index, RESPONDER_INDEX);
	assert_memory_equal(i.hs.hash, r.hs.hash, 32);
	assert_memory_equal(i.hs.chaining_key, r.hs.chaining_key, 32);

	/* Transport keys. */
	memset(&ki, 0xcc, sizeof(ki));
	memset(&kr, 0xcc, sizeof(kr));
	assert_true(noise_handshake_begin_session(&i.hs, &ki, now + 1));
	assert_true(noise_handshake_begin_session(&r.hs, &kr, now + 2));
	unhex(key, sizeof(key), want_send);
	assert_memory_equal(ki.send_key, key, 32);
	unhex(key, sizeof(key), want_recv);
	assert_memory_equal(ki.recv_key, key, 32);
	assert_memory_equal(ki.send_key, kr.recv_key, 32);
	assert_memory_equal(ki.recv_key, kr.send_key, 32);
	assert_memory_not_equal(ki.send_key, ki.recv_key, 32);
	assert_int_equal(ki.local_index, INITIATOR_INDEX);
	assert_int_equal(ki.remote_index, RESPONDER_INDEX);
	assert_int_equal(kr.local_index, RESPONDER_INDEX);
	assert_int_equal(kr.remote_index, INITIATOR_INDEX);
	assert_true(ki.i_am_the_initiator);
	assert_false(kr.i_am_the_initiator);
	assert_true(ki.valid && kr.valid);
	assert_int_equal(ki.send_counter, 0);
	assert_int_equal(kr.send_counter, 0);
	assert_int_equal(ki.birthdate, now + 1);
	assert_int_equal(kr.birthdate, now + 2);
	assert_memory_equal(&ki.replay, zero, sizeof(ki.replay));
	assert_memory_equal(&kr.replay, zero, sizeof(kr.replay));

	/* Both handshakes are cleared, their long-lived parts kept. */
	assert_int_equal(i.hs.state, HANDSHAKE_ZEROED);
	assert_int_equal(r.hs.state, HANDSHAKE_ZEROED);
	assert_true(crypto_is_zero(i.hs.ephemeral_private, 32));
	assert_true(crypto_is_zero(r.hs.ephemeral_private, 32));
	assert_true(crypto_is_zero(i.hs.chaining_key, 32));
	assert_true(crypto_is_zero(r.hs.hash, 32));
	assert_true(crypto_is_zero(r.hs.remote_ephemeral, 32));
	assert_false(crypto_is_zero(r.hs.precomputed_static_static, 32));
	assert_memory_equal(r.hs.remote_static, i.local.static_public, 32);
	assert_true(r.hs.have_consumed_initiation);

	/* The keys carry data both ways. */
	seq(msg, sizeof(msg), 0);
	aead_encrypt(box, msg, sizeof(msg), NULL, 0, 0, ki.send_key);
	assert_true(aead_decrypt(msg, box, sizeof(box), NULL, 0, 0, kr.recv_key));
	aead_encrypt(box, msg, sizeof(msg), NULL, 0, 7, kr.send_key);
	assert_true(aead_decrypt(msg, box, sizeof(box), NULL, 0, 7, ki.recv_key));
	assert_false(aead_decrypt(msg, box, sizeof(box), NULL, 0, 7, kr.recv_key));

	noise_keypair_clear(&ki);
	assert_memory_equal(&ki, zero, sizeof(ki));
}

static void test_known_answer_no_psk(void **state)
{
	(void)state;
	run_known_answer(NULL, kat_nopsk_initiation, kat_nopsk_response,
			 kat_nopsk_send, kat_nopsk_recv);
}

static void test_known_answer_psk(void **state)
{
	uint8_t psk[32];

	(void)state;
	seq(psk, sizeof(psk), 0xa0);
	/* The psk enters after the initiation: that message is unchanged. */
	run_known_answer(psk, kat_nopsk_initiation, kat_psk_response,
			 kat_psk_send, kat_psk_recv);
}

/* A zero psk given explicitly is the default. */
static void test_zero_psk_is_default(void **state)
{
	uint8_t zero[32] = { 0 };

	(void)state;
	run_known_answer(zero, kat_nopsk_initiation, kat_nopsk_response,
			 kat_nopsk_send, kat_nopsk_recv);
}

/* ---- tampering -------------------------------------------------------- */

static void test_initiation_bit_flips(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init, bad;
	struct noise_handshake before, good;
	size_t off, bit;
	const wg_time_t now = NSEC_PER_SEC;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	memcpy(&before, &r.hs, sizeof(before));
	/* The untampered message, for comparison. */
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, now));
	memcpy(&good, &r.hs, sizeof(good));
	memcpy(&r.hs, &before, sizeof(before));

	for (off = 0; off < noise_part(struct message_handshake_initiation); off++) {
		for (bit = 0; bit < 8; bit++) {
			struct noise_handshake *got;

			bad = init;
			((uint8_t *)&bad)[off] ^= (uint8_t)(1u << bit);
			got = noise_handshake_consume_initiation(&bad, &r.local,
								 lookup, &t, now);
			if (off >= offsetof(struct message_handshake_initiation,
					    sender_index) &&
			    off < offsetof(struct message_handshake_initiation,
					   unencrypted_ephemeral)) {
				/* The sender index is outside Noise (mac1
				 * covers it): it is taken as sent. */
				assert_ptr_equal(got, &r.hs);
				assert_int_equal(r.hs.remote_index,
						 INITIATOR_INDEX ^ (1u << (bit + 8 * (off - 4))));
				r.hs.remote_index = good.remote_index;
				assert_hs_equal(&r.hs, &good);
				memcpy(&r.hs, &before, sizeof(before));
				continue;
			}
			assert_null(got);
			assert_memory_equal(&r.hs, &before, sizeof(before));
		}
	}
	/* Macs are not Noise's business. */
	bad = init;
	memset(&bad.macs, 0x5a, sizeof(bad.macs));
	assert_ptr_equal(noise_handshake_consume_initiation(&bad, &r.local,
							    lookup, &t, now),
			 &r.hs);
}

static void test_response_bit_flips(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init;
	struct message_handshake_response resp, bad;
	struct noise_handshake before, good;
	size_t off, bit;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	memcpy(&before, &i.hs, sizeof(before));
	assert_true(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	memcpy(&good, &i.hs, sizeof(good));
	memcpy(&i.hs, &before, sizeof(before));

	for (off = 0; off < noise_part(struct message_handshake_response); off++) {
		for (bit = 0; bit < 8; bit++) {
			bool ok;

			bad = resp;
			((uint8_t *)&bad)[off] ^= (uint8_t)(1u << bit);
			ok = noise_handshake_consume_response(&bad, &i.hs, &i.local);
			if (off >= offsetof(struct message_handshake_response,
					    sender_index) &&
			    off < offsetof(struct message_handshake_response,
					   receiver_index)) {
				/* As for the initiation: outside Noise. */
				assert_true(ok);
				assert_int_equal(i.hs.remote_index,
						 RESPONDER_INDEX ^ (1u << (bit + 8 * (off - 4))));
				i.hs.remote_index = good.remote_index;
				assert_hs_equal(&i.hs, &good);
				memcpy(&i.hs, &before, sizeof(before));
				continue;
			}
			/* The receiver index must name this handshake. */
			assert_false(ok);
			assert_memory_equal(&i.hs, &before, sizeof(before));
		}
	}
	assert_true(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	assert_hs_equal(&i.hs, &good);
}

static void test_low_order_ephemeral_rejected(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init, bad_init;
	struct message_handshake_response resp, bad_resp;
	struct noise_handshake before;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	bad_init = init;
	memset(bad_init.unencrypted_ephemeral, 0, 32);
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&bad_init, &r.local,
						       lookup, &t, 0));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	assert_int_equal(t.calls, 0);	/* failed before the static */

	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	bad_resp = resp;
	memset(bad_resp.unencrypted_ephemeral, 0, 32);
	bad_resp.unencrypted_ephemeral[0] = 1;
	memcpy(&before, &i.hs, sizeof(before));
	assert_false(noise_handshake_consume_response(&bad_resp, &i.hs, &i.local));
	assert_memory_equal(&i.hs, &before, sizeof(before));
}

/* ---- replay, unknown peers, flooding ---------------------------------- */

static void test_initiation_replay(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init;
	struct noise_handshake before;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	/* Long after the flood limit, the same timestamp is still a replay,
	 * whatever state the responder has moved on to. */
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&init, &r.local, lookup,
						       &t, 10 * NSEC_PER_SEC));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	noise_handshake_clear(&r.hs);
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&init, &r.local, lookup,
						       &t, 20 * NSEC_PER_SEC));
	assert_memory_equal(&r.hs, &before, sizeof(before));
}

static void test_initiation_older_timestamp(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation old, newer;
	struct noise_handshake before;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&old, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	assert_true(noise_handshake_create_initiation(&newer, &i.hs, &i.local,
						      INITIATOR_INDEX + 1, &i.ops));
	assert_non_null(noise_handshake_consume_initiation(&newer, &r.local,
							   lookup, &t, 0));
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&old, &r.local, lookup,
						       &t, NSEC_PER_SEC));
	assert_memory_equal(&r.hs, &before, sizeof(before));
}

static void test_initiation_unknown_static(void **state)
{
	struct side i, r, stranger;
	struct table t;
	struct message_handshake_initiation init;
	struct noise_handshake before;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	side_init(&stranger, 0x21, 0x30);
	noise_handshake_init(&stranger.hs, &stranger.local,
			     r.local.static_public, NULL);
	assert_true(noise_handshake_create_initiation(&init, &stranger.hs,
						      &stranger.local, 9,
						      &stranger.ops));
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&init, &r.local, lookup,
						       &t, 0));
	assert_int_equal(t.calls, 1);
	assert_memory_equal(&r.hs, &before, sizeof(before));

	/* A lookup that answers with the wrong peer is not believed. */
	assert_null(noise_handshake_consume_initiation(&init, &r.local,
						       lookup_any, &t, 0));
	assert_memory_equal(&r.hs, &before, sizeof(before));

	/* And the stranger, once known, gets in. */
	noise_handshake_init(&r.hs, &r.local, stranger.local.static_public, NULL);
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &r.local,
							    lookup, &t, 0),
			 &r.hs);
}

static void test_initiation_flood(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation a, b, c;
	struct noise_handshake before;
	const wg_time_t t0 = 1000 * NSEC_PER_SEC;

	(void)state;
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&a, &i.hs, &i.local, 1, &i.ops));
	assert_true(noise_handshake_create_initiation(&b, &i.hs, &i.local, 2, &i.ops));
	assert_true(noise_handshake_create_initiation(&c, &i.hs, &i.local, 3, &i.ops));

	assert_non_null(noise_handshake_consume_initiation(&a, &r.local, lookup,
							   &t, t0));
	/* A newer timestamp, but within 1/INITIATIONS_PER_SECOND. */
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&b, &r.local, lookup, &t,
						       t0 + FLOOD_INTERVAL - 1));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	/* A clock that went backwards counts as too soon too. */
	assert_null(noise_handshake_consume_initiation(&b, &r.local, lookup, &t,
						       t0 - NSEC_PER_SEC));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	/* At the limit it is accepted. */
	assert_non_null(noise_handshake_consume_initiation(&b, &r.local, lookup,
							   &t, t0 + FLOOD_INTERVAL));
	assert_int_equal(r.hs.remote_index, 2);
	assert_int_equal(r.hs.last_initiation_consumption, t0 + FLOOD_INTERVAL);
	memcpy(&before, &r.hs, sizeof(before));
	assert_null(noise_handshake_consume_initiation(&c, &r.local, lookup, &t,
						       t0 + FLOOD_INTERVAL + 1));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	assert_non_null(noise_handshake_consume_initiation(&c, &r.local, lookup,
							   &t, t0 + 3 * FLOOD_INTERVAL));
	assert_int_equal(r.hs.remote_index, 3);
}

/* ---- psk, states, identities ----------------------------------------- */

static void test_wrong_psk(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake before;
	struct noise_keypair kp;
	uint8_t psk_i[32], psk_r[32];

	(void)state;
	seq(psk_i, sizeof(psk_i), 0xa0);
	memcpy(psk_r, psk_i, sizeof(psk_r));
	psk_r[31] ^= 1;
	pair_init(&i, &r, &t, psk_i, psk_r);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	/* The initiation does not involve the psk... */
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	/* ...the response does. */
	memcpy(&before, &i.hs, sizeof(before));
	assert_false(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	assert_memory_equal(&i.hs, &before, sizeof(before));
	assert_false(noise_handshake_begin_session(&i.hs, &kp, 0));

	/* Psk on one side only. */
	pair_init(&i, &r, &t, NULL, psk_r);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	assert_false(noise_handshake_consume_response(&resp, &i.hs, &i.local));

	/* Setting the right psk afterwards fixes it. */
	noise_handshake_set_psk(&i.hs, psk_r);
	assert_true(noise_handshake_consume_response(&resp, &i.hs, &i.local));
}

static void test_wrong_states(void **state)
{
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init;
	struct message_handshake_response resp, resp2;
	struct noise_keypair kp, untouched;
	struct noise_handshake before;

	(void)state;
	memset(&kp, 0xab, sizeof(kp));
	memcpy(&untouched, &kp, sizeof(kp));
	pair_init(&i, &r, &t, NULL, NULL);

	/* ZEROED: nothing to begin, respond to or consume a response on. */
	memcpy(&before, &i.hs, sizeof(before));
	assert_false(noise_handshake_begin_session(&i.hs, &kp, 0));
	assert_false(noise_handshake_create_response(&resp, &i.hs, &i.local, 1,
						     &i.ops));
	assert_true(crypto_is_zero(&resp, sizeof(resp)));
	assert_memory_equal(&i.hs, &before, sizeof(before));

	/* CREATED_INITIATION. */
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	memcpy(&before, &i.hs, sizeof(before));
	assert_false(noise_handshake_begin_session(&i.hs, &kp, 0));
	assert_false(noise_handshake_create_response(&resp, &i.hs, &i.local, 1,
						     &i.ops));
	assert_memory_equal(&i.hs, &before, sizeof(before));

	/* CONSUMED_INITIATION. */
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	memcpy(&before, &r.hs, sizeof(before));
	assert_false(noise_handshake_begin_session(&r.hs, &kp, 0));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	assert_memory_equal(&kp, &untouched, sizeof(kp));

	/* A response reaches only an initiator waiting for it. */
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	memcpy(&before, &r.hs, sizeof(before));
	assert_false(noise_handshake_consume_response(&resp, &r.hs, &r.local));
	assert_memory_equal(&r.hs, &before, sizeof(before));
	/* Responding twice to one initiation is refused too. */
	assert_false(noise_handshake_create_response(&resp2, &r.hs, &r.local,
						     RESPONDER_INDEX, &r.ops));
	assert_memory_equal(&r.hs, &before, sizeof(before));

	/* Consumed once: a second copy of the response is refused. */
	assert_true(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	memcpy(&before, &i.hs, sizeof(before));
	assert_false(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	assert_memory_equal(&i.hs, &before, sizeof(before));

	/* Both begin once; a second begin finds ZEROED. */
	assert_true(noise_handshake_begin_session(&i.hs, &kp, 0));
	assert_true(noise_handshake_begin_session(&r.hs, &kp, 0));
	memcpy(&untouched, &kp, sizeof(kp));
	assert_false(noise_handshake_begin_session(&r.hs, &kp, 0));
	assert_memory_equal(&kp, &untouched, sizeof(kp));

	/* A response to an old initiation of ours, after a newer one. */
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	assert_non_null(noise_handshake_consume_initiation(&init, &r.local,
							   lookup, &t, 0));
	assert_true(noise_handshake_create_response(&resp, &r.hs, &r.local,
						    RESPONDER_INDEX, &r.ops));
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      INITIATOR_INDEX, &i.ops));
	memcpy(&before, &i.hs, sizeof(before));
	assert_false(noise_handshake_consume_response(&resp, &i.hs, &i.local));
	assert_memory_equal(&i.hs, &before, sizeof(before));
}

/* Both sides initiate at once: whoever consumes the other's initiation
 * drops its own, and the other handshake completes. */
static void test_crossed_initiations(void **state)
{
	struct side a, b;
	struct table ta = { 0 }, tb;
	struct message_handshake_initiation ia, ib;
	struct message_handshake_response rb;
	struct noise_keypair ka, kb;

	(void)state;
	pair_init(&a, &b, &tb, NULL, NULL);
	ta.hs[ta.n++] = &a.hs;
	assert_true(noise_handshake_create_initiation(&ia, &a.hs, &a.local, 1, &a.ops));
	assert_true(noise_handshake_create_initiation(&ib, &b.hs, &b.local, 2, &b.ops));
	/* b takes a's initiation and answers; its own initiation is dead. */
	assert_ptr_equal(noise_handshake_consume_initiation(&ia, &b.local,
							    lookup, &tb, 0),
			 &b.hs);
	assert_true(crypto_is_zero(b.hs.ephemeral_private, 32));
	assert_true(noise_handshake_create_response(&rb, &b.hs, &b.local, 3, &b.ops));
	assert_true(noise_handshake_consume_response(&rb, &a.hs, &a.local));
	assert_true(noise_handshake_begin_session(&a.hs, &ka, 0));
	assert_true(noise_handshake_begin_session(&b.hs, &kb, 0));
	assert_memory_equal(ka.send_key, kb.recv_key, 32);
	assert_memory_equal(ka.recv_key, kb.send_key, 32);
	/* a then gets b's initiation, which is newer than nothing: fine,
	 * and the roles reverse. */
	assert_ptr_equal(noise_handshake_consume_initiation(&ib, &a.local,
							    lookup, &ta, 0),
			 &a.hs);
	assert_int_equal(a.hs.remote_index, 2);
}

static void test_private_keys(void **state)
{
	struct noise_local local;
	struct side i, r;
	struct table t;
	struct message_handshake_initiation init;
	uint8_t zero[32] = { 0 }, priv[32], low_order[32] = { 0 };

	(void)state;
	/* All zeros is refused and leaves no identity. */
	memset(&local, 0xee, sizeof(local));
	assert_false(noise_local_set_private(&local, zero));
	assert_false(local.has_identity);
	assert_true(crypto_is_zero(&local, sizeof(local)));

	/* A key is stored clamped, with its public key. */
	memset(priv, 0xff, sizeof(priv));
	assert_true(noise_local_set_private(&local, priv));
	assert_true(local.has_identity);
	assert_int_equal(local.static_private[0], 0xf8);
	assert_int_equal(local.static_private[31], 0x7f);
	assert_false(crypto_is_zero(local.static_public, 32));

	/* NULL clears. */
	assert_true(noise_local_set_private(&local, NULL));
	assert_false(local.has_identity);
	assert_true(crypto_is_zero(&local, sizeof(local)));

	/* No identity: no initiation, nothing consumed. */
	pair_init(&i, &r, &t, NULL, NULL);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      1, &i.ops));
	assert_null(noise_handshake_consume_initiation(&init, &local, lookup,
						       &t, 0));
	assert_false(noise_handshake_create_initiation(&init, &i.hs, &local, 1,
						       &i.ops));
	assert_true(crypto_is_zero(&init, sizeof(init)));
	noise_handshake_precompute(&i.hs, &local);
	assert_true(crypto_is_zero(i.hs.precomputed_static_static, 32));

	/* A peer whose public key is a low-order point: the static-static
	 * DH is zero, so no handshake is ever made with it. */
	pair_init(&i, &r, &t, NULL, NULL);
	low_order[0] = 1;
	noise_handshake_init(&i.hs, &i.local, low_order, NULL);
	assert_true(crypto_is_zero(i.hs.precomputed_static_static, 32));
	assert_false(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						       1, &i.ops));
	assert_int_equal(i.hs.state, HANDSHAKE_ZEROED);

	/* Changing our key and recomputing gives a working handshake again
	 * with a real peer. */
	pair_init(&i, &r, &t, NULL, NULL);
	seq(priv, sizeof(priv), 0x77);
	assert_true(noise_local_set_private(&i.local, priv));
	noise_handshake_init(&r.hs, &r.local, i.local.static_public, NULL);
	noise_handshake_precompute(&i.hs, &i.local);
	assert_true(noise_handshake_create_initiation(&init, &i.hs, &i.local,
						      1, &i.ops));
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &r.local,
							    lookup, &t, 0),
			 &r.hs);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init() ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer_no_psk),
		cmocka_unit_test(test_known_answer_psk),
		cmocka_unit_test(test_zero_psk_is_default),
		cmocka_unit_test(test_initiation_bit_flips),
		cmocka_unit_test(test_response_bit_flips),
		cmocka_unit_test(test_low_order_ephemeral_rejected),
		cmocka_unit_test(test_initiation_replay),
		cmocka_unit_test(test_initiation_older_timestamp),
		cmocka_unit_test(test_initiation_unknown_static),
		cmocka_unit_test(test_initiation_flood),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_wrong_states),
		cmocka_unit_test(test_crossed_initiations),
		cmocka_unit_test(test_private_keys),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
