/* store.c - weft-hub's SQLite storage (schema and invariants: store.h).
 * Every statement is prepared once per handle; writes that change which
 * message is current run in one IMMEDIATE transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "hub/store.h"

enum stmt_id {
	ST_NET_INSERT,
	ST_NET_GET,
	ST_NET_UPDATE,
	ST_CURRENT,
	ST_CURRENT_ROSTER,
	ST_MSG_INSERT,
	ST_UNCURRENT,
	ST_UNCURRENT_ROSTER,
	ST_ANN_CURRENT,
	ST_UNCURRENT_ID,
	ST_EVENTS,
	ST_LAST_ID,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_DATA_VERSION,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_NET_INSERT] = "INSERT INTO networks(name, admins, roster_version) "
			  "VALUES(?1, ?2, 0)",
	[ST_NET_GET] = "SELECT admins, roster_version FROM networks "
		       "WHERE name = ?1",
	[ST_NET_UPDATE] = "UPDATE networks SET admins = ?2, roster_version = ?3 "
			  "WHERE name = ?1",
	[ST_CURRENT] = "SELECT id, env FROM messages WHERE network = ?1 AND "
		       "type = ?2 AND device = ?3 AND current = 1 "
		       "ORDER BY id DESC LIMIT 1",
	[ST_CURRENT_ROSTER] = "SELECT id, env FROM messages WHERE network = ?1 "
			      "AND type = 'roster' AND current = 1 "
			      "ORDER BY id DESC LIMIT 1",
	[ST_MSG_INSERT] = "INSERT INTO messages(network, type, device, env, "
			  "current) VALUES(?1, ?2, ?3, ?4, 1)",
	[ST_UNCURRENT] = "UPDATE messages SET current = 0 WHERE network = ?1 "
			 "AND type = ?2 AND device = ?3 AND current = 1",
	[ST_UNCURRENT_ROSTER] = "UPDATE messages SET current = 0 WHERE "
				"network = ?1 AND type = 'roster' AND current = 1",
	[ST_ANN_CURRENT] = "SELECT id, device FROM messages WHERE network = ?1 "
			   "AND type = 'announce' AND current = 1",
	[ST_UNCURRENT_ID] = "UPDATE messages SET current = 0 WHERE id = ?1",
	[ST_EVENTS] = "SELECT id, type, env FROM messages WHERE network = ?1 "
		      "AND current = 1 AND id > ?2 ORDER BY id LIMIT ?3",
	[ST_LAST_ID] = "SELECT max(id) FROM messages WHERE network = ?1 "
		       "AND current = 1",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_DATA_VERSION] = "PRAGMA data_version",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS networks("
	" name TEXT PRIMARY KEY, admins TEXT, roster_version INTEGER);"
	"CREATE TABLE IF NOT EXISTS messages("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT, type TEXT,"
	" device TEXT, env TEXT, current INTEGER);"
	"CREATE INDEX IF NOT EXISTS messages_current"
	" ON messages(network, current, id);"
	"CREATE INDEX IF NOT EXISTS messages_device"
	" ON messages(network, type, device, current);";

struct hub_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

static const char *type_name(enum hub_msg_type t)
{
	return t == HUB_MSG_ROSTER ? "roster" : "announce";
}

static void key_b64(char out[48], const uint8_t key[MESH_KEY_LEN])
{
	mesh_b64_encode(out, 48, key, MESH_KEY_LEN);
}

/* Reset and clear bindings, then hand the statement out. */
static sqlite3_stmt *stmt(struct hub_store *s, enum stmt_id id)
{
	sqlite3_reset(s->st[id]);
	sqlite3_clear_bindings(s->st[id]);
	return s->st[id];
}

