/* index.c - receiver-index table (see index.h). */
#include "core/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Indices are chosen by us at random, so a peer cannot aim collisions; a
 * multiplicative mix still spreads any bias of the random source. */
static inline size_t slot_of(const struct index_table *t, uint32_t index)
{
	return (size_t)((index * 0x9E3779B1u) >> 7) & t->mask;
}

int index_table_init(struct index_table *t, size_t capacity)
{
	size_t cap = 64;

	while (cap < capacity * 2)
		cap <<= 1;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = cap - 1;
	t->used = 0;
	t->watch = NULL;
	t->watch_ctx = NULL;
	return 0;
}

void index_table_destroy(struct index_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->used = 0;
}

static void place(struct index_table *t, const struct index_entry *e)
{
	size_t i = slot_of(t, e->index);

	while (t->slots[i].kind != INDEX_FREE)
		i = (i + 1) & t->mask;
	t->slots[i] = *e;
	t->used++;
}

int index_table_reserve(struct index_table *t, size_t n)
{
	size_t cap = t->mask + 1, want = t->used + n;
	struct index_entry *old = t->slots;

	/* Keep the load factor at or below one half. */
	if (want * 2 <= cap)
		return 0;
	while (want * 2 > cap)
		cap <<= 1;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	size_t oldcap = t->mask + 1;

	t->mask = cap - 1;
	t->used = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].kind != INDEX_FREE)
			place(t, &old[i]);
	free(old);
	return 0;
}

static struct index_entry *find(const struct index_table *t, uint32_t index)
{
	size_t i = slot_of(t, index);

	for (;;) {
		struct index_entry *e = &t->slots[i];

		if (e->kind == INDEX_FREE)
			return NULL;
		if (e->index == index)
			return e;
		i = (i + 1) & t->mask;
	}
}

uint32_t index_table_insert(struct index_table *t, enum index_kind kind,
			    struct peer *peer, struct noise_keypair *kp,
			    void (*random)(void *ctx, void *buf, size_t len),
			    void *rctx)
{
	struct index_entry e = { .kind = (uint8_t)kind, .peer = peer, .keypair = kp };

	do
		random(rctx, &e.index, sizeof(e.index));
	while (find(t, e.index));
	/* Callers reserve; this is the backstop that keeps probing finite. */
	if ((t->used + 1) * 2 > t->mask + 1 && index_table_reserve(t, 1))
		abort();
	place(t, &e);
	if (t->watch)
		t->watch(t->watch_ctx, e.index, true);
	return e.index;
}

void index_table_replace(struct index_table *t, uint32_t index,
			 enum index_kind kind, struct noise_keypair *kp)
{
	struct index_entry *e = find(t, index);

	if (e) {
		e->kind = (uint8_t)kind;
		e->keypair = kp;
	}
}

void index_table_remove(struct index_table *t, uint32_t index)
{
	struct index_entry *e = find(t, index);
	size_t i, j;

	if (!e)
		return;
	if (t->watch)
		t->watch(t->watch_ctx, index, false);
	i = (size_t)(e - t->slots);
	memset(e, 0, sizeof(*e));
	t->used--;
	/* Backward-shift: pull later members of the probe run into the hole
	 * so lookups never need tombstones. */
	j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (t->slots[j].kind == INDEX_FREE)
			return;
		size_t home = slot_of(t, t->slots[j].index);
		/* Move j into i if its home is not in (i, j] cyclically. */
		bool between = (i <= j) ? (home > i && home <= j)
					: (home > i || home <= j);
		if (!between) {
			t->slots[i] = t->slots[j];
			memset(&t->slots[j], 0, sizeof(t->slots[j]));
			i = j;
		}
	}
}

const struct index_entry *index_table_lookup(const struct index_table *t,
					     uint32_t index)
{
	return find(t, index);
}
