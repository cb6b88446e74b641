/* store_pg.c - weft-hub's PostgreSQL backend (store.h), so that several
 * hubs can serve one set of networks from one database.
 *
 * Every statement goes through PQexecParams with its values as
 * parameters; every multi-row change is one transaction.
 *
 * Message ids across hubs. A node asks for the messages with id > the
 * last it saw, so no message may ever become visible with an id below
 * one a reader has already seen. A sequence alone does not give that:
 * transaction A takes id 7, B takes id 8 and commits, a reader sees 8 and
 * moves past 7, and then A commits. So every inserting transaction first
 * takes one transaction-scoped advisory lock (MSG_LOCK) and holds it
 * until it ends: ids are drawn in lock order and each commit happens
 * before the next writer draws, hence commit order is id order, and a
 * snapshot that shows id N shows every committed id below N. Ids of
 * rolled-back transactions are simply never used. (Whoever writes the
 * messages table by hand must take the same lock.)
 *
 * Waking other hubs. The inserting transaction also NOTIFYs NOTIFY_CHANNEL
 * with the network's name; PostgreSQL delivers it to every listener on
 * commit, after the rows are visible. The ticker's connection LISTENs
 * and store_wait_change() returns as soon as one arrives.
 *
 * A lost server. A connection found broken (an error, or end of file
 * seen before a request) is reset, at most once per backoff interval
 * (PG_BACKOFF_MIN_MS doubling to PG_BACKOFF_MAX_MS); until then every
 * call fails at once with -ENOTCONN, which the API answers with 503. The
 * listening connection logs the loss and the return, one line each. */
#define _GNU_SOURCE
#include "hub/store_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "os/linux/log.h"

enum pg_limits {
	PG_BACKOFF_MIN_MS = 100,
	PG_BACKOFF_MAX_MS = 2000,
};

/* Advisory lock keys: (WEFT, n); 0x77656674 is "weft" in ASCII. */
#define LOCK_SCHEMA "2003133044, 1"
#define LOCK_MSG "2003133044, 2"
#define NOTIFY_CHANNEL "weft_messages"

struct pg_store {
	struct store s;		/* first: the front's handle */
	PGconn *conn;
	bool listening;		/* the ticker's: LISTENs, logs the server's state */
	bool down;		/* broken and not reset yet */
	bool reported;		/* the loss was logged */
	bool fresh;		/* reset since store_wait_change() last looked */
	int backoff_ms;
	int64_t retry_ms;	/* no reset before (monotonic) */
};

static const struct store_ops pg_ops;

/* CREATE ... IF NOT EXISTS is not safe against itself when two hubs start
 * at once (both may try to create the type): hence the lock. */
static const char schema[] =
	"BEGIN;"
	"SELECT pg_advisory_xact_lock(" LOCK_SCHEMA ");"
	"CREATE TABLE IF NOT EXISTS networks(name TEXT PRIMARY KEY, admins TEXT NOT NULL,"
	" roster_version BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS messages(id BIGSERIAL PRIMARY KEY,"
	" network TEXT NOT NULL, type TEXT NOT NULL, device TEXT NOT NULL,"
	" env TEXT NOT NULL, current INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS messages_current ON messages(network, current, id);"
	"CREATE INDEX IF NOT EXISTS messages_device ON messages(network, type, device, current);"
	"COMMIT;";

