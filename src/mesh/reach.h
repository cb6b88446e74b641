/* reach.h - how a mesh node makes itself reachable and finds its paths
 * (docs/mesh-protocol.md "Paths"): registration with the roster's relays,
 * STUN for the public address, and the probes of each peer's candidates
 * (mesh/paths.h), all on the WireGuard port so the NAT mappings they
 * learn are the ones WireGuard uses. Runs on the engine's thread. */
#ifndef WEFT_MESH_REACH_H
#define WEFT_MESH_REACH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/device.h"
#include "mesh/mesh.h"
#include "mesh/paths.h"
#include "mesh/roster.h"
#include "mesh/stun.h"

/* A registration every 5 s keeps the NAT mapping to the relay open and
 * tells within 12 s (two missed answers) that a relay is gone. */
#define REACH_REGISTER_EVERY ((wg_time_t)5 * NSEC_PER_SEC)
#define REACH_RELAY_ALIVE ((wg_time_t)12 * NSEC_PER_SEC)
#define REACH_STUN_EVERY ((wg_time_t)30 * NSEC_PER_SEC)

enum { REACH_MAX_PUBLIC = 2 };

struct reach_server {
	struct wg_endpoint ep;
	bool relay;			/* else STUN only */
	wg_time_t sent, answered;	/* registration */
	wg_time_t stun_sent;
	uint64_t reg_time;		/* of the last registration sent */
	uint8_t txid[STUN_TXID_LEN];	/* of the last STUN request */
	struct wg_endpoint seen;	/* where it saw us */
	uint64_t rtt_ns;
};

/* One peer as reach sees it. */
struct reach_peer {
	struct peer *p;
	uint8_t wg[MESH_KEY_LEN];
	uint8_t shared[PATH_SHARED_LEN];
	bool shared_ok;
	struct path_peer path;
};

struct reach {
	struct device *dev;
	char network[MESH_NAME_MAX];
	uint8_t id_pk[MESH_KEY_LEN];
	const uint8_t *id_sk;		/* the node's, MESH_SECRET_LEN */
	uint8_t wg_pub[MESH_KEY_LEN];
	uint8_t wg_priv[MESH_KEY_LEN];

	struct reach_server servers[2 * MESH_MAX_RELAYS];
	unsigned n_servers;
	wg_time_t next_stun;
	/* Our public addresses (distinct answers), newest first. */
	struct wg_endpoint publics[REACH_MAX_PUBLIC];
	unsigned n_publics;
	bool changed;			/* publics changed */
	/* Whether an address is on one of our subnets. */
	bool (*is_lan)(void *ctx, const struct wg_endpoint *ep);
	void *lan_ctx;
	uint64_t probes_sent, probes_received, bad_probes;
};

void reach_init(struct reach *r, struct device *dev, const char *network,
		const uint8_t id_pk[MESH_KEY_LEN], const uint8_t *id_sk,
		const uint8_t wg_priv[MESH_KEY_LEN], const uint8_t wg_pub[MESH_KEY_LEN]);
void reach_wipe(struct reach *r);

/* The relays and STUN servers of the roster; registration and STUN start
 * at once for new ones. */
void reach_set_servers(struct reach *r, const struct roster *ro, wg_time_t now);
/* The local network changed: ask again where we are, probe again. */
void reach_network_changed(struct reach *r, wg_time_t now);

/* Registrations and STUN requests that are due. */
void reach_tick(struct reach *r, wg_time_t now);

/* The relays we are registered with now, in the roster's order. */
unsigned reach_relays(const struct reach *r, struct wg_endpoint *out, unsigned max);

/* Prepare a new peer (shared key). False when its key is unusable. */
bool reach_peer_init(struct reach *r, struct reach_peer *rp, struct peer *p,
		     const uint8_t wg[MESH_KEY_LEN]);
/* Send the peer's due probes, and move its WireGuard endpoint to the path
 * of choice. Returns when it next needs a call (0: at the next tick). */
wg_time_t reach_peer_tick(struct reach *r, struct reach_peer *rp, wg_time_t now);

/* A DEVICE_CONTROL_PATH message. find: the peer whose WireGuard key this
 * is, or NULL. */
void reach_input(struct reach *r, const struct pkt *k, wg_time_t now,
		 struct reach_peer *(*find)(void *arg, const uint8_t wg[MESH_KEY_LEN]),
		 void *arg);

/* The path in use for a peer, from its WireGuard endpoint. */
enum path_kind reach_peer_kind(const struct reach_peer *rp);

#endif
