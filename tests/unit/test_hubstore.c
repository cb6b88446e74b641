/* test_hubstore.c - weft-hub's SQLite store: the schema as documented (in
 * WAL mode, usable by hand), networks created once, one current roster and
 * one current announcement per device, ids that only grow, events after an
 * id in order and limited (the store side of the long poll), a hand
 * written admins column pinning nobody, and store_wait_change() seeing
 * when another connection commits (what wakes long-polls) but not our
 * own commits. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "hub/store.h"

static char dir[64], path[96];
static const uint8_t K1[32] = { 1 };
static const uint8_t ADM[2][32] = { { 7 }, { 8 } };

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_hubstore.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_fresh(void)
{
	static unsigned n;
	char err[MESH_REASON_MAX];
	struct store *s;

	snprintf(path, sizeof(path), "%s/hub%u.db", dir, n++);
	assert_int_equal(store_open(&s, path, err), 0);
	return s;
}

static void exec_sql(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The ids of an events answer; *last its last. */
static unsigned events(struct store *s, uint64_t since, unsigned limit,
		       uint64_t *ids, uint64_t *last)
{
	json_t *j, *m;
	char *text = NULL;
	unsigned count = 99, n = 0;
	size_t i;

	assert_int_equal(store_events(s, "acme", since, limit, &text, &count), 0);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	json_array_foreach(json_object_get(j, "messages"), i, m)
		ids[n++] = (uint64_t)json_integer_value(json_object_get(m, "id"));
	*last = (uint64_t)json_integer_value(json_object_get(j, "last"));
	json_decref(j);
	free(text);
	assert_int_equal(count, n);
	return n;
}

static void test_open_errors(void **state)
{
	char err[MESH_REASON_MAX];
	struct store *s = NULL;

	(void)state;
	assert_int_not_equal(store_open(&s, "/nonexistent/dir/hub.db", err), 0);
	assert_null(strchr(err, '\n'));
	assert_true(strlen(err) > 0);
}

