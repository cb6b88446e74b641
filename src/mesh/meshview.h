/* meshview.h - what a node believes about its network, built only from
 * messages it has verified itself (DESIGN.md §4): the pinned admin keys,
 * the last good roster, the latest announcement of each device, and the
 * address each device holds. The hub is not trusted: every offer is
 * checked here and either changes the view or is rejected with a reason,
 * leaving the view exactly as it was. Pure: time comes in as arguments. */
#ifndef WEFT_MESH_MESHVIEW_H
#define WEFT_MESH_MESHVIEW_H

#include "mesh/announce.h"
#include "mesh/roster.h"

struct mv_device {
	bool announced;
	struct announce ann;	/* the latest accepted */
	uint64_t msg_id;	/* its hub message id */
	bool has_ip;		/* effective address: static, or a claim that
				 * won (lower order than every other current
				 * claim of that address) */
	struct mesh_ip4 ip;
	uint64_t claim_order;	/* ann.claim ? ann.claim : msg_id */
};

struct meshview {
	char network[MESH_NAME_MAX];
	uint8_t self[MESH_KEY_LEN];	/* this node's identity key */
	uint8_t pinned[MESH_MAX_ADMINS][MESH_KEY_LEN];
	unsigned n_pinned;
	bool has_roster;
	struct roster roster;
	char *roster_env;	/* the accepted roster's envelope JSON */
	struct mv_device *devs;	/* parallel to roster.devices */
	uint64_t last_id;	/* highest hub message id seen */
	unsigned generation;	/* grows on every accepted change */
};

enum mv_offer {
	MV_ACCEPTED = 0,
	MV_UNCHANGED = 1,	/* the message already in force (same roster
				 * bytes, same announcement): not an error */
};

/* Start empty, pinning admins (from the invite or the state file). */
void meshview_init(struct meshview *v, const char *network,
		   const uint8_t self[MESH_KEY_LEN],
		   const uint8_t (*admins)[MESH_KEY_LEN], unsigned n_admins);
void meshview_free(struct meshview *v);

/* A roster envelope from the hub (id: its message id, 0 if none). Checks:
 * envelope form, type roster, signer pinned, signature, payload rules,
 * network name, version > the accepted one. On acceptance the roster's
 * admins become the pinned keys, announcements of devices no longer
 * listed are dropped, addresses are recomputed. Returns MV_ACCEPTED,
 * MV_UNCHANGED, or -errno with a reason: -EPERM (signature, signer),
 * -ESTALE (version not newer: rollback), -EINVAL (malformed). */
int meshview_offer_roster(struct meshview *v, const char *env, size_t len,
			  uint64_t id, char reason[MESH_REASON_MAX]);

/* An announcement envelope. Checks: envelope form and type, signer is a
 * device of the roster (-EPERM "not in the roster"), signature (-EPERM),
 * payload's device == signer and network matches, time newer than that
 * device's last (-ESTALE), not expired and not from the future beyond
 * MESH_SKEW_MS (-ETIME), an address claim only for devices without a
 * static one and inside the range (-EINVAL). now_ms: wall clock. */
int meshview_offer_announce(struct meshview *v, const char *env, size_t len,
			    uint64_t id, uint64_t now_ms,
			    char reason[MESH_REASON_MAX]);

/* Index of a roster device, or -1. */
int meshview_find(const struct meshview *v, const uint8_t key[MESH_KEY_LEN]);
/* This node's roster entry and state, or NULL when it is not listed. */
const struct roster_device *meshview_self_entry(const struct meshview *v);
const struct mv_device *meshview_self_state(const struct meshview *v);

/* Is ip taken by a static device or by a current claim of a device other
 * than self? */
bool meshview_ip_taken(const struct meshview *v, struct mesh_ip4 ip);
/* Choose self's dynamic address: previous if given and not taken, else a
 * random usable free one (rnd(arg) gives uniform 32-bit values). 0 or
 * -ENOSPC. */
int meshview_pick_ip(const struct meshview *v, const struct mesh_ip4 *previous,
		     uint32_t (*rnd)(void *arg), void *arg,
		     struct mesh_ip4 *out);
/* Self claimed ip in its current announcement and another device's claim
 * of it has a lower order: self must pick again. */
bool meshview_self_lost(const struct meshview *v);

#endif
