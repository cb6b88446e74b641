/* test_device.c - two devices wired back to back in memory, on a fake
 * clock: handshake, data both ways, rekey, expiry, keepalives,
 * retransmission, replay, spoofing, roaming, cookies under load. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/admission.h"
#include "core/device.h"
#include "core/peer.h"
#include "core/relay.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

enum { WIRE_MAX = 4096, DELIVERED_MAX = 4096, MSG_MAX = 2048 };

struct msg {
	uint32_t len;
	struct wg_endpoint from;
	uint8_t data[MSG_MAX];
};

struct side;

struct net {
	wg_time_t now;
	uint64_t rng;
	struct side *s[2];
	/* A relay in the middle (family 0: none): frames sent to it are
	 * checked and handed on as the relay would (hub/relay.h). */
	struct wg_endpoint relay;
};

struct side {
	struct net *net;
	int id;
	struct pool pool;
	struct device dev;
	struct peer *peer;	/* our one peer (the other side) */
	uint8_t priv[32], pub[32];
	struct wg_endpoint addr;	/* our underlay address */
	/* Datagrams on their way to us. */
	struct msg *inbox;
	unsigned ninbox;
	/* What reached our TUN. */
	struct msg *delivered;
	unsigned ndelivered;
	/* Counts of message types we sent, and a switch to lose them. */
	unsigned sent[5];
	bool unplugged;
	unsigned sent_relayed;	/* frames sent to the relay */
	bool record_data;	/* keep copies of data messages we send */
	struct msg *sent_data;
	unsigned nsent_data;
};

static void fake_random(void *ctx, void *buf, size_t len)
{
	struct side *s = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		s->net->rng ^= s->net->rng << 13;
		s->net->rng ^= s->net->rng >> 7;
		s->net->rng ^= s->net->rng << 17;
		p[i] = (uint8_t)s->net->rng;
	}
}

static void fake_tai64n(void *ctx, uint8_t out[12])
{
	struct side *s = ctx;
	uint64_t sec = 0x400000006a000000ULL + s->net->now / NSEC_PER_SEC;
	uint32_t nsec = (uint32_t)(s->net->now % NSEC_PER_SEC);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

static void fake_wall(void *ctx, uint64_t *sec, uint64_t *nsec)
{
	struct side *s = ctx;

	*sec = 1700000000 + s->net->now / NSEC_PER_SEC;
	*nsec = s->net->now % NSEC_PER_SEC;
}

/* The relay: a frame for the other side's tag leaves it as one from ours,
 * from the relay's address. */
static void relay_forward(struct side *s, struct side *o, struct pkt *k)
{
	const uint8_t *d = pkt_data(k);
	struct msg *m;

	assert_true(s->net->relay.family);
	assert_int_equal(k->ep.port, s->net->relay.port);
	assert_memory_equal(k->ep.addr, s->net->relay.addr, 4);
	assert_true(k->len > RELAY_HEADER_LEN);
	assert_int_equal(le32_load(d), weft_type(WEFT_SUB_RELAY_TO));
	assert_int_equal(weft_subtype(d, k->len), WEFT_SUB_RELAY_TO);
	assert_memory_equal(d + 4, k->ep.tag, WG_ENDPOINT_TAG_LEN);
	s->sent_relayed++;
	if (memcmp(d + 4, o->pub, WG_ENDPOINT_TAG_LEN))
		return;
	m = &o->inbox[o->ninbox++];
	m->len = k->len;
	m->from = s->net->relay;
	m->from.relay = false;
	memset(m->from.tag, 0, sizeof(m->from.tag));
	memcpy(m->data, d, k->len);
	le32_store(m->data, weft_type(WEFT_SUB_RELAY_FROM));
	memcpy(m->data + 4, s->pub, WG_ENDPOINT_TAG_LEN);
}

static void fake_udp_send(void *ctx, struct batch *b)
{
	struct side *s = ctx;
	struct side *o = s->net->s[1 - s->id];

	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *k = b->p[i];
		uint8_t type = pkt_data(k)[0];

		assert_true(k->len <= MSG_MAX);
		if (type < 5)
			s->sent[type]++;
		if (s->record_data && type == MESSAGE_DATA &&
		    s->nsent_data < WIRE_MAX) {
			struct msg *m = &s->sent_data[s->nsent_data++];

			m->len = k->len;
			m->from = s->addr;
			memcpy(m->data, pkt_data(k), k->len);
		}
		if (s->unplugged || o->ninbox == WIRE_MAX)
			continue;
		if (k->ep.relay) {
			relay_forward(s, o, k);
			continue;
		}
		/* Only deliver what is addressed to the other side. */
		if (!endpoint_equal(&k->ep, &o->addr))
			continue;
		struct msg *m = &o->inbox[o->ninbox++];

		m->len = k->len;
		m->from = s->addr;
		memcpy(m->data, pkt_data(k), k->len);
	}
}

static void fake_tun_write(void *ctx, struct batch *b)
{
	struct side *s = ctx;

	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *k = b->p[i];

		assert_true(s->ndelivered < DELIVERED_MAX);
		struct msg *m = &s->delivered[s->ndelivered++];

		m->len = k->len;
		memcpy(m->data, pkt_data(k), k->len);
	}
}

static void make_endpoint(struct wg_endpoint *e, uint8_t last, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = IP_V4;
	e->addr[0] = 192;
	e->addr[1] = 0;
	e->addr[2] = 2;
	e->addr[3] = last;
	e->port = port;
}

static void side_init(struct net *n, struct side *s, int id)
{
	struct device_ops ops = {
		.ctx = s, .udp_send = fake_udp_send, .tun_write = fake_tun_write,
		.random = fake_random, .tai64n = fake_tai64n, .wall = fake_wall,
	};

	memset(s, 0, sizeof(*s));
	s->net = n;
	s->id = id;
	n->s[id] = s;
	s->inbox = calloc(WIRE_MAX, sizeof(*s->inbox));
	s->delivered = calloc(DELIVERED_MAX, sizeof(*s->delivered));
	s->sent_data = calloc(WIRE_MAX, sizeof(*s->sent_data));
	assert_non_null(s->inbox);
	assert_non_null(s->delivered);
	assert_non_null(s->sent_data);
	assert_int_equal(pool_init(&s->pool, 4096), 0);
	assert_int_equal(device_init(&s->dev, &ops, &s->pool), 0);
	fake_random(s, s->priv, 32);
	x25519_clamp(s->priv);
	assert_true(x25519_public_from_private(s->pub, s->priv));
	assert_true(device_set_private_key(&s->dev, s->priv));
	make_endpoint(&s->addr, (uint8_t)(1 + id), (uint16_t)(51820 + id));
}

