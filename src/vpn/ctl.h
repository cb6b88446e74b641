/* ctl.h - the exit server's control socket, <run_dir>/<ifname>.ctl: a unix
 * stream socket, mode 0600 in a root-owned directory, so only root talks
 * to it. One request line in, one reply line out, each at most
 * CTL_LINE_MAX bytes with its '\n', then the server closes:
 *
 *   add-client NAME BASE64-PUBKEY   ->   ok ADDR4|- ADDR6|-
 *                                        error ONE-LINE-REASON
 *
 * ADDR is an address with the pool's prefix length ("10.77.0.2/16") or a
 * bare address; '-' for a family the server does not serve. Fields are
 * separated by exactly one space. The reason is printable ASCII.
 *
 * The parsers and formatters are pure; ctl_listen and ctl_request do the
 * socket work. */
#ifndef WEFT_VPN_CTL_H
#define WEFT_VPN_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "core/addrpool.h"

enum ctl_limits {
	CTL_LINE_MAX = 512,		/* a request or reply, with its '\n' */
	CTL_ERR_MAX = 160,
	CTL_PATH_MAX = 108,		/* sizeof(sun_path) */
	CTL_NAME_MAX = 32,		/* = CLIENTS_NAME_MAX */
	CTL_TIMEOUT_MS = 5000,		/* what add-client waits */
	CTL_BACKLOG = 8,
};

#define CTL_DEFAULT_RUN_DIR "/run/weft"
#define CTL_RUN_DIR_ENV "WEFT_RUN_DIR"
#define CTL_SUFFIX ".ctl"

/* $WEFT_RUN_DIR, else CTL_DEFAULT_RUN_DIR. */
const char *ctl_default_run_dir(void);

/* <run_dir>/<ifname>.ctl (run_dir NULL: the default). 0, -EINVAL (bad
 * interface name) or -ENAMETOOLONG. */
__attribute__((warn_unused_result))
int ctl_path(const char *run_dir, const char *ifname, char out[CTL_PATH_MAX]);

/* Listen on ctl_path() (run_dir made 0755 if missing; the socket 0600,
 * non-blocking, close-on-exec). A socket left by a dead server is
 * replaced; one a live server answers on is not. The listening fd, or
 * -EADDRINUSE (a server answers there), -EEXIST (the path is not a
 * socket), -EINVAL, -ENAMETOOLONG or another -errno. */
__attribute__((warn_unused_result))
int ctl_listen(const char *run_dir, const char *ifname,
	       char path_out[CTL_PATH_MAX]);

/* Send req (one line; the '\n' is added if missing) and read the reply
 * line into reply (NUL-terminated, without its '\n'), waiting at most
 * about timeout_ms for each step. 0, or -ENOENT / -ECONNREFUSED when no
 * server listens, -ETIMEDOUT, -EPROTO (no complete reply line), -EMSGSIZE
 * (req too long), -EINVAL, or another -errno. */
__attribute__((warn_unused_result))
int ctl_request(const char *run_dir, const char *ifname, const char *req,
		char *reply, size_t cap, int timeout_ms);

/* "add-client NAME BASE64\n" in buf. Its length, or -EINVAL (bad name,
 * zero key), -ENOSPC. */
__attribute__((warn_unused_result))
int ctl_format_request(const char *name, const uint8_t pub[32], char *buf,
		       size_t cap);

/* Parse one request line (its '\n' optional). 0, or -EINVAL with the
 * reason in err. */
__attribute__((warn_unused_result))
int ctl_parse_request(const char *line, size_t len,
		      char name[CTL_NAME_MAX + 1], uint8_t pub[32],
		      char err[CTL_ERR_MAX]);

/* "ok A4 A6\n" / "error REASON\n" in buf (the reason is cut to fit and
 * made printable). Its length, or -EINVAL (no address, wrong family),
 * -ENOSPC. */
__attribute__((warn_unused_result))
int ctl_format_reply_ok(const struct ip_prefix *a4, const struct ip_prefix *a6,
			char *buf, size_t cap);
__attribute__((warn_unused_result))
int ctl_format_reply_error(const char *reason, char *buf, size_t cap);

/* Parse a reply line (its '\n' optional). 0 with a4/a6 set (family 0 for
 * '-'); -EREMOTEIO with the server's reason in err; -EPROTO with what was
 * wrong in err. */
__attribute__((warn_unused_result))
int ctl_parse_reply(const char *line, size_t len, struct ip_prefix *a4,
		    struct ip_prefix *a6, char err[CTL_ERR_MAX]);

#endif
