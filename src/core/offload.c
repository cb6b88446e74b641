/* offload.c - the packet side of TUN offloads: the Internet checksum,
 * TSO/USO segmentation of TUN reads and TCP coalescing of TUN writes.
 *
 * Reading: with IFF_VNET_HDR and TUNSETOFFLOAD the kernel hands the daemon
 * TCP (and, with USO, UDP) super-packets of up to 64 KB with one virtio
 * header. offload_segment() cuts one into MTU-sized packets the way the
 * kernel's own GSO would, so everything after the TUN sees plain packets.
 *
 * Writing: the decrypted plaintext of one batch often holds runs of
 * consecutive segments of one TCP flow. offload_gro_plan() finds them and
 * describes each run as one super-packet (first packet's headers, then
 * every payload) so the writer hands the kernel one GSO packet per run,
 * without copying. The rules follow what the kernel's own TCP GRO would
 * merge, so a super-packet means nothing the segments did not. */
#include "core/offload.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum proto_values {
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	IPV4_HDR_MIN = 20,
	IPV6_HDR_LEN = 40,
	TCP_HDR_MIN = 20,
	UDP_HDR_LEN = 8,
	TCP_CSUM_OFF = 16,
	UDP_CSUM_OFF = 6,
	IPV4_DF = 0x4000,
	IPV4_FRAG_MASK = 0x3fff,	/* MF and fragment offset */
};

enum tcp_flags {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_URG = 0x20,
	TCP_ECE = 0x40,
	TCP_CWR = 0x80,
};