static void side_free(struct side *s)
{
	device_destroy(&s->dev);
	pool_destroy(&s->pool);
	free(s->inbox);
	free(s->delivered);
	free(s->sent_data);
}

static void allow(struct side *s, const char *v4, uint8_t cidr)
{
	uint8_t ip[4];

	assert_int_equal(sscanf(v4, "%hhu.%hhu.%hhu.%hhu", &ip[0], &ip[1], &ip[2],
				&ip[3]), 4);
	assert_int_equal(allowedips_insert(&s->dev.allowedips, IP_V4, ip, cidr,
					   s->peer), 0);
}

/* A: 10.0.0.1, B: 10.0.0.2; each routes the other's /32. Only A knows
 * B's endpoint unless both is set. */
static void net_init(struct net *n, struct side *a, struct side *b, bool both)
{
	int err = 0;

	memset(n, 0, sizeof(*n));
	n->now = 1000 * NSEC_PER_SEC;
	n->rng = 0x9e3779b97f4a7c15ULL;
	side_init(n, a, 0);
	side_init(n, b, 1);
	a->peer = device_add_peer(&a->dev, b->pub, &err);
	b->peer = device_add_peer(&b->dev, a->pub, &err);
	assert_non_null(a->peer);
	assert_non_null(b->peer);
	peer_set_endpoint(a->peer, &b->addr);
	if (both)
		peer_set_endpoint(b->peer, &a->addr);
	allow(a, "10.0.0.2", 32);
	allow(b, "10.0.0.1", 32);
}

static void net_free(struct net *n)
{
	side_free(n->s[0]);
	side_free(n->s[1]);
}

/* Feed s's inbox to its device. */
static unsigned deliver(struct side *s)
{
	unsigned total = s->ninbox;
	unsigned i = 0;

	while (i < s->ninbox) {
		struct batch b = { 0 };

		for (; i < s->ninbox && b.n < BATCH_MAX; i++) {
			struct pkt *k = pool_get(&s->pool);

			assert_non_null(k);
			k->off = 0;
			k->len = s->inbox[i].len;
			k->ep = s->inbox[i].from;
			memcpy(k->buf, s->inbox[i].data, k->len);
			b.p[b.n++] = k;
		}
		device_udp_input(&s->dev, &b, s->net->now);
	}
	s->ninbox = 0;
	while (device_handshake_pending(&s->dev))
		device_handshake_work(&s->dev, s->net->now);
	return total;
}

/* Deliver until nothing moves. */
static void pump(struct net *n)
{
	for (int rounds = 0; rounds < 100; rounds++) {
		unsigned moved = deliver(n->s[0]) + deliver(n->s[1]);

		if (!moved)
			return;
	}
	fail_msg("network did not settle");
}

/* Advance the fake clock in small steps, running timers and the network. */
static void advance(struct net *n, wg_time_t by)
{
	wg_time_t end = n->now + by;

	while (n->now < end) {
		wg_time_t step = 100 * NSEC_PER_MSEC;

		n->now = n->now + step > end ? end : n->now + step;
		device_timers_run(&n->s[0]->dev, n->now);
		device_timers_run(&n->s[1]->dev, n->now);
		pump(n);
	}
}

static uint32_t make_ipv4(uint8_t *p, const char *src, const char *dst,
			  uint32_t payload, uint8_t fill)
{
	uint32_t len = 20 + payload;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 17;
	assert_int_equal(sscanf(src, "%hhu.%hhu.%hhu.%hhu", &p[12], &p[13],
				&p[14], &p[15]), 4);
	assert_int_equal(sscanf(dst, "%hhu.%hhu.%hhu.%hhu", &p[16], &p[17],
				&p[18], &p[19]), 4);
	memset(p + 20, fill, payload);
	return len;
}

/* Send one packet from s's TUN. */
static void tun_send(struct side *s, const char *src, const char *dst,
		     uint32_t payload, uint8_t fill)
{
	struct batch b = { 0 };
	struct pkt *k = pool_get(&s->pool);

	assert_non_null(k);
	k->off = PKT_HEADROOM;
	k->len = make_ipv4(pkt_data(k), src, dst, payload, fill);
	b.p[b.n++] = k;
	device_tun_input(&s->dev, &b, s->net->now);
}

static struct noise_keypair *current_kp(struct side *s)
{
	struct noise_keypair *kp = peer_keypair(s->peer, s->peer->current);

	if (!kp) {
		fail_msg("side %d has no current keypair", s->id);
		abort();
	}
	return kp;
}

static void test_handshake_and_data(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 100, 0xab);
	/* No session yet: the packet waits, an initiation goes out. */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	assert_int_equal(a.peer->staged_n, 1);
	pump(&n);
	assert_int_equal(b.sent[MESSAGE_HANDSHAKE_RESPONSE], 1);
	assert_int_equal(b.ndelivered, 1);
	assert_int_equal(b.delivered[0].len, 120);
	assert_int_equal(b.delivered[0].data[20], 0xab);
	assert_int_equal(b.delivered[0].data[119], 0xab);
	/* B learned A's endpoint from the authenticated initiation. */
	assert_true(endpoint_equal(&b.peer->endpoint, &a.addr));
	/* Session: A's current is B's current (after B saw data on it). */
	assert_non_null(current_kp(&a));
	assert_non_null(current_kp(&b));
	assert_true(crypto_equal(current_kp(&a)->send_key,
				 current_kp(&b)->recv_key, 32));
	assert_true(current_kp(&a)->i_am_the_initiator);
	assert_false(current_kp(&b)->i_am_the_initiator);
	assert_int_not_equal(a.peer->last_handshake_sec, 0);
	assert_int_not_equal(b.peer->last_handshake_sec, 0);

	tun_send(&b, "10.0.0.2", "10.0.0.1", 1300, 0xcd);
	pump(&n);
	assert_int_equal(a.ndelivered, 1);
	assert_int_equal(a.delivered[0].len, 1320);
	assert_int_equal(a.delivered[0].data[1319], 0xcd);
	assert_true(a.peer->rx_bytes > 1300);
	assert_true(b.peer->tx_bytes > 1300);
	/* Exactly one handshake happened. */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	assert_int_equal(b.sent[MESSAGE_HANDSHAKE_INITIATION], 0);
	net_free(&n);
}

