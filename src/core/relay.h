/* relay.h - WireGuard messages carried through a weft relay, and the
 * subtypes of weft's own messages on a WireGuard port.
 *
 * weft's messages start with 'W' (0x57), a subtype byte and two zero
 * bytes, so read as WireGuard's le32 type they are none of 1..4 and no
 * WireGuard implementation takes them. Subtypes:
 *   0x01, 0x02  passcode admission (core/admission.h)
 *   0x10        device -> relay: a WireGuard message for the device whose
 *               tag follows
 *   0x11        relay -> device: a WireGuard message from the device whose
 *               tag follows
 *   0x20-0x2f   relay registration (mesh/pathmsg.h)
 *   0x30-0x3f   path probes between devices (mesh/pathmsg.h)
 * A relayed frame is the 4-byte header, the 8-byte tag of the other device
 * (the first 8 bytes of its identity key, the one it registered with) and
 * the WireGuard
 * message, which the relay forwards without reading: it never holds a key
 * that would open it. */
#ifndef WEFT_CORE_RELAY_H
#define WEFT_CORE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "core/messages.h"

enum relay_wire {
	WEFT_MESSAGE_TYPE = 0x57,	/* 'W' */
	WEFT_SUB_RELAY_TO = 0x10,
	WEFT_SUB_RELAY_FROM = 0x11,
	WEFT_SUB_REGISTER = 0x20,
	WEFT_SUB_REGISTERED = 0x21,
	WEFT_SUB_PING = 0x30,
	WEFT_SUB_PONG = 0x31,
	WEFT_SUB_PUNCH = 0x32,
	RELAY_HEADER_LEN = 4 + WG_ENDPOINT_TAG_LEN,
};

/* The le32 a weft message of subtype sub starts with. */
static inline uint32_t weft_type(uint8_t sub)
{
	return (uint32_t)WEFT_MESSAGE_TYPE | (uint32_t)sub << 8;
}

/* Subtype of a weft message, 0 when msg is not one. */
static inline uint8_t weft_subtype(const uint8_t *msg, size_t len)
{
	if (len < 4 || msg[0] != WEFT_MESSAGE_TYPE || msg[2] || msg[3])
		return 0;
	return msg[1];
}

/* A device's tag, from its identity key: what relayed frames name it by. */
static inline void relay_tag(uint8_t tag[WG_ENDPOINT_TAG_LEN],
			     const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	memcpy(tag, public_key, WG_ENDPOINT_TAG_LEN);
}

/* Write the header of a frame of subtype sub naming tag in front of the
 * len bytes at buf[off..], moving them back when off is too small.
 * cap: the size of buf. Returns the frame's new offset, or -1 when it
 * does not fit. */
long relay_wrap(uint8_t *buf, size_t cap, size_t off, size_t len, uint8_t sub,
		const uint8_t tag[WG_ENDPOINT_TAG_LEN]);

#endif
