/* endpoint.h - a peer's UDP address as the core sees it: no socket types.
 * The OS layer converts to and from sockaddr. */
#ifndef WEFT_CORE_ENDPOINT_H
#define WEFT_CORE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/allowedips.h"

enum {
	ENDPOINT_STR_MAX = 64,	/* "[v6%scope]:port" plus NUL */
	WG_ENDPOINT_TAG_LEN = 8,	/* core/relay.h */
};

struct wg_endpoint {
	uint8_t family;		/* 0 (unset), IP_V4 or IP_V6 */
	uint16_t port;		/* host order */
	uint32_t scope_id;	/* IPv6 link-local scope */
	uint8_t addr[16];	/* 4 or 16 bytes used, network order */
	/* Through a relay (core/relay.h): addr/port are the relay's, tag
	 * names the device behind it. */
	bool relay;
	uint8_t tag[WG_ENDPOINT_TAG_LEN];
	/* Local address the last packet from this endpoint arrived on, so
	 * replies leave from it (0 family: let the kernel choose). */
	uint8_t src_family;
	uint32_t src_ifindex;
	uint8_t src_addr[16];
};

bool endpoint_equal(const struct wg_endpoint *a, const struct wg_endpoint *b);

/* The bytes cookies and rate limits bind to: address then port. Returns the
 * length written (6 or 18). */
size_t endpoint_cookie_bytes(const struct wg_endpoint *e, uint8_t out[18]);

/* "1.2.3.4:51820" / "[fe80::1%3]:51820"; empty string when unset. */
void endpoint_format(const struct wg_endpoint *e, char out[ENDPOINT_STR_MAX]);

/* Parse a numeric "ip:port" or "[ipv6]:port" (no name lookup). */
__attribute__((warn_unused_result))
bool endpoint_parse(struct wg_endpoint *e, const char *s, size_t len);

#endif
