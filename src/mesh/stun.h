/* stun.h - the STUN Binding exchange (RFC 5389), the part a NAT needs:
 * a request, and an answer carrying the address the request came from
 * (XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an old server). A request
 * may ask for the answer from the server's other port (CHANGE-REQUEST,
 * RFC 5780), which tells whether the NAT filters by port. Pure: bytes in,
 * bytes out. */
#ifndef WEFT_MESH_STUN_H
#define WEFT_MESH_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"

enum stun_wire {
	STUN_HEADER_LEN = 20,
	STUN_TXID_LEN = 12,
	STUN_REQUEST_MAX = STUN_HEADER_LEN + 8,	/* with CHANGE-REQUEST */
	STUN_RESPONSE_MAX = STUN_HEADER_LEN + 2 * 24,
};

/* Whether msg looks like a STUN message (leading zero bits, the magic
 * cookie, a length that matches). */
bool stun_is(const uint8_t *msg, size_t len);

/* A Binding request with txid; change_port asks the server to answer
 * from its other port. Returns its length. */
size_t stun_request(uint8_t out[STUN_REQUEST_MAX],
		    const uint8_t txid[STUN_TXID_LEN], bool change_port);

/* A server's side: 0 for a Binding request (txid and the change request
 * filled in), -EINVAL for anything else. */
int stun_parse_request(const uint8_t *msg, size_t len,
		       uint8_t txid[STUN_TXID_LEN], bool *change_port);

/* The success answer telling the client it was seen at mapped; other, when
 * not NULL, is the server's other address (OTHER-ADDRESS). Returns its
 * length. */
size_t stun_response(uint8_t out[STUN_RESPONSE_MAX],
		     const uint8_t txid[STUN_TXID_LEN],
		     const struct wg_endpoint *mapped,
		     const struct wg_endpoint *other);

/* A client's side: 0 for a Binding success answer with a mapped address,
 * -EINVAL otherwise. Attributes are walked within len only. */
int stun_parse_response(const uint8_t *msg, size_t len,
			uint8_t txid[STUN_TXID_LEN], struct wg_endpoint *mapped);

#endif
