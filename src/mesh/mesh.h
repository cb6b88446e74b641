/* mesh.h - limits and small types shared by the team mesh modules
 * (docs/mesh-protocol.md fixes the formats). Pure: no I/O. */
#ifndef WEFT_MESH_MESH_H
#define WEFT_MESH_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mesh_limits {
	MESH_KEY_LEN = 32,		/* Ed25519 and X25519 public keys */
	MESH_SIG_LEN = 64,
	MESH_SECRET_LEN = 64,		/* libsodium's Ed25519 secret key */
	MESH_NAME_MAX = 64,		/* network, owner, device, tag + NUL */
	MESH_MAX_ADMINS = 8,
	MESH_MAX_DEVICES = 4096,
	MESH_MAX_ENDPOINTS = 8,
	MESH_MAX_RELAYS = 4,		/* relays and STUN servers of a roster */
	MESH_MAX_TAGS = 8,
	MESH_REASON_MAX = 192,		/* one line saying why, NUL included */
	MESH_ROSTER_BODY_MAX = 1 << 20,	/* hub body limits */
	MESH_BODY_MAX = 16 << 10,
	MESH_URL_MAX = 512,
	MESH_SKEW_MS = 5 * 60 * 1000,	/* clock skew allowed on time/expires */
	MESH_ANNOUNCE_TTL_S = 24 * 3600,
	MESH_ANNOUNCE_REFRESH_S = 12 * 3600,
	MESH_AUTH_WINDOW_S = 60,	/* hub request time window */
};

/* A mesh address: IPv4 in network byte order as 4 bytes; the IPv6 one is
 * derived (range6 + these 32 bits). */
struct mesh_ip4 {
	uint8_t b[4];
};

struct mesh_range {
	struct mesh_ip4 net;	/* host bits zero */
	uint8_t cidr;		/* 8..30 */
	uint8_t net6[16];	/* ULA, low 32 bits zero */
	bool has6;
};

/* Names: 1..63 of [A-Za-z0-9._-] (network: [a-z0-9-], no leading '-'). */
bool mesh_name_valid(const char *s);
bool mesh_network_valid(const char *s);

/* "a.b.c.d/n" with host bits zero and 8 <= n <= 30. */
bool mesh_range4_parse(struct mesh_range *r, const char *s);
/* "fdxx:...::/96", ULA (fc00::/7), low 32 bits zero. */
bool mesh_range6_parse(struct mesh_range *r, const char *s);
void mesh_range4_format(const struct mesh_range *r, char out[24]);
void mesh_range6_format(const struct mesh_range *r, char out[48]);
/* Inside the range, not its network or broadcast address. */
bool mesh_range_usable(const struct mesh_range *r, struct mesh_ip4 ip);
/* The device's IPv6 address: net6 with ip in the last 32 bits. */
void mesh_range_ip6(const struct mesh_range *r, struct mesh_ip4 ip,
		    uint8_t out[16]);
bool mesh_ip4_parse(struct mesh_ip4 *ip, const char *s);
void mesh_ip4_format(struct mesh_ip4 ip, char out[16]);

/* Format a one-line reason into reason, every byte that is not printable
 * ASCII replaced by '?' (reasons quote input); returns err. */
int mesh_reason(char reason[MESH_REASON_MAX], int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Standard base64 of exactly n bytes (no whitespace). */
bool mesh_b64_decode(uint8_t *out, size_t n, const char *s);
/* out must hold sodium_base64_ENCODED_LEN(n, ORIGINAL). */
void mesh_b64_encode(char *out, size_t cap, const uint8_t *in, size_t n);

/* A JSON array of at most max numeric "ip:port" strings (port not 0) into
 * out; what names it in a reason. 0, or -EINVAL with a reason. */
struct wg_endpoint;
int mesh_endpoints_parse(const void /* json_t */ *v, struct wg_endpoint *out,
			 unsigned max, unsigned *n, const char *what,
			 char reason[MESH_REASON_MAX]);
/* The same list as a new JSON array (json_t *), NULL on no memory. */
void *mesh_endpoints_json(const struct wg_endpoint *eps, unsigned n);

#endif
