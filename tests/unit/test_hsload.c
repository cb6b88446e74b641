/* test_hsload.c - the load tool's simulated client (bench/tools/hsload.c)
 * against an in-process server built from the core's own server halves:
 * admission_server for requests, cookie_checker for macs and cookie
 * replies, a noise responder for the WireGuard handshake. Checks the whole
 * exchange (admission, handshake, the confirming keepalive), cookie replies
 * in both phases, refusals, that replies which are not for the exchange in
 * flight change nothing, and the command-line parsing and source
 * addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The tool's I/O half is not used here. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define HSLOAD_NO_MAIN
#include "../../bench/tools/hsload.c"

static const struct admission_pwhash_limits tiny = { 1, 8192 };
static uint8_t kpass[ADMISSION_KEY_LEN], kother[ADMISSION_KEY_LEN];

static wg_time_t now_ns = 1000 * NSEC_PER_SEC;
static uint64_t tai_sec = 1700000000;

static void t_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	crypto_random(buf, len);
}

static void t_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	uint64_t label = (1ULL << 62) + ++tai_sec;

	(void)ctx;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	memset(out + 8, 0, 4);
}

static const struct noise_ops ops = { .random = t_random, .tai64n = t_tai64n };

/* ---- the in-process server ---- */

struct srv {
	struct noise_local local;
	struct admission_server *adm;
	struct cookie_checker checker;
	struct noise_handshake peer;	/* the one client it knows */
	bool has_peer;
	bool under_load;
	struct noise_keypair kp;	/* of the last handshake */
	uint8_t src[6];			/* the client's "address" for cookies */
};

static struct srv *srv_new(const uint8_t *passcode_key)
{
	struct srv *s = calloc(1, sizeof(*s));
	uint8_t priv[NOISE_PUBLIC_KEY_LEN];

	assert_non_null(s);
	s->adm = calloc(1, sizeof(*s->adm));
	assert_non_null(s->adm);
	crypto_random(priv, sizeof(priv));
	assert_true(noise_local_set_private(&s->local, priv));
	assert_true(admission_server_init(s->adm, &s->local, passcode_key, &ops));
	cookie_checker_init(&s->checker, s->local.static_public);
	memcpy(s->src, "\x0a\x7b\x01\x01\xca\x6c", 6);
	return s;
}

static void srv_free(struct srv *s)
{
	admission_server_clear(s->adm);
	free(s->adm);
	crypto_wipe(s, sizeof(*s));
	free(s);
}

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	return p;
}

/* A cookie reply when under load and mac2 is missing; 0 when msg must be
 * answered normally; -1 when the macs are bad. */
static int srv_macs(struct srv *s, const uint8_t *msg, size_t len,
		    uint8_t *out, size_t *out_len)
{
	switch (cookie_validate_packet(&s->checker, msg, len, s->src,
				       sizeof(s->src), s->under_load, now_ns,
				       &ops)) {
	case INVALID_MAC:
		return -1;
	case VALID_MAC_BUT_NO_COOKIE:
		if (!s->under_load)
			return 0;
		cookie_message_create((void *)out, msg, len, le32_load(msg + 4),
				      &s->checker, s->src, sizeof(s->src),
				      now_ns, &ops);
		*out_len = sizeof(struct message_handshake_cookie);
		return 1;
	case VALID_MAC_WITH_COOKIE:
		break;
	}
	return 0;
}

/* Answer an admission request; the grant's status is st. */
static size_t srv_admit(struct srv *s, const uint8_t *msg, size_t len,
			uint8_t *out, enum admission_verdict want)
{
	struct admission_request req;
	struct admission_grant g = { .status = ADMISSION_STATUS_OK };
	size_t n = 0;
	int m = srv_macs(s, msg, len, out, &n);

	if (m)
		return m > 0 ? n : 0;
	assert_int_equal(admission_request_consume(s->adm, &s->local, msg, len,
						   now_ns, &req), want);
	if (want == ADMISSION_WRONG_PASSCODE) {
		g.status = ADMISSION_STATUS_BAD_PASSCODE;
	} else {
		g.address4 = pfx("10.77.3.4/16");
		g.address6 = pfx("fd77::304/64");
		g.server4 = pfx("10.77.0.1/16");
		g.server6 = pfx("fd77::1/64");
		/* The server learns the client as a peer, as weft server does. */
		noise_handshake_init(&s->peer, &s->local, req.client_static, NULL);
		s->has_peer = true;
	}
	assert_true(admission_response_create(out, &req, &g, &ops));
	return ADMISSION_RESPONSE_LEN;
}

