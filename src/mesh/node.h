/* node.h - the engine of a team mesh node (`weft up`, DESIGN.md §4):
 * the data plane in-process, the hub connection on its own threads, and
 * the node's verified view (mesh/meshview.h) turned into WireGuard peers.
 *
 *   - Every roster and announcement from the hub is offered to the view;
 *     a rejection is logged with its reason and changes nothing.
 *   - Each launch makes a fresh WireGuard key pair and announces it, with
 *     the endpoint candidates (local addresses) and, for a device without
 *     a static address, the address it claims; re-announces when the
 *     address or the candidates change, and every MESH_ANNOUNCE_REFRESH_S.
 *   - Peers follow the view live: one per announced device of the roster
 *     that holds an address; allowed IPs its /32 and /128; the endpoint a
 *     candidate on a subnet we share ("lan"), else the first ("direct").
 *   - Privileged changes (the address) go through the helper
 *     (vpn/helper.h); the engine itself has no privilege.
 * Runs until INT/TERM/HUP, `weft down`, or the helper going away. */
#ifndef WEFT_MESH_NODE_H
#define WEFT_MESH_NODE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "mesh/mesh.h"
#include "os/linux/privsep.h"

#define NODE_DEFAULT_IFNAME "weftm0"

enum node_defaults {
	NODE_DEFAULT_PORT = 51820,
	NODE_KEEPALIVE_SEC = 25,
	NODE_POLL_WAIT_S = 25,
	NODE_STATUS_MAX = 1 << 20,
};

struct node_config {
	char ifname[16];
	uint16_t port;
	char hub[MESH_URL_MAX];
	char network[MESH_NAME_MAX];
	uint8_t admins[MESH_MAX_ADMINS][MESH_KEY_LEN];
	unsigned n_admins;
	uint8_t id_sk[MESH_SECRET_LEN];		/* identity, libsodium layout */
	uint8_t id_pk[MESH_KEY_LEN];
	char state_dir[PATH_MAX];		/* the engine's, owned by user */
	char run_dir[PATH_MAX];
	struct privsep_user user;
	char exit_node[2 * MESH_NAME_MAX];	/* "owner/device" or "device"; "" none */
	int helper_sock;
	int tun_fd;
	uint32_t fwmark;	/* for the engine's sockets (exit routing) */
	bool killswitch;	/* with an exit node: nothing else leaves */
	bool allow_lan;
};

/* Runs the engine; returns the process exit status. Wipes cfg->id_sk. */
int node_run(struct node_config *cfg);

#endif
