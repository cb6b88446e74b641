/* client.h - `weft client`: everything through an exit server named by its
 * public key (DESIGN.md §3). The engine runs in-process with one peer, the
 * server; around it:
 *   - admission (core/admission.h): the passcode proof and the tunnel
 *     address, before every (re)connection;
 *   - the full tunnel: fwmark policy routing for IPv4 and IPv6 (vpn/policy.h),
 *     DNS through the tunnel (vpn/hostdns.h), the kill switch in nftables;
 *     each change written to the undo journal before it is made
 *     (vpn/journal.h) and put back on every exit; the kill switch alone
 *     stays after a crash, until `weft down` or `weft cleanup`;
 *   - reconnection with backoff and jitter after the server restarts or the
 *     network changes, saying what it does on stdout. */
#ifndef WEFT_VPN_CLIENT_H
#define WEFT_VPN_CLIENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addrpool.h"
#include "core/admission.h"

#define CLIENT_DEFAULT_IFNAME "weft0"

enum client_defaults {
	CLIENT_DEFAULT_MTU = 1420,
	CLIENT_KEEPALIVE_SEC = 25,
	/* Retries of admission: 1 s, doubling, at most 30 s, jittered. */
	CLIENT_RETRY_BASE_MS = 1000,
	CLIENT_RETRY_CAP_MS = 30000,
	/* Handshake retransmissions without an answer before the client
	 * goes back to admission (the server may have lost it). */
	CLIENT_LOST_ATTEMPTS = 1,
	/* Unanswered admission attempts before the hint about what to
	 * check is printed. */
	CLIENT_HINT_ATTEMPTS = 3,
};

struct client_config {
	char ifname[16];
	uint8_t private_key[32];
	uint8_t server_public[32];
	char server_host[256];
	uint16_t server_port;
	bool has_passcode;
	char passcode[ADMISSION_PASSCODE_MAX + 1];
	bool killswitch;
	bool allow_lan;
	struct ip_prefix dns[ADMISSION_MAX_DNS];	/* --dns; overrides */
	size_t n_dns;
	unsigned mtu;
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
};

/* Run until INT/TERM/HUP, a refusal by the server, or a fatal error; the
 * host is put back before it returns. The process exit status. Wipes
 * cfg's secrets. */
int client_run(struct client_config *cfg);

#endif
