/* relay.c - framing WireGuard messages for a relay (relay.h). */
#include "core/relay.h"

#include <string.h>

long relay_wrap(uint8_t *buf, size_t cap, size_t off, size_t len, uint8_t sub,
		const uint8_t tag[WG_ENDPOINT_TAG_LEN])
{
	uint32_t type = weft_type(sub);

	if (off < RELAY_HEADER_LEN) {
		if (len > cap - RELAY_HEADER_LEN || off > cap - RELAY_HEADER_LEN - len)
			return -1;
		memmove(buf + off + RELAY_HEADER_LEN, buf + off, len);
		off += RELAY_HEADER_LEN;
	}
	off -= RELAY_HEADER_LEN;
	le32_store(buf + off, type);
	memcpy(buf + off + 4, tag, WG_ENDPOINT_TAG_LEN);
	return (long)off;
}
