/* peer.h - a WireGuard peer: handshake, keypairs (previous/current/next),
 * cookie state, endpoint, timers, staged packets, counters. */
#ifndef WEFT_CORE_PEER_H
#define WEFT_CORE_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cookie.h"
#include "core/endpoint.h"
#include "core/noise.h"
#include "core/timers.h"

struct device;
struct pkt;

enum keypair_slot { KP_NONE = -1 };

struct peer {
	struct device *dev;
	uint64_t internal_id;
	wg_time_t added;	/* device time when it was added */

	struct noise_handshake hs;
	bool hs_indexed;	/* hs.local_index is in the index table */
	struct cookie_maker cookie;

	/* Three keypair slots; previous/current/next are slot numbers or
	 * KP_NONE. At most three keypairs live at once, so a slot is always
	 * free when a new one is derived (see peer_add_keypair). */
	struct noise_keypair kp[3];
	int8_t previous, current, next;

	struct wg_endpoint endpoint;
	uint16_t persistent_keepalive;	/* seconds, 0 off */

	struct timers timers;
	wg_time_t last_sent_handshake;
	bool have_sent_handshake;
	uint64_t last_handshake_sec, last_handshake_nsec; /* wall time */
	/* The last handshake's round trip (ns; 0 until one completed): as
	 * initiator, initiation sent to response received; as responder,
	 * response sent to the first packet under the new keys. What
	 * `weft status` shows as RTT. */
	wg_time_t handshake_rtt_ns;

	/* Packets waiting for a session; bounded by MAX_STAGED_PACKETS. */
	struct pkt *staged_head, *staged_tail;
	unsigned staged_n;

	uint64_t rx_bytes, tx_bytes;

	/* Device bookkeeping. */
	struct peer *hash_next;	/* public key table chain */
	struct peer *list_prev, *list_next;
	size_t heap_pos;	/* position in the timer heap, or SIZE_MAX */
	wg_time_t heap_key;	/* deadline the heap holds for us */
};

#define peer_of_handshake(h) \
	((struct peer *)((char *)(h) - offsetof(struct peer, hs)))

static inline struct noise_keypair *peer_keypair(struct peer *p, int slot)
{
	return slot == KP_NONE ? NULL : &p->kp[slot];
}

/* Install a freshly derived keypair (copied in); returns the slot used.
 * Initiator: it becomes current at once. Responder: it waits in next until
 * the first data packet arrives on it (peer_received_with_keypair). */
struct noise_keypair *peer_add_keypair(struct peer *p,
				       const struct noise_keypair *kp);
/* A data packet authenticated under kp: promote next to current when kp
 * is next. True when that promotion happened (the handshake completed). */
bool peer_received_with_keypair(struct peer *p, struct noise_keypair *kp);
/* Wipe and unindex every keypair. */
void peer_clear_keypairs(struct peer *p);
/* Expire current keypairs so the next send starts a new handshake (our
 * key changed), without dropping sessions still being received on. */
void peer_expire_current_keypair(struct peer *p);
/* A fresh index for a new handshake message, replacing the previous
 * handshake's index (the table has room: reserved when the peer was added). */
uint32_t peer_new_handshake_index(struct peer *p);
/* Forget the in-flight handshake (and its index). */
void peer_clear_handshake(struct peer *p);

/* The current keypair may encrypt now (valid, not expired, nonces left). */
bool peer_can_send(const struct peer *p);

/* Staged packets. */
void peer_stage_packet(struct peer *p, struct pkt *k);
void peer_purge_staged(struct peer *p);

#endif
