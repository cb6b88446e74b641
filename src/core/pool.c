/* pool.c - the preallocated packet pool: one allocation at start-up, then a
 * free stack; nothing on the packet path calls malloc. */
#include "core/pool.h"

#include <errno.h>
#include <stdlib.h>

int pool_init(struct pool *p, size_t count)
{
	p->mem = NULL;
	p->free = NULL;
	p->total = p->nfree = 0;
	p->exhausted = 0;
	if (!count)
		return -EINVAL;
	if (posix_memalign((void **)&p->mem, 64, count * sizeof(struct pkt)))
		return -ENOMEM;
	/* Buffers are handed out in order the first time, so a buffer that
	 * was never needed is never touched and never becomes resident. */
	p->fresh = 0;
	p->total = p->nfree = count;
	return 0;
}

void pool_destroy(struct pool *p)
{
	free(p->mem);
	p->mem = p->free = NULL;
	p->total = p->nfree = 0;
}

struct pkt *pool_get(struct pool *p)
{
	struct pkt *k = p->free;

	if (k) {
		p->free = k->next;
		p->nfree--;
	} else if (p->fresh < p->total) {
		k = &p->mem[p->fresh++];
		p->nfree--;
	} else {
		p->exhausted++;
		return NULL;
	}
	k->next = NULL;
	k->peer = NULL;
	k->off = k->len = 0;
	k->ep.family = 0;
	k->ep.src_family = 0;
	return k;
}

void pool_put(struct pool *p, struct pkt *k)
{
	k->next = p->free;
	p->free = k;
	p->nfree++;
}
