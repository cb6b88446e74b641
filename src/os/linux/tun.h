/* tun.h - the Linux TUN device: create/attach by name, MTU, batched
 * reads and writes of whole IP packets, and the offload mode
 * (IFF_VNET_HDR + TUNSETOFFLOAD) where reads may be TSO/USO super-packets
 * behind a virtio_net_hdr (see core/offload.h). */
#ifndef WEFT_OS_LINUX_TUN_H
#define WEFT_OS_LINUX_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/pool.h"

struct iovec;

struct tun {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
	uint64_t rx_dropped;	/* read but unusable (truncated, empty) */
	/* Offload mode (tun_open_offload), as the kernel accepted it. */
	bool vnet_hdr;		/* every read and write starts with a
				 * TUN_VNET_HDR_LEN-byte virtio_net_hdr,
				 * little-endian (TUNSETVNETLE) */
	bool csum;		/* TUN_F_CSUM: reads may be NEEDS_CSUM */
	bool tso;		/* TUN_F_TSO4|6: reads may be TCP super-packets */
	bool uso;		/* TUN_F_USO4|6: reads may be UDP super-packets */
	uint64_t rx_offload_dropped;	/* tun_read_batch: super-packets
					 * (and bad checksum requests) it
					 * cannot pass on as one packet */
};

/* What tun_open_offload asks for; TSO and USO imply CSUM. */
enum tun_offload {
	TUN_OFFLOAD_CSUM = 1 << 0,
	TUN_OFFLOAD_TSO = 1 << 1,
	TUN_OFFLOAD_USO = 1 << 2,	/* kernel >= 6.2 */
	TUN_OFFLOAD_ALL = TUN_OFFLOAD_CSUM | TUN_OFFLOAD_TSO | TUN_OFFLOAD_USO,
};

enum tun_values {
	TUN_VNET_HDR_LEN = 10,		/* struct virtio_net_hdr */
	/* The largest packet a read may return: a 64 KiB IPv6 payload. */
	TUN_PACKET_MAX = 40 + 65535,
	/* A tun_read_raw buffer that always fits: header, packet and one
	 * spare byte (a read that fills the buffer counts as truncated). */
	TUN_RAW_MAX = TUN_VNET_HDR_LEN + TUN_PACKET_MAX + 1,
};

/* Environment switch, read at open, for benchmarks: set to anything but
 * "" or "0" and tun_open_offload behaves like tun_open. */
#define TUN_ENV_NO_OFFLOAD "WEFT_NO_TUN_OFFLOAD"

/* Create (or attach to) the TUN interface name (empty: the kernel picks
 * one; t->name holds it), non-blocking, close-on-exec, IFF_NO_PI, and set
 * its MTU to WG_DEFAULT_MTU. 0 or -errno. */
__attribute__((warn_unused_result))
int tun_open(struct tun *t, const char *name);
/* Like tun_open, in offload mode when want (enum tun_offload) is not 0:
 * IFF_VNET_HDR, a 10-byte little-endian header, and TUNSETOFFLOAD with
 * what was asked of TUN_F_CSUM, TSO4|TSO6 and USO4|USO6 (retried without
 * USO, then without TSO, when the kernel refuses). If the kernel refuses
 * IFF_VNET_HDR, or the environment says so, the device is opened plain:
 * t->vnet_hdr, csum, tso and uso tell what is in effect. 0 or -errno. */
__attribute__((warn_unused_result))
int tun_open_offload(struct tun *t, const char *name, unsigned want);
/* Adopt an already open TUN fd (e.g. handed over by a helper): checks that
 * it is a TUN with our flags and makes it non-blocking. On success t owns
 * fd; on failure the caller still does. An fd with IFF_VNET_HDR is taken
 * in offload mode, its header and offloads set again as tun_open_offload
 * would with TUN_OFFLOAD_ALL (none when the environment says so).
 * 0 or -errno. */
__attribute__((warn_unused_result))
int tun_adopt(struct tun *t, int fd);
void tun_close(struct tun *t);

/* Current MTU of the interface, or -errno. These and tun_set_up address
 * the interface by its current name, so they survive a rename. */
int tun_get_mtu(const struct tun *t);
/* 0 or -errno; -EINVAL above WG_MAX_MTU (the packet buffers' limit). */
int tun_set_mtu(const struct tun *t, int mtu);
/* Set or clear IFF_UP. 0 or -errno. */
int tun_set_up(const struct tun *t, bool up);

/* Read up to max packets into pool buffers at off = PKT_HEADROOM, stopping
 * at EAGAIN, an empty pool or a full batch. Returns the number read
 * (appended to b), or -errno on a real error when nothing was read (-EIO,
 * -EBADFD when the device went away ...). A packet that fills the buffer
 * may be truncated: it is dropped and counted in t->rx_dropped.
 * In offload mode the header is stripped: a NEEDS_CSUM packet gets its
 * checksum completed; a super-packet (gso_type not NONE) is dropped and
 * counted in t->rx_offload_dropped (use tun_read_raw to segment it). */
int tun_read_batch(struct tun *t, struct pool *pool, struct batch *b,
		   unsigned max);
/* Write every packet of b (pkt_data/len); packets stay owned by the
 * caller. Returns the number written; a packet the kernel refuses (or
 * that would block) is skipped and counted in *dropped (may be NULL).
 * In offload mode each goes out behind an all-zero virtio_net_hdr. */
int tun_write_batch(struct tun *t, struct batch *b, uint64_t *dropped);

/* One read as the kernel hands it over: in offload mode the virtio_net_hdr
 * then the packet (a super-packet up to TUN_PACKET_MAX), else the packet.
 * cap should be TUN_RAW_MAX. Returns the length, -EAGAIN when nothing is
 * pending, -EMSGSIZE when it did not fit (dropped, counted in
 * t->rx_dropped), or -errno (-EBADFD, -EIO ...: the device went away). */
ssize_t tun_read_raw(struct tun *t, uint8_t *buf, size_t cap);
/* Write one unit gathered from iov (in offload mode: the virtio_net_hdr
 * first, then the packet's pieces). Returns the bytes written, -EAGAIN
 * when the device queue is full (the caller drops and counts), or -errno
 * when the kernel refuses the unit (-EINVAL: malformed ...). */
int tun_writev(struct tun *t, const struct iovec *iov, int iovcnt);

#endif