/* Big-endian (network order) fields of IP, TCP and UDP headers. */
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- the Internet checksum ------------------------------------------ */

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t add64(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

/* One's complement sum in native byte order, folded to 16 bits. Sums of
 * native words equal the byte-swapped sums of big-endian words (RFC 1071
 * §2(B)), so the caller swaps once at the end instead of per word. */
static uint16_t sum_native(const uint8_t *p, size_t len)
{
	/* Two independent chains, each counting its carries apart (compilers
	 * turn "s += w; c += s < w" into add/adc): measured twice as fast with
	 * gcc as an __int128 accumulator. The counts cannot overflow. */
	uint64_t s0 = 0, s1 = 0, c0 = 0, c1 = 0, w, s;

	while (len >= 64) {
		w = load64(p);
		s0 += w;
		c0 += s0 < w;
		w = load64(p + 8);
		s1 += w;
		c1 += s1 < w;
		w = load64(p + 16);
		s0 += w;
		c0 += s0 < w;
		w = load64(p + 24);
		s1 += w;
		c1 += s1 < w;
		w = load64(p + 32);
		s0 += w;
		c0 += s0 < w;
		w = load64(p + 40);
		s1 += w;
		c1 += s1 < w;
		w = load64(p + 48);
		s0 += w;
		c0 += s0 < w;
		w = load64(p + 56);
		s1 += w;
		c1 += s1 < w;
		p += 64;
		len -= 64;
	}
	while (len >= 8) {
		w = load64(p);
		s0 += w;
		c0 += s0 < w;
		p += 8;
		len -= 8;
	}
	s = add64(add64(s0, s1), c0 + c1);
	if (len >= 4) {
		uint32_t w4;

		memcpy(&w4, p, 4);
		s = add64(s, w4);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w2;

		memcpy(&w2, p, 2);
		s = add64(s, w2);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* A trailing byte is the high byte of a zero-padded word. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s = add64(s, p[0]);
#else
		s = add64(s, (uint64_t)p[0] << 8);
#endif
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

uint32_t csum_add(uint32_t a, uint32_t b)
{
	a += b;
	return a + (a < b);
}

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	uint16_t s = sum_native(buf, len);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16(s);
#endif
	return csum_add(sum, s);
}

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_pseudo_v4(const uint8_t saddr[4], const uint8_t daddr[4],
			uint8_t proto, uint32_t len)
{
	uint32_t s = (uint32_t)get16(saddr) + get16(saddr + 2) +
		     get16(daddr) + get16(daddr + 2) + proto;

	return csum_add(s, len);
}

uint32_t csum_pseudo_v6(const uint8_t saddr[16], const uint8_t daddr[16],
			uint8_t proto, uint32_t len)
{
	uint32_t s = csum_partial(saddr, 16, 0);

	s = csum_partial(daddr, 16, s);
	s = csum_add(s, proto);
	return csum_add(s, len);
}

/* The value a NEEDS_CSUM packet carries in its L4 checksum field: the
 * folded pseudo-header sum, not complemented. */
static inline uint16_t csum_partial_seed(uint32_t pseudo)
{
	return (uint16_t)~csum_fold(pseudo);
}

static inline void ipv4_set_csum(uint8_t *ip, unsigned ihl)
{
	ip[10] = ip[11] = 0;
	put16(ip + 10, csum_fold(csum_partial(ip, ihl, 0)));
}

/* ---- segmentation (TUN read) ---------------------------------------- */

/* A super-packet's headers as parsed; hdr_len from the virtio header is
 * only a hint (the kernel reports the linear length there, which may
 * include payload), so lengths come from here. */
struct gso_layout {
	bool v4;
	uint8_t proto;
	unsigned iphl;		/* IP header */
	unsigned hl;		/* IP + L4 header */
};

static bool gso_parse(const uint8_t *pkt, size_t len, unsigned type,
		      struct gso_layout *g)
{
	unsigned l4hl;

	if (len < IPV4_HDR_MIN)
		return false;
	g->v4 = (pkt[0] >> 4) == 4;
	if (g->v4) {
		g->iphl = (pkt[0] & 0x0f) * 4u;
		if (g->iphl < IPV4_HDR_MIN || g->iphl > len ||
		    get16(pkt + 2) != len ||
		    (get16(pkt + 6) & IPV4_FRAG_MASK))
			return false;
		g->proto = pkt[9];
	} else if ((pkt[0] >> 4) == 6) {
		/* No extension headers: the kernel puts none on a GSO packet
		 * with the offloads we enable. */
		g->iphl = IPV6_HDR_LEN;
		if (len < IPV6_HDR_LEN ||
		    (size_t)get16(pkt + 4) + IPV6_HDR_LEN != len)
			return false;
		g->proto = pkt[6];
	} else {
		return false;
	}

	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (g->v4 != (type == VIRTIO_NET_HDR_GSO_TCPV4) ||
		    g->proto != PROTO_TCP || len < g->iphl + TCP_HDR_MIN)
			return false;
		l4hl = (pkt[g->iphl + 12] >> 4) * 4u;
		if (l4hl < TCP_HDR_MIN)
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (g->proto != PROTO_UDP)
			return false;
		l4hl = UDP_HDR_LEN;
		break;
	default:
		return false;
	}
	g->hl = g->iphl + l4hl;
	return g->hl <= len;
}

/* Take n buffers or none. */
static bool take_bufs(struct pool *pool, struct pkt **k, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		k[i] = pool_get(pool);
		if (!k[i]) {
			while (i--)
				pool_put(pool, k[i]);
			return false;
		}
	}
	return true;
}

static int segment_none(const uint8_t *pkt, size_t len,
			const struct virtio_net_hdr *h, struct pool *pool,
			struct batch *out, unsigned max_out)
{
	size_t start = vnet_le16_load(h->csum_start);
	size_t off = vnet_le16_load(h->csum_offset);
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	struct pkt *k;
	uint8_t *d;

