/* messages.h - WireGuard wire format and protocol constants; the only place
 * they live. Every multi-byte wire field is little-endian: read and write
 * them with the le32/le64 helpers, never by casting. */
#ifndef WEFT_CORE_MESSAGES_H
#define WEFT_CORE_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,	/* TAI64N */
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
};

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

enum cookie_values {
	COOKIE_SECRET_MAX_AGE = 2 * 60,	/* seconds */
	COOKIE_SECRET_LATENCY = 5,	/* seconds */
	COOKIE_NONCE_LEN = 24,		/* XChaCha20-Poly1305 */
	COOKIE_LEN = 16,
	COOKIE_MAC_LEN = 16,
};

enum counter_values {
	COUNTER_BITS_TOTAL = 8192,
	COUNTER_REDUNDANT_BITS = 64,
	COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS,
};

/* Protocol timing, from the whitepaper §6. Seconds unless named otherwise. */
enum limits {
	REKEY_TIMEOUT = 5,
	REKEY_TIMEOUT_JITTER_MAX_MS = 334,
	REKEY_AFTER_TIME = 120,
	REJECT_AFTER_TIME = 180,
	KEEPALIVE_TIMEOUT = 10,
	MAX_TIMER_HANDSHAKES = 90 / REKEY_TIMEOUT,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1U << 20,
	MAX_STAGED_PACKETS = 128,
	MAX_ALLOWEDIPS_PER_PEER = 1U << 16,
};

#define REKEY_AFTER_MESSAGES (1ULL << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - COUNTER_WINDOW_SIZE - 1)

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* Wire layouts. All fields are byte arrays or naturally aligned 32-bit
 * words at offsets that are multiples of 4, so the structs have no padding;
 * the _Static_asserts below pin every size. */
struct message_header {
	uint8_t type;		/* enum message_type */
	uint8_t reserved_zero[3];
};

struct message_macs {
	uint8_t mac1[COOKIE_MAC_LEN];
	uint8_t mac2[COOKIE_MAC_LEN];
};

struct message_handshake_initiation {
	struct message_header header;
	uint8_t sender_index[4];	/* le32 */
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
};

struct message_handshake_response {
	struct message_header header;
	uint8_t sender_index[4];	/* le32 */
	uint8_t receiver_index[4];	/* le32 */
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[noise_encrypted_len(0)];
	struct message_macs macs;
};

struct message_handshake_cookie {
	struct message_header header;
	uint8_t receiver_index[4];	/* le32 */
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
};

struct message_data {
	struct message_header header;
	uint8_t key_idx[4];		/* le32: receiver's index */
	uint8_t counter[8];		/* le64 */
	uint8_t encrypted_data[];
};

_Static_assert(sizeof(struct message_handshake_initiation) == 148, "wire size");
_Static_assert(sizeof(struct message_handshake_response) == 92, "wire size");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "wire size");
_Static_assert(sizeof(struct message_data) == 16, "wire size");

enum message_alignment {
	MESSAGE_PADDING_MULTIPLE = 16,
	MESSAGE_MINIMUM_LENGTH = sizeof(struct message_data) + noise_encrypted_len(0),
	DATA_HEADER_LEN = sizeof(struct message_data),
	DATA_OVERHEAD = DATA_HEADER_LEN + NOISE_AUTHTAG_LEN,
};

/* Largest inner packet the data plane carries, and the buffer that holds one
 * packet with room for the data header in front and padding + tag behind. */
enum packet_limits {
	WG_MAX_MTU = 9000,
	WG_DEFAULT_MTU = 1420,
	PKT_HEADROOM = DATA_HEADER_LEN,
	PKT_TAILROOM = MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN,
	PKT_BUF_SIZE = PKT_HEADROOM + WG_MAX_MTU + PKT_TAILROOM + 64,
};

static inline uint32_t le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t le64_load(const uint8_t *p)
{
	return (uint64_t)le32_load(p) | (uint64_t)le32_load(p + 4) << 32;
}

static inline void le64_store(uint8_t *p, uint64_t v)
{
	le32_store(p, (uint32_t)v);
	le32_store(p + 4, (uint32_t)(v >> 32));
}

/* Time inside the core: nanoseconds of CLOCK_MONOTONIC (or a fake clock). */
typedef uint64_t wg_time_t;
#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

#endif
