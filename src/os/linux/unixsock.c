/* unixsock.c - create, guard and remove the UAPI listening socket. */
#include "os/linux/unixsock.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum unixsock_values {
	UAPI_DIR_MODE = 0755,
	UAPI_SOCK_MODE = 0600,
	UAPI_BACKLOG = 16,
};

bool uapi_ifname_valid(const char *ifname)
{
	size_t len;

	if (!ifname)
		return false;
	len = strnlen(ifname, IFNAMSIZ);
	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if (strchr(ifname, '/'))
		return false;
	return strcmp(ifname, ".") != 0 && strcmp(ifname, "..") != 0;
}

static int ensure_dir(const char *dir)
{
	if (mkdir(dir, UAPI_DIR_MODE) == 0) {
		/* mkdir applied the umask; the tools expect 0755. */
		if (chmod(dir, UAPI_DIR_MODE) != 0)
			return -errno;
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* Is a live daemon answering on addr? 0: no (anything stale was removed),
 * -EADDRINUSE: yes, or -errno. */
static int clear_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err;

	if (lstat(addr->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;	/* never remove what is not ours to remove */

	/* Non-blocking, so a daemon with a full backlog (EAGAIN) counts as
	 * alive instead of making us wait. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0)
		err = -EADDRINUSE;
	else if (errno == ECONNREFUSED)
		err = unlink(addr->sun_path) == 0 || errno == ENOENT ? 0 : -errno;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		err = -EADDRINUSE;
	else
		err = -errno;
	close(fd);
	return err;
}

int uapi_listen_at(const char *dir, const char *ifname, char *path_out,
		   size_t cap)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, n, err;

	if (!uapi_ifname_valid(ifname) || !dir || !dir[0])
		return -EINVAL;
	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s%s", dir,
		     ifname, UAPI_SOCK_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	if (path_out) {
		if ((size_t)n >= cap)
			return -ENAMETOOLONG;
		memcpy(path_out, addr.sun_path, (size_t)n + 1);
	}

	err = ensure_dir(dir);
	if (err)
		return err;
	err = clear_stale(&addr);
	if (err)
		return err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The umask makes the socket 0600 from the moment it exists; the
	 * chmod below makes sure whatever the umask was. */
	old_mask = umask(0077);
	err = bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0 ? 0 : -errno;
	umask(old_mask);
	if (err) {
		close(fd);
		return err;	/* -EADDRINUSE if another daemon won the race */
	}
	if (chmod(addr.sun_path, UAPI_SOCK_MODE) != 0 ||
	    listen(fd, UAPI_BACKLOG) != 0) {
		err = -errno;
		uapi_unlisten(fd, addr.sun_path);
		return err;
	}
	return fd;
}

int uapi_listen(const char *ifname, char *path_out, size_t cap)
{
	return uapi_listen_at(UAPI_SOCK_DIR, ifname, path_out, cap);
}

void uapi_unlisten(int fd, const char *path)
{
	if (fd >= 0)
		close(fd);
	if (path && path[0])
		unlink(path);
}
