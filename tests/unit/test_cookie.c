/* test_cookie.c - mac1/mac2 and cookie replies: known answers computed
 * outside weft, every flipped byte, the cookie round trip, expiry and
 * secret rotation, with a fake clock and deterministic randomness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cookie.h"
#include "core/messages.h"
#include "core/noise.h"
#include "crypto/ct.h"

/* Known answers from Python's hashlib BLAKE2s and pyca's ChaCha20-Poly1305
 * (with HChaCha20 checked against draft-irtf-cfrg-xchacha §2.2.1):
 * public key kat_public, a 148-byte initiation msg[i] = 7i + 1 with type
 * 1, secret kat_secret, source 192.0.2.1:51820, nonce 0xa0 + i. */
static const uint8_t kat_public[32] = {
	0x5a, 0x5d, 0x60, 0x63, 0x66, 0x69, 0x6c, 0x6f, 0x72, 0x75, 0x78, 0x7b,
	0x7e, 0x81, 0x84, 0x87, 0x8a, 0x8d, 0x90, 0x93, 0x96, 0x99, 0x9c, 0x9f,
	0xa2, 0xa5, 0xa8, 0xab, 0xae, 0xb1, 0xb4, 0xb7,
};
static const uint8_t kat_mac1_key[32] = {
	0x38, 0xd5, 0x3c, 0x9a, 0xd6, 0x09, 0x1d, 0x1a, 0x53, 0x7a, 0xf1, 0xf2,
	0x21, 0x0a, 0x95, 0x4b, 0x06, 0xe6, 0xea, 0x46, 0xdd, 0x19, 0x64, 0x95,
	0xfa, 0xef, 0xd6, 0xf5, 0x4e, 0x8a, 0x73, 0x1a,
};
static const uint8_t kat_cookie_key[32] = {
	0x4f, 0xc7, 0x45, 0xb8, 0x06, 0xd3, 0x31, 0x93, 0x3c, 0x51, 0xe4, 0xf4,
	0x0c, 0xc2, 0xcc, 0xa6, 0x18, 0x68, 0xfe, 0xbd, 0x02, 0xec, 0xf8, 0x9e,
	0x9b, 0xef, 0x32, 0x8c, 0x59, 0x70, 0xd0, 0xba,
};
static const uint8_t kat_mac1[16] = {
	0xc0, 0x6f, 0xf3, 0x99, 0x21, 0xca, 0x9e, 0x07, 0x21, 0x5d, 0xf8, 0x30,
	0xb7, 0xef, 0xc4, 0xe6,
};
static const uint8_t kat_secret[32] = {
	0xc3, 0xc2, 0xc1, 0xc0, 0xc7, 0xc6, 0xc5, 0xc4, 0xcb, 0xca, 0xc9, 0xc8,
	0xcf, 0xce, 0xcd, 0xcc, 0xd3, 0xd2, 0xd1, 0xd0, 0xd7, 0xd6, 0xd5, 0xd4,
	0xdb, 0xda, 0xd9, 0xd8, 0xdf, 0xde, 0xdd, 0xdc,
};
static const uint8_t kat_cookie[16] = {
	0x3c, 0x7a, 0xc2, 0xca, 0x36, 0x6e, 0x38, 0x1d, 0x9b, 0x0f, 0x1b, 0x78,
	0x27, 0x9a, 0x7e, 0xf9,
};
static const uint8_t kat_mac2[16] = {
	0x97, 0xfc, 0x34, 0xea, 0x7f, 0x19, 0x2e, 0xfc, 0x9e, 0xc6, 0x44, 0x2e,
	0x4a, 0x72, 0x79, 0x1b,
};
static const uint8_t kat_encrypted_cookie[32] = {
	0xa9, 0x9f, 0x21, 0x07, 0x21, 0xf5, 0x4d, 0xa0, 0x58, 0x0b, 0x86, 0x58,
	0x39, 0x2a, 0xed, 0xe9, 0xb8, 0x93, 0x53, 0xca, 0xac, 0x6d, 0xa9, 0x46,
	0xb2, 0x2f, 0x4e, 0xac, 0x36, 0xcc, 0x96, 0xf4,
};

