/* ctl.c - the exit server's control socket, see ctl.h. */
#define _GNU_SOURCE
#include "vpn/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/encoding.h"
#include "crypto/ct.h"
#include "os/linux/unixsock.h"
#include "vpn/clients.h"

_Static_assert((int)CTL_NAME_MAX == (int)CLIENTS_NAME_MAX, "one name limit");
_Static_assert(CTL_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "a path fits sun_path");

static const char req_add_client[] = "add-client";

static int say(char err[CTL_ERR_MAX], int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int say(char err[CTL_ERR_MAX], int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CTL_ERR_MAX, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- pure ---- */

/* Copy s/len into out (cap bytes with NUL), every byte outside printable
 * ASCII made '?': what the other side sends must not reach a terminal
 * as escape sequences. */
static void printable(char *out, size_t cap, const char *s, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
}

/* Strip the one '\n' a line may end with; false if the line is too long
 * or holds another '\n' or a NUL. */
static bool one_line(const char *line, size_t *len)
{
	if (*len > CTL_LINE_MAX)
		return false;
	if (*len && line[*len - 1] == '\n')
		(*len)--;
	return !memchr(line, '\n', *len) && !memchr(line, '\0', *len);
}

/* Split s/len at single spaces into at most max fields; returns the
 * count, max + 1 for more, 0 for an empty field (two spaces, a space at
 * either end). */
static size_t fields(const char *s, size_t len, const char **f, size_t *flen,
		     size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (i == start)
			return 0;
		if (n == max)
			return max + 1;
		f[n] = s + start;
		flen[n++] = i - start;
		start = i + 1;
	}
	return n;
}

int ctl_format_request(const char *name, const uint8_t pub[32], char *buf,
		       size_t cap)
{
	char key[KEY_BASE64_LEN + 1];
	int n;

	if (!clients_name_valid(name, strnlen(name, CTL_NAME_MAX + 1)) ||
	    crypto_is_zero(pub, 32))
		return -EINVAL;
	key_to_base64(key, pub);
	n = snprintf(buf, cap, "%s %s %s\n", req_add_client, name, key);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

int ctl_parse_request(const char *line, size_t len,
		      char name[CTL_NAME_MAX + 1], uint8_t pub[32],
		      char err[CTL_ERR_MAX])
{
	const char *f[3];
	size_t flen[3], n;

	name[0] = '\0';
	memset(pub, 0, 32);
	err[0] = '\0';
	if (!line || !one_line(line, &len))
		return say(err, -EINVAL, "the request is not one line of at most %d bytes",
			   CTL_LINE_MAX);
	n = fields(line, len, f, flen, 3);
	if (n >= 1 && (flen[0] != sizeof(req_add_client) - 1 ||
		       memcmp(f[0], req_add_client, flen[0]))) {
		char what[24];

		printable(what, sizeof(what), f[0], flen[0]);
		return say(err, -EINVAL, "unknown request \"%s\" (this server knows add-client)",
			   what);
	}
	if (n != 3)
		return say(err, -EINVAL, "expected \"add-client NAME PUBLIC-KEY\" with single spaces");
	if (!clients_name_valid(f[1], flen[1])) {
		char what[CTL_NAME_MAX + 8];

		printable(what, sizeof(what), f[1], flen[1]);
		return say(err, -EINVAL, "\"%s\" is not a client name: use 1-%d of A-Z a-z 0-9 _ . -",
			   what, CTL_NAME_MAX);
	}
	if (!key_from_base64(pub, f[2], flen[2]) || crypto_is_zero(pub, 32)) {
		memset(pub, 0, 32);
		return say(err, -EINVAL, "the public key is not 44 characters of base64");
	}
	memcpy(name, f[1], flen[1]);
	name[flen[1]] = '\0';
	return 0;
}

static bool addr_text(const struct ip_prefix *p, uint8_t family,
		      char out[ADDRPOOL_PREFIX_STR_MAX])
{
	if (!p->family) {
		strcpy(out, "-");
		return true;
	}
	if (p->family != family)
		return false;
	addrpool_prefix_format(p, out);
	return out[0] != '\0';
}

int ctl_format_reply_ok(const struct ip_prefix *a4, const struct ip_prefix *a6,
			char *buf, size_t cap)
{
	char t4[ADDRPOOL_PREFIX_STR_MAX], t6[ADDRPOOL_PREFIX_STR_MAX];
	int n;

	if (cap)
		buf[0] = '\0';
	if ((!a4->family && !a6->family) || !addr_text(a4, 4, t4) ||
	    !addr_text(a6, 6, t6))
		return -EINVAL;
	n = snprintf(buf, cap, "ok %s %s\n", t4, t6);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

int ctl_format_reply_error(const char *reason, char *buf, size_t cap)
{
	static const char head[] = "error ";
	char r[CTL_LINE_MAX - (sizeof(head) - 1)];	/* '\n' or NUL */
	size_t rlen = strnlen(reason, sizeof(r) - 1);
	int n;

	if (cap)
		buf[0] = '\0';
	printable(r, sizeof(r), reason, rlen);
	if (!r[0])
		strcpy(r, "unknown");
	n = snprintf(buf, cap, "%s%s\n", head, r);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

static bool reply_addr(const char *s, size_t len, uint8_t family,
		       struct ip_prefix *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 1 && s[0] == '-')
		return true;
	if (!addrpool_prefix_parse(out, s, len) || out->family != family) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}

int ctl_parse_reply(const char *line, size_t len, struct ip_prefix *a4,
		    struct ip_prefix *a6, char err[CTL_ERR_MAX])
{
	static const char error_head[] = "error ";
	char what[48];
	const char *f[3];
	size_t flen[3];

	memset(a4, 0, sizeof(*a4));
	memset(a6, 0, sizeof(*a6));
	err[0] = '\0';
	if (!line || !one_line(line, &len))
		return say(err, -EPROTO, "the server's reply is not one line of at most %d bytes",
			   CTL_LINE_MAX);
	if (len > sizeof(error_head) - 1 &&
	    !memcmp(line, error_head, sizeof(error_head) - 1)) {
		printable(err, CTL_ERR_MAX, line + sizeof(error_head) - 1,
			  len - (sizeof(error_head) - 1));
		return -EREMOTEIO;
	}
	if (fields(line, len, f, flen, 3) == 3 && flen[0] == 2 &&
	    !memcmp(f[0], "ok", 2) && reply_addr(f[1], flen[1], 4, a4) &&
	    reply_addr(f[2], flen[2], 6, a6) && (a4->family || a6->family))
		return 0;
	memset(a4, 0, sizeof(*a4));
	memset(a6, 0, sizeof(*a6));
	printable(what, sizeof(what), line, len);
	return say(err, -EPROTO, "the server's reply \"%s\" is not \"ok ADDR4 ADDR6\" or \"error REASON\"",
		   what);
}

/* ---- sockets ---- */

const char *ctl_default_run_dir(void)
{
	const char *d = getenv(CTL_RUN_DIR_ENV);

	return d && d[0] ? d : CTL_DEFAULT_RUN_DIR;
}

int ctl_path(const char *run_dir, const char *ifname, char out[CTL_PATH_MAX])
{
	int n;

	out[0] = '\0';
	if (!run_dir)
		run_dir = ctl_default_run_dir();
	if (!ifname || !uapi_ifname_valid(ifname) || !run_dir[0])
		return -EINVAL;
	n = snprintf(out, CTL_PATH_MAX, "%s/%s%s", run_dir, ifname, CTL_SUFFIX);
	if (n < 0 || n >= CTL_PATH_MAX) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

static void sockaddr_of(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);	/* fits: ctl_path */
}

/* mkdir -p dir, 0755 for every missing level. */
static int make_dir(const char *dir)
{
	char tmp[CTL_PATH_MAX];
	size_t len = strnlen(dir, sizeof(tmp));

	if (len == sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		tmp[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* Does a server answer on path? */
static bool live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	      errno == EAGAIN;
	close(fd);
	return yes;
}

int ctl_listen(const char *run_dir, const char *ifname,
	       char path_out[CTL_PATH_MAX])
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, ret;

	if (!run_dir)
		run_dir = ctl_default_run_dir();
	if ((ret = ctl_path(run_dir, ifname, path_out)) < 0)
		return ret;
	if ((ret = make_dir(run_dir)) < 0)
		return ret;
	sockaddr_of(&sa, path_out);
	if (lstat(path_out, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (live(&sa))
			return -EADDRINUSE;
		if (unlink(path_out) < 0 && errno != ENOENT)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Bound but not yet listening, nobody can connect: the mode is set
	 * before anyone could use the socket. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (chmod(path_out, 0600) < 0 || listen(fd, CTL_BACKLOG) < 0) {
		ret = -errno;
		close(fd);
		unlink(path_out);
		return ret;
	}
	return fd;
}

static int set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int timed_out(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS
		       ? -ETIMEDOUT : -err;
}

int ctl_request(const char *run_dir, const char *ifname, const char *req,
		char *reply, size_t cap, int timeout_ms)
{
	char path[CTL_PATH_MAX], line[CTL_LINE_MAX + 1];
	size_t rlen = strnlen(req, CTL_LINE_MAX + 1), len = 0, sent = 0;
	struct sockaddr_un sa;
	int fd, ret;

	if (cap)
		reply[0] = '\0';
	if (cap < 2 || timeout_ms <= 0)
		return -EINVAL;
	if ((ret = ctl_path(run_dir, ifname, path)) < 0)
		return ret;
	if (rlen && req[rlen - 1] == '\n')
		rlen--;
	if (rlen + 1 > CTL_LINE_MAX || memchr(req, '\n', rlen))
		return -EMSGSIZE;
	memcpy(line, req, rlen);
	line[rlen] = '\n';

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((ret = set_timeouts(fd, timeout_ms)) < 0)
		goto out;
	sockaddr_of(&sa, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = timed_out(errno);
		goto out;
	}
	while (sent < rlen + 1) {
		ssize_t n = send(fd, line + sent, rlen + 1 - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = timed_out(errno);
			goto out;
		}
		sent += (size_t)n;
	}
	/* Read the one reply line; the server closes after it. */
	while (len < CTL_LINE_MAX && !memchr(line, '\n', len)) {
		ssize_t n = recv(fd, line + len, CTL_LINE_MAX - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = timed_out(errno);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	{
		char *nl = memchr(line, '\n', len);

		if (!nl || (size_t)(nl - line) + 1 > cap) {
			ret = -EPROTO;
			goto out;
		}
		len = (size_t)(nl - line);
	}
	memcpy(reply, line, len);
	reply[len] = '\0';
	ret = 0;
out:
	close(fd);
	return ret;
}
