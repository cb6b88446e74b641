/* firewall.h - weft's own nftables table (see fw_rules.h for its scripts
 * and its name), loaded and removed through libnftables. Every call needs
 * CAP_NET_ADMIN in the current network namespace. */
#ifndef WEFT_OS_LINUX_FIREWALL_H
#define WEFT_OS_LINUX_FIREWALL_H

/* fw_table_name() and the script builders. */
#include "os/linux/fw_rules.h"

enum fw_error_values {
	FW_LAST_ERROR_MAX = 512,	/* fw_last_error, NUL included */
};

/* Load script, as fw_killswitch_script or fw_server_script made it, in
 * one nft transaction: all of it or none. Only builder output belongs
 * here; the helper rebuilds scripts from checked structs rather than
 * passing text through. 0; -EINVAL when nft refuses the script or the
 * kernel the transaction; -EPERM without CAP_NET_ADMIN; -ENOMEM. On
 * error fw_last_error() says why. */
__attribute__((warn_unused_result))
int fw_apply(const char *script);

/* Delete the table of ifname (inet weft_<ifname>), also after a crash of
 * whoever made it. 0 when it is gone, also when it was never there;
 * -EINVAL for an invalid name; -EPERM; -ENOMEM. */
__attribute__((warn_unused_result))
int fw_remove(const char *ifname);

/* 1 when the table of ifname exists, 0 when not, -errno as fw_remove. */
int fw_table_exists(const char *ifname);

/* What went wrong in this thread's last failed call, as one line for the
 * log ("line 3: Could not process rule: ... (in: delete table ...)"); ""
 * after a success. Valid until the thread's next fw_* call. */
const char *fw_last_error(void);

#endif
