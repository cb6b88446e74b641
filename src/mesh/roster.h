/* roster.h - the admin-signed list of a network's devices
 * (docs/mesh-protocol.md "Roster payload"): parse with every rule checked,
 * build and serialise for `weft admin`. */
#ifndef WEFT_MESH_ROSTER_H
#define WEFT_MESH_ROSTER_H

#include "core/endpoint.h"
#include "mesh/mesh.h"

struct roster_device {
	char owner[MESH_NAME_MAX];
	char name[MESH_NAME_MAX];
	uint8_t key[MESH_KEY_LEN];	/* identity (Ed25519) */
	bool has_ip;			/* static address */
	struct mesh_ip4 ip;
	bool exit, relay;
	char tags[MESH_MAX_TAGS][MESH_NAME_MAX];
	unsigned n_tags;
};

struct roster {
	char network[MESH_NAME_MAX];
	uint64_t version;
	struct mesh_range range;
	uint8_t admins[MESH_MAX_ADMINS][MESH_KEY_LEN];
	unsigned n_admins;
	/* Relays (weft-hub, weft-hub --relay-only) in order of preference,
	 * and further STUN servers; every relay answers STUN too. */
	struct wg_endpoint relays[MESH_MAX_RELAYS];
	unsigned n_relays;
	struct wg_endpoint stun[MESH_MAX_RELAYS];
	unsigned n_stun;
	struct roster_device *devices;	/* malloc'd, n_devices */
	unsigned n_devices;
};

/* Parse and check a payload: format, limits, unique keys/names/addresses,
 * static addresses usable in the range. 0 or -EINVAL with a reason that
 * names the device or member at fault. On success r owns memory
 * (roster_free). */
int roster_parse(struct roster *r, const char *json, size_t len,
		 char reason[MESH_REASON_MAX]);
/* Serialise (compact JSON, members in the documented order); malloc'd. */
int roster_serialize(const struct roster *r, char **json, size_t *len);
void roster_free(struct roster *r);

/* The device with this identity key, or NULL. Constant-time per entry
 * is not needed (keys are public). */
const struct roster_device *roster_find(const struct roster *r,
					const uint8_t key[MESH_KEY_LEN]);
const struct roster_device *roster_find_name(const struct roster *r,
					     const char *owner,
					     const char *name);
bool roster_is_admin(const struct roster *r, const uint8_t key[MESH_KEY_LEN]);

/* Editing for `weft admin` (each keeps the roster valid or returns
 * -EINVAL/-EEXIST/-ENOENT/-ENOSPC with a reason). */
int roster_add_device(struct roster *r, const struct roster_device *d,
		      char reason[MESH_REASON_MAX]);
int roster_remove_device(struct roster *r, const char *owner,
			 const char *name, char reason[MESH_REASON_MAX]);

#endif