static const uint8_t src_a[6] = { 192, 0, 2, 1, 0xca, 0x6c };	/* :51820 */
static const uint8_t src_b[6] = { 192, 0, 2, 1, 0xca, 0x6d };	/* :51821 */
static const uint8_t src_v6[18] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1,
				    0xca, 0x6c };

enum { INIT_LEN = sizeof(struct message_handshake_initiation),
       RESP_LEN = sizeof(struct message_handshake_response),
       MAC1_AT_INIT = INIT_LEN - sizeof(struct message_macs),
       MAC2_AT_INIT = MAC1_AT_INIT + COOKIE_MAC_LEN };

#define SEC(s) ((wg_time_t)(s) * NSEC_PER_SEC)
#define T0 SEC(1000)

/* Deterministic randomness: a splitmix64 stream, or a fixed pattern. */
struct fake_rng {
	uint64_t state;
	bool pattern;
	unsigned calls;
};

static void fake_random(void *ctx, void *buf, size_t len)
{
	struct fake_rng *r = ctx;
	uint8_t *p = buf;

	r->calls++;
	for (size_t i = 0; i < len; i++) {
		if (r->pattern) {
			p[i] = (uint8_t)(0xa0 + i);
			continue;
		}
		uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		p[i] = (uint8_t)(z ^ (z >> 31));
	}
}

static void fake_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	(void)ctx;
	memset(out, 0, NOISE_TIMESTAMP_LEN);
}

struct fixture {
	struct fake_rng rng;
	struct noise_ops ops;
	struct cookie_checker checker;	/* our side, identity kat_public */
	struct cookie_maker maker;	/* the peer's view of us */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->rng.state = 42;
	f->ops = (struct noise_ops){ .ctx = &f->rng, .random = fake_random,
				     .tai64n = fake_tai64n };
	cookie_checker_init(&f->checker, kat_public);
	cookie_maker_init(&f->maker, kat_public);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void fill_message(uint8_t *msg, size_t len, uint8_t type, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)(i * 7 + seed);
	msg[0] = type;
	msg[1] = msg[2] = msg[3] = 0;
	memset(msg + len - sizeof(struct message_macs), 0,
	       sizeof(struct message_macs));
}

static enum cookie_mac_state validate(struct fixture *f, const uint8_t *msg,
				      size_t len, const uint8_t *src,
				      size_t src_len, bool check_cookie,
				      wg_time_t now)
{
	return cookie_validate_packet(&f->checker, msg, len, src, src_len,
				      check_cookie, now, &f->ops);
}

/* The peer sends msg, we answer with a cookie reply, the peer takes it. */
static void give_cookie(struct fixture *f, const uint8_t *src, size_t src_len,
			wg_time_t now)
{
	uint8_t msg[INIT_LEN];
	struct message_handshake_cookie reply;

	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 99);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, now);
	assert_int_equal(validate(f, msg, sizeof(msg), src, src_len, true, now),
			 VALID_MAC_BUT_NO_COOKIE);
	cookie_message_create(&reply, msg, sizeof(msg), 7, &f->checker, src,
			      src_len, now, &f->ops);
	assert_true(cookie_message_consume(&reply, &f->maker, now));
}

