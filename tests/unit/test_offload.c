/* test_offload.c - TUN offloads: the checksum against a naive byte-pair
 * model, segmentation of super-packets built here and compared byte for
 * byte, every malformed input, and GRO as a round trip: segment, interleave
 * flows, plan, rebuild from the iov list, segment again. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/offload.h"
#include "core/pool.h"

enum {
	POOL_SIZE = 3 * BATCH_MAX,
	SUPER_MAX = 65535,
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACK = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80,
};

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t below(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 24);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* ---- the naive model ------------------------------------------------- */

/* One's complement sum of big-endian byte pairs, folded to 16 bits. */
static uint32_t ref_acc(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return acc;
}

static uint32_t ref_pseudo(bool v6, const uint8_t *src, const uint8_t *dst,
			   uint8_t proto, uint32_t len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if (!v6) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		wr16(ph + 10, len);
		return ref_acc(ph, 12, 0);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	wr32(ph + 32, len);
	ph[39] = proto;
	return ref_acc(ph, 40, 0);
}

/* ---- building packets ------------------------------------------------ */

struct flow {
	bool v6, udp, df;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t tos, ttl;
	uint32_t flowlabel;
	uint32_t ack;
	uint16_t win;
	uint8_t ipopt[40], tcpopt[40];
	unsigned ipoptlen, tcpoptlen;
};

enum csum_mode {
	CSUM_PARTIAL,	/* L4 field = pseudo-header sum (NEEDS_CSUM) */
	CSUM_FULL,	/* a finished checksum; 0 stays 0 for TCP */
	CSUM_FULL_M0,	/* a finished checksum, 0 sent as 0xffff */
};

static unsigned flow_iphl(const struct flow *f) { return f->v6 ? 40 : 20 + f->ipoptlen; }
static unsigned flow_l4hl(const struct flow *f) { return f->udp ? 8 : 20 + f->tcpoptlen; }
static unsigned flow_hl(const struct flow *f) { return flow_iphl(f) + flow_l4hl(f); }

static size_t build(uint8_t *b, const struct flow *f, uint32_t seq,
		    uint16_t id, uint8_t flags, const uint8_t *pl, size_t plen,
		    enum csum_mode mode)
{
	unsigned iphl = flow_iphl(f), l4hl = flow_l4hl(f);
	size_t len = iphl + l4hl + plen;
	uint32_t l4len = (uint32_t)(l4hl + plen), acc;
	uint8_t proto = f->udp ? 17 : 6;
	uint8_t *l4 = b + iphl;
	const uint8_t *src, *dst;

	if (!f->v6) {
		b[0] = (uint8_t)(0x40 | iphl / 4);
		b[1] = f->tos;
		wr16(b + 2, (uint32_t)len);
		wr16(b + 4, id);
		wr16(b + 6, f->df ? 0x4000 : 0);
		b[8] = f->ttl;
		b[9] = proto;
		b[10] = b[11] = 0;
		memcpy(b + 12, f->src, 4);
		memcpy(b + 16, f->dst, 4);
		memcpy(b + 20, f->ipopt, f->ipoptlen);
		wr16(b + 10, ~ref_acc(b, iphl, 0));
		src = b + 12;
		dst = b + 16;
	} else {
		b[0] = (uint8_t)(0x60 | f->tos >> 4);
		b[1] = (uint8_t)(f->tos << 4 | (f->flowlabel >> 16 & 0x0f));
		wr16(b + 2, f->flowlabel);
		wr16(b + 4, l4len);
		b[6] = proto;
		b[7] = f->ttl;
		memcpy(b + 8, f->src, 16);
		memcpy(b + 24, f->dst, 16);
		src = b + 8;
		dst = b + 24;
	}
	wr16(l4, f->sport);
	wr16(l4 + 2, f->dport);
	if (f->udp) {
		wr16(l4 + 4, l4len);
		l4[6] = l4[7] = 0;
	} else {
		wr32(l4 + 4, seq);
		wr32(l4 + 8, f->ack);
		l4[12] = (uint8_t)(l4hl / 4 << 4);
		l4[13] = flags;
		wr16(l4 + 14, f->win);
		wr16(l4 + 16, 0);
		wr16(l4 + 18, 0);
		memcpy(l4 + 20, f->tcpopt, f->tcpoptlen);
	}
	memcpy(b + iphl + l4hl, pl, plen);

	acc = ref_pseudo(f->v6, src, dst, proto, l4len);
	if (mode == CSUM_PARTIAL) {
		wr16(l4 + (f->udp ? 6 : 16), acc);
	} else {
		uint16_t c = (uint16_t)~ref_acc(l4, l4len, acc);

		if (!c && (f->udp || mode == CSUM_FULL_M0))
			c = 0xffff;
		wr16(l4 + (f->udp ? 6 : 16), c);
	}
	return len;
}

static void random_flow(struct flow *f, bool v6, bool udp)
{
	memset(f, 0, sizeof(*f));
	f->v6 = v6;
	f->udp = udp;
	f->df = below(2);
	rnd_fill(f->src, 16);
	rnd_fill(f->dst, 16);
	f->sport = (uint16_t)rnd();
	f->dport = (uint16_t)rnd();
	f->tos = (uint8_t)rnd();
	f->ttl = (uint8_t)(1 + below(255));
	f->flowlabel = (uint32_t)rnd() & 0xfffff;
	f->ack = (uint32_t)rnd();
	f->win = (uint16_t)rnd();
	if (!v6 && below(3) == 0) {
		f->ipoptlen = 4 * (1 + below(10));
		rnd_fill(f->ipopt, f->ipoptlen);
	}
	switch (below(3)) {
	case 0:
		break;
	case 1: /* NOP NOP timestamps */
		f->tcpoptlen = 12;
		f->tcpopt[0] = f->tcpopt[1] = 1;
		f->tcpopt[2] = 8;
		f->tcpopt[3] = 10;
		rnd_fill(f->tcpopt + 4, 8);
		break;
	default:
		f->tcpoptlen = 4 * (1 + below(10));
		rnd_fill(f->tcpopt, f->tcpoptlen);
		break;
	}
}

static void vhdr(struct virtio_net_hdr *h, uint8_t flags, uint8_t type,
		 unsigned hdr_len, unsigned gso, unsigned start, unsigned off)
{
	h->flags = flags;
	h->gso_type = type;
	vnet_le16_store(h->hdr_len, (uint16_t)hdr_len);
	vnet_le16_store(h->gso_size, (uint16_t)gso);
	vnet_le16_store(h->csum_start, (uint16_t)start);
	vnet_le16_store(h->csum_offset, (uint16_t)off);
}

/* A super-packet as the kernel reads it out: NEEDS_CSUM, L4 field holding
 * the pseudo-header sum over the whole length. */
static size_t build_super(uint8_t *b, const struct flow *f, uint32_t seq,
			  uint16_t id, uint8_t flags, const uint8_t *pl,
			  size_t plen, unsigned gso, struct virtio_net_hdr *h)
{
	size_t len = build(b, f, seq, id, flags, pl, plen, CSUM_PARTIAL);
	uint8_t type = f->udp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
		       f->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
			       VIRTIO_NET_HDR_GSO_TCPV4;

	vhdr(h, VIRTIO_NET_HDR_F_NEEDS_CSUM, type, flow_hl(f), gso,
	     flow_iphl(f), f->udp ? 6 : 16);
	return len;
}