	if (!len || len > OFFLOAD_SEG_MAX)
		return -EINVAL;
	if (csum && start + off + 2 > len)
		return -EINVAL;
	if (!max_out || !take_bufs(pool, &k, 1))
		return -ENOBUFS;
	k->off = PKT_HEADROOM;
	k->len = (uint32_t)len;
	d = k->buf + PKT_HEADROOM;
	memcpy(d, pkt, len);
	if (csum) {
		/* The field holds the pseudo-header sum; summing over it
		 * completes the checksum. 0 goes out as 0xffff: the same in
		 * one's complement, and UDP reserves 0 for "none". */
		uint16_t c = csum_fold(csum_partial(d + start, len - start, 0));

		put16(d + start + off, c ? c : 0xffff);
	}
	out->p[out->n++] = k;
	return 1;
}

int offload_segment(const uint8_t *pkt, size_t len,
		    const struct virtio_net_hdr *h, struct pool *pool,
		    struct batch *out, unsigned max_out)
{
	unsigned type = h->gso_type & ~(unsigned)VIRTIO_NET_HDR_GSO_ECN;
	unsigned gso = vnet_le16_load(h->gso_size);
	struct pkt *k[BATCH_MAX];
	struct gso_layout g;
	size_t payload, first;
	unsigned nseg;
	uint32_t seq = 0;
	uint16_t id = 0;

	if (out->n >= BATCH_MAX)
		max_out = 0;
	else if (max_out > BATCH_MAX - out->n)
		max_out = BATCH_MAX - out->n;
	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return segment_none(pkt, len, h, pool, out, max_out);

	/* The checksum fields need no checking: every segment gets a full
	 * checksum computed here, whatever NEEDS_CSUM said. */
	if (!gso_parse(pkt, len, type, &g) ||
	    vnet_le16_load(h->hdr_len) > len || !gso)
		return -EINVAL;
	payload = len - g.hl;
	first = payload < gso ? payload : gso;
	if (!payload || g.hl + first > OFFLOAD_SEG_MAX)
		return -EINVAL;
	if ((payload - 1) / gso + 1 > max_out)
		return -ENOBUFS;
	nseg = (unsigned)((payload - 1) / gso + 1);
	if (!take_bufs(pool, k, nseg))
		return -ENOBUFS;

	if (g.v4)
		id = get16(pkt + 4);
	if (g.proto == PROTO_TCP)
		seq = get32(pkt + g.iphl + 4);
	for (unsigned i = 0; i < nseg; i++) {
		size_t o = (size_t)i * gso;
		size_t chunk = payload - o < gso ? payload - o : gso;
		uint32_t l4len = (uint32_t)(g.hl - g.iphl + chunk);
		uint8_t *d = k[i]->buf + PKT_HEADROOM;
		uint8_t *l4 = d + g.iphl;
		uint32_t sum;
		uint16_t c;

		k[i]->off = PKT_HEADROOM;
		k[i]->len = (uint32_t)(g.hl + chunk);
		memcpy(d, pkt, g.hl);
		memcpy(d + g.hl, pkt + g.hl + o, chunk);
		if (g.v4) {
			put16(d + 2, (uint16_t)(g.hl + chunk));
			put16(d + 4, (uint16_t)(id + i));
			ipv4_set_csum(d, g.iphl);
			sum = csum_pseudo_v4(d + 12, d + 16, g.proto, l4len);
		} else {
			put16(d + 4, (uint16_t)l4len);
			sum = csum_pseudo_v6(d + 8, d + 24, g.proto, l4len);
		}
		if (g.proto == PROTO_TCP) {
			uint8_t flags = l4[13];

			put32(l4 + 4, seq + (uint32_t)o);
			if (i + 1 < nseg)
				flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i)
				flags &= (uint8_t)~TCP_CWR;
			l4[13] = flags;
			l4[TCP_CSUM_OFF] = l4[TCP_CSUM_OFF + 1] = 0;
			c = csum_fold(csum_partial(l4, l4len, sum));
			put16(l4 + TCP_CSUM_OFF, c);
		} else {
			put16(l4 + 4, (uint16_t)l4len);
			l4[UDP_CSUM_OFF] = l4[UDP_CSUM_OFF + 1] = 0;
			c = csum_fold(csum_partial(l4, l4len, sum));
			put16(l4 + UDP_CSUM_OFF, c ? c : 0xffff);
		}
		out->p[out->n++] = k[i];
	}
	return (int)nseg;
}

