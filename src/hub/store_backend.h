/* store_backend.h - what a storage backend of weft-hub provides (private
 * to store.c, store_sqlite.c and store_pg.c). A backend's handle starts
 * with struct store, whose ops the front (store.c) calls through. */
#ifndef WEFT_HUB_STORE_BACKEND_H
#define WEFT_HUB_STORE_BACKEND_H

#include "hub/store.h"

struct store_ops {
	void (*close)(struct store *s);
	int (*network_create)(struct store *s, const char *name,
			      const uint8_t admin[MESH_KEY_LEN]);
	int (*network_get)(struct store *s, const char *name, uint64_t have_id,
			   struct store_network *out);
	int (*current_announce)(struct store *s, const char *network,
				const char *device, char **env);
	int (*put_roster)(struct store *s, const char *network, const char *env,
			  uint64_t version, const uint8_t (*admins)[MESH_KEY_LEN],
			  unsigned n_admins, uint64_t *id);
	int (*put_announce)(struct store *s, const char *network,
			    const char *device, const char *env, uint64_t *id);
	int (*events)(struct store *s, const char *network, uint64_t since,
		      unsigned limit, char **json, unsigned *count);
	int (*wait_change)(struct store *s, int timeout_ms);
};

struct store {
	const struct store_ops *ops;
};

/* Each takes what follows its scheme: a file path, a libpq URI. */
int store_sqlite_open(struct store **s, const char *path,
		      char err[MESH_REASON_MAX]);
int store_pg_open(struct store **s, const char *uri, char err[MESH_REASON_MAX]);

/* The helpers both backends share (store.c). */
char *store_admins_json(const uint8_t (*admins)[MESH_KEY_LEN], unsigned n);
void store_admins_parse(const char *json, struct store_network *out);
/* One events message appended to msgs: env as JSON when it parses, else
 * as a string. */
struct json_t;
void store_events_add(struct json_t *msgs, uint64_t id, const char *type,
		      const char *env);
char *store_events_dump(struct json_t *msgs, uint64_t last);

#endif
