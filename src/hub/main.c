/* main.c - the weft-hub program: serve the hub API (http.h) until INT or
 * TERM, or record a network for the operator (create-network). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "hub/http.h"
#include "hub/store.h"
#include "os/linux/log.h"

#define DEFAULT_LISTEN "[::]:7480"
#define DEFAULT_DB "sqlite:/var/lib/weft-hub/hub.db"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weft-hub [--listen ADDR:PORT] [--db sqlite:PATH] [-v]\n"
		"       weft-hub create-network NAME --admin-key KEY "
		"[--db sqlite:PATH]\n"
		"defaults: --listen " DEFAULT_LISTEN " --db " DEFAULT_DB "\n");
}

/* "sqlite:PATH" -> PATH; NULL for anything else. */
static const char *db_path(const char *spec)
{
	if (strncmp(spec, "sqlite:", 7) != 0 || !spec[7])
		return NULL;
	return spec + 7;
}

/* Create the database's directory (and its parents) mode 0700 when it
 * does not exist. */
static int make_db_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static const char *open_db_dir(const char *spec)
{
	const char *path = db_path(spec);
	int ret;

	if (!path) {
		fprintf(stderr, "weft-hub: bad --db '%s': give sqlite:PATH\n",
			spec);
		return NULL;
	}
	if (strcmp(path, ":memory:") != 0 && (ret = make_db_dir(path)) != 0) {
		fprintf(stderr, "weft-hub: cannot create the directory of %s: "
			"%s\n", path, strerror(-ret));
		return NULL;
	}
	return path;
}

static int cmd_create_network(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin-key", required_argument, NULL, 'k' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *name, *key = NULL, *db = DEFAULT_DB, *path;
	char reason[MESH_REASON_MAX];
	uint8_t admin[MESH_KEY_LEN];
	struct hub_store *s;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !key) {
		fprintf(stderr, "weft-hub: create-network needs NAME and "
			"--admin-key KEY\n");
		usage(stderr);
		return 2;
	}
	name = argv[optind];
	if (!mesh_network_valid(name)) {
		fprintf(stderr, "weft-hub: bad network name '%s': 1-63 of "
			"a-z 0-9 -, not starting with -\n", name);
		return 2;
	}
	if (!mesh_b64_decode(admin, sizeof(admin), key)) {
		fprintf(stderr, "weft-hub: bad --admin-key: give the admin's "
			"public key (base64, 44 characters) as printed by "
			"weft admin init\n");
		return 2;
	}
	path = open_db_dir(db);
	if (!path)
		return 1;
	if (hub_store_open(&s, path, reason) != 0) {
		fprintf(stderr, "weft-hub: %s\n", reason);
		return 1;
	}
	ret = hub_store_create_network(s, name, admin, reason);
	hub_store_close(s);
	if (ret) {
		fprintf(stderr, "weft-hub: %s\n", reason);
		return 1;
	}
	printf("created network %s\n", name);
	return 0;
}

/* Long-polls hold one descriptor each: take all the kernel allows. */
static unsigned raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > HUB_HTTP_CONN_DEFAULT + 64)
		return HUB_HTTP_CONN_DEFAULT;
	return rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct hub_http_config cfg = { .listen = DEFAULT_LISTEN };
	const char *db = DEFAULT_DB;
	char bound[HUB_HTTP_ADDR_MAX], reason[MESH_REASON_MAX];
	struct sigaction sa;
	struct hub_http *h;
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'v':
			cfg.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "weft-hub: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	cfg.db_path = open_db_dir(db);
	if (!cfg.db_path)
		return 1;
	log_init("weft-hub", false, cfg.verbose ? LOG_LEVEL_DEBUG
						: LOG_LEVEL_INFO);
	cfg.max_connections = raise_nofile();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (hub_http_start(&h, &cfg, bound, reason) != 0) {
		fprintf(stderr, "weft-hub: %s\n", reason);
		return 1;
	}
	printf("listening on %s\n", bound);
	fflush(stdout);
	while (!stop_signal) {
		struct timespec ts = { 0, HUB_HTTP_TICK_MS * 1000 * 1000 };

		nanosleep(&ts, NULL);
		hub_http_tick(h);
	}
	hub_http_stop(h);
	fprintf(stderr, "weft-hub: stopped (%s)\n",
		stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "weft-hub: libsodium failed to start\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "create-network") == 0)
		return cmd_create_network(argc - 1, argv + 1);
	return cmd_serve(argc, argv);
}