/* ---- coalescing (TUN write) ----------------------------------------- */

enum gro_values {
	GRO_TABLE_SIZE = 2 * BATCH_MAX,	/* open addressing, never full */
};

/* What planning needs to know about one packet. */
struct gro_info {
	bool tcp;		/* a whole TCP header, not a fragment: has a flow */
	bool mergeable;		/* may be part of a super-packet */
	bool v4;
	uint8_t flags;
	unsigned iphl, hl;	/* IP header, IP + TCP header */
	uint32_t payload;
	uint32_t seq;
};

/* A unit being built. */
struct gro_run {
	unsigned head;		/* batch index of the first packet */
	unsigned last;		/* batch index of the last packet */
	unsigned count;
	uint32_t len;		/* IP length of the super-packet so far */
	uint32_t next_seq;
	uint32_t gso;
	bool open;
};

static void gro_parse(const struct pkt *k, struct gro_info *x)
{
	const uint8_t *d = k->buf + k->off;
	size_t len = k->len;
	bool exact;

	x->tcp = x->mergeable = false;
	if (len < IPV4_HDR_MIN)
		return;
	x->v4 = (d[0] >> 4) == 4;
	if (x->v4) {
		x->iphl = (d[0] & 0x0f) * 4u;
		if (x->iphl < IPV4_HDR_MIN || d[9] != PROTO_TCP ||
		    (get16(d + 6) & IPV4_FRAG_MASK))
			return;
		exact = get16(d + 2) == len;
	} else if ((d[0] >> 4) == 6) {
		x->iphl = IPV6_HDR_LEN;
		if (d[6] != PROTO_TCP)
			return;
		exact = len >= IPV6_HDR_LEN &&
			(size_t)get16(d + 4) + IPV6_HDR_LEN == len;
	} else {
		return;
	}
	if (len < x->iphl + TCP_HDR_MIN)
		return;
	x->hl = x->iphl + (d[x->iphl + 12] >> 4) * 4u;
	if (x->hl < x->iphl + TCP_HDR_MIN || x->hl > len)
		return;
	x->tcp = true;
	x->flags = d[x->iphl + 13];
	x->seq = get32(d + x->iphl + 4);
	x->payload = (uint32_t)(len - x->hl);

	/* Only plain data segments merge, as in the kernel's GRO: anything
	 * with SYN/FIN/RST/URG/CWR/ECE changes state and goes as it is. */
	if (!exact || !x->payload || !(x->flags & TCP_ACK) ||
	    (x->flags & ~(TCP_ACK | TCP_PSH)))
		return;
	/* The tunnel authenticated these bytes, so TCP checksums are not
	 * verified. A bad IPv4 header checksum is still a broken packet the
	 * kernel would drop; recomputing it for a super-packet would hide
	 * that, so such a packet is written alone and dropped there. */
	if (x->v4 && csum_fold(csum_partial(d, x->iphl, 0)))
		return;
	x->mergeable = true;
}

static bool same_flow(const struct pkt *a, const struct gro_info *xa,
		      const struct pkt *b, const struct gro_info *xb)
{
	const uint8_t *da = a->buf + a->off, *db = b->buf + b->off;

	if (xa->v4 != xb->v4)
		return false;
	/* Ports of the two TCP headers, then addresses. */
	if (memcmp(da + xa->iphl, db + xb->iphl, 4))
		return false;
	if (xa->v4)
		return !memcmp(da + 12, db + 12, 8);
	return !memcmp(da + 8, db + 8, 32);
}

