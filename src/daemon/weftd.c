/* weftd.c - the weft node daemon. `weftd [-f] IFNAME` behaves like
 * `wireguard-go IFNAME`: it creates the TUN interface, serves the UAPI
 * socket and is configured by wg(8) / wg-quick(8). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/ct.h"
#include "daemon/daemon.h"
#include "os/linux/log.h"
#include "os/linux/unixsock.h"

#ifndef WEFT_VERSION
#define WEFT_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: weftd [-f/--foreground] INTERFACE-NAME\n"
		"\n"
		"Creates the TUN interface INTERFACE-NAME and serves the WireGuard\n"
		"configuration protocol on /var/run/wireguard/INTERFACE-NAME.sock;\n"
		"configure it with wg(8) or `weft setconf`, or let wg-quick(8) drive it:\n"
		"  WG_QUICK_USERSPACE_IMPLEMENTATION=weftd wg-quick up wg0\n"
		"\n"
		"  -f, --foreground   stay in the foreground (also WG_PROCESS_FOREGROUND=1)\n"
		"  -v, --version      print the version\n"
		"Environment: LOG_LEVEL=error|verbose|silent (default error when\n"
		"daemonized and output goes nowhere, info in the foreground).\n");
}

static int log_level_from_env(bool foreground)
{
	const char *l = getenv("LOG_LEVEL");

	if (!l || !*l)
		return foreground ? LOG_LEVEL_INFO : LOG_LEVEL_ERR;
	if (!strcmp(l, "verbose") || !strcmp(l, "debug"))
		return LOG_LEVEL_DEBUG;
	if (!strcmp(l, "error"))
		return LOG_LEVEL_ERR;
	if (!strcmp(l, "silent"))
		return LOG_LEVEL_SILENT;
	return LOG_LEVEL_INFO;
}

/* Fork into the background like wireguard-go: the parent exits only once
 * the child has created the interface (or reports its failure), so that
 * wg-quick can configure it right after we return. Returns the write end
 * of the readiness pipe in the child. */
static int daemonize(void)
{
	int pfd[2];
	pid_t pid;
	char status = 1;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		fprintf(stderr, "weftd: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "weftd: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &status, 1) != 1)
			status = 1;
		exit(status);
	}
	close(pfd[0]);
	if (setsid() < 0)
		exit(1);
	return pfd[1];
}

static void detach_stdio(bool keep_output)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	if (!keep_output) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (fd > STDERR_FILENO)
		close(fd);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fg_env = getenv("WG_PROCESS_FOREGROUND");
	bool foreground = fg_env && !strcmp(fg_env, "1");
	struct daemon *dm;
	int c, ready_fd = -1, ret;

	while ((c = getopt_long(argc, argv, "fvh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'v':
			printf("weftd %s\n", WEFT_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (!crypto_init()) {
		fprintf(stderr, "weftd: the crypto libraries failed to start\n");
		return 1;
	}

	int level = log_level_from_env(foreground);

	if (!foreground)
		ready_fd = daemonize();
	/* Log lines carry the interface name, unless the name is the error. */
	log_init(uapi_ifname_valid(argv[optind]) ? argv[optind] : "weftd", false,
		 level);

	dm = calloc(1, sizeof(*dm));
	if (!dm) {
		log_err("out of memory");
		return 1;
	}
	ret = daemon_init(dm, argv[optind]);
	if (ret < 0) {
		daemon_destroy(dm);
		free(dm);
		return 1;
	}
	if (ready_fd >= 0) {
		char ok = 0;

		detach_stdio(getenv("LOG_LEVEL") && level != LOG_LEVEL_SILENT);
		if (write(ready_fd, &ok, 1) != 1)
			log_warn("could not signal readiness to the parent");
		close(ready_fd);
	}
	ret = daemon_run(dm);
	daemon_log_counters(dm);
	daemon_destroy(dm);
	free(dm);
	log_info("shut down");
	return ret;
}
