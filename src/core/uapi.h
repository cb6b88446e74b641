/* uapi.h - the cross-platform WireGuard configuration protocol
 * (wireguard.com/xplatform): parsing "set" requests and formatting "get"
 * replies. Pure: the device is reached through callbacks, so the parser is
 * fuzzed and unit-tested against a fake device. */
#ifndef WEFT_CORE_UAPI_H
#define WEFT_CORE_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/allowedips.h"
#include "core/endpoint.h"
#include "core/messages.h"

enum uapi_limits {
	UAPI_MAX_REQUEST = 1 << 22,	/* bytes in one request */
	UAPI_MAX_LINE = 512,
};

/* Callbacks a device implements for "set". Each returns 0 or a positive
 * errno, which ends the request and becomes its "errno=N" reply. Peer
 * callbacks act on the peer selected by the last public_key= line. */
struct uapi_set_ops {
	int (*private_key)(void *ctx, const uint8_t key[32], bool clear);
	int (*listen_port)(void *ctx, uint16_t port);
	int (*fwmark)(void *ctx, uint32_t mark);
	int (*replace_peers)(void *ctx);
	/* Select (creating unless update_only, which comes later: see
	 * below) the peer with this key. The device may defer creation until
	 * peer_end. */
	int (*peer_begin)(void *ctx, const uint8_t pubkey[32]);
	int (*peer_remove)(void *ctx);
	int (*peer_update_only)(void *ctx);
	int (*peer_preshared_key)(void *ctx, const uint8_t psk[32]);
	int (*peer_endpoint)(void *ctx, const struct wg_endpoint *ep);
	int (*peer_persistent_keepalive)(void *ctx, uint16_t seconds);
	int (*peer_replace_allowed_ips)(void *ctx);
	int (*peer_allowed_ip)(void *ctx, enum ip_family family,
			       const uint8_t *ip, uint8_t cidr);
	/* The current peer section ended (next public_key= or end). */
	int (*peer_end)(void *ctx);
	/* The whole request ended; ok false when it failed part-way. */
	void (*commit)(void *ctx, bool ok);
};

/* Apply a "set=1" request body: the bytes after the "set=1\n" line up to
 * (not including) the terminating empty line. Returns 0 or a positive
 * errno (EINVAL for malformed input, EPROTO for an unknown key, or what a
 * callback returned). */
int uapi_set(const uint8_t *buf, size_t len, const struct uapi_set_ops *ops,
	     void *ctx);

/* What "get" reports. */
struct uapi_peer_info {
	uint8_t public_key[32];
	uint8_t preshared_key[32];
	struct wg_endpoint endpoint;
	uint64_t last_handshake_sec;	/* wall clock, 0 if never */
	uint64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	uint16_t persistent_keepalive;
};

struct uapi_device_info {
	bool has_private_key;
	uint8_t private_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
};

/* A bounded output buffer; overflow sets truncated and keeps len. */
struct uapi_buf {
	char *data;
	size_t len, cap;
	bool truncated;
};

void uapi_format_device(struct uapi_buf *out, const struct uapi_device_info *d);
/* Peer header lines (public_key ... persistent_keepalive_interval). */
void uapi_format_peer(struct uapi_buf *out, const struct uapi_peer_info *p);
void uapi_format_allowed_ip(struct uapi_buf *out, enum ip_family family,
			    const uint8_t *ip, uint8_t cidr);
void uapi_format_errno(struct uapi_buf *out, int err);

#endif