static void test_known_answers(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN];
	struct message_handshake_cookie reply;

	assert_memory_equal(f->checker.mac1_key, kat_mac1_key, 32);
	assert_memory_equal(f->checker.cookie_encryption_key, kat_cookie_key,
			    32);
	assert_memory_equal(f->maker.mac1_key, kat_mac1_key, 32);
	assert_memory_equal(f->maker.cookie_encryption_key, kat_cookie_key, 32);

	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 1);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_memory_equal(msg + MAC1_AT_INIT, kat_mac1, 16);
	assert_true(crypto_is_zero(msg + MAC2_AT_INIT, 16));
	assert_memory_equal(f->maker.last_mac1_sent, kat_mac1, 16);

	/* The checker's cookie for src_a under kat_secret, and the reply. */
	memcpy(f->checker.secret, kat_secret, 32);
	f->checker.secret_birthdate = T0;
	f->checker.secret_valid = true;
	f->rng.pattern = true;
	cookie_message_create(&reply, msg, sizeof(msg), 0x11223344, &f->checker,
			      src_a, sizeof(src_a), T0, &f->ops);
	assert_int_equal(f->rng.calls, 1);	/* the nonce only */
	assert_int_equal(reply.header.type, MESSAGE_HANDSHAKE_COOKIE);
	assert_true(crypto_is_zero(reply.header.reserved_zero, 3));
	assert_int_equal(le32_load(reply.receiver_index), 0x11223344);
	for (int i = 0; i < COOKIE_NONCE_LEN; i++)
		assert_int_equal(reply.nonce[i], 0xa0 + i);
	assert_memory_equal(reply.encrypted_cookie, kat_encrypted_cookie, 32);

	assert_true(cookie_message_consume(&reply, &f->maker, T0));
	assert_memory_equal(f->maker.cookie, kat_cookie, 16);

	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_memory_equal(msg + MAC1_AT_INIT, kat_mac1, 16);
	assert_memory_equal(msg + MAC2_AT_INIT, kat_mac2, 16);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0), VALID_MAC_WITH_COOKIE);
}

/* Every byte before mac2 is covered by mac1; mac2's bytes are not. */
static void check_flips(struct fixture *f, size_t len, uint8_t type)
{
	uint8_t msg[INIT_LEN];
	size_t mac2_at = len - COOKIE_MAC_LEN;

	fill_message(msg, len, type, 3);
	cookie_add_mac_to_packet(msg, len, &f->maker, T0);
	assert_int_equal(validate(f, msg, len, src_a, sizeof(src_a), false, T0),
			 VALID_MAC_BUT_NO_COOKIE);
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 7) {
			msg[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(validate(f, msg, len, src_a,
						  sizeof(src_a), false, T0),
					 i < mac2_at ? INVALID_MAC :
						       VALID_MAC_BUT_NO_COOKIE);
			msg[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Truncated or extended, the macs are read from the wrong place. */
	assert_int_equal(validate(f, msg, len - 1, src_a, sizeof(src_a), false,
				  T0), INVALID_MAC);
	assert_int_equal(validate(f, msg, len - 16, src_a, sizeof(src_a), false,
				  T0), INVALID_MAC);
}

static void test_mac1_flipped_bytes(void **state)
{
	check_flips(*state, INIT_LEN, MESSAGE_HANDSHAKE_INITIATION);
	check_flips(*state, RESP_LEN, MESSAGE_HANDSHAKE_RESPONSE);
}

static void test_mac1_wrong_identity(void **state)
{
	struct fixture *f = *state;
	uint8_t other_public[32], msg[INIT_LEN];
	struct cookie_maker other, nobody;
	struct cookie_checker no_identity;

	memcpy(other_public, kat_public, 32);
	other_public[31] ^= 1;
	cookie_maker_init(&other, other_public);
	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 5);
	cookie_add_mac_to_packet(msg, sizeof(msg), &other, T0);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  false, T0), INVALID_MAC);

	/* A checker without identity takes nothing, not even macs made with
	 * the all-zero key it would otherwise hold. */
	cookie_checker_init(&no_identity, NULL);
	cookie_maker_init(&nobody, NULL);
	cookie_add_mac_to_packet(msg, sizeof(msg), &nobody, T0);
	assert_int_equal(cookie_validate_packet(&no_identity, msg, sizeof(msg),
						src_a, sizeof(src_a), true, T0,
						&f->ops), INVALID_MAC);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_int_equal(cookie_validate_packet(&no_identity, msg, sizeof(msg),
						src_a, sizeof(src_a), true, T0,
						&f->ops), INVALID_MAC);
}

