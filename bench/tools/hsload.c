/* hsload.c - handshake load on a `weft server`: many simulated clients, each
 * with its own X25519 key and its own UDP socket (its own source port; with
 * --source its own source address too), each doing what `weft client` does
 * when it connects: the passcode admission exchange (core/admission.h),
 * then a WireGuard handshake with the server's key (core/noise.h), then an
 * empty data packet that confirms the session, as a WireGuard initiator
 * does. For the full-tunnel benchmark (bench/fulltunnel.sh).
 *
 *   hsload --server PUB@IP:PORT [--clients N] [--passcode P]
 *          [--concurrency K] [--duration S] [--source PREFIX]
 *          [--timeout MS] [--attempts A]
 *
 * Phases, one output line each, with ok/failed counts, rate, latency
 * percentiles (first transmission to the answer, cookie round trips and
 * retransmissions included), cookie replies, retransmissions, replies that
 * did not authenticate, and failures by kind:
 *   admit      each of the N clients is admitted once, K in flight at most
 *   handshake  each admitted client completes one handshake
 *   sustained  for S seconds, K handshakes in flight, cycling through the
 *              admitted clients (none with --duration 0)
 *
 * Like a real client: a cookie reply (the server is under load and demands
 * mac2) is consumed and the message sent again at once with mac2, as
 * `weft client` does for admission (WireGuard itself would wait for its
 * retransmission timer; the load tool does not, so that a cookie costs a
 * round trip rather than REKEY_TIMEOUT); an unanswered message is sent
 * anew (fresh ephemeral, fresh index) after --timeout, up to --attempts
 * times. A client starts a new handshake no sooner than 1 /
 * INITIATIONS_PER_SECOND (and a margin) after its last one ended: the
 * server drops initiations of one peer that come faster.
 *
 * The server rate-limits admission requests per source address (each is a
 * passcode guess), so many clients behind one address are admitted at that
 * rate: give them addresses of their own with --source PREFIX (client i
 * binds to host i of the prefix, cyclically; the prefix must be local, e.g.
 * `ip route add local PREFIX dev lo` in the namespace, and routed back from
 * the server).
 *
 * Invariants: every buffer has a fixed size; N, K, S, the timeout and the
 * attempts are bounded (enum hsload_limits); nothing is sent anywhere but
 * the --server address; secrets live in memory the tool frees wiped.
 * Exit status: 0 when every client was admitted and every handshake
 * completed, 1 when any failed, 2 on bad usage or a setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addrpool.h"
#include "core/admission.h"
#include "core/cookie.h"
#include "core/encoding.h"
#include "core/endpoint.h"
#include "core/messages.h"
#include "core/noise.h"
#include "core/parse.h"
#include "crypto/aead.h"
#include "crypto/ct.h"

enum hsload_limits {
	HSLOAD_MAX_CLIENTS = 65536,
	HSLOAD_MAX_CONCURRENCY = 4096,
	HSLOAD_MAX_DURATION = 3600,	/* seconds */
	HSLOAD_MIN_TIMEOUT_MS = 10,
	HSLOAD_MAX_TIMEOUT_MS = 60000,
	HSLOAD_MAX_ATTEMPTS = 20,
	HSLOAD_MAX_SAMPLES = 1 << 20,	/* latencies kept per phase */
	HSLOAD_RECV_MAX = 2048,		/* larger datagrams are not ours */
	HSLOAD_RECV_BURST = 16,		/* datagrams per socket per wakeup */
	HSLOAD_EVENTS = 256,		/* epoll events per wait */
	HSLOAD_SCAN_MS = 5,		/* timeouts are checked this often */
	HSLOAD_SPARE_FDS = 64,		/* beyond one socket per client */
};

/* The largest message a client sends. */
enum { HSLOAD_MSG_MAX = ADMISSION_REQUEST_LEN };
_Static_assert(ADMISSION_REQUEST_LEN >= sizeof(struct message_handshake_initiation),
	       "the request is the largest message");

/* A peer consumes at most INITIATIONS_PER_SECOND initiations: the gap
 * between the end of one of a client's handshakes (after the server
 * consumed its initiation) and the next, with a margin. */
#define HSLOAD_REUSE_GAP (NSEC_PER_SEC / INITIATIONS_PER_SECOND + 5 * NSEC_PER_MSEC)

/* ---- one simulated client: the protocol, without sockets or clocks ---- */

enum hc_state {
	HC_NEW,			/* not admitted yet */
	HC_ADMITTING,		/* request in flight */
	HC_ADMITTED,		/* may handshake */
	HC_HANDSHAKING,		/* initiation in flight */
	HC_FAILED,		/* admission failed for good */
};

