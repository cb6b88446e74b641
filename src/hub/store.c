/* store.c - weft-hub's storage front (store.h): picks the backend by the
 * database's scheme and holds what the backends share (the admins column,
 * the events answer). */
#include "hub/store_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int store_open(struct store **s, const char *db, char err[MESH_REASON_MAX])
{
	*s = NULL;
	if (has_prefix(db, "postgres://") || has_prefix(db, "postgresql://"))
		return store_pg_open(s, db, err);
	if (has_prefix(db, "sqlite:"))
		db += strlen("sqlite:");
	if (!*db) {
		snprintf(err, MESH_REASON_MAX, "no database path given");
		return -EINVAL;
	}
	return store_sqlite_open(s, db, err);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_network_create(struct store *s, const char *name,
			 const uint8_t admin[MESH_KEY_LEN])
{
	return s->ops->network_create(s, name, admin);
}

int store_network_get_cached(struct store *s, const char *name, uint64_t have_id,
			     struct store_network *out)
{
	memset(out, 0, sizeof(*out));
	return s->ops->network_get(s, name, have_id, out);
}

int store_network_get(struct store *s, const char *name, struct store_network *out)
{
	return store_network_get_cached(s, name, 0, out);
}

void store_network_free(struct store_network *n)
{
	free(n->roster_env);
	n->roster_env = NULL;
}

int store_current_announce(struct store *s, const char *network,
			   const char *device, char **env)
{
	*env = NULL;
	return s->ops->current_announce(s, network, device, env);
}

int store_put_roster(struct store *s, const char *network, const char *env,
		     uint64_t version, const uint8_t (*admins)[MESH_KEY_LEN],
		     unsigned n_admins, uint64_t *id)
{
	return s->ops->put_roster(s, network, env, version, admins, n_admins, id);
}

int store_put_announce(struct store *s, const char *network, const char *device,
		       const char *env, uint64_t *id)
{
	return s->ops->put_announce(s, network, device, env, id);
}

int store_events(struct store *s, const char *network, uint64_t since,
		 unsigned limit, char **json, unsigned *count)
{
	*json = NULL;
	*count = 0;
	return s->ops->events(s, network, since, limit, json, count);
}

int store_wait_change(struct store *s, int timeout_ms)
{
	return s->ops->wait_change(s, timeout_ms);
}

char *store_admins_json(const uint8_t (*admins)[MESH_KEY_LEN], unsigned n)
{
	json_t *a = json_array();
	char *out;
	unsigned i;

	for (i = 0; i < n; i++) {
		char b[64];

		mesh_b64_encode(b, sizeof(b), admins[i], MESH_KEY_LEN);
		json_array_append_new(a, json_string(b));
	}
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

/* A hand-written column that does not parse pins nobody. */
void store_admins_parse(const char *txt, struct store_network *out)
{
	json_t *a = txt ? json_loads(txt, 0, NULL) : NULL, *item;
	size_t i;

	if (json_is_array(a)) {
		json_array_foreach(a, i, item) {
			if (out->n_admins >= MESH_MAX_ADMINS || !json_is_string(item))
				break;
			if (mesh_b64_decode(out->admins[out->n_admins], MESH_KEY_LEN,
					    json_string_value(item)))
				out->n_admins++;
		}
	}
	json_decref(a);
}

void store_events_add(json_t *msgs, uint64_t id, const char *type, const char *env)
{
	json_t *m = json_object(), *e;

	/* What was stored goes out as it is: an object when it is JSON, else
	 * the text; the node judges either. */
	e = env ? json_loads(env, 0, NULL) : NULL;
	if (!e)
		e = json_string(env ? env : "");
	json_object_set_new(m, "id", json_integer((json_int_t)id));
	json_object_set_new(m, "type", json_string(type ? type : ""));
	json_object_set_new(m, "env", e);
	json_array_append_new(msgs, m);
}

char *store_events_dump(json_t *msgs, uint64_t last)
{
	json_t *root = json_object();
	char *out;

	if (!root)
		return NULL;
	json_object_set(root, "messages", msgs);
	json_object_set_new(root, "last", json_integer((json_int_t)last));
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return out;
}