static void test_bad_lengths(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN], copy[INIT_LEN];
	struct message_handshake_cookie reply;

	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 9);
	memcpy(copy, msg, sizeof(msg));
	/* Too short to hold the macs: nothing is written or read. */
	for (size_t len = 0; len < sizeof(struct message_macs); len++) {
		cookie_add_mac_to_packet(msg, len, &f->maker, T0);
		assert_memory_equal(msg, copy, sizeof(msg));
		assert_int_equal(validate(f, msg, len, src_a, sizeof(src_a),
					  true, T0), INVALID_MAC);
		memset(&reply, 0xff, sizeof(reply));
		cookie_message_create(&reply, msg, len, 1, &f->checker, src_a,
				      sizeof(src_a), T0, &f->ops);
		assert_int_equal(reply.header.type, MESSAGE_INVALID);
	}
	assert_false(f->maker.have_sent_mac1);
	assert_int_equal(f->rng.calls, 0);

	/* Exactly the macs: mac1 covers nothing, and is still checked. */
	cookie_add_mac_to_packet(msg, sizeof(struct message_macs), &f->maker,
				 T0);
	assert_int_equal(validate(f, msg, sizeof(struct message_macs), src_a,
				  sizeof(src_a), false, T0),
			 VALID_MAC_BUT_NO_COOKIE);
	msg[0] ^= 1;
	assert_int_equal(validate(f, msg, sizeof(struct message_macs), src_a,
				  sizeof(src_a), false, T0), INVALID_MAC);

	assert_int_equal(validate(f, NULL, INIT_LEN, src_a, sizeof(src_a), true,
				  T0), INVALID_MAC);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_int_equal(validate(f, msg, sizeof(msg), NULL, 6, true, T0),
			 INVALID_MAC);
	assert_false(cookie_message_consume(NULL, &f->maker, T0));
}

static void test_mac2_flow(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN], resp[RESP_LEN];
	struct message_handshake_cookie reply;

	/* No cookie yet: mac2 is zero and does not check. */
	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 11);
	le32_store(msg + 4, 0xabcdef01);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_true(crypto_is_zero(msg + MAC2_AT_INIT, COOKIE_MAC_LEN));
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0), VALID_MAC_BUT_NO_COOKIE);

	/* Under load we answer with a cookie reply to the sender's index. */
	cookie_message_create(&reply, msg, sizeof(msg), le32_load(msg + 4),
			      &f->checker, src_a, sizeof(src_a), T0, &f->ops);
	assert_int_equal(reply.header.type, MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(le32_load(reply.receiver_index), 0xabcdef01);
	assert_true(cookie_message_consume(&reply, &f->maker, SEC(1001)));
	assert_true(f->maker.have_cookie);
	assert_int_equal(f->maker.cookie_birthdate, SEC(1001));
	/* The same reply again: the peer has not sent a new mac1. */
	assert_false(cookie_message_consume(&reply, &f->maker, SEC(1002)));
	assert_int_equal(f->maker.cookie_birthdate, SEC(1001));

	/* The retry carries mac2 and proves src_a. */
	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 12);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, SEC(1005));
	assert_false(crypto_is_zero(msg + MAC2_AT_INIT, COOKIE_MAC_LEN));
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, SEC(1005)), VALID_MAC_WITH_COOKIE);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  false, SEC(1005)), VALID_MAC_BUT_NO_COOKIE);
	/* Another port, another address, a prefix of it: no cookie. */
	assert_int_equal(validate(f, msg, sizeof(msg), src_b, sizeof(src_b),
				  true, SEC(1005)), VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(validate(f, msg, sizeof(msg), src_v6, sizeof(src_v6),
				  true, SEC(1005)), VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, 4, true,
				  SEC(1005)), VALID_MAC_BUT_NO_COOKIE);
	/* Each mac2 byte matters. */
	for (size_t i = MAC2_AT_INIT; i < INIT_LEN; i++) {
		msg[i] ^= 0x80;
		assert_int_equal(validate(f, msg, sizeof(msg), src_a,
					  sizeof(src_a), true, SEC(1005)),
				 VALID_MAC_BUT_NO_COOKIE);
		msg[i] ^= 0x80;
	}

	/* A response from us to the peer carries it as well. */
	fill_message(resp, sizeof(resp), MESSAGE_HANDSHAKE_RESPONSE, 13);
	cookie_add_mac_to_packet(resp, sizeof(resp), &f->maker, SEC(1005));
	assert_int_equal(validate(f, resp, sizeof(resp), src_a, sizeof(src_a),
				  true, SEC(1005)), VALID_MAC_WITH_COOKIE);
}

