/* admission.h - passcode admission of new clients to an exit server, on the
 * WireGuard UDP port, before the client is a WireGuard peer.
 *
 * The client knows the server's static public key S and a passcode P; the
 * server knows its private key and P. Both turn P into
 *
 *   K_pass = Argon2id(P, salt = BLAKE2s("weft passcode v1" || S)[0..16],
 *                     opslimit 3, memlimit 64 MiB, 32 bytes)
 *
 * once (the server at start, the client once per run). The exchange is the
 * first message pair of Noise IK with BLAKE2s/ChaChaPoly/X25519, like the
 * WireGuard handshake but with its own protocol name, so no key, hash or
 * message of one can be used in the other:
 *
 *   request  -> e, es, s, ss, {timestamp, proof, prefixes}
 *   response <- e, ee, se, {status, addresses}
 *
 *   ck = HASH("weft admission v1"), h = HASH(ck || S)
 *   h = HASH(h || bytes 0..7 of the request)          header + sender index
 *   e:  h = HASH(h || E_c), ck = KDF1(ck, E_c)
 *   es: ck, k = KDF2(ck, DH(e_c, S))
 *   s:  encrypted_static = AEAD(k, 0, C, h), h = HASH(h || encrypted_static)
 *   ss: ck, k = KDF2(ck, DH(c, S))
 *   proof = HMAC-BLAKE2s(K_pass, h || C || timestamp)
 *   encrypted_payload = AEAD(k, 0, payload, h), h = HASH(h || it)
 *   mac1, mac2 as WireGuard's (keyed by S; cookie.c's derivation)
 *
 *   h = HASH(h || bytes 0..7 of the response)         header + receiver index
 *   e:  h = HASH(h || E_s), ck = KDF1(ck, E_s)
 *   ee: ck = KDF1(ck, DH(e_s, E_c))
 *   se: ck, k = KDF2(ck, DH(e_s, C))
 *   encrypted_payload = AEAD(k, 0, payload, h)      h: the whole transcript
 *   mac1 keyed by C (HASH("mac1----" || C)); responses carry no mac2
 *
 * Why it holds:
 * - P never crosses the wire; the proof travels sealed to S. A passive
 *   observer sees only ciphertext; an active attacker without S's private
 *   key cannot open the proof, and every guess of theirs needs a fresh
 *   request that the server answers at most at the caller's rate limit.
 *   Whoever holds S's private key (the server) can test guesses offline
 *   against a captured proof at one Argon2id each: that is what the
 *   Argon2id costs protect.
 * - The proof is bound to h, i.e. to S, the sender index, E_c and the
 *   encrypted C, so it cannot be moved into another request.
 * - ss proves that the sender owns C. Without it anyone who knows P could
 *   send requests naming somebody else's key: not to gain a session (the
 *   WireGuard handshake needs c anyway) but to poison that key's replay
 *   timestamp with a far-future value, locking its owner out, or to move
 *   its address by claiming different local subnets. One X25519 more per
 *   request buys that off. se in the response likewise makes the answer
 *   readable only by the owner of C, with forward secrecy through ee.
 *   (es = DH(e_c, S) = DH(S, E_c) is already in the chain.)
 * - Replay: per client key the server keeps the last TAI64N timestamp it
 *   admitted and refuses older or equal ones; a bounded cache of recently
 *   admitted E_c refuses exact replays for ADMISSION_REPLAY_WINDOW even
 *   when the per-key table had to evict that key. Rejected requests change
 *   nothing. Only the holder of P and C can add entries, so they cannot be
 *   flushed by strangers. The server does not compare timestamps with its
 *   own clock (clients' clocks may be wrong, as in WireGuard).
 * - A client that was admitted before must still prove P while a passcode
 *   is set: it loses nothing (it knows P), a passcode change then locks out
 *   everyone who does not know the new one, and there is one rule to audit.
 *   A server without a passcode admits anyone ("open server"); the client
 *   then sends an all-zero proof, which is not checked.
 * - Constant time: the proof and macs are compared with crypto_equal.
 *
 * Wire layouts (all multi-byte numbers little-endian, reserved bytes zero):
 *
 *   request, ADMISSION_REQUEST_LEN = 344
 *     0   type 0x57 ('W'), subtype 0x01, reserved[2]    (le32 0x00000157)
 *     4   sender_index (le32, random; cookie replies and the response
 *         address it)
 *     8   E_c                               32
 *    40   encrypted_static (C + tag)        48
 *    88   encrypted_payload (208 + tag)    224
 *   312   mac1                              16
 *   328   mac2                              16
 *   request payload, 208 bytes:
 *     0   timestamp (TAI64N)                12
 *    12   proof                             32
 *    44   prefix_count (0..8), reserved[3]   4
 *    48   8 prefix records (unused ones all zero)  160
 *
 *   response, ADMISSION_RESPONSE_LEN = 196
 *     0   type 0x57, subtype 0x02, reserved[2]          (le32 0x00000257)
 *     4   receiver_index (the request's sender_index)
 *     8   E_s                               32
 *    40   encrypted_payload (124 + tag)    140
 *   180   mac1                              16
 *   response payload, 124 bytes:
 *     0   status, dns_count (0..2), reserved[2]
 *     4   address4, address6, server4, server6, dns[0], dns[1]: 6 records
 *
 *   prefix record, 20 bytes: family (0 absent, 4, 6), cidr, reserved[2],
 *   addr[16] (v4 in the first 4 bytes, the rest zero). Avoided prefixes
 *   have no host bits set; assigned and server addresses carry the tunnel
 *   network's prefix length; DNS servers are full-length.
 *
 * The payloads have a fixed size, so the length reveals nothing (not even
 * how many subnets the client has), and the response is smaller than the
 * request, so the server cannot be used as an amplifier. Other WireGuard
 * implementations read bytes 0..3 as the le32 message type, see neither 1
 * to 4, and drop the packet.
 *
 * Server flow (the caller owns the socket, the rate limits and the pool):
 *   1. admission_message_kind() == ADMISSION_KIND_REQUEST
 *   2. cookie_validate_packet() with the device's cookie checker, exactly
 *      as for initiations (mac1 always, mac2 under load; a cookie reply's
 *      receiver index is bytes 4..7). mac2 is checked nowhere else.
 *   3. ratelimiter_allow() for the source, always, not only under load:
 *      every request that reaches step 4 is one passcode guess.
 *   4. admission_request_consume(): INVALID / REPLAYED: drop silently.
 *      WRONG_PASSCODE: answer ADMISSION_STATUS_BAD_PASSCODE.
 *      ADMISSIBLE: policy (ADMISSION_STATUS_NOT_ALLOWED), addrpool_assign()
 *      with the request's prefixes, add the peer, answer.
 *   5. admission_response_create(), send to the request's source.
 *
 * Pure: randomness and TAI64N come through struct noise_ops, time as a
 * wg_time_t argument; no syscalls. */
