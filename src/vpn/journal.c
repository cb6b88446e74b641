/* journal.c - the undo journal on disk: open and lock, record before each
 * change, save files, undo last first (see journal.h for the invariants;
 * journal_line.c holds the line format). */
#define _GNU_SOURCE
#include "vpn/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/linux/firewall.h"
#include "os/linux/log.h"
#include "vpn/hostdns.h"
#include "vpn/hostfile.h"

enum {
	/* Journals this process holds open (the client and server hold one
	 * each; tests a few). */
	HELD_MAX = 8,
	HEADER_MAX = 160,
	/* A journal file cannot be longer than its entries and a header. */
	FILE_MAX = JOURNAL_MAX_ENTRIES * (JOURNAL_LINE_MAX + 1) + HEADER_MAX,
	MKDIR_DEPTH_MAX = 32,
};

static const char suffix_undo[] = ".undo";
static const char suffix_orig[] = ".orig";

/* Journals locked by this process: undoing one of them from this process
 * is allowed (flock would refuse it: another open file description). The
 * pid keeps a forked child from taking its parent's journals for its own. */
static struct {
	bool used;
	pid_t pid;
	dev_t dev;
	ino_t ino;
} held[HELD_MAX];

static void held_set(int fd, bool on)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return;
	for (size_t i = 0; i < HELD_MAX; i++) {
		if (on && !held[i].used) {
			held[i].used = true;
			held[i].pid = getpid();
			held[i].dev = st.st_dev;
			held[i].ino = st.st_ino;
			return;
		}
		if (!on && held[i].used && held[i].dev == st.st_dev &&
		    held[i].ino == st.st_ino) {
			held[i].used = false;
			return;
		}
	}
}

static bool held_by_us(const struct stat *st)
{
	for (size_t i = 0; i < HELD_MAX; i++)
		if (held[i].used && held[i].pid == getpid() &&
		    held[i].dev == st->st_dev && held[i].ino == st->st_ino)
			return true;
	return false;
}

/* "mkdir -p" with mode 0700 for what it creates. */
static int mkdir_p(const char *dir)
{
	char buf[JOURNAL_DIR_MAX];
	size_t len = strnlen(dir, sizeof(buf));
	unsigned depth = 0;

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (++depth > MKDIR_DEPTH_MAX)
			return -ENAMETOOLONG;
		buf[i] = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = dir[i];
	}
	return 0;
}

/* The directory's absolute name into out and an fd on it, checked: a
 * directory of ours nobody else may write. */
static int dir_open(const char *dir, char out[JOURNAL_DIR_MAX])
{
	char real[PATH_MAX];
	struct stat st;
	int fd;

	if (!realpath(dir, real))
		return -errno;
	if (strlen(real) >= JOURNAL_DIR_MAX)
		return -ENAMETOOLONG;
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EIO;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	snprintf(out, JOURNAL_DIR_MAX, "%s", real);
	return fd;
}

/* A journal or saved copy must be a regular file of ours, private. */
static bool file_trusted(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
	       !(st->st_mode & (S_IRWXG | S_IRWXO));
}

static const char *dir_error_hint(int err)
{
	return err == -EPERM ? " (it must belong to this user and be writable by nobody else)" : "";
}

/* Any line that is not empty and not a comment: an entry, maybe torn. */
static bool has_entries(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (buf + i)) : len - i;

		if (l && buf[i] != '#')
			return true;
		i += l + 1;
	}
	return false;
}