/* Independent validity: IPv4 header checksum, lengths, L4 checksum. */
static void assert_valid_packet(const uint8_t *b, size_t len)
{
	bool v6 = (b[0] >> 4) == 6;
	unsigned iphl = v6 ? 40 : (b[0] & 15) * 4u;
	uint8_t proto = v6 ? b[6] : b[9];
	uint32_t l4len = (uint32_t)(len - iphl);
	uint32_t acc;

	if (!v6) {
		assert_int_equal(ref_acc(b, iphl, 0), 0xffff);
		assert_int_equal(rd16(b + 2), len);
		acc = ref_pseudo(false, b + 12, b + 16, proto, l4len);
	} else {
		assert_int_equal(rd16(b + 4) + 40, len);
		acc = ref_pseudo(true, b + 8, b + 24, proto, l4len);
	}
	if (proto == 17)
		assert_int_equal(rd16(b + iphl + 4), l4len);
	assert_int_equal(ref_acc(b + iphl, l4len, acc), 0xffff);
}

/* ---- pool helpers ---------------------------------------------------- */

static struct pool pool;

static int setup(void **state)
{
	(void)state;
	return pool_init(&pool, POOL_SIZE);
}

static int teardown(void **state)
{
	(void)state;
	pool_destroy(&pool);
	return 0;
}

static void release(struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		pool_put(&pool, b->p[i]);
	b->n = 0;
}

static void push(struct batch *b, const uint8_t *bytes, size_t len)
{
	struct pkt *k = pool_get(&pool);

	assert_non_null(k);
	assert_true(len <= OFFLOAD_SEG_MAX);
	k->off = PKT_HEADROOM;
	k->len = (uint32_t)len;
	memcpy(pkt_data(k), bytes, len);
	b->p[b->n++] = k;
}

/* ---- checksum -------------------------------------------------------- */

static uint32_t ref_add32(uint32_t acc16, uint32_t sum32)
{
	uint32_t a = acc16 + (sum32 & 0xffff) + (sum32 >> 16);

	while (a >> 16)
		a = (a & 0xffff) + (a >> 16);
	return a;
}

static void test_csum_random(void **state)
{
	static uint8_t buf[2000 + 16];
	unsigned checked = 0;

	(void)state;
	rng_seed(0x5eed0001);
	for (size_t len = 0; len <= 2000; len++) {
		for (int rep = 0; rep < 6; rep++) {
			uint8_t *p = buf + below(8);
			uint32_t init = rep < 2 ? 0 : (uint32_t)rnd();
			uint32_t want;
			size_t split;

			if (rep == 1)
				memset(p, 0xff, len);	/* every add carries */
			else if (rep == 5)
				memset(p, 0, len);
			else
				rnd_fill(p, len);
			want = ref_add32(ref_acc(p, len, 0), init);
			assert_int_equal(csum_fold(csum_partial(p, len, init)),
					 (uint16_t)~want);
			/* Chained at an even split point. */
			split = len ? 2 * below((uint32_t)(len / 2 + 1)) : 0;
			assert_int_equal(csum_fold(csum_partial(p + split,
				len - split, csum_partial(p, split, init))),
				(uint16_t)~want);
			checked++;
		}
	}
	assert_int_equal(checked, 2001 * 6);
}

static void test_csum_large(void **state)
{
	static uint8_t buf[SUPER_MAX + 8];

	(void)state;
	rng_seed(0x5eed0002);
	for (int rep = 0; rep < 8; rep++) {
		size_t len = SUPER_MAX - below(16);
		uint8_t *p = buf + below(8);

		if (rep < 2)
			memset(p, rep ? 0xff : 0x80, len);
		else
			rnd_fill(p, len);
		assert_int_equal(csum_fold(csum_partial(p, len, 0xffffffffu)),
				 (uint16_t)~ref_add32(ref_acc(p, len, 0),
						       0xffffffffu));
	}
	/* Fixed vectors: RFC 1071's example and the zero buffer. */
	{
		static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03,
					       0xf4, 0xf5, 0xf6, 0xf7 };
		uint8_t z[7] = { 0 };

		assert_int_equal(csum_fold(csum_partial(rfc, 8, 0)),
				 (uint16_t)~0xddf2);
		assert_int_equal(csum_fold(csum_partial(z, 7, 0)), 0xffff);
		assert_int_equal(csum_fold(0), 0xffff);
		assert_int_equal(csum_fold(0x1fffe), 0);
		assert_int_equal(csum_add(0xffffffffu, 1), 1);
	}
}

static void test_csum_pseudo(void **state)
{
	uint8_t s[16], d[16];

	(void)state;
	rng_seed(0x5eed0003);
	for (int i = 0; i < 2000; i++) {
		uint8_t proto = (uint8_t)rnd();
		uint32_t len4 = (uint32_t)rnd() & 0xffff;
		uint32_t len6 = i & 1 ? (uint32_t)rnd() : len4;

		rnd_fill(s, 16);
		rnd_fill(d, 16);
		assert_int_equal(csum_fold(csum_pseudo_v4(s, d, proto, len4)),
				 (uint16_t)~ref_pseudo(false, s, d, proto, len4));
		assert_int_equal(csum_fold(csum_pseudo_v6(s, d, proto, len6)),
				 (uint16_t)~ref_pseudo(true, s, d, proto, len6));
	}
}

/* ---- segmentation ---------------------------------------------------- */

static uint8_t sp[SUPER_MAX + 64];
static uint8_t payload[SUPER_MAX];
static uint8_t expect[SUPER_MAX];

/* Check out->p[from..] against segments built independently here. */
static void check_segments(const struct flow *f, uint32_t seq, uint16_t id,
			   uint8_t flags, size_t plen, unsigned gso,
			   const struct batch *out, unsigned from)
{
	unsigned nseg = (unsigned)((plen + gso - 1) / gso);

	assert_int_equal(out->n - from, nseg);
	for (unsigned i = 0; i < nseg; i++) {
		const struct pkt *k = out->p[from + i];
		size_t o = (size_t)i * gso;
		size_t chunk = plen - o < gso ? plen - o : gso;
		uint8_t fl = flags;
		size_t len;

		if (i + 1 < nseg)
			fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i)
			fl &= (uint8_t)~TCP_CWR;
		len = build(expect, f, seq + (uint32_t)o, (uint16_t)(id + i),
			    fl, payload + o, chunk, CSUM_FULL);
		assert_int_equal(k->off, PKT_HEADROOM);
		assert_int_equal(k->len, len);
		assert_memory_equal(k->buf + k->off, expect, len);
		assert_valid_packet(k->buf + k->off, len);
	}
}

static unsigned random_gso(unsigned hl)
{
	unsigned cap = OFFLOAD_SEG_MAX - hl;

	switch (below(4)) {
	case 0:
		return 1 + below(64);
	case 1:
		return 1200 + below(300);
	case 2:
		return cap - below(8);
	default:
		return 1 + below(cap);
	}
}