/* The handshake's round trip, as weft status shows it: the initiator
 * times initiation to response, the responder response to the first
 * packet under the new keys. */
static void test_handshake_rtt(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	assert_int_equal(a.peer->handshake_rtt_ns, 0);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 100, 0xab);
	n.now += 3 * NSEC_PER_MSEC;
	deliver(&b);		/* the initiation; B answers now */
	n.now += 4 * NSEC_PER_MSEC;
	deliver(&a);		/* the response; A sends the staged packet */
	assert_int_equal(a.peer->handshake_rtt_ns, 7 * NSEC_PER_MSEC);
	n.now += 2 * NSEC_PER_MSEC;
	deliver(&b);		/* data under the new keys */
	assert_int_equal(b.peer->handshake_rtt_ns, 6 * NSEC_PER_MSEC);
	assert_int_equal(b.ndelivered, 1);
	net_free(&n);
}

static void test_staged_order_and_limit(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	for (unsigned i = 0; i < MAX_STAGED_PACKETS + 10; i++)
		tun_send(&a, "10.0.0.1", "10.0.0.2", 10, (uint8_t)i);
	assert_int_equal(a.peer->staged_n, MAX_STAGED_PACKETS);
	assert_int_equal(a.dev.counters.tx_staged_dropped, 10);
	pump(&n);
	assert_int_equal(b.ndelivered, MAX_STAGED_PACKETS);
	/* The newest packets survived, in order. */
	for (unsigned i = 0; i < MAX_STAGED_PACKETS; i++)
		assert_int_equal(b.delivered[i].data[20], (uint8_t)(i + 10));
	net_free(&n);
}

static void test_rekey_after_time(void **state)
{
	struct net n;
	struct side a, b;
	uint32_t first;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	first = current_kp(&a)->local_index;

	/* Traffic both ways every second across REKEY_AFTER_TIME: the
	 * initiator re-keys, nothing is lost. */
	unsigned sent = 0;

	for (unsigned t = 0; t < REKEY_AFTER_TIME + 10; t++) {
		tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
		tun_send(&b, "10.0.0.2", "10.0.0.1", 10, 3);
		sent++;
		advance(&n, NSEC_PER_SEC);
	}
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 2);
	assert_int_not_equal(current_kp(&a)->local_index, first);
	assert_int_equal(b.ndelivered, sent + 1);
	assert_int_equal(a.ndelivered, sent);
	assert_int_equal(a.dev.counters.rx_bad_auth + b.dev.counters.rx_bad_auth, 0);
	/* The previous keypair is still there for stragglers. */
	assert_int_not_equal(a.peer->previous, KP_NONE);
	net_free(&n);
}

static void test_shortened_times_rekey(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	/* The knob weftd exposes to real-time tests. */
	a.dev.times.rekey_after_time = 8 * NSEC_PER_SEC;
	a.dev.times.reject_after_time = 12 * NSEC_PER_SEC;
	b.dev.times = a.dev.times;
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	for (unsigned t = 0; t < 60; t++) {
		tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
		tun_send(&b, "10.0.0.2", "10.0.0.1", 10, 3);
		advance(&n, NSEC_PER_SEC / 2);
	}
	/* 30 s of traffic at 8 s per key: several handshakes, no loss. */
	assert_true(a.sent[MESSAGE_HANDSHAKE_INITIATION] >= 3);
	assert_int_equal(b.ndelivered, 61);
	assert_int_equal(a.ndelivered, 60);
	net_free(&n);
}

static void test_reject_after_time(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	/* Capture a data message, then let every key expire silently. */
	a.record_data = true;
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
	a.unplugged = false;
	b.ninbox = 0;	/* lost on the way */
	assert_int_equal(a.nsent_data, 1);
	a.unplugged = true;
	b.unplugged = true;
	advance(&n, (REJECT_AFTER_TIME + 1) * NSEC_PER_SEC);
	a.unplugged = b.unplugged = false;
	/* The captured message, delivered late, hits an expired key. */
	b.inbox[0] = a.sent_data[0];
	b.ninbox = 1;
	deliver(&b);
	assert_int_equal(b.ndelivered, 1);
	assert_true(b.dev.counters.rx_expired_key >= 1 ||
		    b.dev.counters.rx_unknown_index >= 1);
	/* Sending now needs a new handshake first. */
	unsigned before = a.sent[MESSAGE_HANDSHAKE_INITIATION];

	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 3);
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], before + 1);
	pump(&n);
	assert_int_equal(b.ndelivered, 2);
	net_free(&n);
}

static void test_zero_key_material(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	a.unplugged = b.unplugged = true;
	advance(&n, (3 * REJECT_AFTER_TIME + 2) * NSEC_PER_SEC);
	assert_int_equal(a.peer->current, KP_NONE);
	assert_int_equal(a.peer->previous, KP_NONE);
	assert_int_equal(b.peer->current, KP_NONE);
	assert_int_equal(a.dev.index.used, 0);
	assert_int_equal(b.dev.index.used, 0);
	net_free(&n);
}

static void test_passive_keepalive(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	unsigned before = b.sent[MESSAGE_DATA];

	/* B got data and has nothing to say: after KEEPALIVE_TIMEOUT it
	 * sends one empty packet, and only one. */
	advance(&n, (KEEPALIVE_TIMEOUT - 1) * NSEC_PER_SEC);
	assert_int_equal(b.sent[MESSAGE_DATA], before);
	advance(&n, 2 * NSEC_PER_SEC);
	assert_int_equal(b.sent[MESSAGE_DATA], before + 1);
	advance(&n, 30 * NSEC_PER_SEC);
	assert_int_equal(b.sent[MESSAGE_DATA], before + 1);
	net_free(&n);
}

