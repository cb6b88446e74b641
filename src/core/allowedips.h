/* allowedips.h - cryptokey routing table: longest-prefix match from inner
 * IPv4/IPv6 addresses to peers, a binary trie with path compression per
 * family. The owner pointer is opaque to this module. */
#ifndef WEFT_CORE_ALLOWEDIPS_H
#define WEFT_CORE_ALLOWEDIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ip_family { IP_V4 = 4, IP_V6 = 6 };

struct allowedips_node;

struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	uint64_t seq;		/* bumped on every change */
};

void allowedips_init(struct allowedips *t);
/* Free every node. */
void allowedips_free(struct allowedips *t);

/* Insert ip/cidr for owner; an existing identical prefix changes owner.
 * Host bits beyond cidr are ignored (masked). 0, -EINVAL (bad family or
 * cidr), or -ENOMEM. */
__attribute__((warn_unused_result))
int allowedips_insert(struct allowedips *t, enum ip_family family,
		      const uint8_t *ip, uint8_t cidr, void *owner);

/* Remove ip/cidr if present and owned by owner. 0 or -ENOENT. */
int allowedips_remove(struct allowedips *t, enum ip_family family,
		      const uint8_t *ip, uint8_t cidr, void *owner);

/* Remove every prefix owned by owner. */
void allowedips_remove_by_owner(struct allowedips *t, void *owner);

/* Longest-prefix match; NULL when nothing matches. ip is 4 or 16 bytes in
 * network order. */
void *allowedips_lookup(const struct allowedips *t, enum ip_family family,
			const uint8_t *ip);

/* Call fn for every prefix owned by owner (order: v4 then v6, each in
 * trie order). Stop early when fn returns false. */
typedef bool (*allowedips_walk_fn)(void *ctx, enum ip_family family,
				   const uint8_t *ip, uint8_t cidr);
void allowedips_walk_by_owner(const struct allowedips *t, void *owner,
			      allowedips_walk_fn fn, void *ctx);

#endif
