/* cookie.h - mac1/mac2 and cookie replies (whitepaper §5.4.4, §5.4.7).
 *
 * The checker lives in the device (our public key, a rotating secret); a
 * maker lives in each peer (that peer's public key, the last cookie it gave
 * us). Source addresses are passed as opaque bytes (ip || port as it was on
 * the wire) so the module needs no socket types. */
#ifndef WEFT_CORE_COOKIE_H
#define WEFT_CORE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

struct noise_ops;

struct cookie_checker {
	uint8_t secret[NOISE_HASH_LEN];
	wg_time_t secret_birthdate;
	bool secret_valid;
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
};

struct cookie_maker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	wg_time_t cookie_birthdate;
	bool have_cookie;
	uint8_t last_mac1_sent[COOKIE_MAC_LEN];
	bool have_sent_mac1;
};

enum cookie_mac_state {
	INVALID_MAC,
	VALID_MAC_BUT_NO_COOKIE,
	VALID_MAC_WITH_COOKIE,
};

/* Derive the checker's keys from our public key (NULL: no identity, every
 * mac1 then fails). */
void cookie_checker_init(struct cookie_checker *c,
			 const uint8_t our_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_maker_init(struct cookie_maker *m,
		       const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);

/* msg/len is a whole handshake message (initiation or response) ending in
 * struct message_macs. Checks mac1; when check_cookie, also mac2 against
 * the cookie for src. */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c,
					     const uint8_t *msg, size_t len,
					     const uint8_t *src, size_t src_len,
					     bool check_cookie, wg_time_t now,
					     const struct noise_ops *ops);

/* Write mac1 (and mac2 when we hold a cookie younger than
 * COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) into msg's trailing macs. */
void cookie_add_mac_to_packet(uint8_t *msg, size_t len,
			      struct cookie_maker *m, wg_time_t now);

/* Build a cookie reply to the handshake message msg/len from src; its
 * receiver index is the message's sender index. */
void cookie_message_create(struct message_handshake_cookie *dst,
			   const uint8_t *msg, size_t len,
			   uint32_t sender_index,
			   struct cookie_checker *c,
			   const uint8_t *src, size_t src_len, wg_time_t now,
			   const struct noise_ops *ops);

/* Decrypt a cookie reply into m (it must answer our last mac1). */
__attribute__((warn_unused_result))
bool cookie_message_consume(const struct message_handshake_cookie *src,
			    struct cookie_maker *m, wg_time_t now);

#endif
