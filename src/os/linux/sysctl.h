/* sysctl.h - read and write kernel settings under /proc/sys by name
 * ("net/ipv4/ip_forward"), and put a changed one back as it was. */
#ifndef WEFT_OS_LINUX_SYSCTL_H
#define WEFT_OS_LINUX_SYSCTL_H

#include <stddef.h>

enum sysctl_values {
	SYSCTL_NAME_MAX = 96,	/* with the terminating NUL */
	SYSCTL_VALUE_MAX = 64,	/* with the terminating NUL */
};

/* A setting as it was before sysctl_save_and_set changed it; name empty:
 * nothing to restore. */
struct sysctl_saved {
	char name[SYSCTL_NAME_MAX];
	char value[SYSCTL_VALUE_MAX];
};

/* Names are relative to /proc/sys, '/'-separated: characters
 * [A-Za-z0-9_.-/] only (upper case for interface names: "net/ipv6/conf/
 * WG0/forwarding"), no leading or trailing '/', no empty, "." or ".."
 * component, shorter than SYSCTL_NAME_MAX. Anything else is -EINVAL. */

/* The value without leading and trailing white space, NUL-terminated in
 * buf. Its length, or -errno: -ENOENT (no such setting), -EOVERFLOW (it
 * does not fit in cap), -EINVAL. */
__attribute__((warn_unused_result))
int sysctl_read(const char *name, char *buf, size_t cap);
/* Write value, trimmed of white space: printable characters and inner
 * blanks and tabs only ("4096\t131072\t6291456"), shorter than
 * SYSCTL_VALUE_MAX, not empty. 0 or -errno. */
__attribute__((warn_unused_result))
int sysctl_write(const char *name, const char *value);

/* Record the current value of name in *saved, then write value. On
 * failure nothing was changed and saved->name is empty. 0 or -errno. */
__attribute__((warn_unused_result))
int sysctl_save_and_set(struct sysctl_saved *saved, const char *name,
			const char *value);
/* Write back what sysctl_save_and_set recorded (nothing when saved->name
 * is empty). 0 or -errno. */
int sysctl_restore(const struct sysctl_saved *saved);

#endif