static void segment_random(bool udp, int iterations, uint64_t seed)
{
	unsigned ok = 0, nobufs = 0;

	rng_seed(seed);
	for (int it = 0; it < iterations; it++) {
		struct virtio_net_hdr h;
		struct batch out = { .n = 0 };
		struct flow f;
		/* Sometimes almost no room is left, to reach -ENOBUFS. */
		unsigned hl, gso, want,
			pre = below(8) ? below(4) : BATCH_MAX - 1 - below(16);
		size_t plen, len, maxp;
		uint32_t seq = (uint32_t)rnd();
		uint16_t id = (uint16_t)rnd();
		uint8_t flags = TCP_ACK;
		size_t nfree;
		int r;

		random_flow(&f, below(2), udp);
		hl = flow_hl(&f);
		gso = random_gso(hl);
		want = 1 + below(below(8) ? 64 - pre : 80);
		maxp = SUPER_MAX - hl;
		plen = (size_t)(want - 1) * gso + 1 + below(gso);
		if (plen > maxp)
			plen = maxp - below(16);
		rnd_fill(payload, plen);
		if (!udp)
			flags |= (uint8_t)(rnd() & (TCP_PSH | TCP_FIN | TCP_CWR |
						    TCP_ECE));
		len = build_super(sp, &f, seq, id, flags, payload, plen, gso,
				  &h);
		if (below(4) == 0)	/* the kernel's skb_headlen() hint */
			vnet_le16_store(h.hdr_len, (uint16_t)below((uint32_t)len + 1));
		if (below(4) == 0)
			h.flags = below(2) ? 0 : VIRTIO_NET_HDR_F_DATA_VALID;
		if (below(8) == 0)
			h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		for (unsigned i = 0; i < pre; i++)
			push(&out, sp, 20);
		nfree = pool.nfree;
		want = (unsigned)((plen + gso - 1) / gso);
		r = offload_segment(sp, len, &h, &pool, &out, BATCH_MAX);
		if (want > BATCH_MAX - pre) {
			assert_int_equal(r, -ENOBUFS);
			assert_int_equal(out.n, pre);
			assert_int_equal(pool.nfree, nfree);
			nobufs++;
		} else {
			assert_int_equal(r, (int)want);
			check_segments(&f, seq, id, flags, plen, gso, &out, pre);
			ok++;
		}
		release(&out);
		assert_int_equal(pool.nfree, POOL_SIZE);
	}
	assert_true(ok > (unsigned)iterations / 2);
	assert_true(nobufs > 0);
}

static void test_segment_tcp(void **state)
{
	(void)state;
	segment_random(false, 1500, 0x5eed0010);
}

static void test_segment_uso(void **state)
{
	(void)state;
	segment_random(true, 800, 0x5eed0011);
}

/* Exact edges: one segment, payload a multiple of gso, max_out. */
static void test_segment_edges(void **state)
{
	struct virtio_net_hdr h;
	struct batch out = { .n = 0 };
	struct flow f;
	size_t len;

	(void)state;
	rng_seed(0x5eed0012);
	random_flow(&f, false, false);
	f.ipoptlen = 0;
	f.tcpoptlen = 0;
	rnd_fill(payload, 4000);

	/* payload == gso: one segment, flags kept (PSH and FIN on it) */
	len = build_super(sp, &f, 0xfffffff0u, 0xffff, TCP_ACK | TCP_PSH |
			  TCP_FIN | TCP_CWR, payload, 1000, 1000, &h);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 1), 1);
	check_segments(&f, 0xfffffff0u, 0xffff, TCP_ACK | TCP_PSH | TCP_FIN |
		       TCP_CWR, 1000, 1000, &out, 0);
	release(&out);

	/* exact multiple, sequence and id wrap, max_out exactly enough */
	len = build_super(sp, &f, 0xfffffc00u, 0xfffe, TCP_ACK | TCP_PSH,
			  payload, 4000, 1000, &h);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 3), -ENOBUFS);
	assert_int_equal(out.n, 0);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4), 4);
	check_segments(&f, 0xfffffc00u, 0xfffe, TCP_ACK | TCP_PSH, 4000, 1000,
		       &out, 0);
	release(&out);

	/* largest segment that fits a buffer, and one byte more */
	len = build_super(sp, &f, 1, 1, TCP_ACK, payload, 4000,
			  OFFLOAD_SEG_MAX - 40, &h);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4), 1);
	release(&out);
	{
		static uint8_t big[2 * OFFLOAD_SEG_MAX];

		rnd_fill(big, sizeof(big));
		len = build_super(sp, &f, 1, 1, TCP_ACK, big,
				  OFFLOAD_SEG_MAX - 39, OFFLOAD_SEG_MAX - 40,
				  &h);
		assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4),
				 2);
		release(&out);
		len = build_super(sp, &f, 1, 1, TCP_ACK, big, sizeof(big),
				  OFFLOAD_SEG_MAX - 39, &h);
		assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4),
				 -EINVAL);
		/* gso beyond a buffer, but payload fits in one: fine */
		len = build_super(sp, &f, 1, 1, TCP_ACK, big, 1000, 60000, &h);
		assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4),
				 1);
		release(&out);
	}
	assert_int_equal(pool.nfree, POOL_SIZE);
}

static void test_segment_none(void **state)
{
	struct virtio_net_hdr h;
	struct batch out = { .n = 0 };
	struct flow f;

	(void)state;
	rng_seed(0x5eed0020);
	/* Plain copies of anything, up to a buffer. */
	for (int it = 0; it < 200; it++) {
		size_t len = 1 + below(OFFLOAD_SEG_MAX);

		if (it == 0)
			len = OFFLOAD_SEG_MAX;
		rnd_fill(sp, len);
		vhdr(&h, below(2) ? VIRTIO_NET_HDR_F_DATA_VALID : 0,
		     VIRTIO_NET_HDR_GSO_NONE, (unsigned)rnd(), (unsigned)rnd(),
		     (unsigned)rnd(), (unsigned)rnd());
		assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 1), 1);
		assert_int_equal(out.p[0]->off, PKT_HEADROOM);
		assert_int_equal(out.p[0]->len, len);
		assert_memory_equal(pkt_data(out.p[0]), sp, len);
		release(&out);
	}
	/* NEEDS_CSUM completion on TCP and UDP, v4 and v6. */
	for (int it = 0; it < 2000; it++) {
		size_t plen = below(1400), len;
		bool udp = below(2);

		random_flow(&f, below(2), udp);
		rnd_fill(payload, plen);
		len = build(sp, &f, (uint32_t)rnd(), (uint16_t)rnd(),
			    TCP_ACK | TCP_PSH, payload, plen, CSUM_PARTIAL);
		memcpy(expect, sp, len);
		{
			unsigned iphl = flow_iphl(&f);
			unsigned off = udp ? 6 : 16;
			uint8_t *l4 = expect + iphl;
			uint32_t acc;
			uint16_t c;

			acc = ref_pseudo(f.v6, f.v6 ? expect + 8 : expect + 12,
					 f.v6 ? expect + 24 : expect + 16,
					 udp ? 17 : 6, (uint32_t)(len - iphl));
			wr16(l4 + off, 0);
			c = (uint16_t)~ref_acc(l4, len - iphl, acc);
			wr16(l4 + off, c ? c : 0xffff);
			vhdr(&h, VIRTIO_NET_HDR_F_NEEDS_CSUM,
			     VIRTIO_NET_HDR_GSO_NONE, 0, 0, iphl, off);
		}
		assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 1), 1);
		assert_int_equal(out.p[0]->len, len);
		assert_memory_equal(pkt_data(out.p[0]), expect, len);
		assert_valid_packet(pkt_data(out.p[0]), len);
		release(&out);
	}
	/* csum_start/offset bounds: the field's last byte may be the
	 * packet's last byte, not one further. */
	rnd_fill(sp, 100);
	vhdr(&h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 8);
	assert_int_equal(offload_segment(sp, 100, &h, &pool, &out, 1), 1);
	release(&out);
	vhdr(&h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 98, 0);
	assert_int_equal(offload_segment(sp, 100, &h, &pool, &out, 1), 1);
	release(&out);
	vhdr(&h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 90, 9);
	assert_int_equal(offload_segment(sp, 100, &h, &pool, &out, 1), -EINVAL);
	vhdr(&h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 99, 0);
	assert_int_equal(offload_segment(sp, 100, &h, &pool, &out, 1), -EINVAL);
	vhdr(&h, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xffff, 0xffff);
	assert_int_equal(offload_segment(sp, 100, &h, &pool, &out, 1), -EINVAL);
	/* empty and oversized */
	vhdr(&h, 0, 0, 0, 0, 0, 0);
	assert_int_equal(offload_segment(sp, 0, &h, &pool, &out, 1), -EINVAL);
	assert_int_equal(offload_segment(sp, OFFLOAD_SEG_MAX + 1, &h, &pool,
					 &out, 1), -EINVAL);
	/* no room */
	assert_int_equal(offload_segment(sp, 100, &h, &pool, &out, 0), -ENOBUFS);
	assert_int_equal(out.n, 0);
	assert_int_equal(pool.nfree, POOL_SIZE);
}

