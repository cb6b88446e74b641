/* server.h - `weft server`: the exit server of the full-tunnel VPN
 * (DESIGN.md §3). It runs the engine in-process on one TUN interface and
 * adds to it:
 *   - passcode admission (core/admission.h) of clients it has never seen,
 *     with a tunnel address from the pool (core/addrpool.h) that avoids the
 *     client's own subnets and sticks to its key;
 *   - named clients for stock WireGuard apps (`weft server add-client`),
 *     added live through the control socket (vpn/ctl.h);
 *   - forwarding, masquerade, MSS clamping and --secure through weft's own
 *     nftables table, and ip_forward, all written to the undo journal
 *     (vpn/journal.h) before they change and put back on every exit.
 * State lives in <state_dir>/<ifname>/ (vpn/srvstate.h). */
#ifndef WEFT_VPN_SERVER_H
#define WEFT_VPN_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addrpool.h"
#include "core/admission.h"

enum server_defaults {
	SERVER_DEFAULT_PORT = 51820,
	SERVER_DEFAULT_MTU = 1420,
	/* A client that has not completed a handshake for this long is
	 * removed as a peer (its address stays reserved for its key). */
	SERVER_IDLE_PEER_SEC = 600,
	/* Wrong passcodes: answered at most this often per source after a
	 * burst, and logged at most once per source per minute. */
	SERVER_GUESS_INTERVAL_SEC = 10,
	SERVER_GUESS_BURST = 5,
	SERVER_GUESS_LOG_SEC = 60,
};

#define SERVER_DEFAULT_IFNAME "weftsrv0"
#define SERVER_DEFAULT_POOL4 "10.77.0.0/16"

struct server_config {
	char ifname[16];
	uint8_t private_key[32];
	uint16_t port;
	bool has_passcode;
	char passcode[ADMISSION_PASSCODE_MAX + 1];
	bool secure;
	struct ip_prefix dns[ADMISSION_MAX_DNS];
	size_t n_dns;
	struct ip_prefix pool4, pool6;	/* family 0: off */
	bool pool6_default;		/* derive the ULA from the key */
	char endpoint[256];		/* for add-client configs; may be "" */
	unsigned mtu;
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
};

/* The ULA /64 a server uses by default: fd00::/8 with 40 bits of a hash
 * of its public key (RFC 4193's random global ID, made stable). */
void server_default_pool6(const uint8_t public_key[32], struct ip_prefix *out);

/* Run until INT/TERM/HUP or a fatal error; the host is put back before it
 * returns. The process exit status. Wipes cfg's secrets. */
int server_run(struct server_config *cfg);

#endif
