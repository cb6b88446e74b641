/* cmd_down.c - `weft down [IF]` stops a running weft client or server (it
 * puts the host back itself); `weft cleanup [IF]` puts back what one that
 * was killed left behind, from its undo journal (vpn/journal.h), the kill
 * switch included. Without IF, every interface that has a pid file or a
 * journal. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/subcommands.h"
#include "cli/vpnopts.h"
#include "os/linux/firewall.h"
#include "os/linux/log.h"
#include "vpn/journal.h"
#include "vpn/pidfile.h"

enum { MAX_NAMES = 64, DOWN_WAIT_MS = 15000 };

static int add_name(char names[][16], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return n;
	if (n >= MAX_NAMES || strlen(name) >= 16)
		return n;
	snprintf(names[n], 16, "%s", name);
	return n + 1;
}

/* Interfaces with a pid file in run_dir or a journal in state_dir. */
static int all_names(const char *state_dir, const char *run_dir,
		     char names[][16])
{
	char j[MAX_NAMES][16];
	int n = 0, nj = journal_list(state_dir, j, MAX_NAMES);
	DIR *d = opendir(run_dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char name[16];

		if (len <= 4 || len - 4 >= sizeof(name) ||
		    strcmp(e->d_name + len - 4, ".pid"))
			continue;
		memcpy(name, e->d_name, len - 4);
		name[len - 4] = '\0';
		n = add_name(names, n, name);
	}
	if (d)
		closedir(d);
	for (int i = 0; i < nj; i++)
		n = add_name(names, n, j[i]);
	return n;
}

static bool wait_gone(pid_t pid)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	for (int waited = 0; waited < DOWN_WAIT_MS; waited += 50) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Undo ifname's journal and any kill switch table left without one. */
static int undo(const char *state_dir, const char *ifname)
{
	int ret = journal_undo(state_dir, ifname), left;
	static const char *const mesh_dirs[] = { "use", "serve" };

	/* A mesh node's helper keeps its journals in <state>/<IF>/{use,serve}. */
	for (size_t i = 0; ret >= 0 && i < 2; i++) {
		char dir[PATH_MAX];
		int r;

		if (snprintf(dir, sizeof(dir), "%s/%s/%s", state_dir, ifname, mesh_dirs[i]) >=
		    (int)sizeof(dir))
			continue;
		r = journal_undo(dir, ifname);
		ret = r < 0 ? r : ret + r;
	}

	if (ret < 0) {
		fprintf(stderr, "%s: %s: could not put everything back (see above); run `weft cleanup %s` again once fixed\n",
			prog_name, ifname, ifname);
		return -1;
	}
	left = fw_table_exists(ifname);
	if (left == 1 && fw_remove(ifname) == 0)
		ret++;
	if (ret > 0)
		printf("%s: put back %d change%s\n", ifname, ret, ret == 1 ? "" : "s");
	return ret;
}

static int run(int argc, char *argv[], bool stop)
{
	char state_dir[PATH_MAX] = "", run_dir[PATH_MAX], names[MAX_NAMES][16];
	int n = 0, status = 0, did = 0;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "Usage: %s %s [INTERFACE]\n", prog_name,
			stop ? "down" : "cleanup");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 1;
	}
	if (!vpnopts_need_root(stop ? "weft down" : "weft cleanup") ||
	    !vpnopts_dirs(state_dir, sizeof(state_dir), run_dir, sizeof(run_dir)))
		return 1;
	log_init("weft", false, LOG_LEVEL_INFO);
	if (argc == 2) {
		if (!vpnopts_ifname(argv[1], names[0]))
			return 1;
		n = 1;
	} else {
		n = all_names(state_dir, run_dir, names);
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = pidfile_running(run_dir, names[i]);

		if (pid && !stop) {
			fprintf(stderr, "%s: %s is in use by a running weft (pid %ld): stop it with `weft down %s`\n",
				prog_name, names[i], (long)pid, names[i]);
			status = 1;
			continue;
		}
		if (pid) {
			if (kill(pid, SIGTERM) < 0 || !wait_gone(pid)) {
				fprintf(stderr, "%s: %s: pid %ld did not stop within %d s\n",
					prog_name, names[i], (long)pid,
					DOWN_WAIT_MS / 1000);
				status = 1;
				continue;
			}
			printf("%s: stopped (pid %ld)\n", names[i], (long)pid);
			did++;
		}
		int r = undo(state_dir, names[i]);

		if (r < 0)
			status = 1;
		did += r > 0;
	}
	if (!did && !status)
		printf("nothing to %s\n", stop ? "stop" : "clean up");
	return status;
}

int down_main(int argc, char *argv[])
{
	return run(argc, argv, true);
}

int cleanup_main(int argc, char *argv[])
{
	return run(argc, argv, false);
}