struct hc {
	struct noise_local local;
	struct admission_client adm;
	struct noise_handshake hs;
	struct cookie_maker maker;	/* macs on initiations; cookie replies */
	struct cookie_checker own;	/* mac1 on responses (our key) */
	enum hc_state state;
	uint32_t index;			/* our sender index in flight */
	int fd;
	unsigned attempts;		/* transmissions of the exchange */
	size_t slot;			/* in the in-flight table */
	wg_time_t started, deadline;
	wg_time_t last_done;		/* end of its last handshake */
	bool ever_done;
	struct ip_prefix addr4, addr6;	/* what the server granted */
};

enum hc_event {
	HC_EV_IGNORED,		/* not for the exchange in flight */
	HC_EV_BAD,		/* addressed to it, but did not authenticate */
	HC_EV_COOKIE,		/* cookie taken: out holds the message again */
	HC_EV_ADMITTED,
	HC_EV_REFUSED,		/* authentic admission answer, not OK */
	HC_EV_HANDSHAKE,	/* session derived: out holds the keepalive */
};

/* A fresh identity for server_pub; pass_key NULL: open server. */
__attribute__((warn_unused_result))
static bool hc_init(struct hc *c, const uint8_t server_pub[NOISE_PUBLIC_KEY_LEN],
		    const uint8_t *pass_key, const struct noise_ops *ops)
{
	uint8_t priv[NOISE_PUBLIC_KEY_LEN];
	bool ok;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	ops->random(ops->ctx, priv, sizeof(priv));
	ok = noise_local_set_private(&c->local, priv) &&
	     admission_client_init(&c->adm, &c->local, server_pub, pass_key);
	crypto_wipe(priv, sizeof(priv));
	if (!ok)
		return false;
	noise_handshake_init(&c->hs, &c->local, server_pub, NULL);
	cookie_maker_init(&c->maker, server_pub);
	cookie_checker_init(&c->own, c->local.static_public);
	return !crypto_is_zero(c->hs.precomputed_static_static,
			       NOISE_PUBLIC_KEY_LEN);
}

static void hc_clear(struct hc *c)
{
	admission_client_clear(&c->adm);
	noise_handshake_clear(&c->hs);
	crypto_wipe(c, sizeof(*c));
	c->fd = -1;
}

/* A new admission request into out (replacing any in flight); its length,
 * 0 if it could not be built. */
static size_t hc_request(struct hc *c, wg_time_t now,
			 const struct noise_ops *ops,
			 uint8_t out[HSLOAD_MSG_MAX])
{
	if (!admission_request_create(out, &c->adm, &c->local, NULL, 0, now, ops))
		return 0;
	c->state = HC_ADMITTING;
	return ADMISSION_REQUEST_LEN;
}

/* A new initiation (fresh ephemeral and index) into out; 0 on failure. */
static size_t hc_initiation(struct hc *c, wg_time_t now,
			    const struct noise_ops *ops,
			    uint8_t out[HSLOAD_MSG_MAX])
{
	struct message_handshake_initiation *m = (void *)out;
	uint8_t idx[4];

	ops->random(ops->ctx, idx, sizeof(idx));
	if (!noise_handshake_create_initiation(m, &c->hs, &c->local,
					       le32_load(idx), ops))
		return 0;
	cookie_add_mac_to_packet(out, sizeof(*m), &c->maker, now);
	c->index = le32_load(idx);
	c->state = HC_HANDSHAKING;
	return sizeof(*m);
}

/* The empty data packet that confirms a session to its responder. */
static size_t keepalive(const struct noise_keypair *kp,
			uint8_t out[HSLOAD_MSG_MAX])
{
	struct message_data *m = (void *)out;

	m->header = (struct message_header){ .type = MESSAGE_DATA };
	le32_store(m->key_idx, kp->remote_index);
	le64_store(m->counter, 0);
	aead_encrypt(out + DATA_HEADER_LEN, out + DATA_HEADER_LEN, 0, NULL, 0, 0,
		     kp->send_key);
	return DATA_OVERHEAD;
}

static enum hc_event on_cookie(struct hc *c, const uint8_t *msg, wg_time_t now,
			       const struct noise_ops *ops,
			       uint8_t out[HSLOAD_MSG_MAX], size_t *out_len)
{
	const struct message_handshake_cookie *m = (const void *)msg;
	uint32_t to = le32_load(m->receiver_index);

	if (c->state == HC_ADMITTING && c->adm.waiting &&
	    to == c->adm.sender_index) {
		if (!cookie_message_consume(m, &c->adm.cookie, now))
			return HC_EV_BAD;
		*out_len = hc_request(c, now, ops, out);
		return *out_len ? HC_EV_COOKIE : HC_EV_BAD;
	}
	if (c->state == HC_HANDSHAKING && to == c->index) {
		if (!cookie_message_consume(m, &c->maker, now))
			return HC_EV_BAD;
		*out_len = hc_initiation(c, now, ops, out);
		return *out_len ? HC_EV_COOKIE : HC_EV_BAD;
	}
	return HC_EV_IGNORED;
}

