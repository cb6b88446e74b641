/* pathmsg.h - the messages a mesh node sends on its WireGuard port besides
 * WireGuard (subtypes in core/relay.h):
 *
 *   REGISTER    node -> relay: "device K (identity) of network N is at the
 *               address this comes from, with WireGuard key W", signed by K
 *               with a millisecond time. The relay admits devices of the
 *               roster only and a time newer than the last it took.
 *   REGISTERED  relay -> node: the time echoed and the address the relay
 *               saw (so a registration is also a STUN answer). Unsigned:
 *               a forged one can only make a node think a relay is up.
 *   PING, PONG  node <-> node probes of a candidate path; PONG tells the
 *               pinger where the ping came from. PUNCH asks the peer to
 *               probe every candidate now (sent through the relay, so both
 *               sides open their NATs at the same time).
 * Probes are sealed with crypto_box (X25519 of the two devices' WireGuard
 * keys, XSalsa20-Poly1305; the nonce hashed with the sender's key, as the
 * key is the same both ways): nobody else can make a node believe a path
 * works or send it to a path of their choosing. Pure. */
#ifndef WEFT_MESH_PATHMSG_H
#define WEFT_MESH_PATHMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "mesh/mesh.h"

enum pathmsg_wire {
	PATH_TXID_LEN = 12,
	PATH_NONCE_LEN = 24,
	PATH_MAC_LEN = 16,
	PATH_ADDR_LEN = 20,	/* family, 0, port (be16), 16 address bytes */
	PATH_PROBE_HDR = 4 + MESH_KEY_LEN + PATH_NONCE_LEN,
	PATH_PROBE_BODY = PATH_TXID_LEN + PATH_ADDR_LEN,
	PATH_PROBE_LEN = PATH_PROBE_HDR + PATH_PROBE_BODY + PATH_MAC_LEN,
	PATH_REGISTER_LEN = 4 + MESH_NAME_MAX + 2 * MESH_KEY_LEN + 8 + MESH_SIG_LEN,
	PATH_REGISTERED_LEN = 4 + 8 + PATH_ADDR_LEN,
	PATH_SHARED_LEN = 32,
};

struct path_probe {
	uint8_t sub;			/* WEFT_SUB_PING, _PONG or _PUNCH */
	uint8_t sender[MESH_KEY_LEN];	/* its WireGuard public key */
	uint8_t txid[PATH_TXID_LEN];
	struct wg_endpoint seen;	/* PONG: where the PING came from */
};

struct path_register {
	char network[MESH_NAME_MAX];
	uint8_t device[MESH_KEY_LEN];	/* identity (Ed25519) */
	uint8_t wg[MESH_KEY_LEN];
	uint64_t time_ms;
};

/* The key two devices seal probes with. -EINVAL for a bad public key. */
int path_shared(uint8_t out[PATH_SHARED_LEN],
		const uint8_t my_private[MESH_KEY_LEN],
		const uint8_t their_public[MESH_KEY_LEN]);

/* Seal pr into out (PATH_PROBE_LEN bytes) with a random nonce. */
void path_probe_seal(uint8_t out[PATH_PROBE_LEN], const struct path_probe *pr,
		     const uint8_t shared[PATH_SHARED_LEN]);
/* The sender's key of a probe, to find the shared key: -EINVAL when msg
 * is not a probe. */
int path_probe_sender(const uint8_t *msg, size_t len,
		      uint8_t sender[MESH_KEY_LEN]);
/* Open a probe: 0, or -EINVAL (not a probe, or not sealed with shared). */
int path_probe_open(struct path_probe *pr, const uint8_t *msg, size_t len,
		    const uint8_t shared[PATH_SHARED_LEN]);

/* Sign a registration with the identity's secret key. */
void path_register_seal(uint8_t out[PATH_REGISTER_LEN],
			const struct path_register *r,
			const uint8_t id_sk[MESH_SECRET_LEN]);
/* Parse and check the signature (membership and time are the relay's).
 * 0 or -EINVAL. */
int path_register_open(struct path_register *r, const uint8_t *msg, size_t len);

void path_registered_build(uint8_t out[PATH_REGISTERED_LEN], uint64_t time_ms,
			   const struct wg_endpoint *seen);
int path_registered_parse(const uint8_t *msg, size_t len, uint64_t *time_ms,
			  struct wg_endpoint *seen);

#endif