static uint32_t flow_hash(const struct pkt *k, const struct gro_info *x)
{
	const uint8_t *d = k->buf + k->off;
	uint32_t h;

	if (x->v4)
		h = get32(d + 12) ^ (get32(d + 16) * 0x85ebca6bu);
	else
		h = get32(d + 20) ^ get32(d + 36) * 0x85ebca6bu ^
		    get32(d + 12) * 0xc2b2ae35u ^ get32(d + 28);
	h ^= get32(d + x->iphl) * 0x27d4eb2fu;
	return (h * 0x9e3779b1u) >> 16;
}

/* May packet j (of the same flow) extend run r? Everything in the headers
 * but lengths, IPv4 id and checksum, sequence number and PSH must equal the
 * first segment's, since the super-packet carries only that header. */
static bool gro_can_append(const struct batch *in, const struct gro_info *info,
			   const struct gro_run *r, unsigned j)
{
	const struct gro_info *xh = &info[r->head], *xj = &info[j];
	const uint8_t *h = pkt_data(in->p[r->head]);
	const uint8_t *d = pkt_data(in->p[j]);
	const uint8_t *th = h + xh->iphl, *tj = d + xj->iphl;

	if (!r->open || !xj->mergeable || r->count >= GRO_MAX_SEGS ||
	    xj->hl != xh->hl || xj->seq != r->next_seq ||
	    xj->payload > r->gso || r->len + xj->payload > GRO_MAX_LEN)
		return false;
	if (xh->v4) {
		/* IHL (equal hl and equal TCP offset below), TOS, DF, TTL,
		 * protocol and options. Without DF the kernel reassembles
		 * ids as first + i, so they must already be that. */
		if (h[0] != d[0] || h[1] != d[1] || h[6] != d[6] ||
		    h[8] != d[8] ||
		    memcmp(h + IPV4_HDR_MIN, d + IPV4_HDR_MIN,
			   xh->iphl - IPV4_HDR_MIN))
			return false;
		if (!(get16(h + 6) & IPV4_DF) &&
		    get16(d + 4) != (uint16_t)(get16(h + 4) + r->count))
			return false;
	} else {
		/* Traffic class, flow label, hop limit. */
		if (memcmp(h, d, 4) || h[7] != d[7])
			return false;
	}
	/* Ack, data offset, window, urgent pointer and options; flags are
	 * ACK (the head has no PSH, or the run would be closed) plus PSH. */
	return !memcmp(th + 8, tj + 8, 5) && (tj[13] & ~TCP_PSH) == th[13] &&
	       !memcmp(th + 14, tj + 14, 2) &&
	       !memcmp(th + 18, tj + 18, xh->hl - xh->iphl - 18);
}

/* Rewrite the head's headers for the whole run and fill the unit's
 * virtio header. */
static void gro_finish(struct batch *in, const struct gro_info *info,
		       const struct gro_run *r, struct gro_unit *u)
{
	const struct gro_info *x = &info[r->head];
	uint8_t *d = pkt_data(in->p[r->head]);
	uint8_t *th = d + x->iphl;
	uint32_t l4len = r->len - x->iphl, pseudo;

	if (x->v4) {
		put16(d + 2, (uint16_t)r->len);
		ipv4_set_csum(d, x->iphl);
		pseudo = csum_pseudo_v4(d + 12, d + 16, PROTO_TCP, l4len);
	} else {
		put16(d + 4, (uint16_t)l4len);
		pseudo = csum_pseudo_v6(d + 8, d + 24, PROTO_TCP, l4len);
	}
	th[13] |= info[r->last].flags & TCP_PSH;
	put16(th + TCP_CSUM_OFF, csum_partial_seed(pseudo));

	u->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	u->hdr.gso_type = x->v4 ? VIRTIO_NET_HDR_GSO_TCPV4 :
				  VIRTIO_NET_HDR_GSO_TCPV6;
	vnet_le16_store(u->hdr.hdr_len, (uint16_t)x->hl);
	vnet_le16_store(u->hdr.gso_size, (uint16_t)r->gso);
	vnet_le16_store(u->hdr.csum_start, (uint16_t)x->iphl);
	vnet_le16_store(u->hdr.csum_offset, TCP_CSUM_OFF);
	u->hdr_len = x->hl;
}