static enum hc_event on_response(struct hc *c, const uint8_t *msg, wg_time_t now,
				 const struct noise_ops *ops,
				 uint8_t out[HSLOAD_MSG_MAX], size_t *out_len)
{
	const struct message_handshake_response *m = (const void *)msg;
	struct noise_keypair kp;

	if (c->state != HC_HANDSHAKING || le32_load(m->receiver_index) != c->index)
		return HC_EV_IGNORED;
	/* Not from our server (no mac2 check: we never demand cookies). */
	if (cookie_validate_packet(&c->own, msg, sizeof(*m), NULL, 0, false,
				   now, ops) == INVALID_MAC ||
	    c->hs.state != HANDSHAKE_CREATED_INITIATION ||
	    !noise_handshake_consume_response(m, &c->hs, &c->local))
		return HC_EV_BAD;
	if (!noise_handshake_begin_session(&c->hs, &kp, now))
		return HC_EV_BAD;
	*out_len = keepalive(&kp, out);
	noise_keypair_clear(&kp);
	c->state = HC_ADMITTED;
	return HC_EV_HANDSHAKE;
}

/* A datagram msg/len from the server to client c at now. *out_len is the
 * length of the message to send in answer (0: none); *status the refusal
 * of HC_EV_REFUSED. Any bytes are safe. */
static enum hc_event hc_input(struct hc *c, const uint8_t *msg, size_t len,
			      wg_time_t now, const struct noise_ops *ops,
			      uint8_t out[HSLOAD_MSG_MAX], size_t *out_len,
			      enum admission_status *status)
{
	struct admission_grant g;

	*out_len = 0;
	if (len < sizeof(struct message_header))
		return HC_EV_IGNORED;
	switch (le32_load(msg)) {
	case MESSAGE_HANDSHAKE_COOKIE:
		if (len != sizeof(struct message_handshake_cookie))
			return HC_EV_IGNORED;
		return on_cookie(c, msg, now, ops, out, out_len);
	case MESSAGE_HANDSHAKE_RESPONSE:
		if (len != sizeof(struct message_handshake_response))
			return HC_EV_IGNORED;
		return on_response(c, msg, now, ops, out, out_len);
	case MESSAGE_DATA:
		return HC_EV_IGNORED;	/* the server's keepalives */
	default:
		break;
	}
	if (admission_message_kind(msg, len) != ADMISSION_KIND_RESPONSE ||
	    c->state != HC_ADMITTING)
		return HC_EV_IGNORED;
	if (!admission_response_consume(&c->adm, &c->local, msg, len, &g))
		return HC_EV_BAD;
	*status = g.status;
	if (g.status != ADMISSION_STATUS_OK) {
		c->state = HC_FAILED;
		return HC_EV_REFUSED;
	}
	c->addr4 = g.address4;
	c->addr6 = g.address6;
	c->state = HC_ADMITTED;
	return HC_EV_ADMITTED;
}

/* ---- command line ---- */

struct opts {
	uint8_t server_pub[NOISE_PUBLIC_KEY_LEN];
	struct wg_endpoint server;
	uint32_t clients, concurrency, duration, timeout_ms, attempts;
	const char *passcode;
	struct ip_prefix source;	/* family 0: let the kernel choose */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hsload --server PUB@IP:PORT [--clients N (1000)] [--passcode P]\n"
		"              [--concurrency K (64)] [--duration S (10)] [--source PREFIX]\n"
		"              [--timeout MS (5000)] [--attempts A (3)]\n"
		"Admits N simulated clients to a weft server, each from its own UDP socket,\n"
		"then handshakes each once, then keeps K handshakes in flight for S seconds.\n"
		"--source: client i binds to host i of PREFIX (the prefix must be local).\n");
}

/* "PUB@IP:PORT" / "PUB@[IP6]:PORT"; false with a message in err. */
__attribute__((warn_unused_result))
static bool parse_server(struct opts *o, const char *s, char err[160])
{
	const char *at = strchr(s, '@');

	if (!at || !key_from_base64(o->server_pub, s, (size_t)(at - s))) {
		snprintf(err, 160, "--server: '%s' does not start with a base64 public key and '@' (PUB@IP:PORT)", s);
		return false;
	}
	if (!endpoint_parse(&o->server, at + 1, strlen(at + 1)) ||
	    !o->server.port) {
		snprintf(err, 160, "--server: '%s' is not a numeric IP:PORT or [IPv6]:PORT", at + 1);
		return false;
	}
	return true;
}

__attribute__((warn_unused_result))
static bool parse_u32(const char *name, const char *s, uint32_t lo, uint32_t hi,
		      uint32_t *out, char err[160])
{
	if (!s || !parse_decimal32(s, strlen(s), lo, hi, out)) {
		snprintf(err, 160, "%s must be a number in %u..%u, got '%s'", name,
			 lo, hi, s ? s : "");
		return false;
	}
	return true;
}

