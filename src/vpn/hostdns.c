/* hostdns.c - DNS through the tunnel: systemd-resolved per-link settings or
 * a rewritten resolv.conf, each journaled before it is made. */
#define _GNU_SOURCE
#include "vpn/hostdns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os/linux/fw_rules.h"
#include "os/linux/log.h"
#include "vpn/hostfile.h"
#include "vpn/journal.h"

extern char **environ;

enum {
	DEFAULT_PATH_MAX = 4096,	/* of $PATH scanned for resolvectl */
	WAIT_STEP_MS = 5,
	/* The header, three nameserver lines, and the kept lines. */
	RESOLV_OUT_MAX = HOSTDNS_RESOLV_MAX + 512,
};

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* An executable called name in $PATH (or the default path) into out. */
static bool find_program(const char *name, char out[PATH_MAX])
{
	const char *path = getenv("PATH"), *p, *end;

	if (!path || !*path || strnlen(path, DEFAULT_PATH_MAX) >= DEFAULT_PATH_MAX)
		path = default_path;
	for (p = path; *p; p = *end ? end + 1 : end) {
		size_t len;

		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		if (len == 0 || p[0] != '/')
			continue;	/* only absolute directories */
		if (len + 1 + strlen(name) + 1 > PATH_MAX)
			continue;
		snprintf(out, PATH_MAX, "%.*s/%s", (int)len, p, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run argv (argv[0] a program name looked up in $PATH), bounded in time.
 * 0 when it exited 0; -ENOENT when it is not installed; -ETIMEDOUT; -EIO
 * for any other exit. */
static int run(char *const argv[])
{
	char prog[PATH_MAX];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int64_t deadline;
	pid_t pid;
	int st, ret;

	if (!find_program(argv[0], prog))
		return -ENOENT;
	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	if (posix_spawnattr_init(&at)) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	sigemptyset(&none);
	sigfillset(&all);
	ret = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!ret)
		ret = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!ret)
		ret = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	if (!ret)
		ret = posix_spawnattr_setsigmask(&at, &none);
	if (!ret)
		ret = posix_spawnattr_setsigdefault(&at, &all);
	if (!ret)
		ret = posix_spawn(&pid, prog, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (ret)
		return -ret;

	deadline = now_ms() + JOURNAL_CHILD_TIMEOUT_MS;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ 0, WAIT_STEP_MS * 1000000L }, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return -EIO;
}

/* Run and log a failure as one line with the whole command. */
static int run_logged(char *const argv[])
{
	char cmd[256];
	size_t len = 0;
	int ret = run(argv);

	if (!ret)
		return 0;
	cmd[0] = '\0';
	for (size_t i = 0; argv[i] && len < sizeof(cmd); i++) {
		int n = snprintf(cmd + len, sizeof(cmd) - len, "%s%s",
				 i ? " " : "", argv[i]);

		if (n < 0)
			break;
		len += (size_t)n;
	}
	log_err("`%s` failed: %s%s", cmd,
		ret == -EIO ? "it exited with an error" : strerror(-ret),
		ret == -ENOENT ? " (is systemd-resolved installed?)" : "");
	return ret;
}

int hostdns_resolved_revert(const char *ifname)
{
	char *argv[] = { "resolvectl", "revert", (char *)ifname, NULL };
	int ret;

	if (!fw_ifname_valid(ifname))
		return -EINVAL;
	if (if_nametoindex(ifname) == 0)
		return 0;	/* the link and its DNS settings are gone */
	ret = run_logged(argv);
	/* It may have gone while resolvectl looked for it. */
	if (ret && if_nametoindex(ifname) == 0)
		return 0;
	return ret;
}

enum hostdns_mode hostdns_detect(const char *resolv_path)
{
	char target[PATH_MAX], prog[PATH_MAX];
	ssize_t n;

	n = readlink(resolv_path ? resolv_path : HOSTDNS_RESOLV_CONF, target,
		     sizeof(target) - 1);
	if (n <= 0)
		return HOSTDNS_FILE;
	target[n] = '\0';
	if (!strstr(target, "run/systemd/resolve/"))
		return HOSTDNS_FILE;
	return find_program("resolvectl", prog) ? HOSTDNS_RESOLVED : HOSTDNS_FILE;
}

static bool servers_ok(const struct hostdns_server *s, size_t n)
{
	if (!s || n == 0 || n > HOSTDNS_MAX_SERVERS)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i].family != AF_INET && s[i].family != AF_INET6)
			return false;
	return true;
}

/* A line of the original to keep: search, domain and options. */
static bool keep_line(const char *p, size_t len)
{
	static const char *const words[] = { "search", "domain", "options" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t w = strlen(words[i]);

		if (len > w && !memcmp(p, words[i], w) &&
		    (p[w] == ' ' || p[w] == '\t'))
			return true;
	}
	return false;
}

