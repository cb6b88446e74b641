/* target_cookie.c - fuzz cookie.c: mac checks on messages of any length,
 * cookie replies, and round-trip properties that must hold for any bytes.
 *
 * Every input starts from the same state (checker and maker for one fixed
 * key, deterministic randomness, a fixed clock), so a crasher replays the
 * same way alone or in a corpus. The seeds in corpus/cookie/ were made
 * with this state: a valid initiation and response, one that also carries
 * a valid mac2, a cookie reply that the maker accepts, and broken ones. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cookie.h"
#include "core/messages.h"
#include "core/noise.h"
#include "crypto/ct.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW (1000 * NSEC_PER_SEC)

enum {
	INIT_LEN = sizeof(struct message_handshake_initiation),
	RESP_LEN = sizeof(struct message_handshake_response),
	REPLY_LEN = sizeof(struct message_handshake_cookie),
};

static const uint8_t src_a[6] = { 192, 0, 2, 1, 0xca, 0x6c };
static const uint8_t src_b[18] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1,
				   0xca, 0x6c };

struct fuzz_state {
	uint64_t rng;
	struct noise_ops ops;
	struct cookie_checker checker;
	struct cookie_maker maker;
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "target_cookie: property violated: %s\n", what);
		abort();
	}
}

static void fake_random(void *ctx, void *buf, size_t len)
{
	uint64_t *state = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

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

static void state_init(struct fuzz_state *s)
{
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];

	for (size_t i = 0; i < sizeof(pub); i++)
		pub[i] = (uint8_t)(0x40 + 5 * i);
	memset(s, 0, sizeof(*s));
	s->rng = 7;
	s->ops = (struct noise_ops){ .ctx = &s->rng, .random = fake_random,
				     .tai64n = fake_tai64n };
	cookie_checker_init(&s->checker, pub);
	cookie_maker_init(&s->maker, pub);
}

/* The initiation the maker last sent: cookie replies must answer it. */
static void anchor_message(uint8_t msg[INIT_LEN], struct cookie_maker *m)
{
	for (size_t i = 0; i < INIT_LEN; i++)
		msg[i] = (uint8_t)(3 * i);
	msg[0] = MESSAGE_HANDSHAKE_INITIATION;
	msg[1] = msg[2] = msg[3] = 0;
	cookie_add_mac_to_packet(msg, INIT_LEN, m, NOW);
}

static void validate_all(struct fuzz_state *s, const uint8_t *msg,
			 size_t len)
{
	enum cookie_mac_state st;

	st = cookie_validate_packet(&s->checker, msg, len, src_a,
				    sizeof(src_a), true, NOW, &s->ops);
	check(st == INVALID_MAC || st == VALID_MAC_BUT_NO_COOKIE ||
	      st == VALID_MAC_WITH_COOKIE, "state in range");
	st = cookie_validate_packet(&s->checker, msg, len, src_a,
				    sizeof(src_a), false, NOW, &s->ops);
	check(st != VALID_MAC_WITH_COOKIE, "cookie reported unchecked");
}

/* The bytes as a whole message, and cut or padded to the handshake sizes. */
static void fuzz_validate(struct fuzz_state *s, const uint8_t *data,
			  size_t size)
{
	static const size_t sizes[] = { INIT_LEN, RESP_LEN };
	uint8_t buf[INIT_LEN];

	validate_all(s, data, size);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 0, sizeof(buf));
		if (size)
			memcpy(buf, data, size < sizes[i] ? size : sizes[i]);
		validate_all(s, buf, sizes[i]);
	}
}

static void fuzz_consume(struct fuzz_state *s, const uint8_t *data,
			 size_t size)
{
	struct message_handshake_cookie reply;
	uint8_t msg[INIT_LEN];

	if (size != REPLY_LEN)
		return;
	memcpy(&reply, data, sizeof(reply));
	anchor_message(msg, &s->maker);
	if (!cookie_message_consume(&reply, &s->maker, NOW))
		return;
	check(s->maker.have_cookie && !s->maker.have_sent_mac1,
	      "consumed cookie recorded");
	check(!cookie_message_consume(&reply, &s->maker, NOW),
	      "a reply is taken once");
	cookie_add_mac_to_packet(msg, sizeof(msg), &s->maker, NOW);
	validate_all(s, msg, sizeof(msg));
}

/* Whatever the bytes, a message the maker signs passes mac1, and after a
 * cookie round trip carries a mac2 that holds exactly as long as the
 * maker's cookie lifetime says. */
static void fuzz_round_trip(struct fuzz_state *s, const uint8_t *data,
			    size_t size)
{
	const wg_time_t usable =
		(COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) * NSEC_PER_SEC;
	struct message_handshake_cookie reply;
	wg_time_t later;
	uint8_t *msg;

	if (size < sizeof(struct message_macs))
		return;
	msg = malloc(size);
	if (!msg)
		abort();
	memcpy(msg, data, size);
	/* Up to 255 s later: across the maker's and the checker's expiry. */
	later = NOW + (wg_time_t)data[0] * NSEC_PER_SEC +
		(wg_time_t)data[size - 1] * NSEC_PER_MSEC;

	cookie_add_mac_to_packet(msg, size, &s->maker, NOW);
	check(cookie_validate_packet(&s->checker, msg, size, src_a,
				     sizeof(src_a), false, NOW, &s->ops) ==
	      VALID_MAC_BUT_NO_COOKIE, "signed message passes mac1");
	check(cookie_validate_packet(&s->checker, msg, size, src_a,
				     sizeof(src_a), true, NOW, &s->ops) ==
	      VALID_MAC_BUT_NO_COOKIE, "no cookie before a reply");

	cookie_message_create(&reply, msg, size, le32_load(data + 1) ^ 1,
			      &s->checker, src_a, sizeof(src_a), NOW, &s->ops);
	check(reply.header.type == MESSAGE_HANDSHAKE_COOKIE,
	      "reply created");
	check(cookie_message_consume(&reply, &s->maker, NOW),
	      "reply to the last mac1 is accepted");

	cookie_add_mac_to_packet(msg, size, &s->maker, later);
	check(cookie_validate_packet(&s->checker, msg, size, src_a,
				     sizeof(src_a), true, later, &s->ops) ==
	      (later - NOW < usable ? VALID_MAC_WITH_COOKIE :
				      VALID_MAC_BUT_NO_COOKIE),
	      "mac2 valid exactly while the cookie is usable");
	check(cookie_validate_packet(&s->checker, msg, size, src_b,
				     sizeof(src_b), true, later, &s->ops) ==
	      VALID_MAC_BUT_NO_COOKIE, "cookie bound to its source");
	free(msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!crypto_init()) {
		fprintf(stderr, "target_cookie: crypto_init failed\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_state s;

	if (!ready) {
		LLVMFuzzerInitialize(NULL, NULL);
		ready = true;
	}
	state_init(&s);
	fuzz_validate(&s, data, size);

	state_init(&s);
	fuzz_consume(&s, data, size);

	state_init(&s);
	fuzz_round_trip(&s, data, size);
	return 0;
}