/* argv into o; false with a message in err (empty err: --help). */
__attribute__((warn_unused_result))
static bool parse_args(struct opts *o, int argc, char **argv, char err[160])
{
	bool have_server = false;

	memset(o, 0, sizeof(*o));
	o->clients = 1000;
	o->concurrency = 64;
	o->duration = 10;
	o->timeout_ms = REKEY_TIMEOUT * 1000;
	o->attempts = 3;
	err[0] = '\0';
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return false;
		if (!v) {
			snprintf(err, 160, "%s needs a value", a);
			return false;
		}
		i++;
		if (!strcmp(a, "--server")) {
			ok = parse_server(o, v, err);
			have_server = ok;
		} else if (!strcmp(a, "--clients")) {
			ok = parse_u32(a, v, 1, HSLOAD_MAX_CLIENTS, &o->clients, err);
		} else if (!strcmp(a, "--concurrency")) {
			ok = parse_u32(a, v, 1, HSLOAD_MAX_CONCURRENCY,
				       &o->concurrency, err);
		} else if (!strcmp(a, "--duration")) {
			ok = parse_u32(a, v, 0, HSLOAD_MAX_DURATION, &o->duration, err);
		} else if (!strcmp(a, "--timeout")) {
			ok = parse_u32(a, v, HSLOAD_MIN_TIMEOUT_MS,
				       HSLOAD_MAX_TIMEOUT_MS, &o->timeout_ms, err);
		} else if (!strcmp(a, "--attempts")) {
			ok = parse_u32(a, v, 1, HSLOAD_MAX_ATTEMPTS, &o->attempts, err);
		} else if (!strcmp(a, "--passcode")) {
			size_t n = strlen(v);

			ok = n >= 1 && n <= ADMISSION_PASSCODE_MAX;
			if (!ok)
				snprintf(err, 160, "--passcode must be 1..%d bytes",
					 ADMISSION_PASSCODE_MAX);
			o->passcode = v;
		} else if (!strcmp(a, "--source")) {
			ok = addrpool_prefix_parse(&o->source, v, strlen(v));
			if (!ok)
				snprintf(err, 160, "--source: '%s' is not an address prefix (e.g. 10.124.0.0/22)", v);
		} else {
			snprintf(err, 160, "unknown option '%s' (see --help)", a);
			ok = false;
		}
		if (!ok)
			return false;
	}
	if (!have_server) {
		snprintf(err, 160, "--server PUB@IP:PORT is required");
		return false;
	}
	if (o->source.family && o->source.family != o->server.family) {
		snprintf(err, 160, "--source and --server must be of one address family");
		return false;
	}
	return true;
}

/* The address client i binds to: host 1 + i mod (hosts - 2) of the prefix
 * (not the network or the all-ones address), or the only one of a /32,
 * /31 or /128. */
static void source_of(const struct ip_prefix *p, uint32_t i, uint8_t out[16])
{
	unsigned bits = p->family == IP_V4 ? 32 : 128;
	unsigned hostbits = bits - p->cidr;
	uint64_t n, off;
	size_t len = p->family == IP_V4 ? 4 : 16;

	memcpy(out, p->addr, 16);
	if (hostbits < 2)
		return;
	n = hostbits >= 33 ? ((uint64_t)1 << 32) : ((uint64_t)1 << hostbits) - 2;
	off = 1 + (uint64_t)i % n;
	/* Add off (< 2^33) to the address, big-endian, within its prefix. */
	for (size_t k = len; k-- > 0 && off;) {
		uint64_t sum = out[k] + (off & 0xff);

		out[k] = (uint8_t)sum;
		off = (off >> 8) + (sum >> 8);
	}
}

/* ---- measuring ---- */

enum fail_kind {
	FAIL_TIMEOUT,
	FAIL_BAD_PASSCODE,
	FAIL_POOL_FULL,
	FAIL_NOT_ALLOWED,
	FAIL_ADDRESS_CONFLICT,
	FAIL_BUILD,		/* a message could not be built */
	FAIL_INTERRUPTED,
	FAIL_KINDS,
};

static const char *const fail_names[FAIL_KINDS] = {
	[FAIL_TIMEOUT] = "timeout",
	[FAIL_BAD_PASSCODE] = "bad-passcode",
	[FAIL_POOL_FULL] = "pool-full",
	[FAIL_NOT_ALLOWED] = "not-allowed",
	[FAIL_ADDRESS_CONFLICT] = "address-conflict",
	[FAIL_BUILD] = "build",
	[FAIL_INTERRUPTED] = "interrupted",
};