static struct noise_handshake *lookup(void *ctx, const uint8_t *pub)
{
	struct srv *s = ctx;

	if (!s->has_peer || memcmp(pub, s->peer.remote_static, 32))
		return NULL;
	return &s->peer;
}

/* Answer an initiation with a response (or a cookie reply). */
static size_t srv_handshake(struct srv *s, const uint8_t *msg, size_t len,
			    uint8_t *out)
{
	struct message_handshake_response *resp = (void *)out;
	struct noise_handshake *hs;
	struct cookie_maker maker;
	size_t n = 0;
	int m = srv_macs(s, msg, len, out, &n);

	if (m)
		return m > 0 ? n : 0;
	assert_int_equal(len, sizeof(struct message_handshake_initiation));
	hs = noise_handshake_consume_initiation((const void *)msg, &s->local,
						lookup, s, now_ns);
	assert_non_null(hs);
	assert_true(noise_handshake_create_response(resp, hs, &s->local,
						    0x5eed0001, &ops));
	cookie_maker_init(&maker, hs->remote_static);
	cookie_add_mac_to_packet(out, sizeof(*resp), &maker, now_ns);
	assert_true(noise_handshake_begin_session(hs, &s->kp, now_ns));
	return sizeof(*resp);
}

/* The client's keepalive opens with the server's session. */
static void assert_keepalive(struct srv *s, const uint8_t *msg, size_t len)
{
	uint8_t plain[1];

	assert_int_equal(len, DATA_OVERHEAD);
	assert_int_equal(le32_load(msg), MESSAGE_DATA);
	assert_int_equal(le32_load(msg + 4), s->kp.local_index);
	assert_int_equal(le64_load(msg + 8), 0);
	assert_true(aead_decrypt(plain, msg + DATA_HEADER_LEN, NOISE_AUTHTAG_LEN,
				 NULL, 0, 0, s->kp.recv_key));
}

static struct hc *client_new(struct srv *s, const uint8_t *key)
{
	struct hc *c = malloc(sizeof(*c));

	assert_non_null(c);
	assert_true(hc_init(c, s->local.static_public, key, &ops));
	return c;
}

static void client_free(struct hc *c)
{
	hc_clear(c);
	free(c);
}

static enum hc_event feed(struct hc *c, const uint8_t *msg, size_t len,
			  uint8_t *out, size_t *out_len,
			  enum admission_status *st)
{
	now_ns += NSEC_PER_MSEC;
	return hc_input(c, msg, len, now_ns, &ops, out, out_len, st);
}

/* Admission then handshake, both without load. */
static void connect_client(struct srv *s, struct hc *c)
{
	uint8_t a[HSLOAD_MSG_MAX], b[HSLOAD_RECV_MAX], out[HSLOAD_MSG_MAX];
	enum admission_status st = ADMISSION_STATUS_MAX;
	size_t len, olen;

	len = hc_request(c, now_ns, &ops, a);
	assert_int_equal(len, ADMISSION_REQUEST_LEN);
	assert_int_equal(c->state, HC_ADMITTING);
	len = srv_admit(s, a, len, b, ADMISSION_ADMISSIBLE);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_ADMITTED);
	assert_int_equal(st, ADMISSION_STATUS_OK);
	assert_int_equal(olen, 0);
	assert_int_equal(c->state, HC_ADMITTED);
	assert_int_equal(c->addr4.family, IP_V4);
	assert_int_equal(c->addr4.addr[2], 3);

	now_ns += NSEC_PER_SEC;
	len = hc_initiation(c, now_ns, &ops, a);
	assert_int_equal(len, sizeof(struct message_handshake_initiation));
	assert_int_equal(c->state, HC_HANDSHAKING);
	len = srv_handshake(s, a, len, b);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_HANDSHAKE);
	assert_int_equal(c->state, HC_ADMITTED);
	assert_keepalive(s, out, olen);
}

/* ---- tests ---- */

static void test_connect(void **state)
{
	struct srv *s = srv_new(kpass);
	struct hc *c = client_new(s, kpass);

	(void)state;
	connect_client(s, c);
	/* And again, as the sustained phase does. */
	for (int i = 0; i < 3; i++) {
		uint8_t a[HSLOAD_MSG_MAX], b[HSLOAD_RECV_MAX], out[HSLOAD_MSG_MAX];
		enum admission_status st;
		size_t len, olen;

		now_ns += NSEC_PER_SEC;
		len = hc_initiation(c, now_ns, &ops, a);
		len = srv_handshake(s, a, len, b);
		assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_HANDSHAKE);
		assert_keepalive(s, out, olen);
	}
	client_free(c);
	srv_free(s);
}

