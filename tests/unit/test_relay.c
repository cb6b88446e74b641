/* test_relay.c - weft-hub's relay on loopback: STUN answers (and from the
 * other port when asked), registrations of roster devices only, fresh and
 * newer than the last, frames forwarded only between registered devices
 * with the sender's tag, and the per-device byte budget. Every wait is a
 * short poll, so the test is bounded. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/ratelimiter.h"
#include "core/relay.h"
#include "hub/relay.h"
#include "hub/store.h"
#include "mesh/envelope.h"
#include "mesh/pathmsg.h"
#include "mesh/roster.h"
#include "mesh/stun.h"

enum { QUIET_MS = 250, ANSWER_MS = 2000 };

struct ident {
	uint8_t pk[MESH_KEY_LEN], sk[MESH_SECRET_LEN];
	uint8_t wg[MESH_KEY_LEN];
};

static struct ident admin, dev[2], stranger;
static char dir[64], db[96];

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void ident_make(struct ident *id)
{
	crypto_sign_keypair(id->pk, id->sk);
	randombytes_buf(id->wg, sizeof(id->wg));
}

/* Network "acme" whose roster lists dev[0] and dev[1]. */
static void make_store(void)
{
	char err[MESH_REASON_MAX], *body, *env;
	struct store *s;
	struct roster r;
	uint64_t id;
	size_t len;

	memset(&r, 0, sizeof(r));
	strcpy(r.network, "acme");
	r.version = 1;
	assert_true(mesh_range4_parse(&r.range, "100.80.0.0/16"));
	memcpy(r.admins[0], admin.pk, MESH_KEY_LEN);
	r.n_admins = 1;
	r.devices = calloc(2, sizeof(*r.devices));
	assert_non_null(r.devices);
	for (unsigned i = 0; i < 2; i++) {
		snprintf(r.devices[i].owner, MESH_NAME_MAX, "owner%u", i);
		snprintf(r.devices[i].name, MESH_NAME_MAX, "dev%u", i);
		memcpy(r.devices[i].key, dev[i].pk, MESH_KEY_LEN);
	}
	r.n_devices = 2;
	assert_int_equal(roster_serialize(&r, &body, &len), 0);
	assert_int_equal(envelope_seal(ENV_ROSTER, admin.sk, body, len, &env), 0);
	snprintf(db, sizeof(db), "%s/hub.db", dir);
	assert_int_equal(store_open(&s, db, err), 0);
	assert_int_equal(store_network_create(s, "acme", admin.pk), 0);
	assert_int_equal(store_put_roster(s, "acme", env, 1,
					  (const uint8_t (*)[MESH_KEY_LEN])admin.pk, 1,
					  &id), 0);
	store_close(s);
	free(body);
	free(env);
	roster_free(&r);
}

/* ---- sockets ---- */

static int udp_socket(uint16_t *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), size = 1 << 20;

	assert_true(fd >= 0);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (port)
		*port = ntohs(in.sin_port);
	return fd;
}

/* Two free ports in a row for the relay. */
static uint16_t free_port_pair(void)
{
	for (int tries = 0; tries < 50; tries++) {
		uint16_t p;
		int a = udp_socket(&p), b;
		struct sockaddr_in in = { .sin_family = AF_INET };

		close(a);
		if (p == UINT16_MAX)
			continue;
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in.sin_port = htons((uint16_t)(p + 1));
		b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(b >= 0);
		if (!bind(b, (struct sockaddr *)&in, sizeof(in))) {
			close(b);
			return p;
		}
		close(b);
	}
	fail_msg("no two free UDP ports in a row");
	return 0;
}

static void send_to(int fd, uint16_t port, const void *msg, size_t len)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };

	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&in, sizeof(in)),
			 (ssize_t)len);
}

/* The next datagram within ms, and the port it came from; -1: none. */
static long recv_within(int fd, void *buf, size_t cap, unsigned ms, uint16_t *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_in in;
	socklen_t len = sizeof(in);
	ssize_t n;

	if (poll(&p, 1, (int)ms) <= 0)
		return -1;
	n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&in, &len);
	assert_true(n >= 0);
	if (from)
		*from = ntohs(in.sin_port);
	return n;
}

static struct wg_endpoint loopback(uint16_t port)
{
	struct wg_endpoint e = { .family = IP_V4, .port = port };