static enum fail_kind fail_of_status(enum admission_status st)
{
	switch (st) {
	case ADMISSION_STATUS_BAD_PASSCODE:
		return FAIL_BAD_PASSCODE;
	case ADMISSION_STATUS_POOL_FULL:
		return FAIL_POOL_FULL;
	case ADMISSION_STATUS_ADDRESS_CONFLICT:
		return FAIL_ADDRESS_CONFLICT;
	case ADMISSION_STATUS_OK:
	case ADMISSION_STATUS_NOT_ALLOWED:
		break;
	}
	return FAIL_NOT_ALLOWED;
}

struct phase {
	const char *name;
	uint64_t ok, failed, fail[FAIL_KINDS];
	uint64_t cookies, retransmits, bad_replies, unreachable, send_errors;
	wg_time_t t0, t1;
	wg_time_t cpu0, cpu1;	/* the tool's own CPU time (user + system) */
	uint32_t *lat;		/* microseconds, HSLOAD_MAX_SAMPLES at most */
	size_t nlat;
	uint64_t nseen;		/* samples offered (reservoir beyond the cap) */
	uint64_t rng;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void phase_sample(struct phase *ph, wg_time_t ns)
{
	uint64_t us = ns / 1000;
	uint32_t v = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;

	ph->nseen++;
	if (ph->nlat < HSLOAD_MAX_SAMPLES) {
		ph->lat[ph->nlat++] = v;
	} else {
		uint64_t j = xorshift(&ph->rng) % ph->nseen;

		if (j < HSLOAD_MAX_SAMPLES)
			ph->lat[j] = v;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..100) of the sorted lat, in ms. */
static double pct_ms(const uint32_t *lat, size_t n, unsigned q)
{
	if (!n)
		return 0;
	size_t r = ((size_t)q * n + 99) / 100;

	return lat[r ? r - 1 : 0] / 1000.0;
}

/* One line: "NAME: OK ok, F failed in T s = R/s; latency ...; ...". */
static void phase_print(struct phase *ph, FILE *f)
{
	double secs = ph->t1 > ph->t0 ? (double)(ph->t1 - ph->t0) / 1e9 : 0;

	qsort(ph->lat, ph->nlat, sizeof(ph->lat[0]), cmp_u32);
	fprintf(f, "%s: %llu ok, %llu failed in %.3f s = %.1f/s; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
		ph->name, (unsigned long long)ph->ok,
		(unsigned long long)ph->failed, secs,
		secs > 0 ? (double)ph->ok / secs : 0.0,
		pct_ms(ph->lat, ph->nlat, 50), pct_ms(ph->lat, ph->nlat, 90),
		pct_ms(ph->lat, ph->nlat, 99), pct_ms(ph->lat, ph->nlat, 100));
	fprintf(f, "; %llu cookie replies, %llu retransmissions, %llu bad replies, %llu unreachable, %llu send errors, hsload CPU %.2f s; failures:",
		(unsigned long long)ph->cookies,
		(unsigned long long)ph->retransmits,
		(unsigned long long)ph->bad_replies,
		(unsigned long long)ph->unreachable,
		(unsigned long long)ph->send_errors,
		ph->cpu1 > ph->cpu0 ? (double)(ph->cpu1 - ph->cpu0) / 1e9 : 0.0);
	for (int k = 0; k < FAIL_KINDS; k++)
		fprintf(f, "%s %s %llu", k ? "," : "", fail_names[k],
			(unsigned long long)ph->fail[k]);
	fputc('\n', f);
	fflush(f);
}

/* ---- the run: sockets, the event loop ---- */

enum phase_kind { PH_ADMIT, PH_HANDSHAKE, PH_SUSTAINED };

struct run {
	struct opts o;
	struct noise_ops ops;
	struct hc *cl;
	uint32_t n;
	int ep;
	uint32_t *inflight;	/* client ids, concurrency at most */
	size_t ninflight;
	uint32_t *ring;		/* PH_SUSTAINED: ready clients, FIFO */
	size_t ring_head, ring_len;
	struct phase *ph;
	enum phase_kind kind;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static wg_time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (wg_time_t)ts.tv_sec * NSEC_PER_SEC + (wg_time_t)ts.tv_nsec;
}

/* CPU time this process used so far. */
static wg_time_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (wg_time_t)ts.tv_sec * NSEC_PER_SEC + (wg_time_t)ts.tv_nsec;
}

static void op_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	crypto_random(buf, len);
}

/* TAI64N of the wall clock, as the kernel driver writes it (full
 * nanoseconds: the tool has no timing to hide). */
static void op_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct timespec ts;
	uint64_t sec;
	uint32_t ns;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	sec = (1ULL << 62) + 10 + (uint64_t)ts.tv_sec;
	ns = (uint32_t)ts.tv_nsec;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(ns >> (24 - 8 * i));
}