int journal_open(struct journal *j, const char *dir, const char *ifname)
{
	char header[HEADER_MAX], *old = NULL;
	size_t old_len = 0;
	struct stat st;
	int ret, n;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->dirfd = -1;
	if (!dir || !ifname || !fw_ifname_valid(ifname)) {
		log_err("journal: invalid interface name (1..15 of A-Z a-z 0-9 _ . -)");
		return -EINVAL;
	}
	snprintf(j->ifname, sizeof(j->ifname), "%s", ifname);
	ret = mkdir_p(dir);
	if (ret == 0)
		ret = dir_open(dir, j->dir);
	if (ret < 0) {
		log_err("journal: state directory %s: %s%s", dir, strerror(-ret),
			dir_error_hint(ret));
		return ret;
	}
	j->dirfd = ret;
	snprintf(j->path, sizeof(j->path), "%s/%s%s", j->dir, ifname, suffix_undo);
	j->fd = openat(j->dirfd, j->path + strlen(j->dir) + 1,
		       O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		ret = -errno;
		log_err("journal: cannot open %s: %s", j->path, strerror(errno));
		goto fail;
	}
	if (fstat(j->fd, &st) < 0 || !file_trusted(&st)) {
		ret = -EPERM;
		log_err("journal: %s must be a regular file of this user, mode 0600 (remove it if you did not make it)",
			j->path);
		goto fail;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_err("journal: %s is held by another weft process%s", j->path,
			ret == -EBUSY ? " (stop it first: weft down)" : "");
		goto fail;
	}
	ret = hostfile_read(j->dirfd, j->path + strlen(j->dir) + 1, false,
			    FILE_MAX, &old, &old_len);
	if (ret == -EFBIG || (ret == 0 && has_entries(old, old_len))) {
		free(old);
		ret = -EEXIST;
		log_err("journal: %s holds the changes of a run that did not finish (undo them first: weft cleanup %s)",
			j->path, ifname);
		goto fail;
	}
	free(old);
	if (ret) {
		log_err("journal: cannot read %s: %s", j->path, strerror(-ret));
		goto fail;
	}
	n = snprintf(header, sizeof(header),
		     "# weft undo journal for %s: `weft cleanup %s` puts the host back\n",
		     ifname, ifname);
	if (ftruncate(j->fd, 0) < 0 ||
	    (ret = hostfile_write_all(j->fd, header, (size_t)n)) < 0) {
		ret = ret ? ret : -errno;
		log_err("journal: cannot write %s: %s", j->path, strerror(-ret));
		goto fail;
	}
	held_set(j->fd, true);
	return 0;
fail:
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	j->fd = j->dirfd = -1;
	return ret;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0) {
		held_set(j->fd, false);
		close(j->fd);
	}
	if (j->dirfd >= 0)
		close(j->dirfd);
	j->fd = j->dirfd = -1;
}

int journal_record(struct journal *j, const struct journal_entry *e)
{
	char line[JOURNAL_LINE_MAX + 2];
	struct stat st;
	int len, ret;

	if (!j || j->fd < 0)
		return -EBADF;
	if (j->n >= JOURNAL_MAX_ENTRIES) {
		log_err("journal: %s is full (%d entries)", j->path,
			JOURNAL_MAX_ENTRIES);
		return -ENOSPC;
	}
	len = journal_format(e, line, sizeof(line) - 1);
	if (len < 0) {
		log_err("journal: an entry of kind %d cannot be recorded (a bug)",
			(int)e->kind);
		return len;
	}
	line[len++] = '\n';
	if (fstat(j->fd, &st) < 0)
		return -errno;
	ret = hostfile_write_all(j->fd, line, (size_t)len);
	if (!ret && fsync(j->fd) < 0)
		ret = -errno;
	if (!ret && j->n == 0 && fsync(j->dirfd) < 0)
		ret = -errno;
	if (ret) {
		/* No torn line for the next entry to be glued to. */
		if (ftruncate(j->fd, st.st_size) < 0)
			log_warn("journal: cannot trim %s: %s", j->path,
				 strerror(errno));
		log_err("journal: cannot write %s: %s", j->path, strerror(-ret));
		return ret;
	}
	j->n++;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Copy the regular file path into <dir>/name (via name.tmp), fsynced. */
static int save_copy(struct journal *j, const char *path, const char *name)
{
	char tmp[JOURNAL_PATH_MAX + 8], *buf;
	size_t len;
	int fd, ret;

	ret = hostfile_read(AT_FDCWD, path, false, JOURNAL_COPY_MAX, &buf, &len);
	if (ret)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
				   O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	ret = hostfile_write_all(fd, buf, len);
	free(buf);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(j->dirfd, tmp, j->dirfd, name) < 0)
		ret = -errno;
	if (!ret && fsync(j->dirfd) < 0)
		ret = -errno;
	if (ret)
		unlinkat(j->dirfd, tmp, 0);
	return ret;
}

