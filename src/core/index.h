/* index.h - the receiver-index table: our 32-bit sender indices (chosen at
 * random) mapped to the handshake or keypair they name. Open addressing
 * with linear probing and backward-shift deletion; grows in the control
 * plane only, looked up per data packet. */
#ifndef WEFT_CORE_INDEX_H
#define WEFT_CORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer;
struct noise_keypair;

enum index_kind { INDEX_FREE = 0, INDEX_HANDSHAKE, INDEX_KEYPAIR };

struct index_entry {
	uint32_t index;
	uint8_t kind;		/* enum index_kind */
	struct peer *peer;
	struct noise_keypair *keypair;	/* INDEX_KEYPAIR only */
};

struct index_table {
	struct index_entry *slots;
	size_t mask;		/* capacity - 1, capacity a power of two */
	size_t used;
	/* Optional: told of every index that goes live (before insert
	 * returns it, so before any message names it) and of every index
	 * removed. The daemon mirrors them into its socket filter. */
	void (*watch)(void *ctx, uint32_t index, bool live);
	void *watch_ctx;
};

__attribute__((warn_unused_result))
int index_table_init(struct index_table *t, size_t capacity);
void index_table_destroy(struct index_table *t);

/* Make room for n more entries (control plane: may allocate). 0/-ENOMEM. */
__attribute__((warn_unused_result))
int index_table_reserve(struct index_table *t, size_t n);

/* Insert under a fresh random index not yet in use; returns the index.
 * The table must have room (see index_table_reserve). */
uint32_t index_table_insert(struct index_table *t, enum index_kind kind,
			    struct peer *peer, struct noise_keypair *kp,
			    void (*random)(void *ctx, void *buf, size_t len),
			    void *rctx);

/* Point an existing index at a new kind/keypair (handshake -> keypair). */
void index_table_replace(struct index_table *t, uint32_t index,
			 enum index_kind kind, struct noise_keypair *kp);

void index_table_remove(struct index_table *t, uint32_t index);

const struct index_entry *index_table_lookup(const struct index_table *t,
					     uint32_t index);

#endif