static void test_empty_source(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN];

	give_cookie(f, NULL, 0, T0);
	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 14);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_int_equal(validate(f, msg, sizeof(msg), NULL, 0, true, T0),
			 VALID_MAC_WITH_COOKIE);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0), VALID_MAC_BUT_NO_COOKIE);
}

static void test_reply_must_answer_last_mac1(void **state)
{
	struct fixture *f = *state;
	uint8_t a[INIT_LEN], b[INIT_LEN];
	struct message_handshake_cookie reply, bad;
	struct cookie_maker fresh, stranger;
	struct cookie_checker impostor;
	uint8_t other_public[32];

	fill_message(a, sizeof(a), MESSAGE_HANDSHAKE_INITIATION, 20);
	fill_message(b, sizeof(b), MESSAGE_HANDSHAKE_INITIATION, 21);
	cookie_add_mac_to_packet(a, sizeof(a), &f->maker, T0);
	assert_int_equal(validate(f, a, sizeof(a), src_a, sizeof(src_a), true,
				  T0), VALID_MAC_BUT_NO_COOKIE);
	cookie_message_create(&reply, a, sizeof(a), 1, &f->checker, src_a,
			      sizeof(src_a), T0, &f->ops);

	/* A maker that never sent a mac1 takes no reply. */
	cookie_maker_init(&fresh, kat_public);
	assert_false(cookie_message_consume(&reply, &fresh, T0));
	assert_false(fresh.have_cookie);

	/* The peer has since sent b: the reply to a no longer fits. */
	cookie_add_mac_to_packet(b, sizeof(b), &f->maker, T0);
	assert_false(cookie_message_consume(&reply, &f->maker, T0));
	assert_false(f->maker.have_cookie);

	/* Every tampered byte of a reply to b is refused. */
	cookie_message_create(&reply, b, sizeof(b), 1, &f->checker, src_a,
			      sizeof(src_a), T0, &f->ops);
	for (size_t i = offsetof(struct message_handshake_cookie, nonce);
	     i < sizeof(reply); i++) {
		memcpy(&bad, &reply, sizeof(bad));
		((uint8_t *)&bad)[i] ^= 0x01;
		assert_false(cookie_message_consume(&bad, &f->maker, T0));
	}
	assert_false(f->maker.have_cookie);

	/* A reply made under another identity's key is refused. */
	memcpy(other_public, kat_public, 32);
	other_public[0] ^= 1;
	cookie_checker_init(&impostor, other_public);
	cookie_message_create(&bad, b, sizeof(b), 1, &impostor, src_a,
			      sizeof(src_a), T0, &f->ops);
	assert_false(cookie_message_consume(&bad, &f->maker, T0));
	/* ...and a maker for another peer cannot use ours. */
	cookie_maker_init(&stranger, other_public);
	cookie_add_mac_to_packet(b, sizeof(b), &stranger, T0);
	cookie_add_mac_to_packet(b, sizeof(b), &f->maker, T0);
	memcpy(stranger.last_mac1_sent, f->maker.last_mac1_sent, 16);
	assert_false(cookie_message_consume(&reply, &stranger, T0));

	/* The untampered one still works. */
	assert_true(cookie_message_consume(&reply, &f->maker, T0));
	assert_true(f->maker.have_cookie);
}

