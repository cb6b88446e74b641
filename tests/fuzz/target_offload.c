/* target_offload.c - fuzz TUN offloads. Input: a 10-byte virtio_net_hdr,
 * then one TUN read. Whatever offload_segment() makes of it goes through
 * GRO planning and the iov rebuild; each coalesced unit is segmented again
 * and must give back the packets it was made of. Nothing may crash, leak a
 * pool buffer, or append anything on an error. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { POOL_COUNT = 2 * BATCH_MAX + 1 };

static struct pool pool;
static bool ready;
static uint8_t saved[BATCH_MAX][OFFLOAD_SEG_MAX];
static uint32_t saved_len[BATCH_MAX];
static uint8_t rebuilt[GRO_MAX_LEN + 1];

static void release(struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		pool_put(&pool, b->p[i]);
	b->n = 0;
}

/* A segment made again from a coalesced unit equals the original, except
 * that IPv4 ids with DF set are renumbered (and so the header checksum). */
static bool same_segment(const struct pkt *k, unsigned i)
{
	const uint8_t *d = k->buf + k->off, *s = saved[i];

	if (k->len != saved_len[i])
		return false;
	if ((d[0] >> 4) == 4 && (d[6] & 0x40))
		return !memcmp(d, s, 4) && !memcmp(d + 6, s + 6, 4) &&
		       !memcmp(d + 12, s + 12, k->len - 12);
	return !memcmp(d, s, k->len);
}

static void check_unit(struct batch *b, const struct gro_plan *plan,
		       unsigned u)
{
	const struct gro_unit *gu = &plan->unit[u];
	struct offload_iov iov[BATCH_MAX];
	struct batch again = { .n = 0 };
	size_t n, len = 0;

	n = gro_unit_iov(plan, u, b, iov, BATCH_MAX);
	if (!gu->count || n != gu->count)
		abort();
	for (size_t j = 0; j < n; j++) {
		if (len + iov[j].len > sizeof(rebuilt))
			abort();
		memcpy(rebuilt + len, iov[j].base, iov[j].len);
		len += iov[j].len;
	}
	if (gu->count == 1) {
		unsigned i = plan->pkt[gu->first];

		if (gu->hdr.flags || gu->hdr.gso_type || len != saved_len[i] ||
		    memcmp(rebuilt, saved[i], len))
			abort();
		return;
	}
	if (len > GRO_MAX_LEN ||
	    offload_segment(rebuilt, len, &gu->hdr, &pool, &again,
			    BATCH_MAX) != (int)gu->count)
		abort();
	for (unsigned j = 0; j < gu->count; j++)
		if (!same_segment(again.p[j], plan->pkt[gu->first + j]))
			abort();
	release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr h;
	struct batch b = { .n = 0 };
	struct gro_plan plan;
	unsigned seen = 0;
	int r;

	if (!ready) {
		if (pool_init(&pool, POOL_COUNT))
			abort();
		ready = true;
	}
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	r = offload_segment(data + sizeof(h), size - sizeof(h), &h, &pool, &b,
			    BATCH_MAX);
	if (r < 0) {
		if (b.n || pool.nfree != POOL_COUNT)
			abort();
		return 0;
	}
	if ((unsigned)r != b.n || !r)
		abort();
	for (unsigned i = 0; i < b.n; i++) {
		saved_len[i] = b.p[i]->len;
		memcpy(saved[i], pkt_data(b.p[i]), b.p[i]->len);
	}

	offload_gro_plan(&b, &plan);
	if (!plan.nunits || plan.nunits > b.n)
		abort();
	for (unsigned u = 0; u < plan.nunits; u++) {
		if (plan.unit[u].first != seen)
			abort();
		seen += plan.unit[u].count;
		check_unit(&b, &plan, u);
	}
	if (seen != b.n)
		abort();
	release(&b);
	if (pool.nfree != POOL_COUNT)
		abort();
	return 0;
}