	e.addr[0] = 127;
	e.addr[3] = 1;
	return e;
}

/* ---- the relay under test ---- */

struct fixture {
	struct relay *relay;
	uint16_t port;
	int a, b, c;		/* sockets of dev[0], dev[1], and another */
	uint16_t a_port, b_port, c_port;
};

static struct fixture fx;

static void relay_up(struct fixture *f, uint64_t bytes_per_sec)
{
	char listen[32], err[MESH_REASON_MAX];
	struct relay_config cfg = { .db = db, .listen = listen,
				    .bytes_per_sec = bytes_per_sec };

	memset(f, 0, sizeof(*f));
	f->port = free_port_pair();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
	if (relay_start(&f->relay, &cfg, err))
		fail_msg("relay_start: %s", err);
	f->a = udp_socket(&f->a_port);
	f->b = udp_socket(&f->b_port);
	f->c = udp_socket(&f->c_port);
}

static void relay_down(struct fixture *f)
{
	relay_stop(f->relay);
	close(f->a);
	close(f->b);
	close(f->c);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test_relay.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	ident_make(&admin);
	ident_make(&dev[0]);
	ident_make(&dev[1]);
	ident_make(&stranger);
	make_store();
	relay_up(&fx, 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	relay_down(&fx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Register id from fd at time t; true when answered (and then the answer
 * echoes t and says where fd is). Registrations from one address are rate
 * limited: space them out. */
static bool register_at(const struct fixture *f, int fd, uint16_t fd_port,
			const struct ident *id, const char *network, uint64_t t)
{
	struct path_register reg;
	uint8_t msg[PATH_REGISTER_LEN], ans[512];
	struct wg_endpoint seen, want = loopback(fd_port);
	uint64_t echoed;
	uint16_t from;
	long n;

	memset(&reg, 0, sizeof(reg));
	snprintf(reg.network, sizeof(reg.network), "%s", network);
	memcpy(reg.device, id->pk, MESH_KEY_LEN);
	memcpy(reg.wg, id->wg, MESH_KEY_LEN);
	reg.time_ms = t;
	path_register_seal(msg, &reg, id->sk);
	sleep_ms(1000 / RATELIMITER_PACKETS_PER_SECOND + 10);
	send_to(fd, f->port, msg, sizeof(msg));
	n = recv_within(fd, ans, sizeof(ans), QUIET_MS, &from);
	if (n < 0)
		return false;
	assert_int_equal(from, f->port);
	assert_int_equal(path_registered_parse(ans, (size_t)n, &echoed, &seen), 0);
	assert_int_equal(echoed, t);
	assert_true(endpoint_equal(&seen, &want));
	return true;
}

static void test_stun(void **state)
{
	uint8_t txid[STUN_TXID_LEN], got[STUN_TXID_LEN];
	uint8_t req[STUN_REQUEST_MAX], ans[512];
	struct wg_endpoint seen, want = loopback(fx.a_port);
	uint16_t from;
	size_t n;
	long len;

	(void)state;
	randombytes_buf(txid, sizeof(txid));
	n = stun_request(req, txid, false);
	send_to(fx.a, fx.port, req, n);
	len = recv_within(fx.a, ans, sizeof(ans), ANSWER_MS, &from);
	assert_true(len > 0);
	assert_int_equal(from, fx.port);
	assert_int_equal(stun_parse_response(ans, (size_t)len, got, &seen), 0);
	assert_memory_equal(got, txid, sizeof(txid));
	assert_true(endpoint_equal(&seen, &want));

	/* Asked to change port: the answer comes from the port after. */
	randombytes_buf(txid, sizeof(txid));
	n = stun_request(req, txid, true);
	send_to(fx.a, fx.port, req, n);
	len = recv_within(fx.a, ans, sizeof(ans), ANSWER_MS, &from);
	assert_true(len > 0);
	assert_int_equal(from, fx.port + 1);
	assert_int_equal(stun_parse_response(ans, (size_t)len, got, &seen), 0);
	assert_memory_equal(got, txid, sizeof(txid));
	assert_true(endpoint_equal(&seen, &want));

	/* The other port answers plain requests itself. */
	n = stun_request(req, txid, false);
	send_to(fx.b, (uint16_t)(fx.port + 1), req, n);
	len = recv_within(fx.b, ans, sizeof(ans), ANSWER_MS, &from);
	assert_true(len > 0);
	assert_int_equal(from, fx.port + 1);
	want = loopback(fx.b_port);
	assert_int_equal(stun_parse_response(ans, (size_t)len, got, &seen), 0);
	assert_true(endpoint_equal(&seen, &want));

	/* Not a request: no answer. */
	n = stun_response(ans, txid, &want, NULL);
	send_to(fx.a, fx.port, ans, n);
	assert_int_equal(recv_within(fx.a, ans, sizeof(ans), QUIET_MS, NULL), -1);
}

static void test_register(void **state)
{
	uint64_t t = wall_ms();

	(void)state;
	/* Roster devices at a fresh time. */
	assert_true(register_at(&fx, fx.a, fx.a_port, &dev[0], "acme", t));
	assert_true(register_at(&fx, fx.b, fx.b_port, &dev[1], "acme", t));
	/* Not in the roster, or no such network. */
	assert_false(register_at(&fx, fx.c, fx.c_port, &stranger, "acme", t));
	assert_false(register_at(&fx, fx.c, fx.c_port, &stranger, "nowhere", t));
	/* Stale or from the future by more than 60 s. */
	assert_false(register_at(&fx, fx.a, fx.a_port, &dev[0], "acme",
				 wall_ms() - 61000));
	assert_false(register_at(&fx, fx.a, fx.a_port, &dev[0], "acme",
				 wall_ms() + 61000));
	/* The same registration again, or an older one. */
	assert_false(register_at(&fx, fx.a, fx.a_port, &dev[0], "acme", t));
	assert_false(register_at(&fx, fx.a, fx.a_port, &dev[0], "acme", t - 1));
	/* A newer one is taken. */
	assert_true(register_at(&fx, fx.a, fx.a_port, &dev[0], "acme", t + 1));
}

static size_t frame(uint8_t *out, uint8_t sub, const uint8_t id[MESH_KEY_LEN],
		    const void *payload, size_t len)
{
	le32_store(out, weft_type(sub));
	relay_tag(out + 4, id);
	memcpy(out + RELAY_HEADER_LEN, payload, len);
	return RELAY_HEADER_LEN + len;
}

static void test_forward(void **state)
{
	uint8_t payload[148], msg[512], ans[512], want[512];
	uint16_t from;
	size_t n;
	long len;

	(void)state;
	/* test_register left dev[0] at a and dev[1] at b. */
	randombytes_buf(payload, sizeof(payload));
	payload[0] = 4;		/* a WireGuard data message, say */
	payload[1] = payload[2] = payload[3] = 0;
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[1].pk, payload, sizeof(payload));
	send_to(fx.a, fx.port, msg, n);
	len = recv_within(fx.b, ans, sizeof(ans), ANSWER_MS, &from);
	assert_int_equal(len, (long)n);
	assert_int_equal(from, fx.port);
	frame(want, WEFT_SUB_RELAY_FROM, dev[0].pk, payload, sizeof(payload));
	assert_memory_equal(ans, want, n);

	/* And back. */
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[0].pk, payload, 32);
	send_to(fx.b, fx.port, msg, n);
	len = recv_within(fx.a, ans, sizeof(ans), ANSWER_MS, NULL);
	assert_int_equal(len, (long)n);
	frame(want, WEFT_SUB_RELAY_FROM, dev[1].pk, payload, 32);
	assert_memory_equal(ans, want, n);

	/* From a socket that did not register: nothing. */
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[1].pk, payload, sizeof(payload));
	send_to(fx.c, fx.port, msg, n);
	assert_int_equal(recv_within(fx.b, ans, sizeof(ans), QUIET_MS, NULL), -1);
	/* To a tag nobody registered: nothing, anywhere. */
	n = frame(msg, WEFT_SUB_RELAY_TO, stranger.pk, payload, sizeof(payload));
	send_to(fx.a, fx.port, msg, n);
	assert_int_equal(recv_within(fx.b, ans, sizeof(ans), QUIET_MS, NULL), -1);
	assert_int_equal(recv_within(fx.c, ans, sizeof(ans), 10, NULL), -1);
	/* A RELAY_FROM sent to the relay is not forwarded. */
	n = frame(msg, WEFT_SUB_RELAY_FROM, dev[1].pk, payload, sizeof(payload));
	send_to(fx.a, fx.port, msg, n);
	/* Too short to carry a message. */
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[1].pk, payload, 3);
	send_to(fx.a, fx.port, msg, n);
	/* Frames go to the main port only. */
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[1].pk, payload, sizeof(payload));
	send_to(fx.a, (uint16_t)(fx.port + 1), msg, n);
	assert_int_equal(recv_within(fx.b, ans, sizeof(ans), QUIET_MS, NULL), -1);

	/* dev[0] moves to c: frames from a no longer count as its. */
	assert_true(register_at(&fx, fx.c, fx.c_port, &dev[0], "acme", wall_ms() + 5));
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[1].pk, payload, sizeof(payload));
	send_to(fx.a, fx.port, msg, n);
	assert_int_equal(recv_within(fx.b, ans, sizeof(ans), QUIET_MS, NULL), -1);
	send_to(fx.c, fx.port, msg, n);
	len = recv_within(fx.b, ans, sizeof(ans), ANSWER_MS, NULL);
	assert_int_equal(len, (long)n);
	/* Frames for it go to c. */
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[0].pk, payload, 16);
	send_to(fx.b, fx.port, msg, n);
	assert_int_equal(recv_within(fx.c, ans, sizeof(ans), ANSWER_MS, NULL), (long)n);
	assert_int_equal(recv_within(fx.a, ans, sizeof(ans), 10, NULL), -1);

	/* c is dev[0]'s while it registers: dev[1] cannot take it over (as
	 * with a forged source address). */
	assert_false(register_at(&fx, fx.c, fx.c_port, &dev[1], "acme", wall_ms() + 6));
	/* A device is named by its identity: dev[1] registering with dev[0]'s
	 * WireGuard key still gets only its own frames. */
	{
		struct ident posing = dev[1];

		memcpy(posing.wg, dev[0].wg, MESH_KEY_LEN);
		assert_true(register_at(&fx, fx.b, fx.b_port, &posing, "acme", wall_ms() + 7));
	}
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[0].pk, payload, 16);
	send_to(fx.b, fx.port, msg, n);
	assert_int_equal(recv_within(fx.c, ans, sizeof(ans), ANSWER_MS, NULL), (long)n);
	assert_int_equal(recv_within(fx.b, ans, sizeof(ans), 10, NULL), -1);
}

