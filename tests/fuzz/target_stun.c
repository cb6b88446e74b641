/* target_stun.c - fuzz the STUN parsers a node and the relay run on any
 * datagram: stun_is, stun_parse_request, stun_parse_response. What a
 * parser accepts must encode back to something it accepts the same way. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t txid[STUN_TXID_LEN], txid2[STUN_TXID_LEN];
	uint8_t req[STUN_REQUEST_MAX], resp[STUN_RESPONSE_MAX];
	struct wg_endpoint mapped, back;
	bool is = stun_is(data, size), change, change2;
	size_t n;

	if (stun_parse_request(data, size, txid, &change) == 0) {
		check(is);
		check(!memcmp(txid, data + 8, STUN_TXID_LEN));
		n = stun_request(req, txid, change);
		check(stun_parse_request(req, n, txid2, &change2) == 0);
		check(!memcmp(txid, txid2, STUN_TXID_LEN) && change == change2);
	}
	memset(&mapped, 0, sizeof(mapped));
	if (stun_parse_response(data, size, txid, &mapped) == 0) {
		check(is);
		check(mapped.family == IP_V4 || mapped.family == IP_V6);
		check(!mapped.relay && !mapped.src_family && !mapped.scope_id);
		n = stun_response(resp, txid, &mapped, &mapped);
		check(n <= STUN_RESPONSE_MAX && stun_is(resp, n));
		check(stun_parse_response(resp, n, txid2, &back) == 0);
		check(!memcmp(txid, txid2, STUN_TXID_LEN));
		check(endpoint_equal(&mapped, &back));
	}
	return 0;
}
