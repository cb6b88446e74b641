/* sysctl.c - kernel settings through /proc/sys, with names checked so that
 * no path can leave that directory. */
#include "os/linux/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char proc_sys[] = "/proc/sys/";

enum { VALUE_SCAN_MAX = 4 * SYSCTL_VALUE_MAX };

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
	       c == '/';
}

static bool name_ok(const char *name)
{
	size_t len, start = 0;

	if (!name)
		return false;
	len = strnlen(name, SYSCTL_NAME_MAX);
	if (len == 0 || len >= SYSCTL_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		size_t clen = i - start;

		if (i < len && !name_char(name[i]))
			return false;
		if (i < len && name[i] != '/')
			continue;
		/* A component ends at i: not empty, ".", "..". */
		if (clen == 0 || (clen == 1 && name[start] == '.') ||
		    (clen == 2 && name[start] == '.' && name[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The [*start, *start + *len) of s without surrounding white space. */
static void trim(const char *s, size_t n, size_t *start, size_t *len)
{
	size_t a = 0, b = n;

	while (a < b && blank(s[a]))
		a++;
	while (b > a && blank(s[b - 1]))
		b--;
	*start = a;
	*len = b - a;
}

static int open_setting(const char *name, int flags)
{
	char path[sizeof(proc_sys) + SYSCTL_NAME_MAX];
	int fd;

	if (!name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s%s", proc_sys, name);
	fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

int sysctl_read(const char *name, char *buf, size_t cap)
{
	size_t got = 0, start, len;
	int fd;

	if (!buf || cap == 0)
		return -EINVAL;
	fd = open_setting(name, O_RDONLY);
	if (fd < 0)
		return fd;
	/* One byte more than cap holds, to tell "full" from "too long". */
	for (;;) {
		char extra;
		ssize_t n;

		if (got < cap)
			n = read(fd, buf + got, cap - got);
		else
			n = read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (n == 0)
			break;
		if (got == cap) {
			close(fd);
			return -EOVERFLOW;
		}
		got += (size_t)n;
	}
	close(fd);
	trim(buf, got, &start, &len);
	if (len >= cap)		/* no room for the NUL */
		return -EOVERFLOW;
	memmove(buf, buf + start, len);
	buf[len] = '\0';
	return (int)len;
}

/* Trimmed value into out (SYSCTL_VALUE_MAX); its length or -EINVAL. */
static int value_ok(const char *value, char *out)
{
	size_t n, start, len;

	if (!value)
		return -EINVAL;
	/* Room for white space around a value that fits; longer is wrong,
	 * and a cut here must not shorten the value unnoticed. */
	n = strnlen(value, VALUE_SCAN_MAX);
	if (n == VALUE_SCAN_MAX)
		return -EINVAL;
	trim(value, n, &start, &len);
	if (len == 0 || len >= SYSCTL_VALUE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[start + i];

		if (c != '\t' && (c < 0x20 || c > 0x7e))
			return -EINVAL;
	}
	memcpy(out, value + start, len);
	out[len] = '\0';
	return (int)len;
}

int sysctl_write(const char *name, const char *value)
{
	char v[SYSCTL_VALUE_MAX];
	int len = value_ok(value, v), fd, err = 0;
	ssize_t n;

	if (len < 0)
		return len;
	fd = open_setting(name, O_WRONLY);
	if (fd < 0)
		return fd;
	/* The kernel parses one write from offset 0: all of it at once. */
	do
		n = write(fd, v, (size_t)len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err = -errno;
	else if (n != len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int sysctl_save_and_set(struct sysctl_saved *saved, const char *name,
			const char *value)
{
	char v[SYSCTL_VALUE_MAX];
	int err;

	if (!saved)
		return -EINVAL;
	memset(saved, 0, sizeof(*saved));
	if (!name_ok(name) || value_ok(value, v) < 0)
		return -EINVAL;
	err = sysctl_read(name, saved->value, sizeof(saved->value));
	if (err < 0)
		return err;
	err = sysctl_write(name, value);
	if (err) {
		memset(saved, 0, sizeof(*saved));
		return err;
	}
	memcpy(saved->name, name, strlen(name) + 1);
	return 0;
}

int sysctl_restore(const struct sysctl_saved *saved)
{
	if (!saved)
		return -EINVAL;
	if (!saved->name[0])
		return 0;
	return sysctl_write(saved->name, saved->value);
}