/* Payloads chosen so the checksum comes out as 0: UDP (USO and NEEDS_CSUM
 * completion) must send 0xffff, TSO segments keep 0 like the kernel's. */
static void test_segment_zero_csum(void **state)
{
	struct virtio_net_hdr h;
	struct batch out = { .n = 0 };
	struct flow f;

	(void)state;
	rng_seed(0x5eed0070);
	for (int c = 0; c < 6; c++) {
		bool udp = c % 3 != 2, none = c % 3 == 1, v6 = c >= 3;
		unsigned iphl, off, want;
		size_t len;
		uint16_t c0;
		uint8_t *d;

		random_flow(&f, v6, udp);
		iphl = flow_iphl(&f);
		off = udp ? 6 : 16;
		rnd_fill(payload, 300);
		payload[0] = payload[1] = 0;
		/* With the word at payload[0] = ~sum, the sum becomes 0xffff. */
		len = build(sp, &f, 77, 1, TCP_ACK, payload, 300, CSUM_FULL_M0);
		c0 = rd16(sp + iphl + off);
		if (c0 == 0xffff)
			c0 = 0;
		wr16(payload, c0);
		len = build_super(sp, &f, 77, 1, TCP_ACK, payload, 300, 300, &h);
		if (none)
			h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		want = udp ? 0xffff : 0;
		assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 1), 1);
		d = pkt_data(out.p[0]);
		assert_int_equal(rd16(d + iphl + off), want);
		assert_valid_packet(d, len);
		release(&out);
	}
	assert_int_equal(pool.nfree, POOL_SIZE);
}

/* Each case breaks one thing in an otherwise valid super-packet. Returns
 * false past the last case. */
static bool malformed_case(int c, uint8_t *p, size_t *len,
			   struct virtio_net_hdr *h, const char **name)
{
	struct flow f;
	bool v6 = c >= 100 && c < 200, udp = c >= 200;
	unsigned iphl, hl;

	random_flow(&f, v6, udp);
	f.df = true;
	if (!v6)
		f.ipoptlen = 8;
	if (!udp)
		f.tcpoptlen = 12;
	rnd_fill(payload, 3000);
	*len = build_super(p, &f, 1000, 7, TCP_ACK, payload, 3000, 1000, h);
	iphl = flow_iphl(&f);
	hl = flow_hl(&f);

#define CASE(n, what) case n: *name = what;
	switch (c) {
	CASE(0, "v4: shorter than an IPv4 header") *len = 19; break;
	CASE(1, "v4: version 5") p[0] = (uint8_t)(0x50 | (p[0] & 15)); break;
	CASE(2, "v4: IHL 4") p[0] = 0x44; break;
	CASE(3, "v4: IHL past the end") *len = 40; wr16(p + 2, 40); p[0] = 0x4f;
		break;
	CASE(4, "v4: total length < len") wr16(p + 2, (uint32_t)*len - 1); break;
	CASE(5, "v4: total length > len") wr16(p + 2, (uint32_t)*len + 1); break;
	CASE(6, "v4: MF") p[6] |= 0x20; break;
	CASE(7, "v4: fragment offset") p[7] = 1; break;
	CASE(8, "v4: UDP under TCPV4") p[9] = 17; break;
	CASE(9, "v4: under TCPV6") h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6; break;
	CASE(10, "v4: TCP offset 4") p[iphl + 12] = 0x40; break;
	CASE(11, "v4: TCP header past the end") p[iphl + 12] = 0xf0;
		*len = iphl + 56; wr16(p + 2, (uint32_t)*len); break;
	CASE(12, "v4: TCP header truncated") *len = iphl + 19;
		wr16(p + 2, (uint32_t)*len); break;
	CASE(13, "v4: gso_size 0") vnet_le16_store(h->gso_size, 0); break;
	CASE(14, "v4: segment larger than a buffer")
		vnet_le16_store(h->gso_size, (uint16_t)(OFFLOAD_SEG_MAX - hl + 1));
		*len = SUPER_MAX;
		wr16(p + 2, SUPER_MAX); break;
	CASE(15, "v4: hdr_len past the end")
		vnet_le16_store(h->hdr_len, (uint16_t)(*len + 1)); break;
	CASE(16, "v4: no payload") *len = hl; wr16(p + 2, hl); break;
	CASE(17, "v4: GSO_UDP (UFO)") h->gso_type = VIRTIO_NET_HDR_GSO_UDP; break;
	CASE(18, "v4: gso_type 2") h->gso_type = 2; break;
	CASE(19, "v4: gso_type 6") h->gso_type = 6; break;
	CASE(20, "v4: gso_type 0x7f") h->gso_type = 0x7f; break;
	CASE(21, "v4: under UDP_L4") h->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4; break;
	CASE(22, "v4: version 0") p[0] = 0x05; break;
	CASE(23, "v4: empty") *len = 0; break;
	CASE(24, "v4: ECN bit alone on a TCP type (a broken TCPV6)")
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
		break;
	CASE(100, "v6: shorter than an IPv6 header") *len = 39; break;
	CASE(101, "v6: payload length < len") wr16(p + 4, (uint32_t)*len - 41);
		break;
	CASE(102, "v6: payload length > len") wr16(p + 4, (uint32_t)*len - 39);
		break;
	CASE(103, "v6: hop-by-hop extension header") p[6] = 0; break;
	CASE(104, "v6: fragment header") p[6] = 44; break;
	CASE(105, "v6: under TCPV4") h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4; break;
	CASE(106, "v6: version 4 bits on a v6 layout") p[0] = 0x45; break;
	CASE(107, "v6: TCP offset 0") p[40 + 12] = 0; break;
	CASE(108, "v6: TCP header truncated") *len = 59; wr16(p + 4, 19); break;
	CASE(109, "v6: gso_size 0") vnet_le16_store(h->gso_size, 0); break;
	CASE(110, "v6: version 7") p[0] = 0x70; break;
	CASE(200, "udp: UDP header truncated") *len = iphl + 7;
		if (v6) wr16(p + 4, 7); else wr16(p + 2, (uint32_t)*len); break;
	CASE(201, "udp: headers only") *len = iphl + 8;
		if (v6) wr16(p + 4, 8); else wr16(p + 2, (uint32_t)*len); break;
	CASE(202, "udp: TCP under UDP_L4") p[9] = 6; break;
	CASE(203, "udp: gso_size 0") vnet_le16_store(h->gso_size, 0); break;
	CASE(204, "udp: GSO_UDP (UFO)") h->gso_type = VIRTIO_NET_HDR_GSO_UDP; break;
	default:
		return false;
	}
#undef CASE
	return true;
}

