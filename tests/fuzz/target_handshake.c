/* target_handshake.c - fuzz noise.c: any bytes as an initiation to a
 * responder and as a response to an initiator waiting for one, checking
 * that a rejected message changes nothing and that an accepted one leads
 * to matching session keys.
 *
 * Every input starts from the same state (fixed keys, deterministic
 * randomness and clock), built once, so a crasher replays the same way
 * alone or in a corpus. Built with -DHANDSHAKE_WRITE_SEEDS this file is
 * also a program that writes the seeds of corpus/handshake/ (the valid
 * initiation and response of that state, and broken variants):
 *   cc -DHANDSHAKE_WRITE_SEEDS -Isrc tests/fuzz/target_handshake.c \
 *      src/core/noise.c src/core/replay.c src/crypto/[abcx]*.c \
 *      -lsodium -lcrypto && ./a.out tests/fuzz/corpus/handshake */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/messages.h"
#include "core/noise.h"
#include "crypto/ct.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW (1000 * NSEC_PER_SEC)

enum {
	INIT_LEN = sizeof(struct message_handshake_initiation),
	RESP_LEN = sizeof(struct message_handshake_response),
	INITIATOR_INDEX = 0x01020304,
	RESPONDER_INDEX = 0x0a0b0c0d,
};

struct fake {
	uint8_t next;
	uint64_t sec;
};

struct side {
	struct noise_local local;
	struct noise_handshake hs;
	struct fake fake;
	struct noise_ops ops;
};

/* initiator.hs is in CREATED_INITIATION, having sent valid_init;
 * responder.hs is fresh. valid_resp is the responder's answer. */
struct world {
	struct side initiator, responder;
	struct message_handshake_initiation valid_init;
	struct message_handshake_response valid_resp;
};

static struct world pristine;
static bool ready;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "target_handshake: property violated: %s\n", what);
		abort();
	}
}

static void fake_random(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(f->next++ * 167 + 13);
}

static void fake_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct fake *f = ctx;
	uint64_t label = (1ULL << 62) + ++f->sec;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	memset(out + 8, 0, 4);
}

/* The responder knows one peer: the initiator. */
static struct noise_handshake *lookup(void *ctx,
	const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN])
{
	struct world *w = ctx;

	if (crypto_equal(w->responder.hs.remote_static, remote_static,
			 NOISE_PUBLIC_KEY_LEN))
		return &w->responder.hs;
	return NULL;
}

static void side_init(struct side *s, uint8_t key_seed, uint8_t random_seed)
{
	uint8_t priv[NOISE_PUBLIC_KEY_LEN];

	for (size_t i = 0; i < sizeof(priv); i++)
		priv[i] = (uint8_t)(key_seed + 7 * i);
	check(noise_local_set_private(&s->local, priv), "key accepted");
	s->fake.next = random_seed;
	s->fake.sec = 1700000000;
	s->ops = (struct noise_ops){ .ctx = &s->fake, .random = fake_random,
				     .tai64n = fake_tai64n };
}

static void world_build(struct world *w)
{
	struct world tmp;
	uint8_t psk[NOISE_SYMMETRIC_KEY_LEN];

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < sizeof(psk); i++)
		psk[i] = (uint8_t)(0xc0 ^ i);
	side_init(&w->initiator, 0x11, 0x20);
	side_init(&w->responder, 0x51, 0x90);
	noise_handshake_init(&w->initiator.hs, &w->initiator.local,
			     w->responder.local.static_public, psk);
	noise_handshake_init(&w->responder.hs, &w->responder.local,
			     w->initiator.local.static_public, psk);
	check(noise_handshake_create_initiation(&w->valid_init,
						&w->initiator.hs,
						&w->initiator.local,
						INITIATOR_INDEX,
						&w->initiator.ops),
	      "initiation created");

	/* The response comes from a scratch copy: the responder stays fresh. */
	memcpy(&tmp, w, sizeof(tmp));
	check(noise_handshake_consume_initiation(&tmp.valid_init,
						 &tmp.responder.local, lookup,
						 &tmp, NOW) == &tmp.responder.hs,
	      "valid initiation consumed");
	check(noise_handshake_create_response(&w->valid_resp, &tmp.responder.hs,
					      &tmp.responder.local,
					      RESPONDER_INDEX,
					      &tmp.responder.ops),
	      "response created");
	crypto_wipe(&tmp, sizeof(tmp));
}

static void session_keys_match(const struct noise_keypair *i,
			       const struct noise_keypair *r)
{
	check(crypto_equal(i->send_key, r->recv_key, NOISE_SYMMETRIC_KEY_LEN) &&
	      crypto_equal(i->recv_key, r->send_key, NOISE_SYMMETRIC_KEY_LEN),
	      "session keys match");
	check(i->i_am_the_initiator && !r->i_am_the_initiator, "roles");
}

