/* target_admission.c - fuzz admission.c and addrpool.c: any bytes as a
 * request to a fixed server, as a response to a fixed client waiting for
 * one, as avoided prefixes for the address pool, and as a pool file.
 * A rejected message must change nothing; an accepted one must be
 * consistent (a request is taken once, a response gives a well-formed
 * grant); a pool file that loads must serialise and load back to itself.
 *
 * Every input starts from the same state (fixed keys, deterministic
 * randomness and clock, Argon2id at libsodium's minimum), built once, so a
 * crasher replays the same way alone or in a corpus. Built with
 * -DADMISSION_WRITE_SEEDS this file is also a program that writes the
 * seeds of corpus/admission/:
 *   cc -DADMISSION_WRITE_SEEDS -Isrc tests/fuzz/target_admission.c \
 *      src/core/admission.c src/core/addrpool.c src/core/cookie.c \
 *      src/core/noise.c src/core/replay.c src/core/encoding.c \
 *      src/core/parse.c src/crypto/[abcx]*.c -lsodium -lcrypto \
 *      && ./a.out tests/fuzz/corpus/admission */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addrpool.h"
#include "core/admission.h"
#include "core/allowedips.h"
#include "core/cookie.h"
#include "core/messages.h"
#include "core/noise.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW (1000 * NSEC_PER_SEC)
#define PASSCODE "fuzz passcode"

enum {
	REQ_LEN = ADMISSION_REQUEST_LEN,
	RESP_LEN = ADMISSION_RESPONSE_LEN,
	PREFIX_LEN = 18,	/* family, cidr, 16 address bytes */
};

struct fake {
	uint8_t next;
	uint64_t sec;
};

struct party {
	struct noise_local local;
	struct fake fake;
	struct noise_ops ops;
};

/* The server has admitted nobody; the client has sent valid_request and
 * waits; valid_response answers it. The pool holds a few clients. */
struct world {
	struct party server, client;
	struct admission_server srv;
	struct admission_client cl;
	uint8_t valid_request[REQ_LEN];
	uint8_t valid_response[RESP_LEN];
	struct addrpool pool;
};

static struct world pristine, work;
static bool ready;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "target_admission: property violated: %s\n", what);
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

static void party_init(struct party *p, uint8_t key_seed, uint8_t random_seed)
{
	uint8_t priv[NOISE_PUBLIC_KEY_LEN];

	for (size_t i = 0; i < sizeof(priv); i++)
		priv[i] = (uint8_t)(key_seed + 7 * i);
	check(noise_local_set_private(&p->local, priv), "key accepted");
	p->fake.next = random_seed;
	p->fake.sec = 1700000000;
	p->ops = (struct noise_ops){ .ctx = &p->fake, .random = fake_random,
				     .tai64n = fake_tai64n };
}

static struct ip_prefix prefix(uint8_t family, uint8_t cidr,
			       const uint8_t *addr)
{
	struct ip_prefix p;

	memset(&p, 0, sizeof(p));
	p.family = family;
	p.cidr = cidr;
	memcpy(p.addr, addr, family == IP_V4 ? 4 : 16);
	return p;
}