/* A UDP socket for client i, bound (with --source) and connected to the
 * server, in the epoll set; -errno with a message printed. */
static int open_socket(struct run *r, uint32_t i)
{
	const struct wg_endpoint *s = &r->o.server;
	struct sockaddr_storage ss = { 0 }, bind_ss = { 0 };
	socklen_t len;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	int fd, af = s->family == IP_V4 ? AF_INET : AF_INET6, err;
	char a[INET6_ADDRSTRLEN] = "";

	if (af == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss, *b = (void *)&bind_ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(s->port);
		memcpy(&sin->sin_addr, s->addr, 4);
		b->sin_family = AF_INET;
		if (r->o.source.family) {
			uint8_t addr[16];

			source_of(&r->o.source, i, addr);
			memcpy(&b->sin_addr, addr, 4);
		}
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss, *b = (void *)&bind_ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(s->port);
		sin6->sin6_scope_id = s->scope_id;
		memcpy(&sin6->sin6_addr, s->addr, 16);
		b->sin6_family = AF_INET6;
		if (r->o.source.family) {
			uint8_t addr[16];

			source_of(&r->o.source, i, addr);
			memcpy(&b->sin6_addr, addr, 16);
		}
		len = sizeof(*sin6);
	}
	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		fprintf(stderr, "hsload: socket for client %u: %s (raise ulimit -n, or fewer --clients)\n",
			i, strerror(err));
		return -err;
	}
	if (bind(fd, (struct sockaddr *)&bind_ss, len) < 0) {
		err = errno;
		inet_ntop(af, af == AF_INET ? (void *)&((struct sockaddr_in *)&bind_ss)->sin_addr
					    : (void *)&((struct sockaddr_in6 *)&bind_ss)->sin6_addr,
			  a, sizeof(a));
		fprintf(stderr, "hsload: cannot bind client %u to %s: %s (--source must be local here, e.g. ip route add local PREFIX dev lo)\n",
			i, a, strerror(err));
		close(fd);
		return -err;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = errno;
		fprintf(stderr, "hsload: cannot set up the socket of client %u: %s\n",
			i, strerror(err));
		close(fd);
		return -err;
	}
	r->cl[i].fd = fd;
	return 0;
}

static void transmit(struct run *r, struct hc *c, const uint8_t *msg, size_t len)
{
	if (send(c->fd, msg, len, 0) != (ssize_t)len)
		r->ph->send_errors++;
}

static void inflight_add(struct run *r, uint32_t id)
{
	r->cl[id].slot = r->ninflight;
	r->inflight[r->ninflight++] = id;
}

static void inflight_remove(struct run *r, uint32_t id)
{
	size_t s = r->cl[id].slot;
	uint32_t last = r->inflight[--r->ninflight];

	r->inflight[s] = last;
	r->cl[last].slot = s;
}

/* The exchange of this phase for c: a request or an initiation. */
static size_t build(struct run *r, struct hc *c, wg_time_t now,
		    uint8_t out[HSLOAD_MSG_MAX])
{
	if (r->kind == PH_ADMIT)
		return hc_request(c, now, &r->ops, out);
	return hc_initiation(c, now, &r->ops, out);
}

/* Client id is done with this phase's exchange (ok or failed). */
static void finish(struct run *r, uint32_t id, wg_time_t now, bool ok,
		   enum fail_kind why)
{
	struct hc *c = &r->cl[id];

	inflight_remove(r, id);
	if (ok) {
		r->ph->ok++;
		phase_sample(r->ph, now - c->started);
	} else {
		r->ph->failed++;
		r->ph->fail[why]++;
	}
	if (r->kind != PH_ADMIT) {
		/* A handshake that failed may be tried again later. */
		c->state = HC_ADMITTED;
		noise_handshake_clear(&c->hs);
		c->last_done = now;
		c->ever_done = true;
	} else if (!ok) {
		c->state = HC_FAILED;
	}
	if (r->kind == PH_SUSTAINED && c->state == HC_ADMITTED)
		r->ring[(r->ring_head + r->ring_len++) % r->n] = id;
}

static void start(struct run *r, uint32_t id, wg_time_t now)
{
	struct hc *c = &r->cl[id];
	uint8_t msg[HSLOAD_MSG_MAX];
	size_t len;

	c->started = now;
	c->attempts = 1;
	c->deadline = now + (wg_time_t)r->o.timeout_ms * NSEC_PER_MSEC;
	inflight_add(r, id);
	len = build(r, c, now, msg);
	if (!len)
		return finish(r, id, now, false, FAIL_BUILD);
	transmit(r, c, msg, len);
}