static void test_persistent_keepalive(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	peer_set_persistent_keepalive(a.peer, 25, n.now);
	/* Turning it on sends at once (handshake first). */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	pump(&n);
	unsigned before = a.sent[MESSAGE_DATA];

	advance(&n, 100 * NSEC_PER_SEC);
	/* Every 25 s of silence: 4 in 100 s (give or take the edge). */
	assert_true(a.sent[MESSAGE_DATA] - before >= 3);
	assert_true(a.sent[MESSAGE_DATA] - before <= 5);
	net_free(&n);
}

static void test_retransmit_and_give_up(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	b.unplugged = true;
	a.unplugged = true;
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 1);
	advance(&n, 12 * NSEC_PER_SEC);
	/* REKEY_TIMEOUT (5 s) + jitter between attempts. */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 3);
	advance(&n, 120 * NSEC_PER_SEC);
	/* Gives up after MAX_TIMER_HANDSHAKES retries, purging staged data. */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION],
			 MAX_TIMER_HANDSHAKES + 2);
	assert_int_equal(a.peer->staged_n, 0);
	net_free(&n);
}

static void test_replay_rejected(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	a.record_data = true;
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
	pump(&n);
	assert_int_equal(b.ndelivered, 2);
	b.inbox[0] = a.sent_data[0];
	b.ninbox = 1;
	deliver(&b);
	assert_int_equal(b.ndelivered, 2);
	assert_int_equal(b.dev.counters.rx_replay, 1);
	/* A flipped byte anywhere after the header fails authentication. */
	for (uint32_t i = 16; i < a.sent_data[0].len; i++) {
		b.inbox[0] = a.sent_data[0];
		b.inbox[0].data[i] ^= 0x01;
		b.ninbox = 1;
		deliver(&b);
	}
	assert_int_equal(b.dev.counters.rx_bad_auth, a.sent_data[0].len - 16);
	assert_int_equal(b.ndelivered, 2);
	net_free(&n);
}

static void test_spoofed_source_and_no_route(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	/* A sends with a source B does not allow for A. */
	tun_send(&a, "10.9.9.9", "10.0.0.2", 10, 1);
	pump(&n);
	assert_int_equal(b.ndelivered, 1);
	assert_int_equal(b.dev.counters.rx_spoofed_source, 1);
	/* No peer routes 10.5.5.5. */
	tun_send(&a, "10.0.0.1", "10.5.5.5", 10, 1);
	assert_int_equal(a.dev.counters.tx_no_route, 1);
	net_free(&n);
}

static void test_wrong_psk(void **state)
{
	struct net n;
	struct side a, b;
	uint8_t psk1[32], psk2[32];

	(void)state;
	net_init(&n, &a, &b, false);
	memset(psk1, 1, 32);
	memset(psk2, 2, 32);
	peer_set_psk(a.peer, psk1);
	peer_set_psk(b.peer, psk2);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	advance(&n, 20 * NSEC_PER_SEC);
	assert_int_equal(b.ndelivered, 0);
	assert_int_equal(a.peer->current, KP_NONE);
	assert_true(a.dev.counters.rx_handshake_failed >= 1);
	/* Same PSK on both sides: it works. */
	peer_set_psk(b.peer, psk1);
	advance(&n, 10 * NSEC_PER_SEC);
	assert_int_equal(b.ndelivered, 1);
	net_free(&n);
}

static void test_roaming(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	/* A moves: its packets now come from another address. */
	make_endpoint(&a.addr, 99, 40000);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
	pump(&n);
	assert_true(endpoint_equal(&b.peer->endpoint, &a.addr));
	tun_send(&b, "10.0.0.2", "10.0.0.1", 10, 3);
	pump(&n);
	assert_int_equal(a.ndelivered, 1);
	net_free(&n);
}

static void test_garbage_input(void **state)
{
	struct net n;
	struct side a, b;
	uint8_t buf[MSG_MAX];

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	for (unsigned i = 0; i < 5000; i++) {
		uint32_t len = i % MSG_MAX;

		fake_random(&a, buf, len);
		if (len >= 4 && (i & 3) != 0) {
			buf[0] = (uint8_t)(1 + i % 4);	/* plausible types */
			buf[1] = buf[2] = buf[3] = 0;
		}
		b.inbox[b.ninbox].len = len;
		b.inbox[b.ninbox].from = a.addr;
		memcpy(b.inbox[b.ninbox].data, buf, len);
		if (++b.ninbox == WIRE_MAX)
			deliver(&b);
	}
	deliver(&b);
	/* Nothing crashed, nothing leaked from the pool, session intact. */
	pump(&n);
	assert_int_equal(b.pool.nfree, b.pool.total);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 9);
	pump(&n);
	assert_int_equal(b.ndelivered, 2);
	net_free(&n);
}

static void test_cookie_under_load(void **state)
{
	struct net n;
	struct side a, b;
	struct msg init;

	(void)state;
	net_init(&n, &a, &b, false);
	/* Capture one genuine initiation from A. */
	a.unplugged = true;
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	a.unplugged = false;
	/* Flood B's queue with copies of junk initiations (valid length,
	 * bad mac1) so it goes under load. */
	memset(&init, 0, sizeof(init));
	init.len = sizeof(struct message_handshake_initiation);
	init.data[0] = MESSAGE_HANDSHAKE_INITIATION;
	init.from = a.addr;
	for (unsigned i = 0; i < HANDSHAKE_QUEUE_LOAD + 10; i++)
		b.inbox[b.ninbox++] = init;
	deliver(&b);
	assert_int_equal(b.dev.counters.rx_bad_mac, HANDSHAKE_QUEUE_LOAD + 10);
	/* Under load now: A's real initiation gets a cookie reply, not a
	 * response. */
	n.now += 5 * NSEC_PER_SEC + 400 * NSEC_PER_MSEC;
	device_timers_run(&a.dev, n.now);	/* retransmission */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], 2);
	for (unsigned i = 0; i < HANDSHAKE_QUEUE_LOAD; i++)
		b.inbox[b.ninbox++] = init;
	deliver(&b);
	assert_int_equal(b.sent[MESSAGE_HANDSHAKE_COOKIE], 1);
	assert_int_equal(b.sent[MESSAGE_HANDSHAKE_RESPONSE], 0);
	deliver(&a);
	assert_true(a.peer->cookie.have_cookie);
	/* The retry carries mac2 and is answered even under load. */
	n.now += 5 * NSEC_PER_SEC + 400 * NSEC_PER_MSEC;
	device_timers_run(&a.dev, n.now);
	for (unsigned i = 0; i < HANDSHAKE_QUEUE_LOAD; i++)
		b.inbox[b.ninbox++] = init;
	deliver(&b);
	assert_int_equal(b.sent[MESSAGE_HANDSHAKE_RESPONSE], 1);
	pump(&n);
	assert_int_equal(b.ndelivered, 1);
	net_free(&n);
}

