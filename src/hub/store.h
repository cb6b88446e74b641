/* store.h - weft-hub's storage: SQLite (one file, WAL mode; the default)
 * or PostgreSQL (several hubs on one database). The database is named by
 * "sqlite:PATH" (or a bare PATH) or a libpq URI "postgres://..." /
 * "postgresql://..."; store.c picks the backend, callers see only this.
 *
 * Schema, the same in both, created when missing (stable;
 * tests/netns/mesh_tamper.sh writes it directly to play a compromised
 * hub):
 *   networks(name TEXT PRIMARY KEY, admins TEXT, roster_version INTEGER)
 *     admins: JSON array of the pinned admin keys (base64); the first from
 *     `weft-hub create-network`, then those of the last accepted roster.
 *   messages(id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT, type TEXT,
 *            device TEXT, env TEXT, current INTEGER)
 *     type 'roster' or 'announce'; device: the signer's key (base64);
 *     env: the envelope exactly as received; current: 1 while it is the
 *     latest of its (network, type, device) — for rosters device is '' so
 *     there is one current roster per network.
 *   In PostgreSQL roster_version is BIGINT and id BIGSERIAL.
 * Message ids only grow (AUTOINCREMENT never reuses one; in PostgreSQL
 * every insert holds one advisory lock until it commits, so ids also
 * commit in order, across hubs: see store_pg.c). One connection per
 * thread; the hub's HTTP thread owns one, its ticker another.
 *
 * Changes by others: store_wait_change() polls SQLite's data_version;
 * with PostgreSQL every insert NOTIFYs channel weft_messages (payload:
 * the network) and the waiting connection LISTENs.
 *
 * Errors: -errno; -ENOTCONN when the database server cannot be reached
 * right now (the hub answers 503 and the store reconnects by itself). */
#ifndef WEFT_HUB_STORE_H
#define WEFT_HUB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

struct store;

struct store_network {
	uint8_t admins[MESH_MAX_ADMINS][MESH_KEY_LEN];
	unsigned n_admins;
	uint64_t roster_version;
	char *roster_env;	/* current roster envelope, malloc'd or NULL */
	uint64_t roster_id;
};

/* Open db (see above), creating the schema if missing. 0 or -errno with a
 * one-line err. */
int store_open(struct store **s, const char *path, char err[MESH_REASON_MAX]);
void store_close(struct store *s);

/* -EEXIST when the network exists. */
int store_network_create(struct store *s, const char *name,
			 const uint8_t admin[MESH_KEY_LEN]);
/* -ENOENT when unknown. Free roster_env with store_network_free.
 * roster_id is the current roster's message id (0: none); roster_env is
 * left NULL when that id is have_id (the caller holds that roster
 * already: a request does not copy the whole roster out of the store). */
int store_network_get_cached(struct store *s, const char *name, uint64_t have_id,
			     struct store_network *out);
/* The same, roster_env always filled when there is a roster. */
int store_network_get(struct store *s, const char *name,
		      struct store_network *out);
void store_network_free(struct store_network *n);

/* The current announcement envelope of device (base64 key) or NULL. */
int store_current_announce(struct store *s, const char *network,
			   const char *device, char **env);

/* Record an accepted message as the current one of (network, type,
 * device), in one transaction; for a roster also the network's pinned
 * admins and version, -ESTALE (nothing stored) when version is not above
 * the stored one by then. *id: its message id. */
int store_put_roster(struct store *s, const char *network, const char *env,
		     uint64_t version, const uint8_t (*admins)[MESH_KEY_LEN],
		     unsigned n_admins, uint64_t *id);
int store_put_announce(struct store *s, const char *network,
		       const char *device, const char *env, uint64_t *id);

/* Current messages of network with id > since, in id order, at most
 * limit, as the JSON text of the events answer
 * {"messages":[{"id":..,"type":..,"env":..}],"last":N} (malloc'd).
 * *count: messages in it. */
int store_events(struct store *s, const char *network, uint64_t since,
		 unsigned limit, char **json, unsigned *count);

/* Wait up to timeout_ms (0: just look) for a message stored through
 * another connection (another thread, process or hub) since the last
 * call. >0 when something changed, 0 when not, -errno. Writes through s
 * itself need not show. */
int store_wait_change(struct store *s, int timeout_ms);

#endif