static void expire(struct run *r, wg_time_t now)
{
	uint8_t msg[HSLOAD_MSG_MAX];

	for (size_t s = 0; s < r->ninflight;) {
		uint32_t id = r->inflight[s];
		struct hc *c = &r->cl[id];
		size_t len;

		if (now < c->deadline) {
			s++;
			continue;
		}
		if (c->attempts >= r->o.attempts) {
			finish(r, id, now, false, FAIL_TIMEOUT);
			continue;	/* slot s now holds another client */
		}
		c->attempts++;
		c->deadline = now + (wg_time_t)r->o.timeout_ms * NSEC_PER_MSEC;
		r->ph->retransmits++;
		len = build(r, c, now, msg);
		if (!len) {
			finish(r, id, now, false, FAIL_BUILD);
			continue;
		}
		transmit(r, c, msg, len);
		s++;
	}
}

static void receive(struct run *r, uint32_t id, wg_time_t now)
{
	struct hc *c = &r->cl[id];
	uint8_t buf[HSLOAD_RECV_MAX], out[HSLOAD_MSG_MAX];

	for (int n = 0; n < HSLOAD_RECV_BURST; n++) {
		ssize_t got = recv(c->fd, buf, sizeof(buf), MSG_TRUNC);
		enum admission_status st = ADMISSION_STATUS_OK;
		size_t out_len;
		bool flying = c->state == HC_ADMITTING ||
			      c->state == HC_HANDSHAKING;

		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH)
				r->ph->unreachable++;
			continue;
		}
		if ((size_t)got > sizeof(buf) || !flying)
			continue;	/* not ours, or nothing in flight */
		switch (hc_input(c, buf, (size_t)got, now, &r->ops, out,
				 &out_len, &st)) {
		case HC_EV_IGNORED:
			break;
		case HC_EV_BAD:
			r->ph->bad_replies++;
			break;
		case HC_EV_COOKIE:
			r->ph->cookies++;
			transmit(r, c, out, out_len);
			break;
		case HC_EV_ADMITTED:
			finish(r, id, now, true, FAIL_KINDS);
			break;
		case HC_EV_REFUSED:
			finish(r, id, now, false, fail_of_status(st));
			break;
		case HC_EV_HANDSHAKE:
			transmit(r, c, out, out_len);
			finish(r, id, now, true, FAIL_KINDS);
			break;
		}
	}
}