static void test_remove_peer_cleans_up(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	device_remove_peer(&a.dev, a.peer);
	assert_int_equal(a.dev.index.used, 0);
	assert_int_equal(a.dev.heap_len, 0);
	assert_null(allowedips_lookup(&a.dev.allowedips, IP_V4,
				      (const uint8_t[]){ 10, 0, 0, 2 }));
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	assert_int_equal(a.dev.counters.tx_no_route, 1);
	/* B's packets for A now find no index. */
	tun_send(&b, "10.0.0.2", "10.0.0.1", 10, 1);
	deliver(&a);
	assert_int_equal(a.dev.counters.rx_unknown_index, 1);
	net_free(&n);
}

/* The index watch (what weftd mirrors into its socket filter) always
 * equals the table: across a handshake, rekeys and the peer's removal. */
enum { MIRROR_MAX = 64 };
static uint32_t mirror[MIRROR_MAX];
static unsigned nmirror;

static void mirror_watch(void *ctx, uint32_t index, bool live)
{
	unsigned i;

	(void)ctx;
	for (i = 0; i < nmirror && mirror[i] != index; i++)
		;
	if (live) {
		assert_int_equal(i, nmirror);	/* never added twice */
		assert_true(nmirror < MIRROR_MAX);
		mirror[nmirror++] = index;
	} else {
		assert_true(i < nmirror);	/* only what was added */
		mirror[i] = mirror[--nmirror];
	}
}

static void assert_mirror_is_table(const struct index_table *t)
{
	size_t live = 0;

	for (size_t i = 0; i <= t->mask; i++) {
		if (t->slots[i].kind == INDEX_FREE)
			continue;
		live++;
		unsigned j;

		for (j = 0; j < nmirror && mirror[j] != t->slots[i].index; j++)
			;
		assert_true(j < nmirror);
	}
	assert_int_equal(live, nmirror);
}

static void test_index_watch_mirrors_table(void **state)
{
	struct net n;
	struct side a, b;

	(void)state;
	nmirror = 0;
	net_init(&n, &a, &b, false);
	a.dev.index.watch = mirror_watch;
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	assert_int_equal(nmirror, 1);	/* the initiation's index, before it left */
	assert_mirror_is_table(&a.dev.index);
	pump(&n);
	assert_mirror_is_table(&a.dev.index);
	for (unsigned t = 0; t < 2 * REKEY_AFTER_TIME + 10; t++) {
		tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
		tun_send(&b, "10.0.0.2", "10.0.0.1", 10, 3);
		advance(&n, NSEC_PER_SEC);
		assert_mirror_is_table(&a.dev.index);
	}
	assert_true(a.sent[MESSAGE_HANDSHAKE_INITIATION] >= 3);
	assert_int_equal(a.dev.counters.rx_unknown_index, 0);
	device_remove_peer(&a.dev, a.peer);
	assert_int_equal(nmirror, 0);
	net_free(&n);
}

static void test_private_key_change(void **state)
{
	struct net n;
	struct side a, b;
	uint8_t priv[32], pub[32];

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	/* A gets a new identity; B learns it; traffic resumes after a new
	 * handshake. */
	fake_random(&a, priv, 32);
	x25519_clamp(priv);
	assert_true(x25519_public_from_private(pub, priv));
	assert_true(device_set_private_key(&a.dev, priv));
	device_remove_peer(&b.dev, b.peer);
	int err = 0;

	b.peer = device_add_peer(&b.dev, pub, &err);
	assert_non_null(b.peer);
	allow(&b, "10.0.0.1", 32);
	/* Past the one-initiation-per-REKEY_TIMEOUT limit. */
	advance(&n, (REKEY_TIMEOUT + 1) * NSEC_PER_SEC);
	unsigned before = a.sent[MESSAGE_HANDSHAKE_INITIATION];

	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], before + 1);
	pump(&n);
	assert_int_equal(b.ndelivered, 2);
	/* Adding our own public key as a peer is refused. */
	assert_null(device_add_peer(&a.dev, pub, &err));
	assert_int_equal(err, -EEXIST);
	net_free(&n);
}

