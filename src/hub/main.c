/* main.c - weft-hub: the team mesh's coordination hub (DESIGN.md §4).
 *   weft-hub [--listen ADDR:PORT] [--db sqlite:PATH|postgres://URI]
 *            [--relay ADDR:PORT|off] [--relay-rate MBIT] [--relay-only] [-v]
 *   weft-hub create-network NAME --admin-key KEY [--db ...]
 * It stores and forwards signed rosters and announcements; it holds no
 * secret and cannot forge either. Several hubs may share one PostgreSQL
 * database (store_pg.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hub/http.h"
#include "hub/relay.h"
#include "hub/store.h"
#include "os/linux/log.h"

#define DEFAULT_LISTEN "[::]:7480"
#define DEFAULT_DB "sqlite:/var/lib/weft-hub/hub.db"
#define DEFAULT_RELAY "[::]:3478"	/* both families; 0.0.0.0 without IPv6 */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weft-hub [--listen ADDR:PORT] [--db sqlite:PATH|postgres://URI]\n"
		"                [--relay ADDR:PORT|off] [--relay-rate MBIT] [--relay-only] [-v]\n"
		"       weft-hub create-network NAME --admin-key KEY [--db ...]\n"
		"defaults: --listen " DEFAULT_LISTEN " --db " DEFAULT_DB
		" --relay " DEFAULT_RELAY " --relay-rate %d (Mbit/s per device, 0: no limit)\n"
		"--relay-only: relay and STUN only, no HTTP API (the roster comes from --db)\n",
		RELAY_DEFAULT_MBIT);
}

/* "sqlite:PATH" -> PATH, its directory made 0700 if missing; a libpq URI
 * "postgres://..." or "postgresql://..." as it is. */
static const char *db_path(const char *db)
{
	static char dir[4096];
	const char *path;
	char *slash;

	if (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13))
		return db;
	if (strncmp(db, "sqlite:", 7) || !db[7]) {
		fprintf(stderr, "weft-hub: --db: give sqlite:PATH or postgres://USER@HOST/DB\n");
		return NULL;
	}
	path = db + 7;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			fprintf(stderr, "weft-hub: cannot create %s: %s\n", dir, strerror(errno));
			return NULL;
		}
	}
	return path;
}

static int create_network(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin-key", required_argument, NULL, 'k' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *db = DEFAULT_DB, *path, *name;
	char err[MESH_REASON_MAX];
	uint8_t admin[MESH_KEY_LEN];
	struct store *s;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !key) {
		usage(stderr);
		return 2;
	}
	name = argv[optind];
	if (!mesh_network_valid(name)) {
		fprintf(stderr, "weft-hub: network name \"%s\": use 1-63 of a-z 0-9 -\n", name);
		return 2;
	}
	if (!mesh_b64_decode(admin, sizeof(admin), key)) {
		fprintf(stderr, "weft-hub: --admin-key: not a base64 key; "
			"`weft admin init` prints it\n");
		return 2;
	}
	path = db_path(db);
	if (!path)
		return 1;
	if (store_open(&s, path, err)) {
		fprintf(stderr, "weft-hub: %s\n", err);
		return 1;
	}
	rc = store_network_create(s, name, admin);
	store_close(s);
	if (rc == -EEXIST) {
		fprintf(stderr, "weft-hub: network %s exists already\n", name);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "weft-hub: cannot record network %s: database error\n", name);
		return 1;
	}
	printf("network %s created\n", name);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "relay", required_argument, NULL, 'r' },
		{ "relay-rate", required_argument, NULL, 'R' },
		{ "relay-only", no_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = DEFAULT_LISTEN, *db = DEFAULT_DB, *path;
	const char *relay_at = DEFAULT_RELAY;
	unsigned long rate = RELAY_DEFAULT_MBIT;
	bool relay_only = false;
	char err[MESH_REASON_MAX], *end;
	struct hub_http *h = NULL;
	struct relay *relay = NULL;
	struct rlimit rl;
	sigset_t set;
	int c, sig = 0, verbosity = LOG_LEVEL_INFO;

	if (sodium_init() < 0) {
		fprintf(stderr, "weft-hub: libsodium failed to start\n");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "create-network"))
		return create_network(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "l:d:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 'r': relay_at = optarg; break;
		case 'R':
			errno = 0;
			rate = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || rate > 1000000) {
				fprintf(stderr, "weft-hub: --relay-rate %s: give Mbit/s per "
					"device, 0 to 1000000 (0: no limit)\n", optarg);
				return 2;
			}
			break;
		case 'O': relay_only = true; break;
		case 'v': verbosity = LOG_LEVEL_DEBUG; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("weft-hub", false, verbosity);
	/* Every long poll is a descriptor. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	path = db_path(db);
	if (!path)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (relay_only && !strcmp(relay_at, "off")) {
		fprintf(stderr, "weft-hub: --relay-only with --relay off leaves nothing to do\n");
		return 2;
	}
	if (strcmp(relay_at, "off")) {
		struct relay_config rc = {
			.db = path, .listen = relay_at,
			.bytes_per_sec = (uint64_t)rate * 1000000 / 8,
		};

		int e = relay_start(&relay, &rc, err);

		if ((e == -EAFNOSUPPORT || e == -EADDRNOTAVAIL) && !strcmp(relay_at, DEFAULT_RELAY)) {
			/* A host without IPv6: the default falls back to IPv4. */
			relay_at = rc.listen = "0.0.0.0:3478";
			e = relay_start(&relay, &rc, err);
		}
		if (e) {
			fprintf(stderr, "weft-hub: %s\n", err);
			return 1;
		}
		printf("relay and STUN on udp %s\n", relay_at);
	}
	if (!relay_only) {
		if (hub_http_start(&h, path, listen, err)) {
			fprintf(stderr, "weft-hub: %s\n", err);
			relay_stop(relay);
			return 1;
		}
		printf("listening on %s\n", listen);
	}
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		;
	if (h)
		hub_http_stop(h);
	relay_stop(relay);
	printf("stopped (signal %d)\n", sig);
	return 0;
}
