/* pool.h - packet buffers: one preallocated pool, a free stack, and the
 * fixed-size batches that carry packets through every stage. Nothing on
 * the packet path allocates. Single-threaded (one engine thread). */
#ifndef WEFT_CORE_POOL_H
#define WEFT_CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "core/messages.h"

enum pool_limits {
	/* Packets per stage. A 64 KB TSO super-packet segments into up to
	 * ~120 packets at a 536-byte MSS, so one always fits a batch. */
	BATCH_MAX = 128,
};

/* A packet: data lives at buf[off .. off+len). Received datagrams land at
 * off = 0; plaintext read from the TUN lands at off = PKT_HEADROOM so the
 * data header can be written in front of it in place. */
struct pkt {
	uint32_t off;
	uint32_t len;
	struct wg_endpoint ep;	/* UDP source (rx) or destination (tx) */
	void *peer;		/* set by the core on the way through */
	struct pkt *next;	/* free-stack / staged-queue link */
	uint8_t buf[PKT_BUF_SIZE] __attribute__((aligned(64)));
};

static inline uint8_t *pkt_data(struct pkt *p) { return p->buf + p->off; }
static inline const uint8_t *pkt_cdata(const struct pkt *p)
{
	return p->buf + p->off;
}

struct pool {
	struct pkt *mem;
	struct pkt *free;
	size_t total, nfree;
	size_t fresh;		/* mem[fresh..total) never handed out */
	uint64_t exhausted;	/* allocations refused */
};

/* 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int pool_init(struct pool *p, size_t count);
void pool_destroy(struct pool *p);
/* NULL (and counted) when the pool is empty: callers drop the packet. */
struct pkt *pool_get(struct pool *p);
void pool_put(struct pool *p, struct pkt *k);

/* A batch of packets moving through one stage. */
struct batch {
	unsigned n;
	struct pkt *p[BATCH_MAX];
};

static inline bool batch_full(const struct batch *b) { return b->n == BATCH_MAX; }

#endif