/* Wait for and handle socket events until deadline (or the first). */
static void poll_once(struct run *r, wg_time_t wait_ns)
{
	struct epoll_event ev[HSLOAD_EVENTS];
	int ms = (int)((wait_ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
	int n = epoll_wait(r->ep, ev, HSLOAD_EVENTS, ms);
	wg_time_t now = mono_now();

	for (int i = 0; i < n; i++)
		receive(r, ev[i].data.u32, now);
}

/* Run one phase over the clients (PH_ADMIT: all new ones; PH_HANDSHAKE:
 * all admitted ones, once; PH_SUSTAINED: admitted ones, round robin, until
 * the duration is over). */
static void run_phase(struct run *r, enum phase_kind kind, struct phase *ph)
{
	wg_time_t now = mono_now(), end, last_scan = now;
	uint32_t next = 0;

	r->kind = kind;
	r->ph = ph;
	r->ninflight = 0;
	r->ring_head = r->ring_len = 0;
	ph->t0 = now;
	ph->cpu0 = cpu_now();
	end = now + (wg_time_t)r->o.duration * NSEC_PER_SEC;
	if (kind == PH_SUSTAINED) {
		for (uint32_t i = 0; i < r->n; i++)
			if (r->cl[i].state == HC_ADMITTED)
				r->ring[r->ring_len++] = i;
	}
	for (;;) {
		wg_time_t wait = HSLOAD_SCAN_MS * NSEC_PER_MSEC;
		bool more;

		now = mono_now();
		/* Start what the concurrency allows. */
		while (!stop && r->ninflight < r->o.concurrency) {
			if (kind == PH_SUSTAINED) {
				if (now >= end || !r->ring_len)
					break;
				uint32_t id = r->ring[r->ring_head];
				struct hc *c = &r->cl[id];

				if (c->ever_done &&
				    now < c->last_done + HSLOAD_REUSE_GAP) {
					wg_time_t w = c->last_done +
						      HSLOAD_REUSE_GAP - now;

					if (w < wait)
						wait = w;
					break;
				}
				r->ring_head = (r->ring_head + 1) % r->n;
				r->ring_len--;
				start(r, id, now);
				continue;
			}
			while (next < r->n &&
			       r->cl[next].state !=
				       (kind == PH_ADMIT ? HC_NEW : HC_ADMITTED))
				next++;
			if (next >= r->n)
				break;
			start(r, next++, now);
		}
		if (kind == PH_SUSTAINED)
			more = !stop && now < end && r->ring_len;
		else
			more = !stop && next < r->n;
		if (!r->ninflight && !more)
			break;
		if (stop) {
			while (r->ninflight)
				finish(r, r->inflight[0], now, false,
				       FAIL_INTERRUPTED);
			break;
		}
		if (kind == PH_SUSTAINED && now < end && end - now < wait)
			wait = end - now;
		poll_once(r, wait);
		now = mono_now();
		if (now - last_scan >= HSLOAD_SCAN_MS * NSEC_PER_MSEC) {
			expire(r, now);
			last_scan = now;
		}
	}
	ph->t1 = mono_now();
	ph->cpu1 = cpu_now();
}

#ifndef HSLOAD_NO_MAIN
static int raise_nofile(uint32_t clients)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)clients + HSLOAD_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		fprintf(stderr, "hsload: %u clients need %llu open files, the hard limit is %llu (ulimit -Hn)\n",
			clients, (unsigned long long)want,
			(unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static struct run r;
	static struct phase ph[3] = { { .name = "admit" }, { .name = "handshake" },
				      { .name = "sustained" } };
	uint8_t pass_key[ADMISSION_KEY_LEN];
	char err[160], srv[ENDPOINT_STR_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	wg_time_t t0;
	uint32_t sessions = 0;
	int rc = 0;

	if (!parse_args(&r.o, argc, argv, err)) {
		if (!err[0]) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "hsload: %s\n", err);
		return 2;
	}
	if (!crypto_init()) {
		fprintf(stderr, "hsload: the crypto libraries failed to initialise\n");
		return 2;
	}
	if (raise_nofile(r.o.clients) < 0)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r.ops = (struct noise_ops){ .random = op_random, .tai64n = op_tai64n };
	r.n = r.o.clients;
	r.cl = calloc(r.n, sizeof(*r.cl));
	r.inflight = calloc(r.o.concurrency, sizeof(*r.inflight));
	r.ring = calloc(r.n, sizeof(*r.ring));
	for (int i = 0; i < 3; i++) {
		ph[i].lat = malloc((size_t)HSLOAD_MAX_SAMPLES * sizeof(uint32_t));
		crypto_random(&ph[i].rng, sizeof(ph[i].rng));
		ph[i].rng |= 1;
	}
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!r.cl || !r.inflight || !r.ring || !ph[0].lat || !ph[1].lat ||
	    !ph[2].lat || r.ep < 0) {
		fprintf(stderr, "hsload: out of memory or descriptors for %u clients\n",
			r.n);
		return 2;
	}
	endpoint_format(&r.o.server, srv);
	t0 = mono_now();
	if (r.o.passcode &&
	    !admission_passcode_key(pass_key, r.o.passcode, strlen(r.o.passcode),
				    r.o.server_pub, NULL)) {
		fprintf(stderr, "hsload: deriving the passcode key failed (Argon2id needs 64 MiB)\n");
		return 2;
	}
	printf("hsload: server %s, %u clients%s, concurrency %u, %u s sustained, timeout %u ms x %u attempts; passcode key in %.2f s\n",
	       srv, r.n, r.o.source.family ? " from their own addresses" : "",
	       r.o.concurrency, r.o.duration, r.o.timeout_ms, r.o.attempts,
	       (double)(mono_now() - t0) / 1e9);
	fflush(stdout);
	for (uint32_t i = 0; i < r.n; i++) {
		if (!hc_init(&r.cl[i], r.o.server_pub,
			     r.o.passcode ? pass_key : NULL, &r.ops)) {
			char k[KEY_BASE64_LEN + 1];

			key_to_base64(k, r.o.server_pub);
			fprintf(stderr, "hsload: cannot make a client key for server key %s (a low-order key?)\n",
				k);
			return 2;
		}
		if (open_socket(&r, i) < 0)
			return 2;
	}
	crypto_wipe(pass_key, sizeof(pass_key));

	run_phase(&r, PH_ADMIT, &ph[0]);
	phase_print(&ph[0], stdout);
	if (!stop) {
		run_phase(&r, PH_HANDSHAKE, &ph[1]);
		phase_print(&ph[1], stdout);
		sessions = (uint32_t)ph[1].ok;
	}
	if (!stop && r.o.duration) {
		run_phase(&r, PH_SUSTAINED, &ph[2]);
		phase_print(&ph[2], stdout);
	}
	printf("hsload: %llu of %u clients admitted, %u with a session%s\n",
	       (unsigned long long)ph[0].ok, r.n, sessions,
	       stop ? " (interrupted)" : "");
	if (stop || ph[0].failed || ph[1].failed || ph[2].failed ||
	    ph[0].ok != r.n)
		rc = 1;
	for (uint32_t i = 0; i < r.n; i++) {
		if (r.cl[i].fd >= 0)
			close(r.cl[i].fd);
		hc_clear(&r.cl[i]);
	}
	close(r.ep);
	free(r.cl);
	free(r.inflight);
	free(r.ring);
	for (int i = 0; i < 3; i++)
		free(ph[i].lat);
	return rc;
}
#endif