int journal_record_file(struct journal *j, const char *path)
{
	struct journal_entry e = { .kind = JOURNAL_FILE };
	char line[JOURNAL_LINE_MAX + 1], name[JOURNAL_PATH_MAX];
	struct stat st;
	int ret;

	if (!j || j->fd < 0)
		return -EBADF;
	if (!path || strnlen(path, JOURNAL_PATH_MAX) >= JOURNAL_PATH_MAX)
		return -ENAMETOOLONG;
	for (unsigned i = 0; i < j->n_files; i++)
		if (!strcmp(j->files[i], path))
			return 0;	/* the saved copy is the original */
	if (j->n_files >= JOURNAL_MAX_FILES)
		return -ENOSPC;
	for (unsigned i = 0; i < j->n_files; i++)
		if (!strcmp(base_name(j->files[i]), base_name(path)))
			return -EEXIST;	/* their copies would share a name */
	snprintf(e.u.file.path, sizeof(e.u.file.path), "%s", path);
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		e.u.file.absent = true;
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(path, e.u.file.link_target,
				     sizeof(e.u.file.link_target));

		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(e.u.file.link_target))
			return -ENAMETOOLONG;
		e.u.file.link_target[n] = '\0';
		e.u.file.was_symlink = true;
	} else if (S_ISREG(st.st_mode)) {
		if ((size_t)snprintf(name, sizeof(name), "%s.%s%s", j->ifname,
				     base_name(path), suffix_orig) >= sizeof(name) ||
		    (size_t)snprintf(e.u.file.backup, sizeof(e.u.file.backup),
				     "%s/%s", j->dir, name) >= sizeof(e.u.file.backup))
			return -ENAMETOOLONG;
		e.u.file.mode = st.st_mode & 07777;
	} else {
		return -EINVAL;
	}
	/* Check the entry before anything is written. */
	ret = journal_format(&e, line, sizeof(line));
	if (ret < 0)
		return ret;
	if (e.u.file.backup[0]) {
		ret = save_copy(j, path, name);
		if (ret) {
			log_err("journal: cannot save a copy of %s in %s: %s", path,
				j->dir, strerror(-ret));
			return ret;
		}
	}
	ret = journal_record(j, &e);
	if (ret)
		return ret;
	snprintf(j->files[j->n_files++], JOURNAL_PATH_MAX, "%s", path);
	return 0;
}

/* ------------------------------------------------------------------- undo */

struct undo {
	const char *ifname;
	const char *dir;	/* absolute */
	int dirfd;
	struct nl *nl;		/* opened on first use */
	int nl_err;
};

static struct nl *undo_nl(struct undo *u)
{
	if (u->nl || u->nl_err)
		return u->nl;
	u->nl = calloc(1, sizeof(*u->nl));
	if (!u->nl) {
		u->nl_err = -ENOMEM;
		return NULL;
	}
	u->nl_err = nl_open(u->nl);
	if (u->nl_err) {
		free(u->nl);
		u->nl = NULL;
	}
	return u->nl;
}

/* The name of a saved copy inside the journal's directory, or NULL when
 * backup is not one of ours (a journal cannot make us read elsewhere). */
static const char *backup_name(const struct undo *u, const char *backup)
{
	size_t dl = strlen(u->dir), il = strlen(u->ifname), bl;
	const char *name;

	if (strncmp(backup, u->dir, dl) || backup[dl] != '/')
		return NULL;
	name = backup + dl + 1;
	bl = strlen(name);
	if (strchr(name, '/') || bl <= il + 1 + sizeof(suffix_orig) - 1 ||
	    strncmp(name, u->ifname, il) || name[il] != '.' ||
	    strcmp(name + bl - (sizeof(suffix_orig) - 1), suffix_orig))
		return NULL;
	return name;
}