int hostdns_resolv_text(const char *ifname, const struct hostdns_server *s,
			size_t n, const char *orig, size_t orig_len, char *out,
			size_t cap)
{
	size_t len = 0, i = 0;
	int w;

	if (!fw_ifname_valid(ifname) || !servers_ok(s, n) || !out || cap == 0 ||
	    (orig_len && !orig))
		return -EINVAL;
	out[0] = '\0';
	w = snprintf(out, cap,
		     "# Written by weft for %s: `weft down %s` restores the original.\n",
		     ifname, ifname);
	if (w < 0 || (size_t)w >= cap)
		return -ENOSPC;
	len = (size_t)w;
	for (size_t k = 0; k < n; k++) {
		char a[INET6_ADDRSTRLEN];

		if (!inet_ntop(s[k].family, s[k].addr, a, sizeof(a)))
			return -EINVAL;
		w = snprintf(out + len, cap - len, "nameserver %s\n", a);
		if (w < 0 || (size_t)w >= cap - len)
			return -ENOSPC;
		len += (size_t)w;
	}
	while (i < orig_len) {
		const char *p = orig + i, *nl = memchr(p, '\n', orig_len - i);
		size_t l = nl ? (size_t)(nl - p) : orig_len - i;

		i += l + (nl ? 1 : 0);
		if (l && p[l - 1] == '\r')
			l--;
		if (!keep_line(p, l) || memchr(p, '\0', l))
			continue;
		if (l + 1 >= cap - len)
			return -ENOSPC;
		memcpy(out + len, p, l);
		len += l;
		out[len++] = '\n';
		out[len] = '\0';
	}
	return (int)len;
}

static int apply_resolved(struct journal *j, const char *ifname,
			  const struct hostdns_server *s, size_t n)
{
	char addrs[HOSTDNS_MAX_SERVERS][INET6_ADDRSTRLEN];
	char *dns[4 + HOSTDNS_MAX_SERVERS] = { "resolvectl", "dns", (char *)ifname };
	char *domain[] = { "resolvectl", "domain", (char *)ifname, "~.", NULL };
	char *route[] = { "resolvectl", "default-route", (char *)ifname, "true", NULL };
	char prog[PATH_MAX];
	struct journal_entry e = { .kind = JOURNAL_RESOLVED };
	int ret;

	for (size_t k = 0; k < n; k++) {
		if (!inet_ntop(s[k].family, s[k].addr, addrs[k], sizeof(addrs[k])))
			return -EINVAL;
		dns[3 + k] = addrs[k];
	}
	if (!find_program("resolvectl", prog)) {
		log_err("DNS: resolvectl not found (install systemd-resolved, or use resolv.conf mode)");
		return -ENOENT;
	}
	snprintf(e.u.ifname, sizeof(e.u.ifname), "%s", ifname);
	ret = journal_record(j, &e);
	if (ret)
		return ret;
	ret = run_logged(dns);
	if (!ret)
		ret = run_logged(domain);
	if (!ret)
		ret = run_logged(route);
	return ret;
}

static int apply_file(struct journal *j, const char *ifname,
		      const struct hostdns_server *s, size_t n, const char *path)
{
	char *orig = NULL, *text;
	size_t orig_len = 0;
	int ret, len;

	ret = hostfile_read(AT_FDCWD, path, true, HOSTDNS_RESOLV_MAX, &orig,
			    &orig_len);
	if (ret == -ENOENT) {
		orig_len = 0;
	} else if (ret) {
		log_err("DNS: cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	text = malloc(RESOLV_OUT_MAX);
	if (!text) {
		free(orig);
		return -ENOMEM;
	}
	len = hostdns_resolv_text(ifname, s, n, orig, orig_len, text,
				  RESOLV_OUT_MAX);
	free(orig);
	if (len < 0) {
		free(text);
		return len;
	}
	ret = journal_record_file(j, path);
	if (ret) {
		log_err("DNS: cannot save %s before changing it: %s", path,
			strerror(-ret));
		free(text);
		return ret;
	}
	ret = hostfile_write_in_place(path, text, (size_t)len, 0644);
	if (ret)
		log_err("DNS: cannot write %s: %s", path, strerror(-ret));
	free(text);
	return ret;
}

int hostdns_apply(struct journal *j, const char *ifname,
		  const struct hostdns_server *s, size_t n,
		  enum hostdns_mode mode, const char *resolv_path,
		  enum hostdns_mode *mode_used)
{
	const char *path = resolv_path ? resolv_path : HOSTDNS_RESOLV_CONF;
	int ret;

	if (mode_used)
		*mode_used = HOSTDNS_AUTO;
	if (!j || !fw_ifname_valid(ifname) || !servers_ok(s, n) ||
	    (mode != HOSTDNS_AUTO && mode != HOSTDNS_RESOLVED &&
	     mode != HOSTDNS_FILE) || path[0] != '/') {
		log_err("DNS: invalid arguments (1..%d servers of IPv4/IPv6, an interface name, an absolute path)",
			HOSTDNS_MAX_SERVERS);
		return -EINVAL;
	}
	if (mode == HOSTDNS_AUTO)
		mode = hostdns_detect(path);
	if (mode == HOSTDNS_RESOLVED)
		ret = apply_resolved(j, ifname, s, n);
	else
		ret = apply_file(j, ifname, s, n, path);
	if (mode_used)
		*mode_used = mode;
	return ret;
}
