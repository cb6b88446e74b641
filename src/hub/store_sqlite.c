/* store_sqlite.c - weft-hub's SQLite backend (store.h). Every statement
 * is prepared with bound parameters; every multi-row change is one
 * transaction, so a crash never leaves two current rosters. Several
 * processes may share the file: another's commit shows in PRAGMA
 * data_version, which store_wait_change() polls. */
#include "hub/store_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

struct sqlite_store {
	struct store s;		/* first: the front's handle */
	sqlite3 *db;
	int64_t data_version;	/* at the last store_wait_change() */
};

static const struct store_ops sqlite_ops;

static struct sqlite_store *to_sqlite(struct store *s)
{
	return (struct sqlite_store *)s;
}

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

static int64_t data_version(struct sqlite_store *s);

int store_sqlite_open(struct store **out, const char *path, char err[MESH_REASON_MAX])
{
	struct sqlite_store *s = calloc(1, sizeof(*s));
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
	s->s.ops = &sqlite_ops;
	s->data_version = data_version(s);
	*out = &s->s;
	return 0;
}

static void sqlite_close(struct store *st)
{
	struct sqlite_store *s = to_sqlite(st);

	sqlite3_close(s->db);
	free(s);
}

static sqlite3_stmt *prep(struct sqlite_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static int sqlite_network_create(struct store *ss, const char *name,
				 const uint8_t admin[MESH_KEY_LEN])
{
	struct sqlite_store *s = to_sqlite(ss);
	sqlite3_stmt *st = prep(s, "INSERT INTO networks(name, admins) VALUES(?, ?)");
	char *admins = store_admins_json((const uint8_t (*)[MESH_KEY_LEN])admin, 1);
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

static int sqlite_network_get(struct store *ss, const char *name, uint64_t have_id,
			      struct store_network *out)
{
	struct sqlite_store *s = to_sqlite(ss);
	sqlite3_stmt *st;
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	st = prep(s, "SELECT admins, roster_version FROM networks WHERE name = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->roster_version = (uint64_t)sqlite3_column_int64(st, 1);
		store_admins_parse((const char *)sqlite3_column_text(st, 0), out);
		err = 0;
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	st = prep(s, "SELECT CASE WHEN id = ?2 THEN NULL ELSE env END, id FROM messages"
		     " WHERE network = ?1 AND type = 'roster' AND current = 1"
		     " ORDER BY id DESC LIMIT 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)have_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->roster_id = (uint64_t)sqlite3_column_int64(st, 1);
		if (sqlite3_column_text(st, 0) &&
		    !(out->roster_env = strdup((const char *)sqlite3_column_text(st, 0))))
			err = -ENOMEM;
	}
	sqlite3_finalize(st);
	return err;
}

static int sqlite_current_announce(struct store *ss, const char *network,
				   const char *device, char **env)
{
	struct sqlite_store *s = to_sqlite(ss);
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

static int put(struct sqlite_store *s, const char *network, const char *type,
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

static int txn(struct sqlite_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int sqlite_put_roster(struct store *ss, const char *network, const char *env,
			     uint64_t version, const uint8_t (*admins)[MESH_KEY_LEN],
			     unsigned n_admins, uint64_t *id)
{
	struct sqlite_store *s = to_sqlite(ss);
	sqlite3_stmt *st;
	char *a = store_admins_json(admins, n_admins);
	int err, rc;

	if (!a || txn(s, "BEGIN IMMEDIATE")) {
		free(a);
		return -EIO;
	}
	err = put(s, network, "roster", "", env, id);
	if (!err) {
		/* Another process may have stored this version since the
		 * caller looked: in the transaction it must still be newer. */
		st = prep(s, "UPDATE networks SET admins = ?1, roster_version = ?2"
			     " WHERE name = ?3 AND roster_version < ?2");
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
			else if (sqlite3_changes(s->db) != 1)
				err = -ESTALE;
		}
	}
	free(a);
	if (err) {
		txn(s, "ROLLBACK");
		return err;
	}
	return txn(s, "COMMIT");
}

static int sqlite_put_announce(struct store *ss, const char *network,
			       const char *device, const char *env, uint64_t *id)
{
	struct sqlite_store *s = to_sqlite(ss);
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

static int sqlite_events(struct store *ss, const char *network, uint64_t since,
			 unsigned limit, char **json, unsigned *count)
{
	struct sqlite_store *s = to_sqlite(ss);
	sqlite3_stmt *st = prep(s, "SELECT id, type, env FROM messages WHERE network = ?"
				" AND current = 1 AND id > ? ORDER BY id LIMIT ?");
	json_t *msgs = json_array();
	uint64_t last = since;
	int err = 0;

	*json = NULL;
	*count = 0;
	if (!st || !msgs) {
		err = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	sqlite3_bind_int(st, 3, (int)limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		last = (uint64_t)sqlite3_column_int64(st, 0);
		store_events_add(msgs, last, (const char *)sqlite3_column_text(st, 1),
				 (const char *)sqlite3_column_text(st, 2));
		(*count)++;
	}
	*json = store_events_dump(msgs, last);
	if (!*json)
		err = -ENOMEM;
out:
	sqlite3_finalize(st);
	json_decref(msgs);
	return err;
}

/* Our own commits leave it alone; those of other connections change it. */
static int64_t data_version(struct sqlite_store *s)
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

/* SQLite cannot tell us: sleep, then look. */
static int sqlite_wait_change(struct store *ss, int timeout_ms)
{
	struct sqlite_store *s = to_sqlite(ss);
	int64_t v;

	if (timeout_ms > 0) {
		struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	v = data_version(s);
	if (v < 0)
		return -EIO;
	if (v == s->data_version)
		return 0;
	s->data_version = v;
	return 1;
}

static const struct store_ops sqlite_ops = {
	.close = sqlite_close,
	.network_create = sqlite_network_create,
	.network_get = sqlite_network_get,
	.current_announce = sqlite_current_announce,
	.put_roster = sqlite_put_roster,
	.put_announce = sqlite_put_announce,
	.events = sqlite_events,
	.wait_change = sqlite_wait_change,
};