static int restore_symlink(const char *path, const char *target)
{
	char cur[JOURNAL_PATH_MAX];
	ssize_t n = readlink(path, cur, sizeof(cur) - 1);

	if (n >= 0) {
		cur[n] = '\0';
		if (!strcmp(cur, target))
			return 0;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	if (symlink(target, path) < 0)
		return -errno;
	return hostfile_fsync_parent(path);
}

static int restore_file(struct undo *u, const struct journal_entry *e)
{
	const char *path = e->u.file.path, *name;
	struct stat st;
	size_t len;
	char *buf;
	int ret, fd;

	if (e->u.file.was_symlink)
		return restore_symlink(path, e->u.file.link_target);
	if (e->u.file.absent) {
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		return hostfile_fsync_parent(path);
	}
	name = backup_name(u, e->u.file.backup);
	if (!name)
		return -EPERM;
	fd = openat(u->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !file_trusted(&st)) {
		close(fd);
		return -EPERM;
	}
	close(fd);
	ret = hostfile_read(u->dirfd, name, false, JOURNAL_COPY_MAX, &buf, &len);
	if (ret)
		return ret;
	ret = hostfile_write_in_place(path, buf, len, e->u.file.mode);
	free(buf);
	return ret;
}

static int undo_entry(struct undo *u, const struct journal_entry *e)
{
	struct nl *nl;
	int ret;

	switch (e->kind) {
	case JOURNAL_RULE:
		nl = undo_nl(u);
		if (!nl)
			return u->nl_err;
		ret = nl_rule_del(nl, &e->u.rule);
		return nl_err_absent(ret) ? 0 : ret;
	case JOURNAL_ROUTE:
		nl = undo_nl(u);
		if (!nl)
			return u->nl_err;
		ret = nl_route_del(nl, &e->u.route);
		/* -ENODEV: the interface, and with it the route, is gone. */
		return nl_err_absent(ret) || ret == -ENODEV ? 0 : ret;
	case JOURNAL_SYSCTL:
		ret = sysctl_write(e->u.sysctl.name, e->u.sysctl.value);
		/* A per-interface setting of an interface that is gone. */
		return ret == -ENOENT ? 0 : ret;
	case JOURNAL_NFT:
		return fw_remove(e->u.ifname);
	case JOURNAL_FILE:
		return restore_file(u, e);
	case JOURNAL_RESOLVED:
		return hostdns_resolved_revert(e->u.ifname);
	}
	return -EINVAL;
}

/* Parse buf into entries; false (logged) if a complete line is corrupt.
 * A torn last line, without its newline, is skipped: its record did not
 * finish, so its change was never made. */
static bool parse_all(const char *path, const char *buf, size_t len,
		      struct journal_entry *es, size_t *n)
{
	char err[JOURNAL_ERR_MAX];
	size_t i = 0, lineno = 0;
	bool ok = true;

	*n = 0;
	while (i < len) {
		const char *p = buf + i, *nl = memchr(p, '\n', len - i);
		size_t l = nl ? (size_t)(nl - p) : len - i;

		lineno++;
		i += l + 1;
		if (!nl) {
			log_warn("journal %s: ignoring the torn last line %zu (a crash while it was written: its change was never made)",
				 path, lineno);
			break;
		}
		if (l == 0 || p[0] == '#')
			continue;
		if (*n >= JOURNAL_MAX_ENTRIES) {
			log_warn("journal %s: more than %d entries: not a journal weft wrote",
				 path, JOURNAL_MAX_ENTRIES);
			return false;
		}
		if (journal_parse(p, l, &es[*n], err) < 0) {
			log_warn("journal %s line %zu: %s (undo it by hand, then remove the file)",
				 path, lineno, err);
			ok = false;
			continue;
		}
		(*n)++;
	}
	return ok;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), n = strlen(suffix);

	return l >= n && !strcmp(s + l - n, suffix);
}

/* Copies a crash left behind before its entry was recorded (name.orig
 * or name.orig.tmp): <ifname>.*.orig[.tmp], except those of another
 * interface whose name starts with "<ifname>." and has a journal here. */
static void remove_stale_copies(struct undo *u)
{
	char others[HELD_MAX][JOURNAL_IFNAMSIZ];
	size_t il = strlen(u->ifname), n_others = 0;
	struct dirent *d;
	int fd = dup(u->dirfd);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dp) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dp))) {
		size_t l = strlen(d->d_name), sl = sizeof(suffix_undo) - 1;

		if (l <= il + 1 + sl || l - sl >= JOURNAL_IFNAMSIZ ||
		    strncmp(d->d_name, u->ifname, il) || d->d_name[il] != '.' ||
		    !ends_with(d->d_name, suffix_undo))
			continue;
		if (n_others == HELD_MAX)
			goto out;	/* too many to tell apart: leave them */
		memcpy(others[n_others], d->d_name, l - sl);
		others[n_others++][l - sl] = '\0';
	}
	rewinddir(dp);
	while ((d = readdir(dp))) {
		bool theirs = false;

		if (strncmp(d->d_name, u->ifname, il) || d->d_name[il] != '.' ||
		    !(ends_with(d->d_name, ".orig") || ends_with(d->d_name, ".orig.tmp")))
			continue;
		for (size_t i = 0; i < n_others; i++) {
			size_t ol = strlen(others[i]);

			if (!strncmp(d->d_name, others[i], ol) && d->d_name[ol] == '.')
				theirs = true;
		}
		if (!theirs && unlinkat(u->dirfd, d->d_name, 0) < 0 && errno != ENOENT)
			log_warn("journal: cannot remove %s/%s: %s", u->dir,
				 d->d_name, strerror(errno));
	}
out:
	closedir(dp);
}