#ifndef WEFT_CORE_ADMISSION_H
#define WEFT_CORE_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addrpool.h"
#include "core/cookie.h"
#include "core/messages.h"

struct noise_local;
struct noise_ops;

enum admission_wire {
	ADMISSION_MESSAGE_TYPE = 0x57,	/* 'W': WEFT_MESSAGE_TYPE (core/relay.h) */
	ADMISSION_SUBTYPE_REQUEST = 0x01,
	ADMISSION_SUBTYPE_RESPONSE = 0x02,
	ADMISSION_MAX_PREFIXES = 8,
	ADMISSION_MAX_DNS = 2,
	ADMISSION_PROOF_LEN = 32,
	ADMISSION_KEY_LEN = 32,
};

enum admission_limits {
	ADMISSION_PASSCODE_MAX = 1024,	/* bytes */
	ADMISSION_REPLAY_WINDOW = 120,	/* seconds an admitted E_c is kept */
	ADMISSION_KNOWN_BUCKETS = 1024,	/* per-key timestamps: */
	ADMISSION_KNOWN_WAYS = 4,	/*   1024 x 4 keys, LRU per bucket */
	ADMISSION_RECENT_BUCKETS = 256,	/* recently admitted E_c: */
	ADMISSION_RECENT_WAYS = 4,	/*   256 x 4 */
	ADMISSION_RECENT_TAG_LEN = 16,
};

/* Production Argon2id limits; tests and fuzzers pass tiny ones. */
#define ADMISSION_PWHASH_OPSLIMIT 3ULL
#define ADMISSION_PWHASH_MEMLIMIT ((size_t)64 << 20)

/* The response status. */
enum admission_status {
	ADMISSION_STATUS_OK = 0,
	ADMISSION_STATUS_BAD_PASSCODE = 1,
	ADMISSION_STATUS_POOL_FULL = 2,
	ADMISSION_STATUS_NOT_ALLOWED = 3,
	/* The client's subnets cover the pool or the server's address. */
	ADMISSION_STATUS_ADDRESS_CONFLICT = 4,
	ADMISSION_STATUS_MAX = ADMISSION_STATUS_ADDRESS_CONFLICT,
};

/* ---- wire structs: byte arrays only, so no padding ---- */

