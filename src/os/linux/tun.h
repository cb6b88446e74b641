/* tun.h - the Linux TUN device: create/attach by name, MTU, batched
 * reads and writes of whole IP packets. */
#ifndef WEFT_OS_LINUX_TUN_H
#define WEFT_OS_LINUX_TUN_H

#include <net/if.h>
#include <stdint.h>

#include "core/pool.h"

struct tun {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
};

/* Create (or attach to) the TUN interface name, non-blocking, IFF_NO_PI.
 * 0 or -errno. */
__attribute__((warn_unused_result))
int tun_open(struct tun *t, const char *name);
/* Adopt an already open TUN fd (e.g. handed over by a helper). */
__attribute__((warn_unused_result))
int tun_adopt(struct tun *t, int fd);
void tun_close(struct tun *t);

/* Current MTU of the interface, or -errno. */
int tun_get_mtu(const struct tun *t);
int tun_set_mtu(const struct tun *t, int mtu);

/* Read up to max packets into pool buffers at off = PKT_HEADROOM, stopping
 * at EAGAIN. Returns the number read (appended to b), or -errno on a real
 * error (-EIO etc.). */
int tun_read_batch(struct tun *t, struct pool *pool, struct batch *b,
		   unsigned max);
/* Write every packet of b (pkt_data/len); packets stay owned by the
 * caller. Returns the number written; a packet the kernel refuses is
 * skipped and counted in *dropped. */
int tun_write_batch(struct tun *t, struct batch *b, uint64_t *dropped);

#endif
