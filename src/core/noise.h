/* noise.h - the WireGuard handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s.
 *
 * Pure: no peers, sockets or clocks. The caller owns index allocation and
 * peer lookup; time and randomness come in through struct noise_ops, so the
 * whole handshake runs deterministically in tests. */
#ifndef WEFT_CORE_NOISE_H
#define WEFT_CORE_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"
#include "core/replay.h"

struct noise_ops {
	void *ctx;
	void (*random)(void *ctx, void *buf, size_t len);
	/* Current wall time as TAI64N (12 bytes, big-endian seconds+2^62
	 * then nanoseconds); implementations may round the nanoseconds down
	 * to limit timing leaks, as the kernel does. */
	void (*tai64n)(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN]);
};

/* Our identity. has_identity is false until a private key is set. */
struct noise_local {
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/* Per-peer handshake state. remote_static, preshared_key and
 * precomputed_static_static persist across handshakes, and so do the
 * replay and flood fields at the end; the rest is the in-flight handshake,
 * wiped by noise_handshake_clear(). */
struct noise_handshake {
	enum noise_handshake_state state;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	/* DH(our static private, remote static); all zeros when either key
	 * is missing or the DH result was zero (handshakes then fail). */
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];

	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint32_t local_index;	/* our sender index for this handshake */
	uint32_t remote_index;	/* theirs */

	/* Replay and flood protection for initiations we consume. */
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	wg_time_t last_initiation_consumption;
	bool have_consumed_initiation;
};

/* Session keys. */
struct noise_keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t send_counter;
	struct replay_window replay;
	uint32_t local_index;
	uint32_t remote_index;
	wg_time_t birthdate;
	bool i_am_the_initiator;
	bool valid;
};

/* Set (or, with priv NULL, clear) our static identity. False if the key
 * is all zeros (it is then cleared). The caller must re-run
 * noise_handshake_precompute() for every peer afterwards. */
__attribute__((warn_unused_result))
bool noise_local_set_private(struct noise_local *local,
			     const uint8_t priv[NOISE_PUBLIC_KEY_LEN]);

/* Initialise a peer's handshake for remote_static (psk may be NULL). */
void noise_handshake_init(struct noise_handshake *hs,
			  const struct noise_local *local,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Recompute precomputed_static_static after our private key changed. */
void noise_handshake_precompute(struct noise_handshake *hs,
				const struct noise_local *local);
void noise_handshake_set_psk(struct noise_handshake *hs,
			     const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Wipe the in-flight part and return to HANDSHAKE_ZEROED. */
void noise_handshake_clear(struct noise_handshake *hs);

/* Fill dst (macs left zero: cookie.c adds them) and move hs to
 * CREATED_INITIATION with local_index as our sender index. False if we
 * have no identity or the static-static DH is zero. */
__attribute__((warn_unused_result))
bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs,
				       const struct noise_local *local,
				       uint32_t local_index,
				       const struct noise_ops *ops);

/* Look up the peer handshake state for a decrypted initiator static key,
 * or NULL if it is not one of our peers. */
typedef struct noise_handshake *(*noise_lookup_fn)(void *ctx,
	const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]);

/* Consume an initiation (macs already checked by the caller). On success
 * returns the peer's handshake, now in CONSUMED_INITIATION; NULL if the
 * message does not authenticate, is not from a known peer, replays an old
 * timestamp, or comes faster than INITIATIONS_PER_SECOND for that peer.
 * All work happens on a stack copy that is committed only on success. */
struct noise_handshake *
noise_handshake_consume_initiation(const struct message_handshake_initiation *src,
				   const struct noise_local *local,
				   noise_lookup_fn lookup, void *lookup_ctx,
				   wg_time_t now);

/* From CONSUMED_INITIATION: fill dst (macs zero), move to CREATED_RESPONSE
 * with local_index as our sender index. */
__attribute__((warn_unused_result))
bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs,
				     const struct noise_local *local,
				     uint32_t local_index,
				     const struct noise_ops *ops);

/* Consume a response addressed to hs (the caller found hs by the
 * message's receiver_index and checked it is in CREATED_INITIATION). On
 * success hs moves to CONSUMED_RESPONSE. */
__attribute__((warn_unused_result))
bool noise_handshake_consume_response(const struct message_handshake_response *src,
				      struct noise_handshake *hs,
				      const struct noise_local *local);

/* From CREATED_RESPONSE (responder) or CONSUMED_RESPONSE (initiator):
 * derive the transport keys into kp, set its indices, birthdate and role,
 * then clear the handshake. False in any other state. */
__attribute__((warn_unused_result))
bool noise_handshake_begin_session(struct noise_handshake *hs,
				   struct noise_keypair *kp, wg_time_t now);

/* Wipe a keypair. */
void noise_keypair_clear(struct noise_keypair *kp);

#endif
