/* announce.h - a device's signed announcement (docs/mesh-protocol.md
 * "Announcement payload"): its launch's WireGuard key, endpoint
 * candidates, claimed address, time and expiry. */
#ifndef WEFT_MESH_ANNOUNCE_H
#define WEFT_MESH_ANNOUNCE_H

#include "core/addrpool.h"
#include "core/endpoint.h"
#include "mesh/mesh.h"

struct announce {
	char network[MESH_NAME_MAX];
	uint8_t device[MESH_KEY_LEN];	/* identity key */
	uint8_t wg[MESH_KEY_LEN];	/* X25519 public key of this launch */
	struct wg_endpoint endpoints[MESH_MAX_ENDPOINTS];
	unsigned n_endpoints;
	/* Relays (of the roster's list) this device is registered with,
	 * best first: peers reach it through one of them. */
	struct wg_endpoint relays[MESH_MAX_RELAYS];
	unsigned n_relays;
	bool has_ip;			/* claimed (dynamic devices only) */
	struct mesh_ip4 ip;
	uint64_t claim;			/* 0: this message is the first claim */
	struct ip_prefix dns[4];	/* exit devices' resolvers (cidr 32/128) */
	unsigned n_dns;
	uint64_t time_ms;
	uint64_t expires_s;
};

/* Parse a payload: format and limits only (membership, freshness and the
 * signer are the caller's: meshview.h). 0 or -EINVAL with a reason. */
int announce_parse(struct announce *a, const char *json, size_t len,
		   char reason[MESH_REASON_MAX]);
/* Compact JSON, malloc'd. */
int announce_serialize(const struct announce *a, char **json, size_t *len);

#endif