static void test_segment_malformed(void **state)
{
	static const int ranges[][2] = { { 0, 24 }, { 100, 110 }, { 200, 204 } };
	unsigned cases = 0;

	(void)state;
	rng_seed(0x5eed0030);
	for (unsigned g = 0; g < 3; g++) {
		for (int c = ranges[g][0]; c <= ranges[g][1]; c++) {
			struct virtio_net_hdr h;
			struct batch out = { .n = 0 };
			const char *name = NULL;
			size_t len, nfree;
			int r;

			assert_true(malformed_case(c, sp, &len, &h, &name));
			push(&out, sp, 20);	/* something already there */
			nfree = pool.nfree;
			r = offload_segment(sp, len, &h, &pool, &out, BATCH_MAX);
			if (r != -EINVAL)
				fail_msg("case %d (%s): got %d", c, name, r);
			assert_int_equal(out.n, 1);
			assert_int_equal(pool.nfree, nfree);
			release(&out);
			cases++;
		}
		assert_false(malformed_case(ranges[g][1] + 1, sp, &(size_t){0},
					    &(struct virtio_net_hdr){0},
					    &(const char *){NULL}));
	}
	assert_int_equal(cases, 25 + 11 + 5);
	assert_int_equal(pool.nfree, POOL_SIZE);
}

static void test_segment_nobufs(void **state)
{
	struct virtio_net_hdr h;
	struct batch out = { .n = 0 };
	struct pool small;
	struct flow f;
	size_t len;

	(void)state;
	rng_seed(0x5eed0040);
	random_flow(&f, true, false);
	rnd_fill(payload, 5000);
	len = build_super(sp, &f, 5, 0, TCP_ACK, payload, 5000, 1000, &h);

	/* A pool of 4 for 5 segments: nothing taken, nothing appended. */
	assert_int_equal(pool_init(&small, 4), 0);
	assert_int_equal(offload_segment(sp, len, &h, &small, &out, BATCH_MAX),
			 -ENOBUFS);
	assert_int_equal(out.n, 0);
	assert_int_equal(small.nfree, 4);
	/* again once buffers have cycled through the free stack */
	{
		struct pkt *k = pool_get(&small);

		pool_put(&small, k);
	}
	assert_int_equal(offload_segment(sp, len, &h, &small, &out, BATCH_MAX),
			 -ENOBUFS);
	assert_int_equal(small.nfree, 4);
	pool_destroy(&small);

	/* max_out and the room left in out */
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4), -ENOBUFS);
	while (out.n < BATCH_MAX - 4)
		push(&out, sp, 40);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, BATCH_MAX),
			 -ENOBUFS);
	assert_int_equal(out.n, BATCH_MAX - 4);
	out.n--;
	pool_put(&pool, out.p[out.n]);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, 4), -ENOBUFS);
	assert_int_equal(out.n, BATCH_MAX - 5);
	assert_int_equal(offload_segment(sp, len, &h, &pool, &out, BATCH_MAX), 5);
	assert_true(batch_full(&out));
	vhdr(&h, 0, 0, 0, 0, 0, 0);
	assert_int_equal(offload_segment(sp, 40, &h, &pool, &out, BATCH_MAX),
			 -ENOBUFS);
	release(&out);
	assert_int_equal(pool.nfree, POOL_SIZE);
}

/* ---- GRO --------------------------------------------------------------- */

static uint8_t saved[BATCH_MAX][OFFLOAD_SEG_MAX];
static uint32_t saved_len[BATCH_MAX];
static uint8_t rebuilt[SUPER_MAX + 64];

static void save_batch(const struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		saved_len[i] = b->p[i]->len;
		memcpy(saved[i], b->p[i]->buf + b->p[i]->off, b->p[i]->len);
	}
}

/* The test's own idea of a packet's TCP flow, as GRO must see it. */
static bool tcp_key(const uint8_t *d, size_t len, uint8_t key[37])
{
	unsigned iphl;

	memset(key, 0, 37);
	if (len < 20)
		return false;
	if (d[0] >> 4 == 4) {
		iphl = (d[0] & 15) * 4u;
		if (iphl < 20 || d[9] != 6 || (rd16(d + 6) & 0x3fff))
			return false;
		memcpy(key + 1, d + 12, 8);
	} else if (d[0] >> 4 == 6) {
		iphl = 40;
		if (len < 40 || d[6] != 6)
			return false;
		key[0] = 6;
		memcpy(key + 1, d + 8, 32);
	} else {
		return false;
	}
	if (len < iphl + 20 || (d[iphl + 12] >> 4) < 5 ||
	    iphl + (d[iphl + 12] >> 4) * 4u > len)
		return false;
	memcpy(key + 33, d + iphl, 4);
	return true;
}

