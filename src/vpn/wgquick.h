/* wgquick.h - the wg-quick(8) config that `weft server add-client` prints
 * for a stock WireGuard client (wg-quick, the Android and iOS apps):
 *
 *   [Interface]
 *   PrivateKey = <client private key>
 *   Address = 10.77.0.2/32, fd12:3456:789a::2/128
 *   DNS = 10.77.0.1
 *   MTU = 1420
 *
 *   [Peer]
 *   PublicKey = <server public key>
 *   Endpoint = vpn.example.com:51820
 *   AllowedIPs = 0.0.0.0/0, ::/0
 *   PersistentKeepalive = 25
 *
 * AllowedIPs is always both families, also when the server gives no IPv6
 * address: a full tunnel must not leak IPv6 around it. Addresses are host
 * addresses (/32, /128) whatever prefix length they come with: the client
 * routes everything through the tunnel anyway, and a /16 on its interface
 * would claim other clients as on-link neighbours.
 *
 * Pure: no allocation, no syscalls. */
#ifndef WEFT_VPN_WGQUICK_H
#define WEFT_VPN_WGQUICK_H

#include <stddef.h>
#include <stdint.h>

#include "core/addrpool.h"

enum wgquick_limits {
	WGQUICK_ENDPOINT_MAX = 256,	/* with NUL */
	WGQUICK_HOST_MAX = 253,		/* a DNS name */
	WGQUICK_CONFIG_MAX = 1024,	/* the longest config, with NUL */
	WGQUICK_ERR_MAX = 160,
	WGQUICK_KEEPALIVE = 25,		/* seconds; what add-client uses */
};

struct wgquick_client {
	uint8_t private_key[32];
	struct ip_prefix address4, address6;	/* family 0 = absent */
	struct ip_prefix dns[2];
	size_t n_dns;
	uint8_t server_public[32];
	char endpoint[WGQUICK_ENDPOINT_MAX];	/* host:port, [v6]:port */
	unsigned mtu;				/* 0: no MTU line */
	uint16_t persistent_keepalive;		/* 0: no line */
};

/* The config in buf, NUL-terminated. Its length, or -EINVAL (no address
 * at all, a bad family, n_dns > 2, an endpoint that is not host:port or
 * [v6]:port) or -ENOSPC. buf holds the private key: wipe it. */
__attribute__((warn_unused_result))
int wgquick_client_config(const struct wgquick_client *c, char *buf,
			  size_t cap);

/* Normalise a HOST[:PORT] the way people write it into what an Endpoint
 * line takes: "host:port" or "[v6]:port". HOST is a DNS name, an IPv4
 * address, or an IPv6 address (bare only without a port, else in
 * brackets). A missing port becomes default_port; with default_port 0 a
 * missing port is an error. 0, or -EINVAL with the reason in err. */
__attribute__((warn_unused_result))
int wgquick_endpoint(const char *in, size_t len, uint16_t default_port,
		     char out[WGQUICK_ENDPOINT_MAX], char err[WGQUICK_ERR_MAX]);

#endif
