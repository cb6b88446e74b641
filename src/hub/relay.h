/* relay.h - weft-hub's relay and STUN server (docs/mesh-protocol.md
 * "Relays"): one UDP port answers STUN Binding requests (the port after it
 * answers those that ask for a change of port) and forwards
 * already-encrypted WireGuard messages between devices that registered
 * with their identity key (core/relay.h, mesh/pathmsg.h).
 *
 *   - Only devices of a network's current roster register; a registration
 *     carries a signed millisecond time that must be within 60 s of ours
 *     and newer than the device's last. Registrations per source address
 *     are rate limited (each costs a signature check).
 *   - A device is named by its tag, the first bytes of its identity key,
 *     so a registration (signed by that key) can claim no one else's. A
 *     source address belongs to one device: another one's registration
 *     from it is refused while the first is refreshed.
 *   - A frame is forwarded only from a registered address to a device of
 *     the same network; each device has a byte budget per second.
 *   - The relay never holds a WireGuard key: it moves sealed messages.
 * Runs on its own thread with its own store connection. */
#ifndef WEFT_HUB_RELAY_H
#define WEFT_HUB_RELAY_H

#include <stdint.h>

#include "mesh/mesh.h"

enum relay_defaults {
	RELAY_DEFAULT_PORT = 3478,
	RELAY_DEFAULT_MBIT = 500,	/* per device */
	RELAY_MAX_DEVICES = 1 << 16,
	RELAY_REGISTRATION_S = 60,	/* a registration lasts */
	RELAY_REFRESH_S = 5,		/* how often devices register */
};

struct relay_config {
	const char *db;		/* what store_open takes */
	const char *listen;	/* "ADDR:PORT" */
	uint64_t bytes_per_sec;	/* per device; 0: no limit */
};

struct relay;

/* Bind and start. 0 or -errno with a one-line err. */
int relay_start(struct relay **r, const struct relay_config *cfg,
		char err[MESH_REASON_MAX]);
/* Stop the thread, log its counters, free. */
void relay_stop(struct relay *r);

#endif
