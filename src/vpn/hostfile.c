/* hostfile.c - see hostfile.h. */
#define _GNU_SOURCE
#include "vpn/hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hostfile_read(int dirfd, const char *path, bool follow, size_t max,
		  char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *b;
	int fd, ret = 0;

	*buf = NULL;
	*len = 0;
	fd = openat(dirfd, path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) |
				 O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		ret = -EFBIG;
		goto out;
	}
	/* The size may change while we read: read up to max + 1. */
	b = malloc(max + 1);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, b + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			ret = -EFBIG;
			break;
		}
	}
	if (ret) {
		free(b);
		goto out;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
out:
	close(fd);
	return ret;
}

int hostfile_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hostfile_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, ret = 0;

	if (!slash) {
		dir[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

static bool holds(const char *path, const void *buf, size_t len)
{
	char *cur;
	size_t cur_len;
	bool same;

	if (hostfile_read(AT_FDCWD, path, false, len, &cur, &cur_len) != 0)
		return false;
	same = cur_len == len && memcmp(cur, buf, len) == 0;
	free(cur);
	return same;
}

int hostfile_write_in_place(const char *path, const void *buf, size_t len,
			    unsigned mode)
{
	bool created = false;
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			if (unlink(path) < 0)
				return -errno;
		} else if (!S_ISREG(st.st_mode)) {
			return -EINVAL;
		} else if (holds(path, buf, len)) {
			return 0;
		}
	}
	fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				O_CLOEXEC | O_NOCTTY, mode & 07777);
		created = fd >= 0;
		if (created && fchmod(fd, mode & 07777) < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	if (fd < 0)
		return -errno;
	ret = hostfile_write_all(fd, buf, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && created)
		ret = hostfile_fsync_parent(path);
	return ret;
}