static void test_staged_total_bounded(void **state)
{
	enum { PEERS = 24 };
	struct net n;
	struct side a, b;
	char dst[32];

	(void)state;
	net_init(&n, &a, &b, false);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	assert_int_equal(b.ndelivered, 1);
	/* Peers whose endpoints never answer: each stages what it is sent. */
	for (unsigned i = 0; i < PEERS; i++) {
		uint8_t pub[32], net4[4] = { 10, 1, (uint8_t)i, 0 };
		struct wg_endpoint ep;
		struct peer *p;
		int err = 0;

		fake_random(&a, pub, sizeof(pub));
		p = device_add_peer(&a.dev, pub, &err);
		assert_non_null(p);
		assert_int_equal(allowedips_insert(&a.dev.allowedips, IP_V4, net4,
						   24, p), 0);
		make_endpoint(&ep, (uint8_t)(100 + i), 51820);
		peer_set_endpoint(p, &ep);
	}
	for (unsigned i = 0; i < PEERS; i++) {
		snprintf(dst, sizeof(dst), "10.1.%u.9", i);
		for (unsigned j = 0; j < MAX_STAGED_PACKETS; j++)
			tun_send(&a, "10.0.0.1", dst, 10, 1);
	}
	assert_int_equal(a.dev.staged_total, STAGED_TOTAL_MAX);
	/* Every peer asked for a session, also those whose packets were
	 * dropped, and armed a timer: all of them sit in the timer heap. */
	assert_int_equal(a.sent[MESSAGE_HANDSHAKE_INITIATION], PEERS + 1);
	assert_int_equal(a.dev.heap_len, PEERS + 1);
	assert_true(a.dev.heap_cap >= a.dev.npeers);
	assert_int_equal(a.dev.counters.tx_staged_dropped,
			 PEERS * MAX_STAGED_PACKETS - STAGED_TOTAL_MAX);
	/* A peer with a session still sends at the limit. */
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 7);
	pump(&n);
	assert_int_equal(b.ndelivered, 2);
	assert_int_equal(a.dev.staged_total, STAGED_TOTAL_MAX);
	device_remove_all_peers(&a.dev);
	assert_int_equal(a.dev.staged_total, 0);
	assert_int_equal(a.pool.nfree, a.pool.total);
	net_free(&n);
}

/* weft's control messages: admission requests take the handshake queue's
 * checks (mac1, then the per-source limit even when not under load) before
 * the host sees them; responses and cookie replies for unknown indexes go
 * straight to the host; a device without a host hook drops them all. */
static unsigned control_seen[3];

static void fake_control(void *ctx, const struct pkt *k, enum device_control kind)
{
	(void)ctx;
	(void)k;
	assert_true(kind <= DEVICE_CONTROL_COOKIE_REPLY);
	control_seen[kind]++;
}

static void queue_msg(struct side *to, const struct side *from,
		      const void *data, uint32_t len)
{
	to->inbox[to->ninbox].len = len;
	to->inbox[to->ninbox].from = from->addr;
	memcpy(to->inbox[to->ninbox].data, data, len);
	to->ninbox++;
}

static void test_control_messages(void **state)
{
	struct net n;
	struct side a, b;
	struct admission_client ac;
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN] = { 0 };
	struct message_handshake_cookie cookie = { 0 };

	(void)state;
	memset(control_seen, 0, sizeof(control_seen));
	net_init(&n, &a, &b, false);
	assert_true(admission_client_init(&ac, &a.dev.local, b.pub, NULL));
	assert_true(admission_request_create(req, &ac, &a.dev.local, NULL, 0,
					     n.now, &a.dev.nops));

	/* No hook: dropped as an unknown type. */
	queue_msg(&b, &a, req, sizeof(req));
	deliver(&b);
	assert_int_equal(b.dev.counters.rx_bad_type, 1);
	assert_int_equal(b.dev.counters.rx_control, 0);

	b.dev.ops.control_rx = fake_control;
	/* A forged mac1 never reaches the host. */
	req[ADMISSION_REQUEST_LEN - 32] ^= 1;
	queue_msg(&b, &a, req, sizeof(req));
	deliver(&b);
	assert_int_equal(b.dev.counters.rx_bad_mac, 1);
	assert_int_equal(control_seen[DEVICE_CONTROL_ADMISSION_REQUEST], 0);
	req[ADMISSION_REQUEST_LEN - 32] ^= 1;

	/* 30 at once from one source: the burst passes, the rest is limited
	 * although the device is not under load. */
	for (int i = 0; i < 30; i++)
		queue_msg(&b, &a, req, sizeof(req));
	deliver(&b);
	assert_int_equal(control_seen[DEVICE_CONTROL_ADMISSION_REQUEST],
			 RATELIMITER_PACKETS_BURSTABLE);
	assert_int_equal(b.dev.counters.rx_handshake_ratelimited,
			 30 - RATELIMITER_PACKETS_BURSTABLE);
	/* A second later one more token. */
	n.now += NSEC_PER_SEC;
	queue_msg(&b, &a, req, sizeof(req));
	deliver(&b);
	assert_int_equal(control_seen[DEVICE_CONTROL_ADMISSION_REQUEST],
			 RATELIMITER_PACKETS_BURSTABLE + 1);

	/* Responses by type and exact length; one byte short is not one. */
	resp[0] = ADMISSION_MESSAGE_TYPE;
	resp[1] = ADMISSION_SUBTYPE_RESPONSE;
	queue_msg(&b, &a, resp, sizeof(resp));
	queue_msg(&b, &a, resp, sizeof(resp) - 1);
	deliver(&b);
	assert_int_equal(control_seen[DEVICE_CONTROL_ADMISSION_RESPONSE], 1);
	assert_int_equal(b.dev.counters.rx_bad_type, 2);

	/* A cookie reply for an index the device does not know. */
	cookie.header.type = MESSAGE_HANDSHAKE_COOKIE;
	le32_store(cookie.receiver_index, 0x12345678);
	queue_msg(&b, &a, &cookie, sizeof(cookie));
	deliver(&b);
	assert_int_equal(control_seen[DEVICE_CONTROL_COOKIE_REPLY], 1);
	assert_int_equal(b.pool.nfree, b.pool.total);
	admission_client_clear(&ac);
	net_free(&n);
}

/* ---- relays (core/relay.h) ---- */