static void test_schema_wal(void **state)
{
	struct store *s = open_fresh();
	sqlite3 *db;
	sqlite3_stmt *q;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_exec(db,
		"SELECT name, admins, roster_version FROM networks;"
		"SELECT id, network, type, device, env, current FROM messages;",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_close(s);
}

static void test_networks(void **state)
{
	struct store *s = open_fresh();
	struct store_network n;

	(void)state;
	assert_int_equal(store_network_get(s, "acme", &n), -ENOENT);
	assert_int_equal(store_network_create(s, "acme", K1), 0);
	assert_int_equal(store_network_create(s, "acme", ADM[0]), -EEXIST);
	assert_int_equal(store_network_get(s, "acme", &n), 0);
	assert_int_equal(n.n_admins, 1);
	assert_memory_equal(n.admins[0], K1, 32);
	assert_int_equal(n.roster_version, 0);
	assert_null(n.roster_env);
	store_network_free(&n);
	exec_sql("UPDATE networks SET admins = 'not json'");
	assert_int_equal(store_network_get(s, "acme", &n), 0);
	assert_int_equal(n.n_admins, 0);
	store_network_free(&n);
	exec_sql("UPDATE networks SET admins = '[\"short\"]'");
	assert_int_equal(store_network_get(s, "acme", &n), 0);
	assert_int_equal(n.n_admins, 0);
	store_network_free(&n);
	store_close(s);
}

static void test_current_and_events(void **state)
{
	struct store *s = open_fresh();
	struct store_network n;
	uint64_t r1, r2, a1, a2, a3, ids[16], last;
	char *env;

	(void)state;
	assert_int_equal(store_network_create(s, "acme", K1), 0);
	assert_int_equal(store_network_create(s, "other", K1), 0);
	assert_int_equal(events(s, 0, 1000, ids, &last), 0);
	assert_int_equal(last, 0);

	assert_int_equal(store_put_roster(s, "acme", "{\"r\":1}", 1, ADM, 2, &r1), 0);
	assert_int_equal(store_put_announce(s, "acme", "K2", "{\"a\":1}", &a1), 0);
	assert_int_equal(store_put_announce(s, "acme", "K3", "{\"a\":2}", &a2), 0);
	assert_int_equal(store_put_announce(s, "acme", "K2", "{\"a\":3}", &a3), 0);
	assert_true(r1 < a1 && a1 < a2 && a2 < a3);

	assert_int_equal(store_network_get(s, "acme", &n), 0);
	assert_int_equal(n.roster_version, 1);
	assert_int_equal(n.n_admins, 2);
	assert_int_equal(n.admins[1][0], 8);
	assert_string_equal(n.roster_env, "{\"r\":1}");
	assert_int_equal(n.roster_id, r1);
	store_network_free(&n);
	/* Holding that roster already: only its id comes back. */
	assert_int_equal(store_network_get_cached(s, "acme", r1, &n), 0);
	assert_null(n.roster_env);
	assert_int_equal(n.roster_id, r1);
	assert_int_equal(n.roster_version, 1);
	store_network_free(&n);
	/* Holding another one: the current one is sent. */
	assert_int_equal(store_network_get_cached(s, "acme", r1 + 1000, &n), 0);
	assert_string_equal(n.roster_env, "{\"r\":1}");
	store_network_free(&n);

	assert_int_equal(store_current_announce(s, "acme", "K2", &env), 0);
	assert_string_equal(env, "{\"a\":3}");
	free(env);
	env = (char *)1;
	assert_int_equal(store_current_announce(s, "acme", "K9", &env), 0);
	assert_null(env);
	assert_int_equal(store_current_announce(s, "other", "K2", &env), 0);
	assert_null(env);

	/* Current messages only, in id order; since excludes; limit. */
	assert_int_equal(events(s, 0, 1000, ids, &last), 3);
	assert_int_equal(ids[0], r1);
	assert_int_equal(ids[1], a2);
	assert_int_equal(ids[2], a3);
	assert_int_equal(last, a3);
	assert_int_equal(events(s, a2, 1000, ids, &last), 1);
	assert_int_equal(ids[0], a3);
	assert_int_equal(events(s, 0, 2, ids, &last), 2);
	assert_int_equal(last, a2);
	/* The long poll at the store: nothing after the last id, then the
	 * new message alone. */
	assert_int_equal(events(s, a3, 1000, ids, &last), 0);
	assert_int_equal(last, a3);
	assert_int_equal(store_put_roster(s, "acme", "{\"r\":2}", 2, ADM, 1, &r2), 0);
	/* The same version again (another hub got there first): nothing
	 * stored. */
	assert_int_equal(store_put_roster(s, "acme", "{\"r\":3}", 2, ADM, 1, &a1), -ESTALE);
	assert_int_equal(events(s, a3, 1000, ids, &last), 1);
	assert_int_equal(ids[0], r2);
	/* One current roster. */
	assert_int_equal(events(s, 0, 1000, ids, &last), 3);
	assert_int_equal(ids[0], a2);
	assert_int_equal(ids[2], r2);
	assert_int_equal(store_network_get(s, "acme", &n), 0);
	assert_int_equal(n.roster_version, 2);
	assert_int_equal(n.n_admins, 1);
	store_network_free(&n);
	store_close(s);
}

static void test_wait_change(void **state)
{
	struct store *s = open_fresh(), *t;
	char err[MESH_REASON_MAX];
	uint64_t id;

	(void)state;
	assert_int_equal(store_open(&t, path, err), 0);
	assert_int_equal(store_network_create(s, "acme", K1), 0);
	(void)store_wait_change(s, 0);
	assert_int_equal(store_put_announce(s, "acme", "K2", "{}", &id), 0);
	assert_int_equal(store_wait_change(s, 0), 0);	/* our own */
	assert_int_equal(store_put_announce(t, "acme", "K3", "{}", &id), 0);
	assert_true(store_wait_change(s, 10) > 0);
	assert_int_equal(store_wait_change(s, 0), 0);	/* seen */
	exec_sql("INSERT INTO messages(network, type, device, env, current) "
		 "VALUES('acme', 'announce', 'x', '{}', 1)");
	assert_true(store_wait_change(s, 0) > 0);
	store_close(t);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_schema_wal),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_current_and_events),
		cmocka_unit_test(test_wait_change),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
