/* privsep.h - the engine's side of privilege separation (DESIGN.md §5):
 * become an unprivileged user for good, with no capabilities and
 * no_new_privs, then confine the syscalls to what a network daemon uses
 * (seccomp, libseccomp). */
#ifndef WEFT_OS_LINUX_PRIVSEP_H
#define WEFT_OS_LINUX_PRIVSEP_H

#include <stdbool.h>
#include <sys/types.h>

enum { PRIVSEP_ERR_MAX = 192 };

struct privsep_user {
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* name, or NULL: "weft" when that user exists, else "nobody". Refuses
 * uid 0. 0 or -errno with err. */
int privsep_lookup(const char *name, struct privsep_user *u,
		   char err[PRIVSEP_ERR_MAX]);
/* Drop to u: supplementary groups cleared, real/effective/saved ids set,
 * no_new_privs; then verified: no capability left in any set, and no
 * way back to uid 0. 0 or -errno with err; on failure the caller must
 * exit. */
int privsep_drop(const struct privsep_user *u, char err[PRIVSEP_ERR_MAX]);
/* The seccomp filter: an allow-list; anything else fails with EPERM, and
 * the calls no engine ever needs (ptrace, mount, module loading, bpf,
 * namespaces, identity changes, exec) kill the process. */
int privsep_seccomp(char err[PRIVSEP_ERR_MAX]);
/* /proc/self/status says: all capability sets zero, NoNewPrivs 1,
 * Seccomp 2. For tests and a start-up log line. */
bool privsep_confined(void);

#endif