static void world_build(struct world *w)
{
	static const uint8_t net4[4] = { 10, 66, 0, 0 };
	static const uint8_t net6[16] = { 0xfd, 0x66 };
	static const uint8_t lan4[4] = { 192, 168, 1, 0 };
	const struct admission_pwhash_limits tiny = { 1, 8192 };
	uint8_t kpass[ADMISSION_KEY_LEN], hash_key[ADDRPOOL_HASH_KEY_LEN];
	struct ip_prefix n4 = prefix(IP_V4, 28, net4);
	struct ip_prefix n6 = prefix(IP_V6, 120, net6);
	struct ip_prefix avoid = prefix(IP_V4, 24, lan4);
	struct admission_request r;
	struct admission_grant g;
	struct admission_server *scratch;

	memset(w, 0, sizeof(*w));
	party_init(&w->server, 0x51, 0x90);
	party_init(&w->client, 0x11, 0x20);
	check(admission_passcode_key(kpass, PASSCODE, strlen(PASSCODE),
				     w->server.local.static_public, &tiny),
	      "passcode key");
	check(admission_server_init(&w->srv, &w->server.local, kpass,
				    &w->server.ops), "server init");
	check(admission_client_init(&w->cl, &w->client.local,
				    w->server.local.static_public, kpass),
	      "client init");
	check(admission_request_create(w->valid_request, &w->cl,
				       &w->client.local, &avoid, 1, NOW,
				       &w->client.ops), "request created");

	/* The answer comes from a scratch server: the real one stays fresh. */
	scratch = malloc(sizeof(*scratch));
	check(scratch != NULL, "memory");
	memcpy(scratch, &w->srv, sizeof(*scratch));
	check(admission_request_consume(scratch, &w->server.local,
					w->valid_request, REQ_LEN, NOW, &r) ==
	      ADMISSION_ADMISSIBLE, "valid request admitted");

	for (size_t i = 0; i < sizeof(hash_key); i++)
		hash_key[i] = (uint8_t)(i * 3);
	check(addrpool_init(&w->pool, &n4, &n6, hash_key), "pool");
	for (uint8_t i = 0; i < 4; i++) {
		uint8_t key[32] = { i, 0x77 };
		struct ip_prefix a4, a6;

		check(addrpool_assign(&w->pool, key, NULL, 0, &a4, &a6) ==
		      ADDRPOOL_OK, "pool assign");
	}
	memset(&g, 0, sizeof(g));
	g.status = ADMISSION_STATUS_OK;
	check(addrpool_assign(&w->pool, r.client_static, r.avoid, r.n_avoid,
			      &g.address4, &g.address6) == ADDRPOOL_OK,
	      "client assigned");
	addrpool_server_address(&w->pool, &g.server4, &g.server6);
	g.dns[0] = g.server4;
	g.dns[0].cidr = 32;
	g.n_dns = 1;
	check(admission_response_create(w->valid_response, &r, &g,
					&w->server.ops), "response created");
	admission_server_clear(scratch);
	free(scratch);
	crypto_wipe(kpass, sizeof(kpass));
}

/* Exact bytes; or cut/zero-padded to length and re-macced, so that random
 * bytes get past mac1 to the cryptography. */
static void shape_request(uint8_t out[REQ_LEN], const uint8_t *data,
			  size_t size)
{
	struct cookie_maker m;

	memset(out, 0, REQ_LEN);
	if (size)
		memcpy(out, data, size < REQ_LEN ? size : REQ_LEN);
	out[0] = ADMISSION_MESSAGE_TYPE;
	out[1] = ADMISSION_SUBTYPE_REQUEST;
	cookie_maker_init(&m, pristine.server.local.static_public);
	cookie_add_mac_to_packet(out, REQ_LEN, &m, NOW);
}

static void shape_response(uint8_t out[RESP_LEN], const uint8_t *data,
			   size_t size)
{
	static const uint8_t label[8] = "mac1----";
	size_t off = offsetof(struct message_admission_response, mac1);
	uint8_t key[32];

	memset(out, 0, RESP_LEN);
	if (size)
		memcpy(out, data, size < RESP_LEN ? size : RESP_LEN);
	out[0] = ADMISSION_MESSAGE_TYPE;
	out[1] = ADMISSION_SUBTYPE_RESPONSE;
	le32_store(out + 4, pristine.cl.sender_index);
	blake2s256(key, label, sizeof(label), pristine.client.local.static_public,
		   32);
	blake2s_keyed(out + off, COOKIE_MAC_LEN, key, sizeof(key), out, off);
}

static bool prefix_sane(const struct ip_prefix *p, uint8_t family)
{
	size_t len = p->family == IP_V4 ? 4 : 16;

	if (p->family != family || p->cidr > len * 8)
		return false;
	for (size_t i = len; i < sizeof(p->addr); i++)
		if (p->addr[i])
			return false;
	return true;
}

static void fuzz_request(const uint8_t *msg, size_t len)
{
	struct admission_request r;
	struct admission_grant g;
	uint8_t resp[RESP_LEN];
	enum admission_verdict v;

	memcpy(&work.srv, &pristine.srv, sizeof(work.srv));
	memcpy(&work.server, &pristine.server, sizeof(work.server));
	work.server.ops.ctx = &work.server.fake;
	v = admission_request_consume(&work.srv, &work.server.local, msg, len,
				      NOW, &r);
	if (v != ADMISSION_ADMISSIBLE) {
		check(memcmp(&work.srv, &pristine.srv, sizeof(work.srv)) == 0,
		      "a request not admitted changes nothing");
		if (v != ADMISSION_WRONG_PASSCODE) {
			check(crypto_is_zero(&r, sizeof(r)), "nothing out");
			return;
		}
		check(r.proof == ADMISSION_PROOF_INVALID, "wrong proof");
	} else {
		check(r.proof == ADMISSION_PROOF_VALID, "valid proof");
		check(admission_request_consume(&work.srv, &work.server.local,
						msg, len, NOW + NSEC_PER_SEC,
						&(struct admission_request){ 0 })
		      == ADMISSION_REPLAYED, "a request is taken once");
	}
	check(r.answerable && r.n_avoid <= ADMISSION_MAX_PREFIXES,
	      "answerable request");
	for (size_t i = 0; i < r.n_avoid; i++)
		check(r.avoid[i].family == IP_V4 || r.avoid[i].family == IP_V6,
		      "avoided prefix family");
	memset(&g, 0, sizeof(g));
	g.status = v == ADMISSION_ADMISSIBLE ? ADMISSION_STATUS_NOT_ALLOWED :
					       ADMISSION_STATUS_BAD_PASSCODE;
	check(admission_response_create(resp, &r, &g, &work.server.ops),
	      "an authentic request can be answered");
	check(!r.answerable, "answered once");
}

