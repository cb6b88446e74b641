/* store.c - weft-hub's SQLite storage (store.h). Every statement is
 * prepared with bound parameters; every multi-row change is one
 * transaction, so a crash never leaves two current rosters. */
#include "hub/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

struct store {
	sqlite3 *db;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS networks(name TEXT PRIMARY KEY, admins TEXT NOT NULL,"
	" roster_version INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS messages(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" network TEXT NOT NULL, type TEXT NOT NULL, device TEXT NOT NULL,"
	" env TEXT NOT NULL, current INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS messages_current ON messages(network, current, id);"
	"CREATE INDEX IF NOT EXISTS messages_device ON messages(network, type, device, current);";

int store_open(struct store **out, const char *path, char err[MESH_REASON_MAX])
{
	struct store *s = calloc(1, sizeof(*s));
	char *msg = NULL;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, MESH_REASON_MAX, "cannot open database %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sqlite3_close(s->db);
		free(s);
		return -EIO;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, MESH_REASON_MAX, "database %s: %s", path,
			 msg ? msg : "schema failed");
		sqlite3_free(msg);
		sqlite3_close(s->db);
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static char *admins_json(const uint8_t (*admins)[MESH_KEY_LEN], unsigned n)
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

int store_network_create(struct store *s, const char *name,
			 const uint8_t admin[MESH_KEY_LEN])
{
	sqlite3_stmt *st = prep(s, "INSERT INTO networks(name, admins) VALUES(?, ?)");
	char *admins = admins_json((const uint8_t (*)[MESH_KEY_LEN])admin, 1);
	int rc;

	if (!st || !admins) {
		sqlite3_finalize(st);
		free(admins);
		return -EIO;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, admins, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(admins);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_network_get(struct store *s, const char *name, struct store_network *out)
{
	sqlite3_stmt *st;
	json_t *a;
	size_t i;
	json_t *item;
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	st = prep(s, "SELECT admins, roster_version FROM networks WHERE name = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *txt = (const char *)sqlite3_column_text(st, 0);

		out->roster_version = (uint64_t)sqlite3_column_int64(st, 1);
		a = txt ? json_loads(txt, 0, NULL) : NULL;
		err = 0;
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
	sqlite3_finalize(st);
	if (err)
		return err;
	st = prep(s, "SELECT env, id FROM messages WHERE network = ? AND type = 'roster'"
		     " AND current = 1 ORDER BY id DESC LIMIT 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		out->roster_env = strdup((const char *)sqlite3_column_text(st, 0));
		out->roster_id = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

void store_network_free(struct store_network *n)
{
	free(n->roster_env);
	n->roster_env = NULL;
}

int store_current_announce(struct store *s, const char *network,
			   const char *device, char **env)
{
	sqlite3_stmt *st = prep(s, "SELECT env FROM messages WHERE network = ? AND"
				" type = 'announce' AND device = ? AND current = 1"
				" ORDER BY id DESC LIMIT 1");

	*env = NULL;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		*env = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

static int put(struct store *s, const char *network, const char *type,
	       const char *device, const char *env, uint64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	st = prep(s, "UPDATE messages SET current = 0 WHERE network = ? AND type = ?"
		     " AND device = ? AND current = 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	st = prep(s, "INSERT INTO messages(network, type, device, env, current)"
		     " VALUES(?, ?, ?, ?, 1)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, env, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	*id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int txn(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int store_put_roster(struct store *s, const char *network, const char *env,
		     uint64_t version, const uint8_t (*admins)[MESH_KEY_LEN],
		     unsigned n_admins, uint64_t *id)
{
	sqlite3_stmt *st;
	char *a = admins_json(admins, n_admins);
	int err, rc;

	if (!a || txn(s, "BEGIN IMMEDIATE")) {
		free(a);
		return -EIO;
	}
	err = put(s, network, "roster", "", env, id);
	if (!err) {
		st = prep(s, "UPDATE networks SET admins = ?, roster_version = ? WHERE name = ?");
		if (!st) {
			err = -EIO;
		} else {
			sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)version);
			sqlite3_bind_text(st, 3, network, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				err = -EIO;
		}
	}
	free(a);
	if (err) {
		txn(s, "ROLLBACK");
		return err;
	}
	return txn(s, "COMMIT");
}

int store_put_announce(struct store *s, const char *network, const char *device,
		       const char *env, uint64_t *id)
{
	int err;

	if (txn(s, "BEGIN IMMEDIATE"))
		return -EIO;
	err = put(s, network, "announce", device, env, id);
	if (err) {
		txn(s, "ROLLBACK");
		return err;
	}
	return txn(s, "COMMIT");
}

int store_events(struct store *s, const char *network, uint64_t since,
		 unsigned limit, char **json, unsigned *count)
{
	sqlite3_stmt *st = prep(s, "SELECT id, type, env FROM messages WHERE network = ?"
				" AND current = 1 AND id > ? ORDER BY id LIMIT ?");
	json_t *root = json_object(), *msgs = json_array();
	uint64_t last = since;
	int err = 0;

	*json = NULL;
	*count = 0;
	if (!st || !root || !msgs) {
		err = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	sqlite3_bind_int(st, 3, (int)limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *env = (const char *)sqlite3_column_text(st, 2);
		json_t *m = json_object(), *e;

		last = (uint64_t)sqlite3_column_int64(st, 0);
		/* What was stored goes out as it is: an object when it is
		 * JSON, else the text; the node judges either. */
		e = env ? json_loads(env, 0, NULL) : NULL;
		if (!e)
			e = json_string(env ? env : "");
		json_object_set_new(m, "id", json_integer((json_int_t)last));
		json_object_set_new(m, "type", json_string(type ? type : ""));
		json_object_set_new(m, "env", e);
		json_array_append_new(msgs, m);
		(*count)++;
	}
	json_object_set(root, "messages", msgs);
	json_object_set_new(root, "last", json_integer((json_int_t)last));
	*json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!*json)
		err = -ENOMEM;
out:
	sqlite3_finalize(st);
	json_decref(msgs);
	json_decref(root);
	return err;
}

int64_t store_data_version(struct store *s)
{
	sqlite3_stmt *st = prep(s, "PRAGMA data_version");
	int64_t v = -1;

	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}