/* A small budget: the burst passes (at least 256 KiB, hub/relay.c), the
 * rest is dropped. */
static void test_budget(void **state)
{
	enum { FRAMES = 300, PAYLOAD = 1200, CHUNK = 10, BURST = 256 * 1024 };
	struct fixture f;
	uint8_t payload[PAYLOAD], msg[PAYLOAD + RELAY_HEADER_LEN], ans[2048];
	size_t n, got = 0, bytes = 0;
	long len;

	(void)state;
	relay_up(&f, 1000);
	assert_true(register_at(&f, f.a, f.a_port, &dev[0], "acme", wall_ms() + 100));
	assert_true(register_at(&f, f.b, f.b_port, &dev[1], "acme", wall_ms() + 100));
	memset(payload, 0x33, sizeof(payload));
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[1].pk, payload, sizeof(payload));
	for (unsigned i = 0; i < FRAMES; i += CHUNK) {
		for (unsigned j = 0; j < CHUNK; j++)
			send_to(f.a, f.port, msg, n);
		while ((len = recv_within(f.b, ans, sizeof(ans), 20, NULL)) >= 0) {
			assert_int_equal(len, (long)n);
			got++;
			bytes += (size_t)len;
		}
	}
	while ((len = recv_within(f.b, ans, sizeof(ans), QUIET_MS, NULL)) >= 0) {
		got++;
		bytes += (size_t)len;
	}
	/* Refill at 1000 B/s over the few seconds this takes: < 1 frame. */
	assert_true(bytes <= BURST + 5000);
	assert_true(got < FRAMES);
	assert_true(got >= BURST / n * 3 / 4);
	/* The other direction has its own budget. */
	n = frame(msg, WEFT_SUB_RELAY_TO, dev[0].pk, payload, 100);
	send_to(f.b, f.port, msg, n);
	assert_int_equal(recv_within(f.a, ans, sizeof(ans), ANSWER_MS, NULL), (long)n);
	relay_down(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stun),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