static void test_relay_wrap(void **state)
{
	uint8_t buf[64], want[64];
	static const uint8_t tag[WG_ENDPOINT_TAG_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(0x80 + i);
	/* Headroom: the header goes in front, nothing moves. */
	memcpy(buf, want, sizeof(buf));
	assert_int_equal(relay_wrap(buf, sizeof(buf), 20, 10, WEFT_SUB_RELAY_TO,
				    tag), 20 - RELAY_HEADER_LEN);
	assert_memory_equal(buf + 20, want + 20, 10);
	assert_int_equal(weft_subtype(buf + 8, 22), WEFT_SUB_RELAY_TO);
	assert_memory_equal(buf + 12, tag, sizeof(tag));
	assert_memory_equal(buf, want, 8);
	/* Exactly enough headroom. */
	memcpy(buf, want, sizeof(buf));
	assert_int_equal(relay_wrap(buf, sizeof(buf), RELAY_HEADER_LEN, 52,
				    WEFT_SUB_RELAY_FROM, tag), 0);
	assert_int_equal(weft_subtype(buf, 64), WEFT_SUB_RELAY_FROM);
	assert_memory_equal(buf + RELAY_HEADER_LEN, want + RELAY_HEADER_LEN, 52);
	/* None or too little: the message moves back. */
	for (size_t off = 0; off < RELAY_HEADER_LEN; off += 5) {
		memcpy(buf, want, sizeof(buf));
		assert_int_equal(relay_wrap(buf, sizeof(buf), off, 40,
					    WEFT_SUB_RELAY_TO, tag), (long)off);
		assert_int_equal(weft_subtype(buf + off, 52), WEFT_SUB_RELAY_TO);
		assert_memory_equal(buf + off + 4, tag, sizeof(tag));
		assert_memory_equal(buf + off + RELAY_HEADER_LEN, want + off, 40);
	}
	/* The whole buffer used: exactly fits, one more does not. */
	memcpy(buf, want, sizeof(buf));
	assert_int_equal(relay_wrap(buf, sizeof(buf), 0, sizeof(buf) - RELAY_HEADER_LEN,
				    WEFT_SUB_RELAY_TO, tag), 0);
	memcpy(buf, want, sizeof(buf));
	assert_int_equal(relay_wrap(buf, sizeof(buf), 0,
				    sizeof(buf) - RELAY_HEADER_LEN + 1,
				    WEFT_SUB_RELAY_TO, tag), -1);
	assert_int_equal(relay_wrap(buf, sizeof(buf), 11,
				    sizeof(buf) - RELAY_HEADER_LEN - 10,
				    WEFT_SUB_RELAY_TO, tag), -1);
	assert_int_equal(relay_wrap(buf, sizeof(buf), 1, sizeof(buf),
				    WEFT_SUB_RELAY_TO, tag), -1);
	assert_memory_equal(buf, want, sizeof(buf));
}

/* Mesh sides reaching each other through the relay at 192.0.2.100. */
static void relay_net(struct net *n, struct side *a, struct side *b)
{
	net_init(n, a, b, false);
	a->dev.mesh = b->dev.mesh = true;
	make_endpoint(&n->relay, 100, 3478);
	peer_set_endpoint(a->peer, &(struct wg_endpoint){ 0 });
}

static struct wg_endpoint via_relay(const struct net *n, const struct side *to)
{
	struct wg_endpoint e = n->relay;

	e.relay = true;
	relay_tag(e.tag, to->pub);
	return e;
}

static void assert_relayed_from(const struct side *s, const struct side *from)
{
	assert_true(s->peer->endpoint.relay);
	assert_memory_equal(s->peer->endpoint.tag, from->pub, WG_ENDPOINT_TAG_LEN);
	assert_int_equal(s->peer->endpoint.port, s->net->relay.port);
	assert_memory_equal(s->peer->endpoint.addr, s->net->relay.addr, 4);
}

static void test_relay_session(void **state)
{
	struct net n;
	struct side a, b;
	struct wg_endpoint to_b, to_a;

	(void)state;
	relay_net(&n, &a, &b);
	to_b = via_relay(&n, &b);
	to_a = via_relay(&n, &a);
	peer_set_endpoint(a.peer, &to_b);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 100, 0xab);
	pump(&n);
	/* Handshake and data went through the relay, wrapped; B learned
	 * A behind the relay with A's tag and answers the same way. */
	assert_int_equal(b.ndelivered, 1);
	assert_int_equal(b.delivered[0].len, 120);
	assert_non_null(peer_keypair(a.peer, a.peer->current));
	assert_relayed_from(&b, &a);
	assert_true(endpoint_equal(&b.peer->endpoint, &to_a));
	assert_true(a.dev.counters.tx_relayed >= 2);
	assert_true(b.dev.counters.tx_relayed >= 1);
	assert_int_equal(a.dev.counters.rx_relayed, b.dev.counters.tx_relayed);
	assert_int_equal(b.dev.counters.rx_relayed, a.dev.counters.tx_relayed);
	assert_int_equal(a.sent_relayed, a.dev.counters.tx_relayed);
	tun_send(&b, "10.0.0.2", "10.0.0.1", 50, 0xcd);
	pump(&n);
	assert_int_equal(a.ndelivered, 1);
	assert_relayed_from(&a, &b);

	/* A direct packet moves a peer off the relay. */
	peer_set_endpoint(a.peer, &b.addr);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 1);
	pump(&n);
	assert_int_equal(b.ndelivered, 2);
	assert_true(endpoint_equal(&b.peer->endpoint, &a.addr));
	assert_false(b.peer->endpoint.relay);
	/* A relayed one does not move it back: the host decides. */
	peer_set_endpoint(a.peer, &to_b);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 10, 2);
	pump(&n);
	assert_int_equal(b.ndelivered, 3);
	assert_true(endpoint_equal(&b.peer->endpoint, &a.addr));
	/* ... and B's answers go direct. */
	unsigned relayed = b.sent_relayed;
	tun_send(&b, "10.0.0.2", "10.0.0.1", 10, 3);
	pump(&n);
	assert_int_equal(a.ndelivered, 2);
	assert_int_equal(b.sent_relayed, relayed);
	assert_int_equal(a.pool.nfree, a.pool.total);
	assert_int_equal(b.pool.nfree, b.pool.total);
	net_free(&n);
}

static unsigned path_seen[DEVICE_CONTROL_PATH + 1];
static struct wg_endpoint path_from;

static void path_control(void *ctx, const struct pkt *k, enum device_control kind)
{
	(void)ctx;
	assert_true(kind <= DEVICE_CONTROL_PATH);
	path_seen[kind]++;
	path_from = k->ep;
}

/* A relayed frame wrapped as the relay would send it. */
static uint32_t relay_from(uint8_t *out, const struct side *from,
			   const void *msg, uint32_t len)
{
	le32_store(out, weft_type(WEFT_SUB_RELAY_FROM));
	memcpy(out + 4, from->pub, WG_ENDPOINT_TAG_LEN);
	memcpy(out + RELAY_HEADER_LEN, msg, len);
	return RELAY_HEADER_LEN + len;
}

