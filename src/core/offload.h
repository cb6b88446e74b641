/* offload.h - TUN offloads without syscalls: the virtio_net_hdr that
 * precedes every packet on an IFF_VNET_HDR TUN, the Internet checksum,
 * segmentation of the super-packets the kernel hands us (TSO/USO) and TCP
 * coalescing (GRO) of the plaintext we write back. */
#ifndef WEFT_CORE_OFFLOAD_H
#define WEFT_CORE_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

/* The virtio_net_hdr on the TUN (virtio 1.0 without num_buffers). Fields are
 * little-endian on the wire (TUNSETVNETLE semantics; native on x86): read and
 * write them with vnet_le16_load/store. Names follow the virtio spec; the OS
 * layer must not also include <linux/virtio_net.h> in the same file. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint8_t hdr_len[2];	/* le16: hint only, see offload_segment() */
	uint8_t gso_size[2];	/* le16: payload bytes per segment */
	uint8_t csum_start[2];	/* le16: checksum covers [csum_start, end) */
	uint8_t csum_offset[2];	/* le16: field at csum_start + csum_offset */
};

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "wire size");

enum virtio_net_hdr_values {
	VIRTIO_NET_HDR_LEN = sizeof(struct virtio_net_hdr),
	VIRTIO_NET_HDR_F_NEEDS_CSUM = 1,
	VIRTIO_NET_HDR_F_DATA_VALID = 2,	/* ignored on read */
	VIRTIO_NET_HDR_GSO_NONE = 0,
	VIRTIO_NET_HDR_GSO_TCPV4 = 1,
	VIRTIO_NET_HDR_GSO_UDP = 3,		/* UFO: never enabled, rejected */
	VIRTIO_NET_HDR_GSO_TCPV6 = 4,
	VIRTIO_NET_HDR_GSO_UDP_L4 = 5,		/* USO */
	VIRTIO_NET_HDR_GSO_ECN = 0x80,
};

enum offload_limits {
	/* Largest packet a pool buffer takes at PKT_HEADROOM (as a TUN read). */
	OFFLOAD_SEG_MAX = PKT_BUF_SIZE - PKT_HEADROOM - PKT_TAILROOM,
	/* A coalesced write: the whole IP packet, and how many segments. */
	GRO_MAX_LEN = 65535,
	GRO_MAX_SEGS = 64,
};

static inline uint16_t vnet_le16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void vnet_le16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* The Internet checksum (RFC 1071). A partial sum is a 32-bit one's
 * complement accumulator of 16-bit big-endian words: chain calls over
 * consecutive pieces whose split points are at even offsets. csum_fold
 * folds to 16 bits and complements: the value to store, in host order. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
uint16_t csum_fold(uint32_t sum);
uint32_t csum_add(uint32_t a, uint32_t b);
/* Pseudo-header sums (RFC 793/768, RFC 8200 §8.1); len is the L4 length. */
uint32_t csum_pseudo_v4(const uint8_t saddr[4], const uint8_t daddr[4],
			uint8_t proto, uint32_t len);
uint32_t csum_pseudo_v6(const uint8_t saddr[16], const uint8_t daddr[16],
			uint8_t proto, uint32_t len);

/* Turn one TUN read (pkt[0..len) after its virtio header h) into plain IP
 * packets, each in a pool buffer at off = PKT_HEADROOM, appended to out.
 * Returns how many were appended; -EINVAL for malformed input, -ENOBUFS
 * when more than max_out packets (or more than out has room for) would be
 * produced or the pool runs dry. On error nothing is appended and every
 * buffer taken has gone back to the pool.
 *
 * GSO_NONE: one copy (1..OFFLOAD_SEG_MAX bytes, not parsed); with
 * NEEDS_CSUM the checksum over [csum_start, len) is completed, the field
 * lying inside the packet.
 * TCPV4/TCPV6/UDP_L4: an IPv4 (options allowed, no fragment) or IPv6 (no
 * extension headers) packet whose IP length is exactly len, cut into
 * gso_size payload chunks; every segment gets fresh lengths, IPv4 id + i,
 * header checksum and a full L4 checksum (so the incoming checksum fields
 * and NEEDS_CSUM do not matter), TCP seq + offset, FIN/PSH only on the
 * last and CWR only on the first. hdr_len is a hint only: the kernel puts
 * the linear length there, which may include payload, so the parsed header
 * lengths win; it must merely lie within the packet. The ECN bit and
 * DATA_VALID are ignored; GSO_UDP (UFO) and unknown types are -EINVAL. */
__attribute__((warn_unused_result))
int offload_segment(const uint8_t *pkt, size_t len,
		    const struct virtio_net_hdr *h, struct pool *pool,
		    struct batch *out, unsigned max_out);

/* GRO: how a batch of plaintext IP packets is written to the TUN. A unit is
 * either one packet as it is (hdr all zero, count 1) or a run of TCP
 * segments of one flow written as one super-packet. */
struct gro_unit {
	struct virtio_net_hdr hdr;
	unsigned first;		/* index into gro_plan.pkt */
	unsigned count;		/* packets in the unit */
	unsigned hdr_len;	/* IP + TCP header bytes of each segment */
};

struct gro_plan {
	unsigned nunits;
	struct gro_unit unit[BATCH_MAX];
	/* Batch indices grouped by unit; within a unit in sequence order. */
	uint8_t pkt[BATCH_MAX];
};

/* Plan the writes for in (packets at pkt_data(), len). Units are listed in
 * the batch order of their first packet. The first packet of a coalesced
 * unit has its headers rewritten in place (lengths, IPv4 header checksum,
 * PSH, TCP checksum = pseudo-header sum for NEEDS_CSUM).
 *
 * Segments coalesce as the kernel's TCP GRO would merge them: same flow
 * (version, addresses, ports), IP and TCP headers equal but for lengths,
 * IPv4 id (must count up without DF), checksums, seq and PSH; consecutive
 * sequence numbers; flags ACK, PSH only on the last; equal payload sizes
 * except a shorter last; at most GRO_MAX_SEGS and GRO_MAX_LEN bytes. A
 * packet of a flow that cannot join closes the flow's unit, so per flow
 * nothing is reordered. TCP checksums are not verified (the tunnel
 * authenticated the bytes), but a packet with a bad IPv4 header checksum
 * is written as it is, for the kernel to drop, rather than laundered. */
void offload_gro_plan(struct batch *in, struct gro_plan *plan);

/* Layout-compatible with struct iovec; the OS layer casts. */
struct offload_iov {
	const void *base;
	size_t len;
};

/* The bytes of unit (without its virtio header, which the writer puts in
 * front) as iov entries: the first packet whole, then the payload of each
 * later one. Returns the number of entries, or 0 if max is too small. */
size_t gro_unit_iov(const struct gro_plan *plan, unsigned unit,
		    const struct batch *in, struct offload_iov *iov, size_t max);

#endif
