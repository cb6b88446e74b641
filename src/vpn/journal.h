/* journal.h - the undo journal of the changes weft makes to the host
 * (policy rules, routes, sysctls, its nftables table, DNS), so that they
 * can be put back after a normal stop and after SIGKILL or a power cut.
 *
 * Invariants:
 *   - Write-ahead: what undoes a change is in the journal, on disk
 *     (fsynced), before the change is made. A crash between the two leaves
 *     an entry whose change was never made; undoing it is a no-op.
 *   - Every undo step is idempotent ("already gone" counts as done), so a
 *     journal may be undone any number of times, in part or in full, also
 *     after a reboot.
 *   - Entries are undone last first; the journal is removed only when
 *     every step succeeded.
 *   - A journal is one text file <dir>/<ifname>.undo (mode 0600, in a
 *     directory owned by this user that nobody else may write: a journal
 *     tells root which files to rewrite), one entry a line, strictly
 *     parsed (journal_parse). The process that opened it holds an
 *     exclusive flock(2) on it until it closes it or dies, so that
 *     `weft cleanup` never undoes the configuration of a running weft.
 *
 * One line per entry, fields in this order, separated by one space:
 *   rule fam=4 pref=32765 not=1 fwmark=51820 fwmask=0 table=51820 suppress=-1 action=1
 *   route fam=6 dst=::/0 type=1 proto=3 scope=255 gw=- src=- oif=7 table=51820 metric=0
 *   sysctl name=net/ipv4/conf/all/src_valid_mark value=0
 *   nft ifname=weft0
 *   file path=/etc/resolv.conf backup=/var/lib/weft/weft0.resolv.conf.orig was=file mode=0644 target=-
 *   resolved ifname=weft0
 * Numbers are decimal without leading zeros (mode: four octal digits),
 * "-" is an absent value, and inside a value a byte that is not a
 * printable ASCII character other than space, or is '%', is written %XX
 * (upper-case hex). The format is canonical: journal_parse accepts a line
 * only if journal_format writes exactly that line for what it parsed. */
#ifndef WEFT_VPN_JOURNAL_H
#define WEFT_VPN_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/linux/netlink.h"
#include "os/linux/sysctl.h"

enum journal_values {
	JOURNAL_IFNAMSIZ = 16,
	JOURNAL_PATH_MAX = 256,		/* file paths in entries, NUL included */
	JOURNAL_DIR_MAX = 160,		/* the journal's directory, NUL included */
	JOURNAL_LINE_MAX = 4096,	/* one entry's line, without newline */
	JOURNAL_MAX_ENTRIES = 256,	/* per journal */
	JOURNAL_MAX_FILES = 4,		/* distinct FILE entries per journal */
	JOURNAL_COPY_MAX = 1 << 20,	/* largest file journal_record_file saves */
	JOURNAL_ERR_MAX = 128,
	JOURNAL_CHILD_TIMEOUT_MS = 10000,	/* resolvectl and the like */
};

enum journal_kind {
	JOURNAL_RULE,		/* a policy rule was added: undo deletes it (struct nl_rule, exact: priority set) */
	JOURNAL_ROUTE,		/* a route was added: undo deletes it (struct nl_route) */
	JOURNAL_SYSCTL,		/* a sysctl is about to change: undo writes the old value back */
	JOURNAL_NFT,		/* weft's nftables table for ifname exists: undo fw_remove(ifname) */
	JOURNAL_FILE,		/* a file (resolv.conf) is about to be rewritten: undo puts back the saved copy */
	JOURNAL_RESOLVED,	/* systemd-resolved got per-link DNS for ifname: undo `resolvectl revert ifname` */
};

struct journal_entry {
	enum journal_kind kind;
	union {
		struct nl_rule rule;	/* has_priority set, no other_selectors */
		struct nl_route route;	/* not multipath */
		struct {
			char name[SYSCTL_NAME_MAX];
			char value[SYSCTL_VALUE_MAX];	/* the old value */
		} sysctl;
		char ifname[JOURNAL_IFNAMSIZ];	/* NFT, RESOLVED */
		struct {
			char path[JOURNAL_PATH_MAX];	/* absolute */
			/* The saved copy (was a regular file), else "". */
			char backup[JOURNAL_PATH_MAX];
			/* What path was: a regular file (mode), a symlink
			 * (link_target), or nothing (absent: undo removes
			 * whatever is there then). */
			bool was_symlink;
			bool absent;
			uint32_t mode;		/* permission bits, regular files */
			char link_target[JOURNAL_PATH_MAX];
		} file;
	} u;
};

