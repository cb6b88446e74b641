/* tun.h - the Linux TUN device: create/attach by name, MTU, batched
 * reads and writes of whole IP packets. */
#ifndef WEFT_OS_LINUX_TUN_H
#define WEFT_OS_LINUX_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"

struct tun {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
	uint64_t rx_dropped;	/* read but unusable (truncated, empty) */
};

/* Create (or attach to) the TUN interface name (empty: the kernel picks
 * one; t->name holds it), non-blocking, close-on-exec, IFF_NO_PI, and set
 * its MTU to WG_DEFAULT_MTU. 0 or -errno. */
__attribute__((warn_unused_result))
int tun_open(struct tun *t, const char *name);
/* Adopt an already open TUN fd (e.g. handed over by a helper): checks that
 * it is a TUN with our flags and makes it non-blocking. On success t owns
 * fd; on failure the caller still does. 0 or -errno. */
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
 * may be truncated: it is dropped and counted in t->rx_dropped. */
int tun_read_batch(struct tun *t, struct pool *pool, struct batch *b,
		   unsigned max);
/* Write every packet of b (pkt_data/len); packets stay owned by the
 * caller. Returns the number written; a packet the kernel refuses (or
 * that would block) is skipped and counted in *dropped (may be NULL). */
int tun_write_batch(struct tun *t, struct batch *b, uint64_t *dropped);

#endif