static void test_open_server(void **state)
{
	struct srv *s = srv_new(NULL);
	struct hc *c = client_new(s, NULL);

	(void)state;
	connect_client(s, c);
	client_free(c);
	srv_free(s);
}

static void test_wrong_passcode(void **state)
{
	struct srv *s = srv_new(kpass);
	struct hc *c = client_new(s, kother);
	uint8_t a[HSLOAD_MSG_MAX], b[HSLOAD_RECV_MAX], out[HSLOAD_MSG_MAX];
	enum admission_status st = ADMISSION_STATUS_OK;
	size_t len, olen;

	(void)state;
	len = hc_request(c, now_ns, &ops, a);
	len = srv_admit(s, a, len, b, ADMISSION_WRONG_PASSCODE);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_REFUSED);
	assert_int_equal(st, ADMISSION_STATUS_BAD_PASSCODE);
	assert_int_equal(fail_of_status(st), FAIL_BAD_PASSCODE);
	assert_int_equal(c->state, HC_FAILED);
	/* A second copy of the answer is no longer for anything in flight. */
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_IGNORED);
	client_free(c);
	srv_free(s);
}

/* Under load the server answers with a cookie reply; the client sends the
 * message again at once, now with a mac2 the server accepts. */
static void test_cookies(void **state)
{
	struct srv *s = srv_new(kpass);
	struct hc *c = client_new(s, kpass);
	uint8_t a[HSLOAD_MSG_MAX], b[HSLOAD_RECV_MAX], out[HSLOAD_MSG_MAX];
	enum admission_status st;
	size_t len, olen;

	(void)state;
	s->under_load = true;
	len = hc_request(c, now_ns, &ops, a);
	len = srv_admit(s, a, len, b, ADMISSION_ADMISSIBLE);
	assert_int_equal(len, sizeof(struct message_handshake_cookie));
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_COOKIE);
	assert_int_equal(olen, ADMISSION_REQUEST_LEN);
	assert_int_equal(c->state, HC_ADMITTING);
	assert_int_equal(cookie_validate_packet(&s->checker, out, olen, s->src,
						sizeof(s->src), true, now_ns, &ops),
			 VALID_MAC_WITH_COOKIE);
	len = srv_admit(s, out, olen, b, ADMISSION_ADMISSIBLE);
	assert_int_equal(len, ADMISSION_RESPONSE_LEN);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_ADMITTED);

	/* The handshake: the admission's cookie belongs to the admission
	 * exchange (as in weft client), so the first initiation has no mac2
	 * and draws a cookie reply of its own. */
	now_ns += NSEC_PER_SEC;
	len = hc_initiation(c, now_ns, &ops, a);
	assert_int_equal(cookie_validate_packet(&s->checker, a, len, s->src,
						sizeof(s->src), true, now_ns, &ops),
			 VALID_MAC_BUT_NO_COOKIE);
	len = srv_handshake(s, a, len, b);
	assert_int_equal(len, sizeof(struct message_handshake_cookie));
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_COOKIE);
	assert_int_equal(olen, sizeof(struct message_handshake_initiation));
	assert_int_equal(c->state, HC_HANDSHAKING);
	len = srv_handshake(s, out, olen, b);
	assert_int_equal(len, sizeof(struct message_handshake_response));
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_HANDSHAKE);
	assert_keepalive(s, out, olen);

	/* Later initiations carry mac2 from the start while the cookie is
	 * fresh. */
	now_ns += NSEC_PER_SEC;
	len = hc_initiation(c, now_ns, &ops, a);
	assert_int_equal(cookie_validate_packet(&s->checker, a, len, s->src,
						sizeof(s->src), true, now_ns, &ops),
			 VALID_MAC_WITH_COOKIE);
	client_free(c);
	srv_free(s);
}

/* What is not for the exchange in flight, or does not authenticate,
 * changes nothing; the genuine answer still works afterwards. */