struct admission_header {
	uint8_t type;			/* ADMISSION_MESSAGE_TYPE */
	uint8_t subtype;
	uint8_t reserved_zero[2];
};

struct admission_wire_prefix {
	uint8_t family;
	uint8_t cidr;
	uint8_t reserved_zero[2];
	uint8_t addr[16];
};

struct admission_request_payload {
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	uint8_t proof[ADMISSION_PROOF_LEN];
	uint8_t prefix_count;
	uint8_t reserved_zero[3];
	struct admission_wire_prefix prefixes[ADMISSION_MAX_PREFIXES];
};

struct admission_response_payload {
	uint8_t status;
	uint8_t dns_count;
	uint8_t reserved_zero[2];
	struct admission_wire_prefix address4, address6, server4, server6;
	struct admission_wire_prefix dns[ADMISSION_MAX_DNS];
};

struct message_admission_request {
	struct admission_header header;
	uint8_t sender_index[4];
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_payload[noise_encrypted_len(
		sizeof(struct admission_request_payload))];
	struct message_macs macs;
};

struct message_admission_response {
	struct admission_header header;
	uint8_t receiver_index[4];
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_payload[noise_encrypted_len(
		sizeof(struct admission_response_payload))];
	uint8_t mac1[COOKIE_MAC_LEN];
};

_Static_assert(sizeof(struct admission_wire_prefix) == 20, "wire size");
_Static_assert(sizeof(struct admission_request_payload) == 208, "wire size");
_Static_assert(sizeof(struct admission_response_payload) == 124, "wire size");
_Static_assert(sizeof(struct message_admission_request) == 344, "wire size");
_Static_assert(sizeof(struct message_admission_response) == 196, "wire size");

enum admission_lengths {
	ADMISSION_REQUEST_LEN = sizeof(struct message_admission_request),
	ADMISSION_RESPONSE_LEN = sizeof(struct message_admission_response),
};

/* ---- the passcode ---- */

struct admission_pwhash_limits {
	unsigned long long opslimit;
	size_t memlimit;		/* bytes */
};

/* K_pass for server_public from passcode/len (1..ADMISSION_PASSCODE_MAX
 * bytes, used as given: no Unicode normalisation). limits NULL means the
 * production ADMISSION_PWHASH_*. False on a bad length or when Argon2id
 * fails (out of memory, limits below libsodium's minimum); out is then
 * zero. Slow by design: call it once. */
__attribute__((warn_unused_result))
bool admission_passcode_key(uint8_t out[ADMISSION_KEY_LEN],
			    const char *passcode, size_t len,
			    const uint8_t server_public[NOISE_PUBLIC_KEY_LEN],
			    const struct admission_pwhash_limits *limits);

/* ---- classification ---- */

enum admission_kind {
	ADMISSION_KIND_NONE,		/* not an admission message */
	ADMISSION_KIND_REQUEST,
	ADMISSION_KIND_RESPONSE,
};

/* By the first four bytes and the exact length; looks at nothing else. */
enum admission_kind admission_message_kind(const uint8_t *msg, size_t len);

/* ---- server side ---- */

struct admission_known {
	uint8_t client_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	wg_time_t last_admitted;	/* for LRU eviction within a bucket */
	bool used;
};

struct admission_recent {
	uint8_t tag[ADMISSION_RECENT_TAG_LEN];	/* keyed hash of E_c */
	wg_time_t admitted;
	bool used;
};

/* About 290 KiB: allocate it. */
struct admission_server {
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];	/* whose requests */
	struct cookie_checker mac1;	/* mac1 only; mac2 is the caller's */
	uint8_t passcode_key[ADMISSION_KEY_LEN];
	bool has_passcode;
	bool ready;
	uint8_t table_key[32];		/* secret: bucket choice */
	struct admission_known
		known[ADMISSION_KNOWN_BUCKETS][ADMISSION_KNOWN_WAYS];
	struct admission_recent
		recent[ADMISSION_RECENT_BUCKETS][ADMISSION_RECENT_WAYS];
};

enum admission_verdict {
	ADMISSION_INVALID,		/* not ours, malformed, forged: drop */
	ADMISSION_REPLAYED,		/* authentic but not fresh: drop */
	ADMISSION_WRONG_PASSCODE,	/* authentic, wrong proof: say so */
	ADMISSION_ADMISSIBLE,		/* authentic and proven (or open) */
};

enum admission_proof {
	ADMISSION_PROOF_INVALID,
	ADMISSION_PROOF_VALID,
	ADMISSION_PROOF_NOT_REQUIRED,	/* open server: not checked */
};

