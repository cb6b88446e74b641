/* helper.h - the privileged half of a mesh node (DESIGN.md §5).
 *
 * helper_spawn() runs as root: it creates the TUN interface, forks, and
 * from then on the parent is the helper and the child is the engine. The
 * helper hands the TUN descriptor to the engine (SCM_RIGHTS, with the
 * HELLO), then serves typed requests (os/linux/helper_proto.h) that pass
 * its policy, and nothing else:
 *   - ADDR_SET: our interface only; IPv4 inside 10/8, 172.16/12,
 *     192.168/16 or 100.64/10 with a prefix /8../30 that overlaps no
 *     subnet of another interface; IPv6 a ULA /96 likewise. The previous
 *     address of that family is removed. The kernel's prefix route of the
 *     address is the mesh route.
 *   - ROUTE_ADD/DEL: via our interface, inside the current address's
 *     subnet only (never a default or covering route).
 *   - MTU_SET: 1280..65535.
 *   - EXIT_*: only when the node was started with an exit node
 *     (--exit-node): the helper knows it from its own command line.
 * A malformed or out-of-policy request is logged with its reason and ends
 * the helper: the engine is killed and everything is put back. When the
 * engine exits, or the helper gets INT/TERM/HUP, the helper stops the
 * engine, undoes its journal and exits with the engine's status. */
#ifndef WEFT_VPN_HELPER_H
#define WEFT_VPN_HELPER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "os/linux/helper_proto.h"

struct helper_conf {
	char ifname[16];
	unsigned mtu;
	char state_dir[PATH_MAX];	/* the helper's journal lives here */
	bool exit_allowed;		/* started with --exit-node */
	const char *pidfile;		/* removed when the helper exits */
};

/* What the policy needs to know about the host and the node. */
struct helper_policy {
	char ifname[16];
	int ifindex;
	bool exit_allowed;
	bool has4, has6;		/* current addresses */
	struct helper_addr addr4, addr6;
	/* Subnets of the other interfaces (for overlap checks). */
	struct helper_addr others[64];
	unsigned n_others;
};

/* Pure: may m be executed under p? false with a reason when not. */
bool helper_policy_check(const struct helper_policy *p,
			 const struct helper_msg *m,
			 char reason[HELPER_REASON_MAX]);

/* Returns only in the engine (child): 0 with *sock (to the helper),
 * *tun_fd and the HELLO (ifindex, fwmark); or -errno in the caller before
 * any fork, with err. The helper (parent) never returns: it exits. */
int helper_spawn(const struct helper_conf *c, int *sock, int *tun_fd,
		 struct helper_msg *hello, char err[HELPER_REASON_MAX]);

#endif