static void fuzz_response(const uint8_t *msg, size_t len)
{
	struct admission_grant g;

	memcpy(&work.cl, &pristine.cl, sizeof(work.cl));
	if (!admission_response_consume(&work.cl, &work.client.local, msg, len,
					&g)) {
		check(memcmp(&work.cl, &pristine.cl, sizeof(work.cl)) == 0,
		      "a rejected response changes nothing");
		check(crypto_is_zero(&g, sizeof(g)), "no grant out");
		return;
	}
	check(!work.cl.waiting, "a response is taken once");
	check(g.status <= ADMISSION_STATUS_MAX && g.n_dns <= ADMISSION_MAX_DNS,
	      "grant in range");
	if (g.status == ADMISSION_STATUS_OK)
		check(g.address4.family || g.address6.family, "OK has an address");
	if (g.address4.family)
		check(prefix_sane(&g.address4, IP_V4), "address4");
	if (g.address6.family)
		check(prefix_sane(&g.address6, IP_V6), "address6");
	check(!admission_response_consume(&work.cl, &work.client.local, msg,
					  len, &g), "not twice");
}

/* Bytes as a key and avoided prefixes for the pool. */
static void fuzz_assign(const uint8_t *data, size_t size)
{
	struct ip_prefix avoid[ADDRPOOL_MAX_AVOID + 1], a4, a6, b4, b6;
	uint8_t key[32];
	size_t n = 0, before;
	enum addrpool_result res;

	if (size < sizeof(key))
		return;
	memcpy(key, data, sizeof(key));
	data += sizeof(key);
	size -= sizeof(key);
	for (; size >= PREFIX_LEN && n < ADDRPOOL_MAX_AVOID + 1; n++) {
		memset(&avoid[n], 0, sizeof(avoid[n]));
		avoid[n].family = data[0] & 1 ? IP_V6 : IP_V4;
		avoid[n].cidr = data[1];
		memcpy(avoid[n].addr, data + 2, avoid[n].family == IP_V4 ? 4 : 16);
		data += PREFIX_LEN;
		size -= PREFIX_LEN;
	}
	memcpy(&work.pool, &pristine.pool, sizeof(work.pool));
	before = work.pool.n;
	res = addrpool_assign(&work.pool, key, avoid, n, &a4, &a6);
	if (res != ADDRPOOL_OK) {
		check(work.pool.n == before &&
		      work.pool.n4 == pristine.pool.n4 &&
		      memcmp(work.pool.entries, pristine.pool.entries,
			     sizeof(work.pool.entries)) == 0,
		      "a failed assignment changes nothing");
		check(a4.family == 0 && a6.family == 0, "no address out");
		return;
	}
	check(prefix_sane(&a4, IP_V4) && prefix_sane(&a6, IP_V6), "addresses");
	check(a4.addr[3] != 0 && a4.addr[3] != 1 && a4.addr[3] != 15,
	      "not reserved");
	check(addrpool_lookup(&work.pool, key, &b4, &b6) &&
	      memcmp(&a4, &b4, sizeof(a4)) == 0 &&
	      memcmp(&a6, &b6, sizeof(a6)) == 0, "lookup agrees");
	check(addrpool_assign(&work.pool, key, avoid, n, &b4, &b6) ==
	      ADDRPOOL_OK && memcmp(&a4, &b4, sizeof(a4)) == 0,
	      "sticky");
}

