/* unixsock.h - the UAPI listening socket, /var/run/wireguard/IFNAME.sock,
 * where wg(8) and wg-quick(8) find a userspace implementation. */
#ifndef WEFT_OS_LINUX_UNIXSOCK_H
#define WEFT_OS_LINUX_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>

#define UAPI_SOCK_DIR "/var/run/wireguard"
#define UAPI_SOCK_SUFFIX ".sock"

/* 1..15 characters, no '/', not "." or "..": a valid interface name that
 * is also a safe file name. */
__attribute__((warn_unused_result))
bool uapi_ifname_valid(const char *ifname);

/* Listen on UAPI_SOCK_DIR/ifname.sock (non-blocking, close-on-exec, mode
 * 0600), creating the directory (0755) if missing. A socket left behind by
 * a dead daemon is replaced; one that a live daemon answers on is not.
 * The path is written to path_out. Returns the listening fd, or -EINVAL
 * (bad name), -EADDRINUSE (another daemon answers), -EEXIST (the path is
 * not a socket), -ENAMETOOLONG (cap too small) or another -errno. */
__attribute__((warn_unused_result))
int uapi_listen(const char *ifname, char *path_out, size_t cap);
/* The same in another directory (tests, --state-dir); dir must exist or
 * its parent must. */
__attribute__((warn_unused_result))
int uapi_listen_at(const char *dir, const char *ifname, char *path_out,
		   size_t cap);

/* Close fd (if >= 0) and remove path (if set). */
void uapi_unlisten(int fd, const char *path);

#endif
