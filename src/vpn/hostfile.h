/* hostfile.h - reading and rewriting small host files (resolv.conf and
 * the undo journal's copies of them) safely: bounded reads that never
 * follow a final symlink, and rewrites in place.
 *
 * In place, not by rename: inside `ip netns exec` /etc/resolv.conf is a
 * bind mount, and renaming over a mount point fails (EBUSY). A rewrite in
 * place keeps the file's owner, mode, inode and any mount on it. */
#ifndef WEFT_VPN_HOSTFILE_H
#define WEFT_VPN_HOSTFILE_H

#include <stddef.h>

#include <stdbool.h>

/* The content of the regular file path (relative to dirfd, or AT_FDCWD)
 * into *buf (malloc'd, NUL-terminated; free it) and *len. A final symlink
 * is followed only if follow is set (else -ELOOP). 0 or -errno: -EFBIG
 * when it holds more than max bytes, -EINVAL when it is not a regular
 * file. */
__attribute__((warn_unused_result))
int hostfile_read(int dirfd, const char *path, bool follow, size_t max,
		  char **buf, size_t *len);

/* Write all of buf to fd (EINTR and short writes handled). 0 or -errno. */
__attribute__((warn_unused_result))
int hostfile_write_all(int fd, const void *buf, size_t len);

/* Make path a regular file holding exactly buf: a symlink there is
 * replaced by a new file; an existing regular file is truncated and
 * written in place (nothing is written when it already holds exactly
 * buf); a missing one is created with mode (umask ignored). fsynced, and
 * the parent directory too when the entry changed. 0 or -errno. */
__attribute__((warn_unused_result))
int hostfile_write_in_place(const char *path, const void *buf, size_t len,
			    unsigned mode);

/* fsync the directory that holds path. 0 or -errno. */
__attribute__((warn_unused_result))
int hostfile_fsync_parent(const char *path);

#endif