static struct pg_store *to_pg(struct store *s)
{
	return (struct pg_store *)s;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's messages span lines ("...failed: X\n\tIs the server
 * running...", "ERROR: ...\nLINE 1: ..."): the first says it. */
static void one_line(char *out, size_t len, const char *msg)
{
	size_t n = msg ? strcspn(msg, "\r\n") : 0;

	if (n >= len)
		n = len - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
}

/* The server's NOTICEs ("relation exists, skipping") are not for the
 * operator. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int store_pg_open(struct store **out, const char *uri, char err[MESH_REASON_MAX])
{
	/* Keywords after the expanded dbname override it, so the URI's own
	 * connect_timeout wins over this default. */
	static const char *const keys[] = { "connect_timeout",
		"fallback_application_name", "dbname", NULL };
	const char *values[] = { "5", "weft-hub", uri, NULL };
	char line[MESH_REASON_MAX];
	struct pg_store *s;
	PGresult *r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->s.ops = &pg_ops;
	s->conn = PQconnectdbParams(keys, values, 1);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		/* Not the URI: it may hold a password. */
		one_line(line, sizeof(line), s->conn ? PQerrorMessage(s->conn) : "out of memory");
		snprintf(err, MESH_REASON_MAX, "cannot connect to PostgreSQL: %.160s", line);
		PQfinish(s->conn);
		free(s);
		return -ENOTCONN;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	r = PQexec(s->conn, schema);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		one_line(line, sizeof(line), PQerrorMessage(s->conn));
		snprintf(err, MESH_REASON_MAX, "PostgreSQL: cannot create the schema: %.150s", line);
		PQclear(r);
		PQfinish(s->conn);
		free(s);
		return -EIO;
	}
	PQclear(r);
	*out = &s->s;
	return 0;
}

static void pg_close(struct store *ss)
{
	struct pg_store *s = to_pg(ss);

	PQfinish(s->conn);
	free(s);
}

static void report(struct pg_store *s, bool lost)
{
	char line[MESH_REASON_MAX];

	if (!lost) {
		if (s->listening)
			log_info("hub: database connection restored");
		else
			log_debug("hub: database connection restored");
		return;
	}
	one_line(line, sizeof(line), PQerrorMessage(s->conn));
	if (s->listening)
		log_warn("hub: database connection lost (%s); answering 503 and "
			 "reconnecting", line);
	else
		log_debug("hub: database connection lost (%s)", line);
}

static bool listen_to(struct pg_store *s)
{
	PGresult *r = PQexec(s->conn, "LISTEN " NOTIFY_CHANNEL);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok;
}

/* A usable connection: 0 (fresh set when it was just re-established);
 * -ENOTCONN while the server is away. */
static int ready(struct pg_store *s)
{
	struct pollfd p = { .fd = PQsocket(s->conn), .events = POLLIN };
	int64_t now;
	bool ok;

	/* A server that went away left end of file on the socket: see it
	 * now rather than fail the request. */
	if (PQstatus(s->conn) == CONNECTION_OK && p.fd >= 0 && poll(&p, 1, 0) > 0)
		(void)PQconsumeInput(s->conn);
	if (PQstatus(s->conn) == CONNECTION_OK && !s->down)
		return 0;
	now = now_ms();
	if (s->down && now < s->retry_ms)
		return -ENOTCONN;
	PQreset(s->conn);
	ok = PQstatus(s->conn) == CONNECTION_OK;
	if (ok && s->listening)
		ok = listen_to(s);
	if (!ok) {
		if (!s->reported)
			report(s, true);
		s->reported = true;
		s->down = true;
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : PG_BACKOFF_MIN_MS;
		if (s->backoff_ms > PG_BACKOFF_MAX_MS)
			s->backoff_ms = PG_BACKOFF_MAX_MS;
		s->retry_ms = now + s->backoff_ms;
		return -ENOTCONN;
	}
	if (s->reported)
		report(s, false);
	s->reported = false;
	s->down = false;
	s->backoff_ms = 0;
	s->fresh = true;
	return 0;
}

/* Run sql with params; the result when its status is want (for
 * PGRES_COMMAND_OK also rows: a SELECT of a function), else NULL and
 * *err: -ENOTCONN (the connection broke: it is reset later), -EEXIST (a
 * unique key) or -EIO. */
static PGresult *run(struct pg_store *s, const char *sql, int n,
		     const char *const *params, ExecStatusType want, int *err)
{
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	const char *state;
	char line[MESH_REASON_MAX];

	if (PQresultStatus(r) == want ||
	    (want == PGRES_COMMAND_OK && PQresultStatus(r) == PGRES_TUPLES_OK))
		return r;
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (PQstatus(s->conn) != CONNECTION_OK) {
		*err = -ENOTCONN;
	} else if (state && !strcmp(state, "23505")) {
		*err = -EEXIST;
	} else {
		*err = -EIO;
		one_line(line, sizeof(line), PQerrorMessage(s->conn));
		log_warn("hub: database: %s", line);
	}
	PQclear(r);
	return NULL;
}