static void test_foreign_replies(void **state)
{
	struct srv *s = srv_new(kpass);
	struct hc *c = client_new(s, kpass), *other = client_new(s, kpass);
	uint8_t a[HSLOAD_MSG_MAX], b[HSLOAD_RECV_MAX], bad[HSLOAD_RECV_MAX];
	uint8_t out[HSLOAD_MSG_MAX], req[HSLOAD_MSG_MAX];
	enum admission_status st;
	size_t len, olen;

	(void)state;
	/* A retransmission replaces the request: the answer to the first
	 * one no longer authenticates. */
	len = hc_request(c, now_ns, &ops, a);
	len = srv_admit(s, a, len, b, ADMISSION_ADMISSIBLE);
	assert_int_equal(hc_request(c, now_ns, &ops, a), ADMISSION_REQUEST_LEN);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_BAD);
	assert_int_equal(c->state, HC_ADMITTING);
	/* Another client's answer. */
	olen = hc_request(other, now_ns, &ops, req);
	olen = srv_admit(s, req, olen, bad, ADMISSION_ADMISSIBLE);
	assert_int_equal(feed(c, bad, olen, out, &olen, &st), HC_EV_BAD);
	/* A handshake response or a cookie reply while admitting. */
	memset(bad, 0, sizeof(bad));
	bad[0] = MESSAGE_HANDSHAKE_RESPONSE;
	assert_int_equal(feed(c, bad, 92, out, &olen, &st), HC_EV_IGNORED);
	bad[0] = MESSAGE_HANDSHAKE_COOKIE;
	assert_int_equal(feed(c, bad, 64, out, &olen, &st), HC_EV_IGNORED);
	/* A cookie reply for our index that does not open. */
	le32_store(bad + 4, c->adm.sender_index);
	assert_int_equal(feed(c, bad, 64, out, &olen, &st), HC_EV_BAD);
	assert_int_equal(olen, 0);
	/* Garbage of every length up to a datagram: never an event. */
	for (size_t n = 0; n <= 400; n++) {
		crypto_random(bad, n);
		assert_true(feed(c, bad, n, out, &olen, &st) <= HC_EV_BAD);
		assert_int_equal(olen, 0);
	}
	assert_int_equal(c->state, HC_ADMITTING);
	len = srv_admit(s, a, ADMISSION_REQUEST_LEN, b, ADMISSION_ADMISSIBLE);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_ADMITTED);
	/* Once admitted, an admission response is not for anything. */
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_IGNORED);

	/* Handshake: a response to another index, a tampered one, one with a
	 * bad mac1: ignored or bad, and the state stays. */
	now_ns += NSEC_PER_SEC;
	len = hc_initiation(c, now_ns, &ops, a);
	len = srv_handshake(s, a, len, b);
	memcpy(bad, b, len);
	le32_store(bad + 8, c->index + 1);
	assert_int_equal(feed(c, bad, len, out, &olen, &st), HC_EV_IGNORED);
	memcpy(bad, b, len);
	bad[12] ^= 1;		/* the ephemeral */
	assert_int_equal(feed(c, bad, len, out, &olen, &st), HC_EV_BAD);
	memcpy(bad, b, len);
	bad[len - 32] ^= 1;	/* mac1 */
	assert_int_equal(feed(c, bad, len, out, &olen, &st), HC_EV_BAD);
	assert_int_equal(feed(c, b, len - 1, out, &olen, &st), HC_EV_IGNORED);
	assert_int_equal(c->state, HC_HANDSHAKING);
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_HANDSHAKE);
	assert_keepalive(s, out, olen);
	/* The same response again: nothing in flight. */
	assert_int_equal(feed(c, b, len, out, &olen, &st), HC_EV_IGNORED);
	client_free(other);
	client_free(c);
	srv_free(s);
}