/* What a request said, and what the server needs to answer it. The second
 * half is secret; admission_response_create() wipes it, and so must a
 * caller that decides not to answer (admission_request_clear()). */
struct admission_request {
	uint8_t client_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	struct ip_prefix avoid[ADMISSION_MAX_PREFIXES];
	size_t n_avoid;
	enum admission_proof proof;

	uint32_t sender_index;
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	bool answerable;
};

/* What the server grants (status OK) or refuses. Addresses: family 0 when
 * absent. A refusal carries no addresses. */
struct admission_grant {
	enum admission_status status;
	struct ip_prefix address4, address6;	/* the client's, with the
						 * tunnel network's length */
	struct ip_prefix server4, server6;	/* the server's tunnel ones */
	struct ip_prefix dns[ADMISSION_MAX_DNS];
	size_t n_dns;
};

/* For requests to local's identity. passcode_key NULL: open server.
 * ops->random seeds the tables' secret hash key. False if local has no
 * identity (srv is then unusable: every request is INVALID). */
__attribute__((warn_unused_result))
bool admission_server_init(struct admission_server *srv,
			   const struct noise_local *local,
			   const uint8_t passcode_key[ADMISSION_KEY_LEN],
			   const struct noise_ops *ops);
void admission_server_clear(struct admission_server *srv);

/* Consume a request msg/len (any bytes) arriving at monotonic time now.
 * Checks mac1 (mac2 is the caller's, step 2 above), opens it, checks
 * replay and the proof. out is filled for WRONG_PASSCODE and ADMISSIBLE,
 * zeroed otherwise. Only ADMISSIBLE changes srv (the replay state). local
 * must be the identity srv was made for. */
__attribute__((warn_unused_result))
enum admission_verdict
admission_request_consume(struct admission_server *srv,
			  const struct noise_local *local,
			  const uint8_t *msg, size_t len, wg_time_t now,
			  struct admission_request *out);

/* Answer req (from WRONG_PASSCODE or ADMISSIBLE) with grant into
 * msg[ADMISSION_RESPONSE_LEN]. False if req is not answerable or grant is
 * malformed (bad status, an OK without any address, a refusal with
 * addresses, wrong families or lengths). req's secrets are wiped either
 * way: a request is answered once. */
__attribute__((warn_unused_result))
bool admission_response_create(uint8_t msg[ADMISSION_RESPONSE_LEN],
			       struct admission_request *req,
			       const struct admission_grant *grant,
			       const struct noise_ops *ops);

void admission_request_clear(struct admission_request *req);

/* ---- client side ---- */

struct admission_client {
	uint8_t server_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t our_static[NOISE_PUBLIC_KEY_LEN];	/* identity made for */
	uint8_t passcode_key[ADMISSION_KEY_LEN];
	bool has_passcode;
	struct cookie_maker cookie;	/* macs on requests; cookie replies */
	uint8_t response_mac1_key[NOISE_SYMMETRIC_KEY_LEN];

	/* The request in flight. */
	bool waiting;
	uint32_t sender_index;
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t ephemeral_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
};

/* For local's identity talking to server_static. passcode_key NULL: no
 * passcode (all-zero proof). False if local has no identity. */
__attribute__((warn_unused_result))
bool admission_client_init(struct admission_client *c,
			   const struct noise_local *local,
			   const uint8_t server_static[NOISE_PUBLIC_KEY_LEN],
			   const uint8_t passcode_key[ADMISSION_KEY_LEN]);
void admission_client_clear(struct admission_client *c);

/* Build a request into msg[ADMISSION_REQUEST_LEN] (mac1, and mac2 when
 * c->cookie holds a fresh cookie from a cookie reply), replacing any
 * request in flight. avoid: the client's local subnets, at most
 * ADMISSION_MAX_PREFIXES (host bits are cleared here). False on bad
 * arguments or a failed DH; c is then unchanged. */
__attribute__((warn_unused_result))
bool admission_request_create(uint8_t msg[ADMISSION_REQUEST_LEN],
			      struct admission_client *c,
			      const struct noise_local *local,
			      const struct ip_prefix *avoid, size_t n_avoid,
			      wg_time_t now, const struct noise_ops *ops);

/* Consume a response msg/len to the request in flight. True when it
 * authenticates and is well formed: out holds the server's answer (any
 * status) and the request is no longer in flight. False otherwise, with c
 * unchanged. */
__attribute__((warn_unused_result))
bool admission_response_consume(struct admission_client *c,
				const struct noise_local *local,
				const uint8_t *msg, size_t len,
				struct admission_grant *out);

#endif