static void fuzz_initiation(const struct message_handshake_initiation *msg)
{
	struct world w;
	struct noise_handshake before, *hs;
	struct message_handshake_response resp;
	struct noise_keypair ki, kr;

	memcpy(&w, &pristine, sizeof(w));
	memcpy(&before, &w.responder.hs, sizeof(before));
	hs = noise_handshake_consume_initiation(msg, &w.responder.local, lookup,
						&w, NOW);
	if (!hs) {
		check(memcmp(&before, &w.responder.hs, sizeof(before)) == 0,
		      "rejected initiation changes nothing");
		return;
	}
	check(hs == &w.responder.hs, "initiation found its peer");
	check(hs->state == HANDSHAKE_CONSUMED_INITIATION, "consumed state");
	check(hs->remote_index == le32_load(msg->sender_index), "sender index");
	memcpy(&before, hs, sizeof(before));
	check(!noise_handshake_consume_initiation(msg, &w.responder.local,
						  lookup, &w, NOW + NSEC_PER_SEC),
	      "a replayed initiation is rejected");
	check(memcmp(&before, hs, sizeof(before)) == 0,
	      "a replay changes nothing");

	check(noise_handshake_create_response(&resp, hs, &w.responder.local,
					      RESPONDER_INDEX,
					      &w.responder.ops),
	      "response to a consumed initiation");
	check(noise_handshake_begin_session(hs, &kr, NOW), "responder session");

	/* Only the initiator could have made an initiation that
	 * authenticates; it accepts the answer when the index is its own. */
	if (noise_handshake_consume_response(&resp, &w.initiator.hs,
					     &w.initiator.local)) {
		check(noise_handshake_begin_session(&w.initiator.hs, &ki, NOW),
		      "initiator session");
		session_keys_match(&ki, &kr);
	} else {
		check(le32_load(msg->sender_index) != INITIATOR_INDEX,
		      "the initiator accepts the answer to its initiation");
	}
	crypto_wipe(&w, sizeof(w));
}

static void fuzz_response(const struct message_handshake_response *msg)
{
	struct world w;
	struct noise_handshake before;
	struct noise_keypair ki;

	memcpy(&w, &pristine, sizeof(w));
	memcpy(&before, &w.initiator.hs, sizeof(before));
	if (!noise_handshake_consume_response(msg, &w.initiator.hs,
					      &w.initiator.local)) {
		check(memcmp(&before, &w.initiator.hs, sizeof(before)) == 0,
		      "rejected response changes nothing");
		return;
	}
	check(w.initiator.hs.state == HANDSHAKE_CONSUMED_RESPONSE,
	      "consumed response state");
	check(!noise_handshake_consume_response(msg, &w.initiator.hs,
						&w.initiator.local),
	      "a response is taken once");
	check(noise_handshake_begin_session(&w.initiator.hs, &ki, NOW),
	      "initiator session");
	check(w.initiator.hs.state == HANDSHAKE_ZEROED, "handshake cleared");
	check(ki.remote_index == le32_load(msg->sender_index),
	      "keypair remote index");
	crypto_wipe(&w, sizeof(w));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!crypto_init()) {
		fprintf(stderr, "target_handshake: crypto_init failed\n");
		abort();
	}
	world_build(&pristine);
	ready = true;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;

	if (!ready)
		LLVMFuzzerInitialize(NULL, NULL);

	/* Exact sizes as they are; any other size cut or zero-padded, so
	 * that every input reaches both parsers. */
	memset(&init, 0, sizeof(init));
	if (size)
		memcpy(&init, data, size < INIT_LEN ? size : INIT_LEN);
	fuzz_initiation(&init);

	memset(&resp, 0, sizeof(resp));
	if (size)
		memcpy(&resp, data, size < RESP_LEN ? size : RESP_LEN);
	fuzz_response(&resp);
	/* The same response aimed at the waiting handshake, so that random
	 * bytes get past the index check to the cryptography. */
	le32_store(resp.receiver_index, INITIATOR_INDEX);
	fuzz_response(&resp);
	return 0;
}

#ifdef HANDSHAKE_WRITE_SEEDS
static void write_seed(const char *dir, const char *name, const void *p,
		       size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint8_t buf[INIT_LEN + 64];
	struct message_handshake_initiation init;
	struct message_handshake_response resp;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIRECTORY\n", argv[0]);
		return 1;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	init = pristine.valid_init;
	resp = pristine.valid_resp;

	write_seed(argv[1], "initiation-valid", &init, sizeof(init));
	write_seed(argv[1], "response-valid", &resp, sizeof(resp));
	write_seed(argv[1], "initiation-truncated", &init, sizeof(init) - 33);
	write_seed(argv[1], "response-truncated", &resp, sizeof(resp) - 17);
	memset(buf, 0xa5, sizeof(buf));
	memcpy(buf, &init, sizeof(init));
	write_seed(argv[1], "initiation-oversized", buf, sizeof(buf));
	write_seed(argv[1], "empty", buf, 0);

	init.encrypted_static[5] ^= 0x20;
	write_seed(argv[1], "initiation-bad-static", &init, sizeof(init));
	init = pristine.valid_init;
	init.encrypted_timestamp[27] ^= 0x01;
	write_seed(argv[1], "initiation-bad-timestamp-tag", &init, sizeof(init));
	init = pristine.valid_init;
	le32_store(init.sender_index, 0xfffffffe);
	write_seed(argv[1], "initiation-other-sender-index", &init, sizeof(init));
	init = pristine.valid_init;
	memset(init.unencrypted_ephemeral, 0, NOISE_PUBLIC_KEY_LEN);
	write_seed(argv[1], "initiation-zero-ephemeral", &init, sizeof(init));

	le32_store(resp.receiver_index, 0x77777777);
	write_seed(argv[1], "response-wrong-receiver", &resp, sizeof(resp));
	resp = pristine.valid_resp;
	resp.encrypted_nothing[0] ^= 0x80;
	write_seed(argv[1], "response-bad-tag", &resp, sizeof(resp));
	resp = pristine.valid_resp;
	resp.header.reserved_zero[1] = 1;
	write_seed(argv[1], "response-reserved-not-zero", &resp, sizeof(resp));
	return 0;
}
#endif