/* Each packet joins the newest unit of its flow or starts a new one; a
 * packet of a flow that cannot join closes the flow's unit, so per flow
 * the units go out in the order their packets came, and never a segment
 * ahead of one (a FIN, a pure ACK) that preceded it. */
void offload_gro_plan(struct batch *in, struct gro_plan *plan)
{
	struct gro_info info[BATCH_MAX];
	struct gro_run run[BATCH_MAX];
	uint8_t unit_of[BATCH_MAX];
	uint8_t table[GRO_TABLE_SIZE];	/* unit + 1 of a flow's newest unit */
	unsigned n = in->n < BATCH_MAX ? in->n : BATCH_MAX;
	unsigned nu = 0, fill[BATCH_MAX];

	memset(table, 0, sizeof(table));
	for (unsigned i = 0; i < n; i++) {
		struct gro_info *x = &info[i];
		struct gro_run *r;
		unsigned slot = 0, u;

		gro_parse(in->p[i], x);
		if (x->tcp) {
			slot = flow_hash(in->p[i], x) % GRO_TABLE_SIZE;
			while (table[slot]) {
				u = table[slot] - 1u;
				if (same_flow(in->p[run[u].head],
					      &info[run[u].head], in->p[i], x))
					break;
				slot = (slot + 1) % GRO_TABLE_SIZE;
			}
			if (table[slot]) {
				u = table[slot] - 1u;
				r = &run[u];
				if (gro_can_append(in, info, r, i)) {
					r->count++;
					r->last = i;
					r->len += x->payload;
					r->next_seq += x->payload;
					if (x->payload < r->gso ||
					    (x->flags & TCP_PSH))
						r->open = false;
					unit_of[i] = (uint8_t)u;
					continue;
				}
			}
		}
		u = nu++;
		r = &run[u];
		r->head = r->last = i;
		r->count = 1;
		r->len = in->p[i]->len;
		r->next_seq = x->seq + x->payload;
		r->gso = x->payload;
		r->open = x->mergeable && !(x->flags & TCP_PSH);
		unit_of[i] = (uint8_t)u;
		if (x->tcp)
			table[slot] = (uint8_t)(u + 1);
	}

	plan->nunits = nu;
	for (unsigned u = 0, at = 0; u < nu; u++) {
		struct gro_unit *gu = &plan->unit[u];

		memset(&gu->hdr, 0, sizeof(gu->hdr));
		gu->first = fill[u] = at;
		gu->count = run[u].count;
		gu->hdr_len = 0;
		at += run[u].count;
		if (run[u].count > 1)
			gro_finish(in, info, &run[u], gu);
	}
	for (unsigned i = 0; i < n; i++)
		plan->pkt[fill[unit_of[i]]++] = (uint8_t)i;
}

size_t gro_unit_iov(const struct gro_plan *plan, unsigned unit,
		    const struct batch *in, struct offload_iov *iov, size_t max)
{
	const struct gro_unit *u;
	const struct pkt *k;

	if (unit >= plan->nunits)
		return 0;
	u = &plan->unit[unit];
	if (max < u->count)
		return 0;
	k = in->p[plan->pkt[u->first]];
	iov[0].base = k->buf + k->off;
	iov[0].len = k->len;
	for (unsigned j = 1; j < u->count; j++) {
		k = in->p[plan->pkt[u->first + j]];
		iov[j].base = k->buf + k->off + u->hdr_len;
		iov[j].len = k->len - u->hdr_len;
	}
	return u->count;
}