/* Not a mesh node: a relayed handshake is an unknown type, counted and
 * dropped, and never reaches the host; neither do STUN and probes. */
static void test_relay_needs_mesh(void **state)
{
	struct net n;
	struct side a, b;
	struct wg_endpoint to_b;
	uint8_t frame[MSG_MAX], stun[20] = { 0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t ping[100] = { WEFT_MESSAGE_TYPE, WEFT_SUB_PING, 0, 0 };
	uint32_t len;

	(void)state;
	memset(path_seen, 0, sizeof(path_seen));
	relay_net(&n, &a, &b);
	b.dev.mesh = false;
	b.dev.ops.control_rx = path_control;
	to_b = via_relay(&n, &b);
	peer_set_endpoint(a.peer, &to_b);
	tun_send(&a, "10.0.0.1", "10.0.0.2", 100, 0xab);
	pump(&n);
	assert_int_equal(b.ndelivered, 0);
	assert_int_equal(b.dev.counters.rx_relayed, 0);
	assert_true(b.dev.counters.rx_bad_type >= 1);
	assert_int_equal(b.dev.counters.rx_bad_type, a.sent_relayed);
	assert_int_equal(b.dev.counters.rx_control, 0);

	/* STUN and probes, direct and relayed: dropped as well. */
	queue_msg(&b, &a, stun, sizeof(stun));
	queue_msg(&b, &a, ping, sizeof(ping));
	len = relay_from(frame, &a, ping, sizeof(ping));
	queue_msg(&b, &a, frame, len);
	uint64_t bad = b.dev.counters.rx_bad_type;
	deliver(&b);
	assert_int_equal(b.dev.counters.rx_bad_type, bad + 3);
	for (unsigned i = 0; i <= DEVICE_CONTROL_PATH; i++)
		assert_int_equal(path_seen[i], 0);
	assert_int_equal(b.pool.nfree, b.pool.total);
	net_free(&n);
}

/* A mesh node hands STUN and weft messages other than admission and relay
 * frames to the host as DEVICE_CONTROL_PATH, relayed ones with the relay
 * and tag they came through; a frame within a frame is not unwrapped. */
static void test_relay_path_control(void **state)
{
	struct net n;
	struct side a, b;
	uint8_t frame[MSG_MAX], inner[MSG_MAX];
	uint8_t stun[20] = { 0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	uint8_t ping[100] = { WEFT_MESSAGE_TYPE, WEFT_SUB_PING, 0, 0 };
	uint8_t resp[ADMISSION_RESPONSE_LEN] = { ADMISSION_MESSAGE_TYPE,
						 ADMISSION_SUBTYPE_RESPONSE };
	uint32_t len, ilen;

	(void)state;
	memset(path_seen, 0, sizeof(path_seen));
	relay_net(&n, &a, &b);
	/* Without a host hook: dropped. */
	queue_msg(&b, &a, stun, sizeof(stun));
	deliver(&b);
	assert_int_equal(b.dev.counters.rx_bad_type, 1);

	b.dev.ops.control_rx = path_control;
	queue_msg(&b, &a, stun, sizeof(stun));
	queue_msg(&b, &a, ping, sizeof(ping));
	deliver(&b);
	assert_int_equal(path_seen[DEVICE_CONTROL_PATH], 2);
	assert_true(endpoint_equal(&path_from, &a.addr));
	assert_int_equal(b.dev.counters.rx_control, 2);

	/* Through the relay: the host sees where from. */
	len = relay_from(frame, &a, ping, sizeof(ping));
	queue_msg(&b, &a, frame, len);
	deliver(&b);
	assert_int_equal(path_seen[DEVICE_CONTROL_PATH], 3);
	assert_true(path_from.relay);
	assert_memory_equal(path_from.tag, a.pub, WG_ENDPOINT_TAG_LEN);
	assert_int_equal(b.dev.counters.rx_relayed, 1);

	/* Admission answers keep their own kind. */
	queue_msg(&b, &a, resp, sizeof(resp));
	deliver(&b);
	assert_int_equal(path_seen[DEVICE_CONTROL_ADMISSION_RESPONSE], 1);
	assert_int_equal(path_seen[DEVICE_CONTROL_PATH], 3);

	/* A frame in a frame, and frames too short to hold a message. */
	ilen = relay_from(inner, &a, ping, sizeof(ping));
	len = relay_from(frame, &a, inner, ilen);
	queue_msg(&b, &a, frame, len);
	queue_msg(&b, &a, frame, RELAY_HEADER_LEN);
	queue_msg(&b, &a, frame, RELAY_HEADER_LEN + 3);
	uint64_t short_before = b.dev.counters.rx_bad_length;
	deliver(&b);
	assert_int_equal(path_seen[DEVICE_CONTROL_PATH], 3);
	assert_int_equal(b.dev.counters.rx_bad_length, short_before + 3);
	assert_int_equal(b.pool.nfree, b.pool.total);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_index_watch_mirrors_table),
		cmocka_unit_test(test_handshake_rtt),
		cmocka_unit_test(test_staged_order_and_limit),
		cmocka_unit_test(test_rekey_after_time),
		cmocka_unit_test(test_shortened_times_rekey),
		cmocka_unit_test(test_reject_after_time),
		cmocka_unit_test(test_zero_key_material),
		cmocka_unit_test(test_passive_keepalive),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_retransmit_and_give_up),
		cmocka_unit_test(test_replay_rejected),
		cmocka_unit_test(test_spoofed_source_and_no_route),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_roaming),
		cmocka_unit_test(test_garbage_input),
		cmocka_unit_test(test_cookie_under_load),
		cmocka_unit_test(test_remove_peer_cleans_up),
		cmocka_unit_test(test_private_key_change),
		cmocka_unit_test(test_staged_total_bounded),
		cmocka_unit_test(test_control_messages),
		cmocka_unit_test(test_relay_wrap),
		cmocka_unit_test(test_relay_session),
		cmocka_unit_test(test_relay_needs_mesh),
		cmocka_unit_test(test_relay_path_control),
	};

	if (!crypto_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