static void test_cookie_expiry(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN];
	const wg_time_t usable =
		SEC(COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY);

	give_cookie(f, src_a, sizeof(src_a), T0);

	/* Last nanosecond the maker still uses it; the checker agrees. */
	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 30);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0 + usable - 1);
	assert_false(crypto_is_zero(msg + MAC2_AT_INIT, COOKIE_MAC_LEN));
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0 + usable - 1),
			 VALID_MAC_WITH_COOKIE);

	/* From MAX_AGE - LATENCY on the maker sends mac2 zero. */
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0 + usable);
	assert_true(crypto_is_zero(msg + MAC2_AT_INIT, COOKIE_MAC_LEN));
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0 + usable), VALID_MAC_BUT_NO_COOKIE);

	/* A clock before the cookie's birth does not make it usable. */
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0 - 1);
	assert_true(crypto_is_zero(msg + MAC2_AT_INIT, COOKIE_MAC_LEN));
}

static void test_secret_rotation(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN], old_secret[NOISE_HASH_LEN];
	const wg_time_t max_age = SEC(COOKIE_SECRET_MAX_AGE);
	const wg_time_t later = T0 + SEC(100);

	/* The secret is born at T0; the peer's cookie only at T0 + 100 s, so
	 * it is still young on the maker's side when the secret rotates. */
	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 40);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0), VALID_MAC_BUT_NO_COOKIE);
	assert_true(f->checker.secret_valid);
	assert_int_equal(f->checker.secret_birthdate, T0);
	memcpy(old_secret, f->checker.secret, sizeof(old_secret));
	give_cookie(f, src_a, sizeof(src_a), later);
	assert_int_equal(f->checker.secret_birthdate, T0);

	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0 + max_age - 1);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0 + max_age - 1),
			 VALID_MAC_WITH_COOKIE);
	assert_memory_equal(f->checker.secret, old_secret, sizeof(old_secret));

	/* At MAX_AGE the secret is new and the cookie worthless. */
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0 + max_age);
	assert_false(crypto_is_zero(msg + MAC2_AT_INIT, COOKIE_MAC_LEN));
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0 + max_age), VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(f->checker.secret_birthdate, T0 + max_age);
	assert_memory_not_equal(f->checker.secret, old_secret,
				sizeof(old_secret));

	/* A fresh cookie under the new secret works again. */
	give_cookie(f, src_a, sizeof(src_a), T0 + max_age + 1);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0 + max_age + 2);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0 + max_age + 2),
			 VALID_MAC_WITH_COOKIE);
}

/* mac1 alone (check_cookie false) never touches the secret. */
static void test_no_secret_without_cookie_check(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[INIT_LEN];

	fill_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION, 50);
	cookie_add_mac_to_packet(msg, sizeof(msg), &f->maker, T0);
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  false, T0), VALID_MAC_BUT_NO_COOKIE);
	assert_false(f->checker.secret_valid);
	assert_int_equal(f->rng.calls, 0);
	/* Nor does a message whose mac1 fails. */
	msg[0] ^= 1;
	assert_int_equal(validate(f, msg, sizeof(msg), src_a, sizeof(src_a),
				  true, T0), INVALID_MAC);
	assert_int_equal(f->rng.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		TEST(test_known_answers),
		TEST(test_mac1_flipped_bytes),
		TEST(test_mac1_wrong_identity),
		TEST(test_bad_lengths),
		TEST(test_mac2_flow),
		TEST(test_empty_source),
		TEST(test_reply_must_answer_last_mac1),
		TEST(test_cookie_expiry),
		TEST(test_secret_rotation),
		TEST(test_no_secret_without_cookie_check),
#undef TEST
	};

	if (!crypto_init()) {
		fprintf(stderr, "test_cookie: crypto_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