static void check_coalesced(const struct gro_unit *u, const uint8_t *b,
			    size_t len, const uint8_t *head, size_t head_len)
{
	bool v6 = (b[0] >> 4) == 6;
	unsigned iphl = v6 ? 40 : (b[0] & 15) * 4u;
	unsigned hl = iphl + (b[iphl + 12] >> 4) * 4u;
	uint32_t acc;
	static uint8_t tmp[SUPER_MAX];

	assert_true(len <= 65535);
	assert_int_equal(u->hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(u->hdr.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
						VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vnet_le16_load(u->hdr.hdr_len), hl);
	assert_int_equal(u->hdr_len, hl);
	assert_int_equal(vnet_le16_load(u->hdr.gso_size), head_len - hl);
	assert_int_equal(vnet_le16_load(u->hdr.csum_start), iphl);
	assert_int_equal(vnet_le16_load(u->hdr.csum_offset), 16);
	if (!v6) {
		assert_int_equal(ref_acc(b, iphl, 0), 0xffff);
		assert_int_equal(rd16(b + 2), len);
		acc = ref_pseudo(false, b + 12, b + 16, 6, (uint32_t)(len - iphl));
	} else {
		assert_int_equal(rd16(b + 4) + 40u, len);
		acc = ref_pseudo(true, b + 8, b + 24, 6, (uint32_t)(len - iphl));
	}
	assert_int_equal(rd16(b + iphl + 16), acc);
	/* Everything else in the headers is the first segment's. */
	assert_memory_equal(b + iphl, head + iphl, 13);
	assert_int_equal(b[iphl + 13] & ~TCP_PSH, head[iphl + 13]);
	assert_memory_equal(b + iphl + 14, head + iphl + 14, 2);
	assert_memory_equal(b + iphl + 18, head + iphl + 18, hl - iphl - 18);
	/* Completing the checksum as the kernel would gives a valid one. */
	memcpy(tmp, b, len);
	wr16(tmp + iphl + 16, ~ref_acc(tmp + iphl, len - iphl, 0));
	assert_valid_packet(tmp, len);
}

/* The plan's invariants, and its round trip through offload_segment. */
static void check_plan(const struct batch *b, const struct gro_plan *plan)
{
	struct offload_iov iov[BATCH_MAX];
	unsigned pos[BATCH_MAX], total = 0;
	bool seen[BATCH_MAX] = { false };

	assert_true(plan->nunits >= (b->n ? 1u : 0u));
	assert_true(plan->nunits <= b->n);
	for (unsigned u = 0; u < plan->nunits; u++) {
		const struct gro_unit *gu = &plan->unit[u];
		unsigned head = plan->pkt[gu->first];
		size_t n, len = 0;

		assert_int_equal(gu->first, total);
		assert_true(gu->count >= 1);
		if (u)
			assert_true(head > plan->pkt[plan->unit[u - 1].first]);
		for (unsigned j = 0; j < gu->count; j++) {
			unsigned i = plan->pkt[gu->first + j];

			assert_true(i < b->n);
			assert_false(seen[i]);
			seen[i] = true;
			pos[i] = total + j;
			if (j)
				assert_true(i > plan->pkt[gu->first + j - 1]);
		}
		total += gu->count;
		assert_int_equal(gro_unit_iov(plan, u, b, iov, gu->count - 1), 0);
		n = gro_unit_iov(plan, u, b, iov, BATCH_MAX);
		assert_int_equal(n, gu->count);
		for (unsigned j = 0; j < n; j++) {
			assert_true(len + iov[j].len <= SUPER_MAX);
			memcpy(rebuilt + len, iov[j].base, iov[j].len);
			len += iov[j].len;
		}
		if (gu->count == 1) {
			static const struct virtio_net_hdr zero;

			assert_memory_equal(&gu->hdr, &zero, sizeof(zero));
			assert_int_equal(len, saved_len[head]);
			assert_memory_equal(rebuilt, saved[head], len);
			continue;
		}
		check_coalesced(gu, rebuilt, len, saved[head], saved_len[head]);
		{
			struct batch again = { .n = 0 };
			int r = offload_segment(rebuilt, len, &gu->hdr, &pool,
						&again, BATCH_MAX);

			assert_int_equal(r, (int)gu->count);
			for (unsigned j = 0; j < gu->count; j++) {
				unsigned i = plan->pkt[gu->first + j];
				const uint8_t *d = pkt_data(again.p[j]);
				bool anyid = (d[0] >> 4) == 4 && (d[6] & 0x40);

				assert_int_equal(again.p[j]->len, saved_len[i]);
				if (anyid) {
					/* With DF, ids are renumbered. */
					assert_memory_equal(d, saved[i], 4);
					assert_memory_equal(d + 6, saved[i] + 6, 4);
					assert_memory_equal(d + 12, saved[i] + 12,
							    saved_len[i] - 12);
				} else {
					assert_memory_equal(d, saved[i],
							    saved_len[i]);
				}
			}
			release(&again);
		}
	}
	assert_int_equal(total, b->n);
	/* Per flow, packets leave in the order they came. */
	for (unsigned a = 0; a < b->n; a++) {
		uint8_t ka[37], kb[37];

		if (!tcp_key(saved[a], saved_len[a], ka))
			continue;
		for (unsigned c = a + 1; c < b->n; c++)
			if (tcp_key(saved[c], saved_len[c], kb) &&
			    !memcmp(ka, kb, 37))
				assert_true(pos[a] < pos[c]);
	}
}

static void plan_and_check(struct batch *b, struct gro_plan *plan)
{
	save_batch(b);
	offload_gro_plan(b, plan);
	check_plan(b, plan);
}

static size_t unrelated_packet(uint8_t *b)
{
	struct flow f;
	size_t plen = below(1200), len;

	rnd_fill(payload, plen);
	switch (below(6)) {
	case 0: /* UDP */
		random_flow(&f, below(2), true);
		return build(b, &f, 0, (uint16_t)rnd(), 0, payload, plen,
			     CSUM_FULL);
	case 1: /* ICMP echo */
		random_flow(&f, false, true);
		len = build(b, &f, 0, 0, 0, payload, plen, CSUM_FULL);
		b[9] = 1;
		wr16(b + 10, 0);
		wr16(b + 10, ~ref_acc(b, flow_iphl(&f), 0));
		return len;
	case 2: /* ICMPv6 */
		random_flow(&f, true, true);
		len = build(b, &f, 0, 0, 0, payload, plen, CSUM_FULL);
		b[6] = 58;
		return len;
	case 3: /* a TCP pure ACK of some other flow */
		random_flow(&f, below(2), false);
		return build(b, &f, (uint32_t)rnd(), 0, TCP_ACK, payload, 0,
			     CSUM_FULL);
	case 4: /* junk */
		rnd_fill(b, 1 + plen);
		return 1 + plen;
	default: /* a TCP segment of some other flow, alone */
		random_flow(&f, below(2), false);
		return build(b, &f, (uint32_t)rnd(), (uint16_t)rnd(), TCP_ACK,
			     payload, 1 + plen, CSUM_FULL);
	}
}

static void test_gro_roundtrip(void **state)
{
	static uint8_t supers[3][SUPER_MAX + 64];
	static struct gro_plan plan;
	unsigned coalesced = 0;

	(void)state;
	rng_seed(0x5eed0050);
	for (int it = 0; it < 400; it++) {
		struct batch segs[3], b = { .n = 0 };
		struct virtio_net_hdr h[3];
		struct flow f[3];
		size_t slen[3];
		unsigned nflows = 1 + below(3), nother = below(9), taken[3] = { 0 };
		unsigned budget = (BATCH_MAX - nother) / nflows, left;

		/* One unit holds at most GRO_MAX_SEGS segments. */
		if (budget > GRO_MAX_SEGS)
			budget = GRO_MAX_SEGS;

		for (unsigned k = 0; k < nflows; k++) {
			unsigned hl, gso, nseg;
			size_t plen, maxp;
			uint8_t flags = TCP_ACK | (below(2) ? TCP_PSH : 0);

			random_flow(&f[k], below(2), false);
			f[k].sport = (uint16_t)(1000 + k);	/* distinct flows */
			hl = flow_hl(&f[k]);
			gso = below(3) ? 1200 + below(300) : 1 + below(3000);
			nseg = 1 + below(budget);
			maxp = SUPER_MAX - hl;
			plen = (size_t)(nseg - 1) * gso + 1 + below(gso);
			if (plen > maxp)
				plen = maxp - below(8);
			rnd_fill(payload, plen);
			slen[k] = build_super(supers[k], &f[k], (uint32_t)rnd(),
					      (uint16_t)rnd(), flags, payload,
					      plen, gso, &h[k]);
			segs[k].n = 0;
			assert_true(offload_segment(supers[k], slen[k], &h[k],
						    &pool, &segs[k],
						    BATCH_MAX) > 0);
		}
		/* Interleave, keeping each flow's order. */
		left = nother;
		for (;;) {
			unsigned pick = below(nflows + 1), k;

			for (k = 0; k <= nflows; k++) {
				unsigned c = (pick + k) % (nflows + 1);

				if (c == nflows ? left > 0 : taken[c] < segs[c].n) {
					pick = c;
					break;
				}
			}
			if (k > nflows)
				break;
			if (pick == nflows) {
				size_t l = unrelated_packet(expect);

				push(&b, expect, l);
				left--;
			} else {
				b.p[b.n++] = segs[pick].p[taken[pick]++];
			}
		}
		plan_and_check(&b, &plan);
		/* Every flow is one unit, and that unit is its super-packet. */
		assert_int_equal(plan.nunits, nflows + nother);
		for (unsigned u = 0; u < plan.nunits; u++) {
			const struct gro_unit *gu = &plan.unit[u];
			struct offload_iov iov[BATCH_MAX];
			size_t n, len = 0;

			if (gu->count == 1)
				continue;
			n = gro_unit_iov(&plan, u, &b, iov, BATCH_MAX);
			for (unsigned j = 0; j < n; j++) {
				memcpy(rebuilt + len, iov[j].base, iov[j].len);
				len += iov[j].len;
			}
			for (unsigned k = 0; k < nflows; k++) {
				if (slen[k] != len || memcmp(rebuilt, supers[k], 20))
					continue;
				assert_int_equal(gu->count, segs[k].n);
				assert_memory_equal(rebuilt, supers[k], len);
				assert_memory_equal(&gu->hdr, &h[k], 4);
				assert_memory_equal(h[k].csum_start,
						    gu->hdr.csum_start, 4);
				coalesced++;
			}
		}
		release(&b);
		assert_int_equal(pool.nfree, POOL_SIZE);
	}
	assert_true(coalesced > 300);
}

/* ---- GRO rules, case by case ------------------------------------------ */

struct segspec {
	struct flow f;
	uint32_t seq;
	uint16_t id;
	uint8_t flags;
	size_t plen;
	int extra;		/* bytes past the IP length */
	bool bad_ipcsum;
};

enum { NSEG = 4, GSO = 1000 };

/* Build specs 0..n) into b, in the given order (NULL: in order). */
static void build_specs(struct batch *b, const struct segspec *s, unsigned n,
			const unsigned *order)
{
	for (unsigned j = 0; j < n; j++) {
		const struct segspec *x = &s[order ? order[j] : j];
		size_t len = build(expect, &x->f, x->seq, x->id, x->flags,
				   payload, x->plen, CSUM_FULL);

		if (x->bad_ipcsum)
			expect[10] ^= 0x40;
		push(b, expect, len + (size_t)x->extra);
	}
}

static void default_specs(struct segspec *s, unsigned n, bool v6)
{
	struct flow f;

	random_flow(&f, v6, false);
	f.df = true;
	for (unsigned i = 0; i < n; i++) {
		s[i].f = f;
		s[i].seq = 0xfffff000u + i * GSO;	/* wraps */
		s[i].id = (uint16_t)(0xfffe + i);
		s[i].flags = TCP_ACK;
		s[i].plen = GSO;
		s[i].extra = 0;
		s[i].bad_ipcsum = false;
	}
}

/* Recompute sequence numbers after plen changes. */
static void reseq(struct segspec *s, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		s[i].seq = s[i - 1].seq + (uint32_t)s[i - 1].plen;
}

static void expect_units(const struct batch *b, const struct gro_plan *plan,
			 const char *name, const unsigned *counts, unsigned n)
{
	bool ok = plan->nunits == n;

	for (unsigned u = 0; ok && u < n; u++)
		ok = plan->unit[u].count == counts[u];
	if (!ok) {
		char got[256];
		size_t at = 0;

		for (unsigned u = 0; u < plan->nunits && at < 200; u++)
			at += (size_t)snprintf(got + at, sizeof(got) - at, "%u ",
					       plan->unit[u].count);
		got[at] = 0;
		fail_msg("%s: units %s(of %u packets)", name, got, b->n);
	}
}

#define UNITS(...) (const unsigned[]){ __VA_ARGS__ }, \
	sizeof((const unsigned[]){ __VA_ARGS__ }) / sizeof(unsigned)

static void test_gro_rules(void **state)
{
	static struct gro_plan plan;
	struct segspec s[BATCH_MAX];
	struct batch b = { .n = 0 };

	(void)state;
	rng_seed(0x5eed0060);
	rnd_fill(payload, SUPER_MAX);

#define RUN(name, n, order, ...) do { \
		build_specs(&b, s, n, order); \
		plan_and_check(&b, &plan); \
		expect_units(&b, &plan, name, UNITS(__VA_ARGS__)); \
		release(&b); \
	} while (0)

	for (int v6 = 0; v6 <= 1; v6++) {
		default_specs(s, NSEG, v6);
		RUN("baseline", NSEG, NULL, 4);
		default_specs(s, NSEG, v6);
		s[3].plen = GSO / 2;
		RUN("last shorter", NSEG, NULL, 4);
		default_specs(s, NSEG, v6);
		s[1].plen = GSO / 2;
		reseq(s, NSEG);
		RUN("middle shorter", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[3].plen = GSO + 1;
		RUN("last longer", NSEG, NULL, 3, 1);
		default_specs(s, NSEG, v6);
		s[1].flags |= TCP_PSH;
		RUN("PSH in the middle", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[3].flags |= TCP_PSH;
		RUN("PSH last", NSEG, NULL, 4);
		default_specs(s, NSEG, v6);
		s[0].flags |= TCP_PSH;
		RUN("PSH first", NSEG, NULL, 1, 3);
		default_specs(s, NSEG, v6);
		s[3].flags |= TCP_FIN;
		RUN("FIN last", NSEG, NULL, 3, 1);
		default_specs(s, NSEG, v6);
		s[0].flags |= TCP_SYN;
		RUN("SYN first", NSEG, NULL, 1, 3);
		default_specs(s, NSEG, v6);
		s[0].flags |= TCP_CWR;
		RUN("CWR first", NSEG, NULL, 1, 3);
		default_specs(s, NSEG, v6);
		for (int i = 0; i < NSEG; i++)
			s[i].flags |= TCP_ECE;
		RUN("ECE", NSEG, NULL, 1, 1, 1, 1);
		default_specs(s, NSEG, v6);
		s[2].flags |= TCP_URG;
		RUN("URG", NSEG, NULL, 2, 1, 1);
		default_specs(s, NSEG, v6);
		s[2].flags |= TCP_RST;
		RUN("RST", NSEG, NULL, 2, 1, 1);
		default_specs(s, NSEG, v6);
		for (int i = 0; i < NSEG; i++)
			s[i].flags = TCP_PSH;
		RUN("no ACK", NSEG, NULL, 1, 1, 1, 1);
		default_specs(s, NSEG, v6);
		s[2].seq += 1;
		s[3].seq += 1;
		RUN("sequence gap", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		RUN("reordered", NSEG, ((const unsigned[]){ 1, 0, 2, 3 }), 1, 1, 2);
		default_specs(s, NSEG, v6);
		RUN("duplicate", NSEG, ((const unsigned[]){ 0, 1, 1, 2 }), 2, 2);
		default_specs(s, NSEG, v6);
		s[2].f.ack++;
		s[3].f.ack++;
		RUN("ack moved", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[2].f.win++;
		s[3].f.win++;
		RUN("window moved", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[0].f.tcpoptlen = 12;
		for (int i = 1; i < NSEG; i++)
			s[i].f = s[0].f;
		s[2].f.tcpopt[11]++;
		s[3].f.tcpopt[11]++;
		RUN("timestamp moved", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[2].f.tcpoptlen = s[2].f.tcpoptlen == 4 ? 8 : 4;
		s[2].plen = GSO - 4;
		reseq(s, NSEG);
		RUN("TCP header length differs", NSEG, NULL, 2, 1, 1);
		default_specs(s, NSEG, v6);
		s[2].f.ttl++;
		s[3].f.ttl++;
		RUN("TTL/hop limit moved", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[2].f.tos ^= 0x01;
		s[3].f.tos ^= 0x01;
		RUN("TOS/ECN bits moved", NSEG, NULL, 2, 2);
		default_specs(s, NSEG, v6);
		s[2].extra = 3;
		RUN("trailing bytes", NSEG, NULL, 2, 1, 1);
		default_specs(s, NSEG, v6);
		s[2].plen = 0;
		reseq(s, NSEG);
		RUN("pure ACK in the middle", NSEG, NULL, 2, 1, 1);
		default_specs(s, 2 * NSEG, v6);
		for (int i = NSEG; i < 2 * NSEG; i++) {
			s[i].f.sport++;
			s[i].seq = s[i - NSEG].seq;
		}
		RUN("two flows interleaved", 2 * NSEG,
		    ((const unsigned[]){ 0, 4, 1, 5, 2, 6, 3, 7 }), 4, 4);
		default_specs(s, 2 * NSEG, v6);
		for (int i = NSEG; i < 2 * NSEG; i++) {
			s[i].f.src[v6 ? 15 : 3]++;
			s[i].seq = s[i - NSEG].seq;
		}
		RUN("same ports, other address", 2 * NSEG,
		    ((const unsigned[]){ 0, 4, 5, 1, 2, 6, 7, 3 }), 4, 4);
		default_specs(s, 2 * NSEG, v6);
		for (int i = NSEG; i < 2 * NSEG; i++) {
			uint16_t t = s[i].f.sport;

			s[i].f.sport = s[i].f.dport;
			s[i].f.dport = t;
			s[i].seq = s[i - NSEG].seq;
		}
		RUN("swapped ports are another flow", 2 * NSEG,
		    ((const unsigned[]){ 0, 4, 1, 5, 2, 6, 3, 7 }), 4, 4);
		default_specs(s, GRO_MAX_SEGS, v6);
		for (int i = 0; i < GRO_MAX_SEGS; i++)
			s[i].plen = 100;
		reseq(s, GRO_MAX_SEGS);
		RUN("a full unit", GRO_MAX_SEGS, NULL, 64);
		default_specs(s, BATCH_MAX, v6);
		for (int i = 0; i < BATCH_MAX; i++)
			s[i].plen = 100;
		reseq(s, BATCH_MAX);
		RUN("a full batch is two full units", BATCH_MAX, NULL, 64, 64);
		default_specs(s, GRO_MAX_SEGS, v6);
		for (int i = 0; i < GRO_MAX_SEGS; i++) {
			s[i].f.sport = (uint16_t)i;
			s[i].f.dport = (uint16_t)(i * 7919);
		}
		RUN("64 flows", GRO_MAX_SEGS, NULL, 1, 1, 1, 1, 1, 1, 1, 1,
		    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
		{
			/* 65535 bytes exactly, and one more. */
			unsigned hl, g = 8100;
			size_t fill;

			default_specs(s, 9, v6);
			hl = flow_hl(&s[0].f);
			fill = 65535 - hl - 8 * (size_t)g;
			for (int i = 0; i < 9; i++)
				s[i].plen = i < 8 ? g : fill;
			reseq(s, 9);
			RUN("65535 bytes", 9, NULL, 9);
			s[8].plen = fill + 1;
			RUN("65536 bytes", 9, NULL, 8, 1);
		}
	}

	/* IPv4 only: DF, ids, options, header checksum. */
	default_specs(s, NSEG, false);
	s[2].bad_ipcsum = true;
	RUN("bad IPv4 header checksum", NSEG, NULL, 2, 1, 1);
	default_specs(s, NSEG, false);
	s[2].f.df = false;
	s[3].f.df = false;
	RUN("DF differs", NSEG, NULL, 2, 2);
	default_specs(s, NSEG, false);
	for (int i = 0; i < NSEG; i++)
		s[i].id = (uint16_t)rnd();
	RUN("DF, any ids", NSEG, NULL, 4);
	default_specs(s, NSEG, false);
	for (int i = 0; i < NSEG; i++)
		s[i].f.df = false;
	RUN("no DF, ids counting", NSEG, NULL, 4);
	s[2].id += 5;
	s[3].id += 5;
	RUN("no DF, id jump", NSEG, NULL, 2, 2);
	default_specs(s, NSEG, false);
	s[0].f.ipoptlen = 8;
	for (int i = 1; i < NSEG; i++)
		s[i].f = s[0].f;
	RUN("IPv4 options", NSEG, NULL, 4);
	s[2].f.ipopt[5]++;
	s[3].f.ipopt[5]++;
	RUN("IPv4 options differ", NSEG, NULL, 2, 2);
	default_specs(s, NSEG, false);
	s[2].f.ipoptlen = s[2].f.ipoptlen == 4 ? 8 : 4;
	s[2].plen = GSO - 4;
	reseq(s, NSEG);
	RUN("IPv4 header length differs", NSEG, NULL, 2, 1, 1);
	/* IPv6 only: flow label. */
	default_specs(s, NSEG, true);
	s[2].f.flowlabel ^= 1;
	s[3].f.flowlabel ^= 1;
	RUN("flow label moved", NSEG, NULL, 2, 2);
#undef RUN

	/* Fragments, extension headers, versions: never coalesced. */
	{
		static const struct {
			const char *name;
			unsigned at;
			uint8_t xor;
		} bad[] = {
			{ "v4 MF", 6, 0x20 }, { "v4 offset", 7, 0x01 },
			{ "v4 not TCP", 9, 6 ^ 17 }, { "v4 version", 0, 0x10 },
		};

		for (unsigned c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
			default_specs(s, NSEG, false);
			build_specs(&b, s, NSEG, NULL);
			for (unsigned i = 0; i < NSEG; i++) {
				uint8_t *d = pkt_data(b.p[i]);

				d[bad[c].at] ^= bad[c].xor;
				wr16(d + 10, 0);
				wr16(d + 10, ~ref_acc(d, flow_iphl(&s[0].f), 0));
			}
			plan_and_check(&b, &plan);
			expect_units(&b, &plan, bad[c].name, UNITS(1, 1, 1, 1));
			release(&b);
		}
		default_specs(s, NSEG, true);
		build_specs(&b, s, NSEG, NULL);
		for (unsigned i = 0; i < NSEG; i++)
			pkt_data(b.p[i])[6] = 0;	/* hop-by-hop */
		plan_and_check(&b, &plan);
		expect_units(&b, &plan, "v6 extension header", UNITS(1, 1, 1, 1));
		release(&b);
	}
	/* Degenerate batches. */
	b.n = 0;
	offload_gro_plan(&b, &plan);
	assert_int_equal(plan.nunits, 0);
	assert_int_equal(gro_unit_iov(&plan, 0, &b, NULL, 0), 0);
	for (int it = 0; it < 200; it++) {
		unsigned n = 1 + below(BATCH_MAX);

		for (unsigned i = 0; i < n; i++) {
			size_t len = below(80);

			rnd_fill(expect, len);
			if (len && below(2))
				expect[0] = (uint8_t)(below(2) ? 0x45 : 0x60);
			push(&b, expect, len);
		}
		plan_and_check(&b, &plan);
		release(&b);
	}
	assert_int_equal(pool.nfree, POOL_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_random),
		cmocka_unit_test(test_csum_large),
		cmocka_unit_test(test_csum_pseudo),
		cmocka_unit_test(test_segment_tcp),
		cmocka_unit_test(test_segment_uso),
		cmocka_unit_test(test_segment_edges),
		cmocka_unit_test(test_segment_none),
		cmocka_unit_test(test_segment_zero_csum),
		cmocka_unit_test(test_segment_malformed),
		cmocka_unit_test(test_segment_nobufs),
		cmocka_unit_test(test_gro_roundtrip),
		cmocka_unit_test(test_gro_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
