/* hostdns.h - send the host's DNS queries through the tunnel: per-link DNS
 * in systemd-resolved where it manages /etc/resolv.conf, a rewritten
 * /etc/resolv.conf elsewhere. Every change is recorded in the undo journal
 * before it is made, so `weft down` / `weft cleanup` put DNS back exactly.
 *
 * Child processes (resolvectl) run with a fixed argv through posix_spawn
 * (no shell), stdin and stdout on /dev/null, every signal unblocked and
 * at its default, and at most JOURNAL_CHILD_TIMEOUT_MS each. The caller
 * must not have SIGCHLD ignored (SIG_IGN): the exit status is needed. */
#ifndef WEFT_VPN_HOSTDNS_H
#define WEFT_VPN_HOSTDNS_H

#include <stddef.h>
#include <stdint.h>

struct journal;

enum hostdns_mode { HOSTDNS_AUTO, HOSTDNS_RESOLVED, HOSTDNS_FILE };

enum hostdns_values {
	HOSTDNS_MAX_SERVERS = 3,	/* what glibc's resolver uses */
	HOSTDNS_RESOLV_MAX = 65536,	/* largest resolv.conf read */
};

struct hostdns_server {
	int family;		/* AF_INET / AF_INET6 */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
};

#define HOSTDNS_RESOLV_CONF "/etc/resolv.conf"

/* Send every DNS query through ifname to servers[0..n) (n 1..3).
 * AUTO picks RESOLVED when systemd-resolved manages resolv_path (a symlink
 * into /run/systemd/resolve/) and resolvectl exists, else FILE.
 * RESOLVED: record JOURNAL_RESOLVED first, then run resolvectl `dns IF
 * ...`, `domain IF ~.`, `default-route IF true`.
 * FILE: journal_record_file(resolv_path), then rewrite it in place: a
 * comment line saying weft wrote it and `weft down` restores it, the
 * nameserver lines, and the original's `search`/`domain`/`options` lines
 * (calling it again keeps them: they are read from the current file).
 * resolv_path NULL means /etc/resolv.conf. 0 or -errno (one line logged
 * with log_err on failure; what was recorded stays for undo): -EINVAL
 * for bad arguments, -ENOENT when RESOLVED is asked for and resolvectl
 * is missing, -EIO when resolvectl failed, -EFBIG for an oversized
 * resolv.conf. *mode_used (may be NULL) says what was done. */
__attribute__((warn_unused_result))
int hostdns_apply(struct journal *j, const char *ifname,
		  const struct hostdns_server *s, size_t n,
		  enum hostdns_mode mode, const char *resolv_path,
		  enum hostdns_mode *mode_used);

/* What AUTO picks for resolv_path (NULL: /etc/resolv.conf). */
enum hostdns_mode hostdns_detect(const char *resolv_path);

/* The resolv.conf hostdns_apply writes, built from the current content
 * orig[0..orig_len) (may be empty). Pure. The length (out is
 * NUL-terminated), -EINVAL or -ENOSPC. */
__attribute__((warn_unused_result))
int hostdns_resolv_text(const char *ifname, const struct hostdns_server *s,
			size_t n, const char *orig, size_t orig_len, char *out,
			size_t cap);

/* Undo of JOURNAL_RESOLVED: `resolvectl revert ifname`. 0 (also when the
 * interface is gone: its per-link settings went with it) or -errno. */
__attribute__((warn_unused_result))
int hostdns_resolved_revert(const char *ifname);

#endif