/* A statement whose result is only its success. */
static int exec(struct pg_store *s, const char *sql, int n, const char *const *params)
{
	int err = 0;
	PGresult *r = run(s, sql, n, params, PGRES_COMMAND_OK, &err);

	PQclear(r);
	return err;
}

static int pg_network_create(struct store *ss, const char *name,
			     const uint8_t admin[MESH_KEY_LEN])
{
	struct pg_store *s = to_pg(ss);
	char *admins = store_admins_json((const uint8_t (*)[MESH_KEY_LEN])admin, 1);
	const char *p[] = { name, admins };
	int err = ready(s);

	if (!admins)
		err = -ENOMEM;
	if (!err)
		err = exec(s, "INSERT INTO networks(name, admins) VALUES($1, $2)", 2, p);
	free(admins);
	return err;
}

static int pg_network_get(struct store *ss, const char *name, uint64_t have_id,
			  struct store_network *out)
{
	struct pg_store *s = to_pg(ss);
	char have[24];
	const char *p[] = { name, have };
	PGresult *r;
	int err = ready(s);

	if (err)
		return err;
	/* One statement, one snapshot: the version and the roster agree. */
	/* A roster the caller holds is not sent again: at thousands of
	 * devices it is most of a request's cost (and TOASTed, decompressed
	 * for every read). */
	snprintf(have, sizeof(have), "%" PRIu64, have_id);
	r = run(s, "SELECT n.admins, n.roster_version,"
		   " CASE WHEN m.id = $2::bigint THEN NULL ELSE m.env END, m.id FROM networks n"
		   " LEFT JOIN LATERAL (SELECT env, id FROM messages WHERE network = n.name"
		   " AND type = 'roster' AND current = 1 ORDER BY id DESC LIMIT 1) m ON true"
		   " WHERE n.name = $1", 2, p, PGRES_TUPLES_OK, &err);
	if (!r)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return -ENOENT;
	}
	store_admins_parse(PQgetvalue(r, 0, 0), out);
	out->roster_version = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	if (!PQgetisnull(r, 0, 3))
		out->roster_id = strtoull(PQgetvalue(r, 0, 3), NULL, 10);
	if (!PQgetisnull(r, 0, 2) && !(out->roster_env = strdup(PQgetvalue(r, 0, 2))))
		err = -ENOMEM;
	PQclear(r);
	return err;
}

static int pg_current_announce(struct store *ss, const char *network,
			       const char *device, char **env)
{
	struct pg_store *s = to_pg(ss);
	const char *p[] = { network, device };
	PGresult *r;
	int err = ready(s);

	if (err)
		return err;
	r = run(s, "SELECT env FROM messages WHERE network = $1 AND type = 'announce'"
		   " AND device = $2 AND current = 1 ORDER BY id DESC LIMIT 1",
		2, p, PGRES_TUPLES_OK, &err);
	if (!r)
		return err;
	if (PQntuples(r) == 1) {
		*env = strdup(PQgetvalue(r, 0, 0));
		if (!*env)
			err = -ENOMEM;
	}
	PQclear(r);
	return err;
}

/* The body of an inserting transaction (see the top of the file). */
static int put(struct pg_store *s, const char *network, const char *type,
	       const char *device, const char *env, uint64_t *id)
{
	const char *p[] = { network, type, device, env };
	PGresult *r;
	int err;

	err = exec(s, "SELECT pg_advisory_xact_lock(" LOCK_MSG ")", 0, NULL);
	if (!err)
		err = exec(s, "UPDATE messages SET current = 0 WHERE network = $1"
			      " AND type = $2 AND device = $3 AND current = 1", 3, p);
	if (err)
		return err;
	r = run(s, "INSERT INTO messages(network, type, device, env, current)"
		   " VALUES($1, $2, $3, $4, 1) RETURNING id", 4, p, PGRES_TUPLES_OK, &err);
	if (!r)
		return err;
	*id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return exec(s, "SELECT pg_notify('" NOTIFY_CHANNEL "', $1)", 1, p);
}

static int begin(struct pg_store *s)
{
	int err = ready(s);

	return err ? err : exec(s, "BEGIN", 0, NULL);
}