static void remove_journal(struct undo *u, const char *name,
			   const struct journal_entry *es, size_t n)
{
	if (unlinkat(u->dirfd, name, 0) < 0 && errno != ENOENT)
		log_warn("journal: cannot remove %s/%s: %s", u->dir, name,
			 strerror(errno));
	(void)fsync(u->dirfd);
	/* The copies after the journal: a copy without a journal is inert,
	 * a journal without its copy could not be undone. */
	for (size_t i = 0; i < n; i++) {
		const char *b;

		if (es[i].kind != JOURNAL_FILE || !es[i].u.file.backup[0])
			continue;
		b = backup_name(u, es[i].u.file.backup);
		if (b && unlinkat(u->dirfd, b, 0) < 0 && errno != ENOENT)
			log_warn("journal: cannot remove %s: %s",
				 es[i].u.file.backup, strerror(errno));
	}
	remove_stale_copies(u);
	(void)fsync(u->dirfd);
}

int journal_undo(const char *dir, const char *ifname)
{
	char real[JOURNAL_DIR_MAX], name[JOURNAL_IFNAMSIZ + sizeof(suffix_undo)];
	char line[JOURNAL_LINE_MAX + 1];
	struct undo u = { .ifname = ifname, .dir = real, .dirfd = -1 };
	struct journal_entry *es = NULL;
	struct stat st;
	size_t n = 0, len = 0;
	char *buf = NULL;
	bool ok;
	int fd = -1, ret;

	if (!dir || !ifname || !fw_ifname_valid(ifname))
		return -EINVAL;
	ret = dir_open(dir, real);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		log_warn("journal: state directory %s: %s%s", dir, strerror(-ret),
			 dir_error_hint(ret));
		return ret;
	}
	u.dirfd = ret;
	snprintf(name, sizeof(name), "%s%s", ifname, suffix_undo);
	fd = openat(u.dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : -errno;
		if (ret)
			log_warn("journal: cannot open %s/%s: %s", real, name,
				 strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !file_trusted(&st)) {
		ret = -EPERM;
		log_warn("journal: %s/%s must be a regular file of this user, mode 0600: not undone",
			 real, name);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && !held_by_us(&st)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_warn("journal: %s/%s is held by a running weft (stop it with: weft down %s)",
			 real, name, ifname);
		goto out;
	}
	ret = hostfile_read(u.dirfd, name, false, FILE_MAX, &buf, &len);
	es = ret ? NULL : calloc(JOURNAL_MAX_ENTRIES, sizeof(*es));
	if (ret || !es) {
		ret = ret ? ret : -ENOMEM;
		log_warn("journal: cannot read %s/%s: %s", real, name,
			 strerror(-ret));
		goto out;
	}
	ok = parse_all(name, buf, len, es, &n);
	for (size_t i = n; i-- > 0;) {
		int r = undo_entry(&u, &es[i]);

		if (!r)
			continue;
		ok = false;
		if (journal_format(&es[i], line, sizeof(line)) < 0)
			line[0] = '\0';
		log_warn("cleanup of %s: `%s` not undone: %s%s%s", ifname, line,
			 strerror(-r), u.nl && u.nl->err_msg[0] ? " - " : "",
			 u.nl && u.nl->err_msg[0] ? u.nl->err_msg : "");
		if (es[i].kind == JOURNAL_NFT && fw_last_error()[0])
			log_warn("cleanup of %s: nft: %s", ifname, fw_last_error());
	}
	if (ok) {
		remove_journal(&u, name, es, n);
		ret = (int)n;
	} else {
		log_warn("cleanup of %s: incomplete; %s/%s is kept for another try (weft cleanup %s)",
			 ifname, real, name, ifname);
		ret = -EIO;
	}
out:
	free(buf);
	free(es);
	if (u.nl) {
		nl_close(u.nl);
		free(u.nl);
	}
	if (fd >= 0)
		close(fd);
	if (u.dirfd >= 0)
		close(u.dirfd);
	return ret;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int journal_list(const char *dir, char names[][JOURNAL_IFNAMSIZ], size_t max)
{
	const size_t sl = sizeof(suffix_undo) - 1;
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	if (!dir)
		return -EINVAL;
	dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while (n < max && (d = readdir(dp))) {
		size_t len = strlen(d->d_name);

		if (len <= sl || len - sl >= JOURNAL_IFNAMSIZ ||
		    strcmp(d->d_name + len - sl, suffix_undo))
			continue;
		memcpy(names[n], d->d_name, len - sl);
		names[n][len - sl] = '\0';
		if (fw_ifname_valid(names[n]))
			n++;
	}
	closedir(dp);
	qsort(names, n, JOURNAL_IFNAMSIZ, by_name);
	return (int)n;
}
