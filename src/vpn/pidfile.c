/* pidfile.c - see pidfile.h. */
#define _GNU_SOURCE
#include "vpn/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool make_path(char path[PIDFILE_PATH_MAX], const char *run_dir,
		      const char *ifname)
{
	int n = snprintf(path, PIDFILE_PATH_MAX, "%s/%s.pid", run_dir, ifname);

	return n > 0 && n < PIDFILE_PATH_MAX;
}

int pidfile_write(const char *run_dir, const char *ifname,
		  char path[PIDFILE_PATH_MAX])
{
	char buf[32];
	int fd, n;

	path[0] = '\0';
	if (!make_path(path, run_dir, ifname)) {
		path[0] = '\0';
		return -ENAMETOOLONG;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		n = -errno;
		path[0] = '\0';
		return n;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		unlink(path);
		path[0] = '\0';
		return -EIO;
	}
	close(fd);
	return 0;
}

void pidfile_remove(const char *path)
{
	if (path && path[0])
		unlink(path);
}

pid_t pidfile_running(const char *run_dir, const char *ifname)
{
	char path[PIDFILE_PATH_MAX], buf[32], *end;
	FILE *f;
	long pid;

	if (!make_path(path, run_dir, ifname) || !(f = fopen(path, "re")))
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return 0;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
		unlink(path);	/* stale: its process is gone */
		return 0;
	}
	return (pid_t)pid;
}
