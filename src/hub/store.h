/* store.h - weft-hub's storage: one SQLite file (WAL mode) holding the
 * networks and every accepted roster and announcement.
 *
 * Schema (stable: the tamper test writes rows with the sqlite3 CLI to play
 * a compromised hub, and a second hub may share the file):
 *
 *   networks(name TEXT PRIMARY KEY,
 *            admins TEXT,              -- JSON array of the pinned admin
 *                                      -- keys (base64)
 *            roster_version INTEGER)   -- last accepted, 0 = none yet
 *   messages(id INTEGER PRIMARY KEY AUTOINCREMENT,   -- the message id
 *            network TEXT,
 *            type TEXT,                -- 'roster' | 'announce'
 *            device TEXT,              -- signer key (base64)
 *            env TEXT,                 -- the envelope JSON as received
 *            current INTEGER)          -- 1 while it is the latest of its
 *                                      -- (network, type, device); a
 *                                      -- network has one current roster
 *
 * Invariants kept by this module: ids strictly increase (AUTOINCREMENT);
 * a write that makes a message current clears the previous one in the same
 * transaction. Nothing here checks signatures: api.c does, before storing.
 *
 * A handle is used by one thread at a time. Other processes (or another
 * handle) may write the same file: hub_store_data_version() changes when
 * they commit. */
#ifndef WEFT_HUB_STORE_H
#define WEFT_HUB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

struct hub_store;

enum hub_store_limits {
	HUB_STORE_BUSY_MS = 2000,	/* wait for another writer */
	HUB_EVENTS_MAX = 1000,		/* messages per events answer */
	HUB_ADMINS_JSON_MAX = MESH_MAX_ADMINS * 48 + 8,
};

enum hub_msg_type {
	HUB_MSG_ROSTER,
	HUB_MSG_ANNOUNCE,
};

struct hub_network {
	char name[MESH_NAME_MAX];
	uint8_t admins[MESH_MAX_ADMINS][MESH_KEY_LEN];
	unsigned n_admins;
	uint64_t roster_version;
};

/* One stored message (events). env is malloc'd and NUL-terminated. */
struct hub_msg {
	uint64_t id;
	enum hub_msg_type type;
	char *env;
	size_t env_len;
};

/* Open (creating the file and schema if needed) path, or ":memory:".
 * 0 or -errno with a reason naming the file. */
__attribute__((warn_unused_result))
int hub_store_open(struct hub_store **out, const char *path,
		   char reason[MESH_REASON_MAX]);
void hub_store_close(struct hub_store *s);

/* Record a network with its first admin key. -EEXIST if it exists,
 * -EINVAL for a bad name. */
__attribute__((warn_unused_result))
int hub_store_create_network(struct hub_store *s, const char *name,
			     const uint8_t admin[MESH_KEY_LEN],
			     char reason[MESH_REASON_MAX]);
/* -ENOENT when unknown. A row whose admins column does not parse yields
 * n_admins = 0 (nobody can publish), not an error. */
__attribute__((warn_unused_result))
int hub_store_network(struct hub_store *s, const char *name,
		      struct hub_network *n);

/* The current message of (network, type, device) - device NULL for the
 * roster. 0 with *id and *env (malloc'd), or -ENOENT. */
__attribute__((warn_unused_result))
int hub_store_current(struct hub_store *s, const char *network,
		      enum hub_msg_type type, const uint8_t *device,
		      uint64_t *id, char **env, size_t *env_len);

/* Store an accepted roster: it becomes the network's current roster, the
 * network pins its admins and version, and announcements of devices not in
 * keep[] (the new roster's keys) stop being current. *id: its message id. */
__attribute__((warn_unused_result))
int hub_store_put_roster(struct hub_store *s, const char *network,
			 uint64_t version,
			 const uint8_t (*admins)[MESH_KEY_LEN], unsigned n_admins,
			 const uint8_t signer[MESH_KEY_LEN],
			 const uint8_t (*keep)[MESH_KEY_LEN], unsigned n_keep,
			 const char *env, size_t env_len, uint64_t *id);
/* Store an accepted announcement: the device's current one from now on. */
__attribute__((warn_unused_result))
int hub_store_put_announce(struct hub_store *s, const char *network,
			   const uint8_t device[MESH_KEY_LEN],
			   const char *env, size_t env_len, uint64_t *id);

/* The current messages of network with id > since, in id order, at most
 * max (<= HUB_EVENTS_MAX). *msgs malloc'd (hub_msgs_free), *n their count. */
__attribute__((warn_unused_result))
int hub_store_events(struct hub_store *s, const char *network, uint64_t since,
		     unsigned max, struct hub_msg **msgs, unsigned *n);
void hub_msgs_free(struct hub_msg *msgs, unsigned n);

/* The highest current message id of network (0 when none). */
__attribute__((warn_unused_result))
int hub_store_last_id(struct hub_store *s, const char *network, uint64_t *id);

/* PRAGMA data_version: changes when another connection commits. */
__attribute__((warn_unused_result))
int hub_store_data_version(struct hub_store *s, int64_t *v);

/* The last SQLite error of the handle, one line. */
const char *hub_store_error(struct hub_store *s);

#endif