static void test_parse_args(void **state)
{
	struct srv *s = srv_new(NULL);
	char key[KEY_BASE64_LEN + 1], server[120], server6[120], err[160];
	struct opts o;

	(void)state;
	key_to_base64(key, s->local.static_public);
	snprintf(server, sizeof(server), "%s@10.123.3.2:51820", key);
	snprintf(server6, sizeof(server6), "%s@[fd00::2]:51820", key);
#define ARGS(...) ((char *[]){ "hsload", __VA_ARGS__, NULL })
#define NARGS(...) ((int)(sizeof((char *[]){ "hsload", __VA_ARGS__ }) / sizeof(char *)))
#define OK(...) assert_true(parse_args(&o, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), err))
#define BAD(...) do { \
		assert_false(parse_args(&o, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), err)); \
		assert_true(err[0] != '\0'); \
	} while (0)

	OK("--server", server);
	assert_int_equal(o.clients, 1000);
	assert_int_equal(o.concurrency, 64);
	assert_int_equal(o.timeout_ms, 5000);
	assert_memory_equal(o.server_pub, s->local.static_public, 32);
	assert_int_equal(o.server.port, 51820);
	assert_null(o.passcode);
	OK("--server", server, "--clients", "65536", "--concurrency", "4096",
	   "--duration", "0", "--passcode", "x", "--source", "10.124.0.0/22",
	   "--timeout", "10", "--attempts", "20");
	assert_int_equal(o.clients, 65536);
	assert_int_equal(o.source.cidr, 22);
	OK("--server", server6, "--source", "fd01::/64");

	assert_false(parse_args(&o, 2, ARGS("--help"), err));
	assert_int_equal(err[0], '\0');
	BAD("--clients", "10");				/* no --server */
	BAD("--server", "10.123.3.2:51820");		/* no key */
	BAD("--server", "AAAA@10.123.3.2:51820");	/* short key */
	BAD("--server", "%s@host:51820");
	snprintf(server, sizeof(server), "%s@10.123.3.2", key);
	BAD("--server", server);			/* no port */
	snprintf(server, sizeof(server), "%s@10.123.3.2:0", key);
	BAD("--server", server);
	snprintf(server, sizeof(server), "%s@10.123.3.2:51820", key);
	BAD("--server", server, "--clients", "0");
	BAD("--server", server, "--clients", "65537");
	BAD("--server", server, "--clients", "-1");
	BAD("--server", server, "--clients", "1x");
	BAD("--server", server, "--concurrency", "0");
	BAD("--server", server, "--concurrency", "4097");
	BAD("--server", server, "--duration", "3601");
	BAD("--server", server, "--timeout", "9");
	BAD("--server", server, "--attempts", "0");
	BAD("--server", server, "--passcode", "");
	BAD("--server", server, "--source", "10.124.0.0/33");
	BAD("--server", server, "--source", "fd01::/64");	/* family */
	BAD("--server", server, "--clients");		/* no value */
	BAD("--server", server, "--bogus", "1");
	srv_free(s);
}

static void test_source_of(void **state)
{
	struct ip_prefix p = pfx("10.124.0.0/22");
	uint8_t a[16];

	(void)state;
	source_of(&p, 0, a);
	assert_memory_equal(a, "\x0a\x7c\x00\x01", 4);
	source_of(&p, 254, a);
	assert_memory_equal(a, "\x0a\x7c\x00\xff", 4);
	source_of(&p, 255, a);
	assert_memory_equal(a, "\x0a\x7c\x01\x00", 4);
	source_of(&p, 1021, a);				/* the last host */
	assert_memory_equal(a, "\x0a\x7c\x03\xfe", 4);
	source_of(&p, 1022, a);				/* wraps */
	assert_memory_equal(a, "\x0a\x7c\x00\x01", 4);
	p = pfx("10.124.0.9/32");
	source_of(&p, 7, a);
	assert_memory_equal(a, "\x0a\x7c\x00\x09", 4);
	p = pfx("fd01::/64");
	source_of(&p, 0x1ff, a);
	assert_memory_equal(a, "\xfd\x01\0\0\0\0\0\0\0\0\0\0\0\0\x02\x00", 16);
}

static void test_percentiles(void **state)
{
	static struct phase ph;
	uint32_t lat[100];

	(void)state;
	for (int i = 0; i < 100; i++)
		lat[i] = (uint32_t)(i + 1) * 1000;	/* 1..100 ms */
	assert_true(pct_ms(lat, 100, 50) == 50.0);
	assert_true(pct_ms(lat, 100, 99) == 99.0);
	assert_true(pct_ms(lat, 100, 100) == 100.0);
	assert_true(pct_ms(lat, 1, 50) == 1.0);
	assert_true(pct_ms(lat, 0, 50) == 0.0);

	/* Beyond the cap, samples replace others: the count stays bounded. */
	ph.lat = malloc((size_t)HSLOAD_MAX_SAMPLES * sizeof(uint32_t));
	assert_non_null(ph.lat);
	ph.rng = 1;
	for (uint64_t i = 0; i < (uint64_t)HSLOAD_MAX_SAMPLES + 1000; i++)
		phase_sample(&ph, 5 * NSEC_PER_MSEC);
	assert_int_equal(ph.nlat, HSLOAD_MAX_SAMPLES);
	assert_int_equal(ph.nseen, (uint64_t)HSLOAD_MAX_SAMPLES + 1000);
	free(ph.lat);
}

static int setup(void **state)
{
	uint8_t pub[32];

	(void)state;
	if (!crypto_init())
		return -1;
	/* Any server key will do: both sides take K_pass as given. */
	memset(pub, 0x42, sizeof(pub));
	if (!admission_passcode_key(kpass, "right", 5, pub, &tiny) ||
	    !admission_passcode_key(kother, "wrong", 5, pub, &tiny))
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_open_server),
		cmocka_unit_test(test_wrong_passcode),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_foreign_replies),
		cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_source_of),
		cmocka_unit_test(test_percentiles),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