static int end(struct pg_store *s, int err)
{
	if (err) {
		PQclear(PQexec(s->conn, "ROLLBACK"));
		return err;
	}
	return exec(s, "COMMIT", 0, NULL);
}

static int pg_put_roster(struct store *ss, const char *network, const char *env,
			 uint64_t version, const uint8_t (*admins)[MESH_KEY_LEN],
			 unsigned n_admins, uint64_t *id)
{
	struct pg_store *s = to_pg(ss);
	char *a = store_admins_json(admins, n_admins), v[24];
	const char *p[] = { a, v, network };
	PGresult *r;
	int err;

	if (!a)
		return -ENOMEM;
	snprintf(v, sizeof(v), "%" PRIu64, version);
	err = begin(s);
	if (err) {
		free(a);
		return err;
	}
	err = put(s, network, "roster", "", env, id);
	/* Another hub may have stored this version since the caller
	 * looked: under the lock, the version must still be newer. */
	if (!err) {
		r = run(s, "UPDATE networks SET admins = $1, roster_version = $2"
			   " WHERE name = $3 AND roster_version < $2", 3, p,
			PGRES_COMMAND_OK, &err);
		if (r && strcmp(PQcmdTuples(r), "1"))
			err = -ESTALE;
		PQclear(r);
	}
	free(a);
	return end(s, err);
}

static int pg_put_announce(struct store *ss, const char *network, const char *device,
			   const char *env, uint64_t *id)
{
	struct pg_store *s = to_pg(ss);
	int err = begin(s);

	if (err)
		return err;
	return end(s, put(s, network, "announce", device, env, id));
}

static int pg_events(struct store *ss, const char *network, uint64_t since,
		     unsigned limit, char **json, unsigned *count)
{
	struct pg_store *s = to_pg(ss);
	char a[24], b[16];
	const char *p[] = { network, a, b };
	uint64_t last = since;
	json_t *msgs;
	PGresult *r;
	int err = ready(s), i;

	if (err)
		return err;
	/* Ids are BIGINT: a larger since asks for nothing, not for an error. */
	snprintf(a, sizeof(a), "%" PRIu64, since > INT64_MAX ? (uint64_t)INT64_MAX : since);
	snprintf(b, sizeof(b), "%u", limit);
	r = run(s, "SELECT id, type, env FROM messages WHERE network = $1"
		   " AND current = 1 AND id > $2 ORDER BY id LIMIT $3", 3, p,
		PGRES_TUPLES_OK, &err);
	if (!r)
		return err;
	msgs = json_array();
	for (i = 0; msgs && i < PQntuples(r); i++) {
		last = strtoull(PQgetvalue(r, i, 0), NULL, 10);
		store_events_add(msgs, last, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
		(*count)++;
	}
	PQclear(r);
	*json = msgs ? store_events_dump(msgs, last) : NULL;
	json_decref(msgs);
	return *json ? 0 : -ENOMEM;
}

static int drain(struct pg_store *s)
{
	PGnotify *n;
	int count = 0;

	while ((n = PQnotifies(s->conn))) {
		count++;
		PQfreemem(n);
	}
	return count;
}

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static int pg_wait_change(struct store *ss, int timeout_ms)
{
	struct pg_store *s = to_pg(ss);
	struct pollfd p = { .events = POLLIN };
	int err, n;

	if (!s->listening) {
		s->listening = true;
		/* Failing that, ready() resets and listens. */
		if (!ready(s) && !listen_to(s))
			s->down = true;
		s->fresh = false;
	}
	err = ready(s);
	if (err) {
		nap(timeout_ms);
		return err;
	}
	if (s->fresh) {
		s->fresh = false;
		return 1;	/* back: what happened meanwhile is unknown */
	}
	n = drain(s);
	if (n)
		return n;
	p.fd = PQsocket(s->conn);
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	if (!PQconsumeInput(s->conn))
		return -ENOTCONN;	/* ready() resets it next time */
	return drain(s);
}

static const struct store_ops pg_ops = {
	.close = pg_close,
	.network_create = pg_network_create,
	.network_get = pg_network_get,
	.current_announce = pg_current_announce,
	.put_roster = pg_put_roster,
	.put_announce = pg_put_announce,
	.events = pg_events,
	.wait_change = pg_wait_change,
};
