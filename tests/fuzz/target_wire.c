/* target_wire.c - fuzz the datagram parser and the whole receive path of a
 * device that has a live session, and the transmit path's IP parsing.
 *
 * Input: byte 0 selects what the rest is:
 *   bit 0 clear: a UDP datagram for the responder; with bit 1 set and a
 *                data-message length, its key_idx is replaced by the live
 *                session's index so decryption and replay code is reached;
 *   bit 0 set:   a plaintext packet read from the initiator's TUN. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "core/peer.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct node {
	struct pool pool;
	struct device dev;
	struct peer *peer;
	struct wg_endpoint addr;
};

static struct node nodes[2];
static uint64_t rng = 0x243f6a8885a308d3ULL;
static wg_time_t fake_now = 1000 * NSEC_PER_SEC;
/* Datagrams in flight during set-up. */
static uint8_t wire[2][8][256];
static uint32_t wire_len[2][8];
static unsigned wire_n[2];
static bool setup_done;

static void f_random(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t)rng;
	}
}

static void f_tai64n(void *ctx, uint8_t out[12])
{
	uint64_t sec = 0x400000006a000000ULL + fake_now / NSEC_PER_SEC;

	(void)ctx;
	memset(out, 0, 12);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	out[11] = (uint8_t)(fake_now >> 20);
}

static void f_wall(void *ctx, uint64_t *sec, uint64_t *nsec)
{
	(void)ctx;
	*sec = fake_now / NSEC_PER_SEC;
	*nsec = 0;
}

static void f_udp_send(void *ctx, struct batch *b)
{
	struct node *from = ctx;
	int to = from == &nodes[0] ? 1 : 0;

	/* After set-up, output is simply discarded. */
	for (unsigned i = 0; i < b->n && !setup_done; i++) {
		if (wire_n[to] < 8 && b->p[i]->len <= 256) {
			memcpy(wire[to][wire_n[to]], pkt_data(b->p[i]), b->p[i]->len);
			wire_len[to][wire_n[to]++] = b->p[i]->len;
		}
	}
}

static void f_tun_write(void *ctx, struct batch *b)
{
	(void)ctx;
	(void)b;
}

static void deliver(int to)
{
	struct node *n = &nodes[to];
	struct batch b = { 0 };

	for (unsigned i = 0; i < wire_n[to]; i++) {
		struct pkt *k = pool_get(&n->pool);

		if (!k)
			abort();
		k->len = wire_len[to][i];
		k->ep = nodes[1 - to].addr;
		memcpy(k->buf, wire[to][i], k->len);
		b.p[b.n++] = k;
	}
	wire_n[to] = 0;
	device_udp_input(&n->dev, &b, fake_now);
	while (device_handshake_pending(&n->dev))
		device_handshake_work(&n->dev, fake_now);
}

static void setup(void)
{
	uint8_t priv[2][32], pub[2][32];
	const uint8_t net[4] = { 10, 0, 0, 0 };
	int err;

	if (!crypto_init())
		abort();
	for (int i = 0; i < 2; i++) {
		struct device_ops ops = {
			.ctx = &nodes[i], .udp_send = f_udp_send,
			.tun_write = f_tun_write, .random = f_random,
			.tai64n = f_tai64n, .wall = f_wall,
		};

		if (pool_init(&nodes[i].pool, 512) ||
		    device_init(&nodes[i].dev, &ops, &nodes[i].pool))
			abort();
		f_random(NULL, priv[i], 32);
		x25519_clamp(priv[i]);
		if (!x25519_public_from_private(pub[i], priv[i]) ||
		    !device_set_private_key(&nodes[i].dev, priv[i]))
			abort();
		nodes[i].addr.family = IP_V4;
		nodes[i].addr.addr[0] = 192;
		nodes[i].addr.addr[3] = (uint8_t)(i + 1);
		nodes[i].addr.port = 51820;
	}
	for (int i = 0; i < 2; i++) {
		nodes[i].peer = device_add_peer(&nodes[i].dev, pub[1 - i], &err);
		if (!nodes[i].peer ||
		    allowedips_insert(&nodes[i].dev.allowedips, IP_V4, net, 8,
				      nodes[i].peer))
			abort();
		peer_set_endpoint(nodes[i].peer, &nodes[1 - i].addr);
	}
	/* Handshake: initiation, response, confirming keepalive. */
	send_keepalive(nodes[0].peer);
	device_flush(&nodes[0].dev);
	deliver(1);
	deliver(0);
	deliver(1);
	if (nodes[1].peer->current == KP_NONE)
		abort();
	setup_done = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch b = { 0 };
	struct node *n;
	struct pkt *k;

	if (!setup_done)
		setup();
	if (size < 1 || size - 1 > PKT_BUF_SIZE - PKT_HEADROOM - PKT_TAILROOM)
		return 0;
	n = &nodes[data[0] & 1];
	k = pool_get(&n->pool);
	if (!k)
		abort();
	if (data[0] & 1) {
		k->off = PKT_HEADROOM;
		k->len = (uint32_t)(size - 1);
		memcpy(pkt_data(k), data + 1, size - 1);
		b.p[b.n++] = k;
		device_tun_input(&n->dev, &b, fake_now);
	} else {
		k->off = 0;
		k->len = (uint32_t)(size - 1);
		k->ep = nodes[0].addr;
		memcpy(k->buf, data + 1, size - 1);
		if ((data[0] & 2) && k->len >= MESSAGE_MINIMUM_LENGTH &&
		    k->buf[0] == MESSAGE_DATA) {
			struct noise_keypair *kp =
				peer_keypair(n->peer, n->peer->current);

			if (kp)
				le32_store(k->buf + 4, kp->local_index);
		}
		b.p[b.n++] = k;
		device_udp_input(&n->dev, &b, fake_now);
		device_handshake_work(&n->dev, fake_now);
	}
	/* Nothing may stay behind: the pool must be whole again, apart from
	 * packets legitimately staged for a peer. */
	for (int i = 0; i < 2; i++) {
		struct node *m = &nodes[i];

		if (m->pool.nfree + m->peer->staged_n + m->dev.hsq_len != m->pool.total)
			abort();
	}
	return 0;
}
