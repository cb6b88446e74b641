/* privsep.c - see privsep.h. */
#define _GNU_SOURCE
#include "os/linux/privsep.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

int privsep_lookup(const char *name, struct privsep_user *u,
		   char err[PRIVSEP_ERR_MAX])
{
	struct passwd *pw = NULL;

	if (name) {
		pw = getpwnam(name);
	} else {
		pw = getpwnam("weft");
		if (!pw)
			pw = getpwnam("nobody");
	}
	if (!pw) {
		snprintf(err, PRIVSEP_ERR_MAX,
			 "no user %s to run the engine as; create it (useradd --system weft) "
			 "or give --user", name ? name : "weft or nobody");
		return -ENOENT;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, PRIVSEP_ERR_MAX, "user %s is root; the engine needs an "
			 "unprivileged user", pw->pw_name);
		return -EPERM;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	return 0;
}

/* Sum of the capability masks and the other fields we check. */
static bool read_status(unsigned long long *caps, int *nnp, int *seccomp)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	*caps = 0;
	*nnp = *seccomp = -1;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if ((!strncmp(line, "CapInh:", 7) || !strncmp(line, "CapPrm:", 7) ||
		     !strncmp(line, "CapEff:", 7) || !strncmp(line, "CapAmb:", 7)) &&
		    sscanf(line + 7, "%llx", &v) == 1)
			*caps |= v;
		else if (!strncmp(line, "NoNewPrivs:", 11))
			*nnp = atoi(line + 11);
		else if (!strncmp(line, "Seccomp:", 8))
			*seccomp = atoi(line + 8);
	}
	fclose(f);
	return true;
}

int privsep_drop(const struct privsep_user *u, char err[PRIVSEP_ERR_MAX])
{
	unsigned long long caps;
	int nnp, sc;

	if (setgroups(0, NULL) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid)) {
		snprintf(err, PRIVSEP_ERR_MAX, "cannot become user %s: %s", u->name,
			 strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, PRIVSEP_ERR_MAX, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, PRIVSEP_ERR_MAX, "could go back to root after dropping");
		return -EPERM;
	}
	if (!read_status(&caps, &nnp, &sc) || caps != 0 || nnp != 1) {
		snprintf(err, PRIVSEP_ERR_MAX, "capabilities left after dropping (%llx)", caps);
		return -EPERM;
	}
	return 0;
}

bool privsep_confined(void)
{
	unsigned long long caps;
	int nnp, sc;

	return read_status(&caps, &nnp, &sc) && caps == 0 && nnp == 1 && sc == 2;
}

static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"fstat", "newfstatat", "statx", "lseek", "fcntl", "ioctl", "dup", "dup2",
	"dup3", "pipe2", "eventfd2",
	"mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "membarrier",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"restart_syscall", "tgkill", "tkill",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll",
	"select", "pselect6",
	"timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4",
	"socket", "socketpair", "connect", "bind", "listen", "accept4", "shutdown",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg",
	"futex", "set_robust_list", "get_robust_list", "rseq", "clone", "clone3",
	"set_tid_address", "exit", "exit_group", "sched_yield",
	"sched_getaffinity", "getrandom",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time",
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"getgroups", "getresuid", "getresgid", "uname", "sysinfo", "getrusage",
	"prlimit64", "getrlimit", "prctl", "arch_prctl", "getcwd",
	"openat", "open", "readlink", "readlinkat", "getdents64", "access",
	"faccessat", "faccessat2", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "mkdir", "mkdirat", "fsync", "fdatasync", "ftruncate",
	"fchmod", "flock",
};

static const char *const fatal[] = {
	"ptrace", "mount", "umount2", "pivot_root", "chroot", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
	"setns", "unshare", "setuid", "setgid", "setreuid", "setregid",
	"setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "capset",
	"keyctl", "add_key", "request_key", "perf_event_open",
	"process_vm_readv", "process_vm_writev", "swapon", "swapoff", "reboot",
	"acct", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
	"execve", "execveat", "fork", "vfork",
};

int privsep_seccomp(char err[PRIVSEP_ERR_MAX])
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;
	int rc;

	if (!ctx) {
		snprintf(err, PRIVSEP_ERR_MAX, "seccomp: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr != __NR_SCMP_ERROR)
			seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		int nr = seccomp_syscall_resolve_name(fatal[i]);

		if (nr != __NR_SCMP_ERROR)
			seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc) {
		snprintf(err, PRIVSEP_ERR_MAX, "seccomp: cannot load the filter: %s",
			 strerror(-rc));
		return rc;
	}
	return 0;
}