static int step_done(struct hub_store *s, enum stmt_id id)
{
	int rc = sqlite3_step(s->st[id]);

	sqlite3_reset(s->st[id]);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

const char *hub_store_error(struct hub_store *s)
{
	return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

int hub_store_open(struct hub_store **out, const char *path,
		   char reason[MESH_REASON_MAX])
{
	struct hub_store *s;
	char *err = NULL;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(reason, MESH_REASON_MAX, "out of memory");
		return -ENOMEM;
	}
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(reason, MESH_REASON_MAX,
			 "cannot open database %s: %s; check the path and its "
			 "directory's permissions", path,
			 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(s->db, HUB_STORE_BUSY_MS);
	/* WAL lets readers (a second hub, the sqlite3 CLI) work alongside. A
	 * memory database answers "memory", which is fine. */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; "
			 "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;",
			 NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema_sql, NULL, NULL, &err) != SQLITE_OK) {
		snprintf(reason, MESH_REASON_MAX,
			 "cannot set up database %s: %s", path,
			 err ? err : sqlite3_errmsg(s->db));
		sqlite3_free(err);
		goto fail;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			snprintf(reason, MESH_REASON_MAX,
				 "database %s has an unexpected schema: %s",
				 path, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	hub_store_close(s);
	return -EIO;
}

void hub_store_close(struct hub_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

static int admins_json(char out[HUB_ADMINS_JSON_MAX],
		       const uint8_t (*admins)[MESH_KEY_LEN], unsigned n)
{
	size_t off = 0;

	out[off++] = '[';
	for (unsigned i = 0; i < n && i < MESH_MAX_ADMINS; i++) {
		char b[48];

		key_b64(b, admins[i]);
		off += (size_t)snprintf(out + off, HUB_ADMINS_JSON_MAX - off,
					"%s\"%s\"", i ? "," : "", b);
	}
	out[off++] = ']';
	out[off] = '\0';
	return (int)off;
}

int hub_store_create_network(struct hub_store *s, const char *name,
			     const uint8_t admin[MESH_KEY_LEN],
			     char reason[MESH_REASON_MAX])
{
	char admins[HUB_ADMINS_JSON_MAX];
	sqlite3_stmt *q;
	int rc;

	if (!mesh_network_valid(name)) {
		snprintf(reason, MESH_REASON_MAX,
			 "bad network name (1-63 of a-z 0-9 -, not starting "
			 "with -)");
		return -EINVAL;
	}
	admins_json(admins, (const uint8_t (*)[MESH_KEY_LEN])admin, 1);
	q = stmt(s, ST_NET_INSERT);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, admins, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_CONSTRAINT) {
		snprintf(reason, MESH_REASON_MAX,
			 "network %s exists already", name);
		return -EEXIST;
	}
	if (rc != SQLITE_DONE) {
		snprintf(reason, MESH_REASON_MAX, "cannot record network %s: %s",
			 name, sqlite3_errmsg(s->db));
		return -EIO;
	}
	return 0;
}

/* The admins column: a JSON array of base64 keys. Anything else (a row
 * written by hand) pins nobody. */
static unsigned admins_parse(const char *text, int len,
			     uint8_t (*out)[MESH_KEY_LEN])
{
	json_t *a, *v;
	size_t i;
	unsigned n = 0;

	if (!text || len <= 0 || len > 4096)
		return 0;
	a = json_loadb(text, (size_t)len, 0, NULL);
	if (!json_is_array(a) || json_array_size(a) > MESH_MAX_ADMINS) {
		json_decref(a);
		return 0;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    !mesh_b64_decode(out[n], MESH_KEY_LEN, json_string_value(v))) {
			json_decref(a);
			return 0;
		}
		n++;
	}
	json_decref(a);
	return n;
}

int hub_store_network(struct hub_store *s, const char *name,
		      struct hub_network *n)
{
	sqlite3_stmt *q = stmt(s, ST_NET_GET);
	int rc;

	memset(n, 0, sizeof(*n));
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->n_admins = admins_parse((const char *)sqlite3_column_text(q, 0),
				   sqlite3_column_bytes(q, 0), n->admins);
	n->roster_version = (uint64_t)sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	return 0;
}

/* Copy a text column into a fresh NUL-terminated buffer. */
static int column_dup(sqlite3_stmt *q, int col, char **out, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	int n = sqlite3_column_bytes(q, col);

	*out = NULL;
	if (!t || n < 0)
		n = 0;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -ENOMEM;
	if (n)
		memcpy(*out, t, (size_t)n);
	(*out)[n] = '\0';
	if (len)
		*len = (size_t)n;
	return 0;
}

int hub_store_current(struct hub_store *s, const char *network,
		      enum hub_msg_type type, const uint8_t *device,
		      uint64_t *id, char **env, size_t *env_len)
{
	sqlite3_stmt *q;
	char dev[48];
	int rc;

	*env = NULL;
	if (type == HUB_MSG_ROSTER) {
		q = stmt(s, ST_CURRENT_ROSTER);
	} else {
		q = stmt(s, ST_CURRENT);
		key_b64(dev, device);
		sqlite3_bind_text(q, 2, type_name(type), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, dev, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	*id = (uint64_t)sqlite3_column_int64(q, 0);
	rc = column_dup(q, 1, env, env_len);
	sqlite3_reset(q);
	return rc;
}

static int begin(struct hub_store *s)
{
	stmt(s, ST_BEGIN);
	return step_done(s, ST_BEGIN);
}

static int finish(struct hub_store *s, int ret)
{
	if (ret == 0) {
		stmt(s, ST_COMMIT);
		ret = step_done(s, ST_COMMIT);
		if (ret == 0)
			return 0;
	}
	stmt(s, ST_ROLLBACK);
	(void)step_done(s, ST_ROLLBACK);
	return ret;
}

static int insert_msg(struct hub_store *s, const char *network,
		      enum hub_msg_type type, const char *dev,
		      const char *env, size_t env_len, uint64_t *id)
{
	sqlite3_stmt *q = stmt(s, ST_MSG_INSERT);

	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, type_name(type), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, dev, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, env, (int)env_len, SQLITE_STATIC);
	if (step_done(s, ST_MSG_INSERT) != 0)
		return -EIO;
	*id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Announcements of devices the new roster no longer lists stop being
 * current: nodes drop them anyway, and new nodes need not see them. */
static int drop_removed(struct hub_store *s, const char *network,
			const uint8_t (*keep)[MESH_KEY_LEN], unsigned n_keep)
{
	sqlite3_stmt *q = stmt(s, ST_ANN_CURRENT);
	int64_t *gone = NULL;
	size_t n_gone = 0, cap = 0;
	int rc, ret = 0;

	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *dev = (const char *)sqlite3_column_text(q, 1);
		uint8_t key[MESH_KEY_LEN];
		bool listed = false;

		if (dev && mesh_b64_decode(key, sizeof(key), dev))
			for (unsigned i = 0; i < n_keep && !listed; i++)
				listed = memcmp(key, keep[i], MESH_KEY_LEN) == 0;
		if (listed)
			continue;
		if (n_gone == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			int64_t *g = realloc(gone, ncap * sizeof(*g));

			if (!g) {
				ret = -ENOMEM;
				break;
			}
			gone = g;
			cap = ncap;
		}
		gone[n_gone++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = -EIO;
	for (size_t i = 0; ret == 0 && i < n_gone; i++) {
		q = stmt(s, ST_UNCURRENT_ID);
		sqlite3_bind_int64(q, 1, gone[i]);
		ret = step_done(s, ST_UNCURRENT_ID);
	}
	free(gone);
	return ret;
}

int hub_store_put_roster(struct hub_store *s, const char *network,
			 uint64_t version,
			 const uint8_t (*admins)[MESH_KEY_LEN], unsigned n_admins,
			 const uint8_t signer[MESH_KEY_LEN],
			 const uint8_t (*keep)[MESH_KEY_LEN], unsigned n_keep,
			 const char *env, size_t env_len, uint64_t *id)
{
	char adm[HUB_ADMINS_JSON_MAX], dev[48];
	sqlite3_stmt *q;
	int ret;

	if (env_len > INT32_MAX || version > INT64_MAX)
		return -EINVAL;
	admins_json(adm, admins, n_admins);
	key_b64(dev, signer);
	ret = begin(s);
	if (ret)
		return ret;
	q = stmt(s, ST_UNCURRENT_ROSTER);
	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	ret = step_done(s, ST_UNCURRENT_ROSTER);
	if (ret == 0)
		ret = insert_msg(s, network, HUB_MSG_ROSTER, dev, env, env_len,
				 id);
	if (ret == 0) {
		q = stmt(s, ST_NET_UPDATE);
		sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, adm, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (int64_t)version);
		ret = step_done(s, ST_NET_UPDATE);
	}
	if (ret == 0)
		ret = drop_removed(s, network, keep, n_keep);
	return finish(s, ret);
}

int hub_store_put_announce(struct hub_store *s, const char *network,
			   const uint8_t device[MESH_KEY_LEN],
			   const char *env, size_t env_len, uint64_t *id)
{
	char dev[48];
	sqlite3_stmt *q;
	int ret;

	if (env_len > INT32_MAX)
		return -EINVAL;
	key_b64(dev, device);
	ret = begin(s);
	if (ret)
		return ret;
	q = stmt(s, ST_UNCURRENT);
	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, "announce", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, dev, -1, SQLITE_STATIC);
	ret = step_done(s, ST_UNCURRENT);
	if (ret == 0)
		ret = insert_msg(s, network, HUB_MSG_ANNOUNCE, dev, env,
				 env_len, id);
	return finish(s, ret);
}

void hub_msgs_free(struct hub_msg *msgs, unsigned n)
{
	for (unsigned i = 0; msgs && i < n; i++)
		free(msgs[i].env);
	free(msgs);
}

int hub_store_events(struct hub_store *s, const char *network, uint64_t since,
		     unsigned max, struct hub_msg **msgs, unsigned *n)
{
	sqlite3_stmt *q = stmt(s, ST_EVENTS);
	struct hub_msg *m = NULL;
	unsigned cap = 0, count = 0;
	int rc, ret = 0;

	*msgs = NULL;
	*n = 0;
	if (max > HUB_EVENTS_MAX)
		max = HUB_EVENTS_MAX;
	if (since > INT64_MAX)
		since = INT64_MAX;
	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (int64_t)since);
	sqlite3_bind_int(q, 3, (int)max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(q, 1);

		if (count == cap) {
			unsigned ncap = cap ? cap * 2 : 16;
			struct hub_msg *g = realloc(m, ncap * sizeof(*g));

			if (!g) {
				ret = -ENOMEM;
				break;
			}
			m = g;
			cap = ncap;
		}
		/* A row of another type (written by hand) is not a message. */
		if (!t || (strcmp(t, "roster") && strcmp(t, "announce")))
			continue;
		m[count].id = (uint64_t)sqlite3_column_int64(q, 0);
		m[count].type = strcmp(t, "roster") == 0 ? HUB_MSG_ROSTER
							 : HUB_MSG_ANNOUNCE;
		ret = column_dup(q, 2, &m[count].env, &m[count].env_len);
		if (ret)
			break;
		count++;
	}
	sqlite3_reset(q);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = -EIO;
	if (ret) {
		hub_msgs_free(m, count);
		return ret;
	}
	*msgs = m;
	*n = count;
	return 0;
}

int hub_store_last_id(struct hub_store *s, const char *network, uint64_t *id)
{
	sqlite3_stmt *q = stmt(s, ST_LAST_ID);
	int rc;

	*id = 0;
	sqlite3_bind_text(q, 1, network, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*id = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int hub_store_data_version(struct hub_store *s, int64_t *v)
{
	sqlite3_stmt *q = stmt(s, ST_DATA_VERSION);
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : -EIO;
}