/* Bytes as a pool file: what loads serialises and loads back to itself. */
static void fuzz_pool_file(const uint8_t *data, size_t size)
{
	static char out[(ADDRPOOL_MAX_CLIENTS + 1) * ADDRPOOL_LINE_MAX];
	static char again[sizeof(out)];
	struct addrpool_error err;
	size_t len, len2;
	unsigned lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	memcpy(&work.pool, &pristine.pool, sizeof(work.pool));
	if (addrpool_load(&work.pool, (const char *)data, size, &err) != 0) {
		check(work.pool.n == 0 && work.pool.n4 == 0 && work.pool.n6 == 0,
		      "a failed load leaves an empty map");
		check(err.line >= 1 && err.line <= lines, "error line");
		check(err.msg[0] && memchr(err.msg, '\0', sizeof(err.msg)) &&
		      !strchr(err.msg, '\n'), "one-line message");
		return;
	}
	check(addrpool_serialise(&work.pool, out, sizeof(out), &len) == 0,
	      "serialise");
	check(addrpool_load(&work.pool, out, len, &err) == 0, "load back");
	check(addrpool_serialise(&work.pool, again, sizeof(again), &len2) == 0 &&
	      len == len2 && memcmp(out, again, len) == 0, "round trip");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!crypto_init()) {
		fprintf(stderr, "target_admission: crypto_init failed\n");
		abort();
	}
	world_build(&pristine);
	memcpy(&work, &pristine, sizeof(work));
	work.server.ops.ctx = &work.server.fake;
	work.client.ops.ctx = &work.client.fake;
	ready = true;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t req[REQ_LEN], resp[RESP_LEN];

	if (!ready)
		LLVMFuzzerInitialize(NULL, NULL);

	fuzz_request(data, size);
	shape_request(req, data, size);
	fuzz_request(req, sizeof(req));

	fuzz_response(data, size);
	shape_response(resp, data, size);
	fuzz_response(resp, sizeof(resp));

	fuzz_assign(data, size);
	fuzz_pool_file(data, size);
	return 0;
}

#ifdef ADMISSION_WRITE_SEEDS
#include "core/encoding.h"

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
	uint8_t buf[REQ_LEN + 64];
	uint8_t req[REQ_LEN], resp[RESP_LEN];
	char text[1024], key[KEY_BASE64_LEN + 1];
	size_t len;
	uint8_t k[32] = { 1, 2, 3 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIRECTORY\n", argv[0]);
		return 1;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	memcpy(req, pristine.valid_request, REQ_LEN);
	memcpy(resp, pristine.valid_response, RESP_LEN);

	write_seed(argv[1], "request-valid", req, REQ_LEN);
	write_seed(argv[1], "response-valid", resp, RESP_LEN);
	write_seed(argv[1], "request-truncated", req, REQ_LEN - 17);
	write_seed(argv[1], "response-truncated", resp, RESP_LEN - 1);
	memset(buf, 0xa5, sizeof(buf));
	memcpy(buf, req, REQ_LEN);
	write_seed(argv[1], "request-oversized", buf, sizeof(buf));
	write_seed(argv[1], "empty", buf, 0);
	req[100] ^= 0x04;
	write_seed(argv[1], "request-bad-payload", req, REQ_LEN);
	memcpy(req, pristine.valid_request, REQ_LEN);
	req[REQ_LEN - 20] ^= 0x01;
	write_seed(argv[1], "request-bad-mac1", req, REQ_LEN);
	memcpy(req, pristine.valid_request, REQ_LEN);
	req[2] = 1;
	write_seed(argv[1], "request-reserved-not-zero", req, REQ_LEN);
	resp[50] ^= 0x80;
	write_seed(argv[1], "response-bad-tag", resp, RESP_LEN);
	memcpy(resp, pristine.valid_response, RESP_LEN);
	resp[4] ^= 0x01;
	write_seed(argv[1], "response-wrong-receiver", resp, RESP_LEN);

	/* Pool files and avoided prefixes (a key, then 18-byte prefixes). */
	key_to_base64(key, k);
	len = (size_t)snprintf(text, sizeof(text),
			       "# weft address pool\n%s 10.66.0.7 fd66::7\n"
			       "%s 10.66.0.8 fd66::8\n", key, key);
	write_seed(argv[1], "pool-duplicate-key", text, len);
	len = (size_t)snprintf(text, sizeof(text),
			       "%s 10.66.0.7 fd66::7\r\n\n# c\n", key);
	write_seed(argv[1], "pool-valid", text, len);
	len = (size_t)snprintf(text, sizeof(text), "%s 10.66.0.15 -\n", key);
	write_seed(argv[1], "pool-broadcast", text, len);
	memset(buf, 0, sizeof(buf));
	buf[32] = 0;		/* v4 */
	buf[33] = 30;
	buf[34] = 10;
	buf[35] = 66;
	buf[38] = 4;
	buf[50] = 1;		/* v6 */
	buf[51] = 122;
	buf[52] = 0xfd;
	buf[53] = 0x66;
	write_seed(argv[1], "assign-two-prefixes", buf, 32 + 2 * PREFIX_LEN);
	return 0;
}
#endif