/* Pure: one entry <-> one text line (no newline in output), bounded,
 * strict. journal_format: the length written (NUL-terminated), -ENOSPC
 * when cap is too small (JOURNAL_LINE_MAX + 1 always suffices), -EINVAL
 * for an entry the format cannot say (unterminated or invalid strings,
 * a rule without priority, a multipath route ...). journal_parse: 0, or
 * -EINVAL with a one-line reason in err ("rule: field 3: expected pref=");
 * *out is zeroed first, so equal lines give byte-equal entries. */
__attribute__((warn_unused_result))
int journal_format(const struct journal_entry *e, char *line, size_t cap);
__attribute__((warn_unused_result))
int journal_parse(const char *line, size_t len, struct journal_entry *out,
		  char err[JOURNAL_ERR_MAX]);

struct journal {
	int fd;			/* the journal, locked; -1 when closed */
	int dirfd;		/* its directory */
	char path[JOURNAL_DIR_MAX + JOURNAL_IFNAMSIZ + 8];
	char dir[JOURNAL_DIR_MAX];	/* absolute, symlinks resolved */
	char ifname[JOURNAL_IFNAMSIZ];
	unsigned n;		/* entries recorded through this struct */
	unsigned n_files;
	char files[JOURNAL_MAX_FILES][JOURNAL_PATH_MAX];	/* FILE paths saved */
};

/* Open <dir>/<ifname>.undo for recording (dir created 0700, with its
 * parents, if missing; file 0600) and lock it. 0 or -errno, with one line
 * logged (log_err) on failure: -EEXIST when a journal with entries is
 * already there (a previous run did not finish: the caller runs
 * journal_undo first), -EBUSY when another process holds it (a weft on
 * that interface is running), -EPERM when dir or the file may be written
 * by others or belong to another user, -EINVAL for an invalid name
 * (ifname: 1..15 of [A-Za-z0-9_.-]), -ENAMETOOLONG. */
__attribute__((warn_unused_result))
int journal_open(struct journal *j, const char *dir, const char *ifname);
/* Append one line and fsync it (and the dir on the first entry) BEFORE the
 * caller makes the change. 0 or -errno: -EINVAL (entry journal_format
 * refuses), -ENOSPC (JOURNAL_MAX_ENTRIES reached), -EBADF (not open), or
 * the write's error. On failure the caller must not make the change. */
__attribute__((warn_unused_result))
int journal_record(struct journal *j, const struct journal_entry *e);
/* Before path (absolute) is rewritten: copy its content into
 * <dir>/<ifname>.<basename>.orig (written to a temporary name, fsynced,
 * renamed, dir fsynced), then record a FILE entry. A symlink is recorded
 * with its target (nothing copied), a missing file as absent. A path
 * recorded before in this journal is not saved again (the saved copy is
 * the original, not what weft wrote since): 0 at once. 0 or -errno:
 * -EFBIG (larger than JOURNAL_COPY_MAX), -EINVAL (not a regular file or
 * symlink, not absolute, unprintable), -ENAMETOOLONG, -ENOSPC. */
__attribute__((warn_unused_result))
int journal_record_file(struct journal *j, const char *path);
/* Close and unlock; keeps the file. Safe on a closed struct (fd -1). */
void journal_close(struct journal *j);

/* Undo everything in <dir>/<ifname>.undo, last entry first. Each step is
 * idempotent: "already gone" (nl_err_absent, a missing table, sysctl or
 * interface) counts as done, so a journal whose changes were partly made,
 * already undone, or lost to a reboot undoes cleanly. A torn last line (a
 * crash while it was written: its change was never made) is skipped.
 * Logs one line per failure (log_warn) and goes on with the rest. Removes
 * the journal (and the .orig copies) only if every step succeeded.
 * Returns the number of entries undone, 0 if there was no journal, or
 * -errno: -EIO if some step failed or a line is corrupt (the file stays
 * for another try), -EBUSY if another running process holds the journal
 * (this process's own open journal is no obstacle: after undoing it only
 * journal_close is left to do), -EPERM as journal_open. Opens its own
 * netlink socket. */
__attribute__((warn_unused_result))
int journal_undo(const char *dir, const char *ifname);

/* Every <ifname> with a journal in dir (for `weft cleanup` without a
 * name), sorted. The count (names beyond max are left out: call again
 * after undoing), 0 when dir does not exist, or -errno. */
__attribute__((warn_unused_result))
int journal_list(const char *dir, char names[][JOURNAL_IFNAMSIZ], size_t max);

#endif
