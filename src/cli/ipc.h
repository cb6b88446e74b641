/* ipc.h - the weft command line's side of the UAPI socket
 * (/var/run/wireguard/IFNAME.sock): "get" into a struct, "set" from a
 * request. Errors are reported on stderr as one line; functions return 0
 * or -1. */
#ifndef WEFT_CLI_IPC_H
#define WEFT_CLI_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"

enum ipc_limits {
	IPC_TIMEOUT_MS = 10000,		/* a whole exchange */
	IPC_MAX_REPLY = 64 << 20,	/* bytes of a "get" reply */
	IPC_IFNAME_MAX = 16,		/* with NUL, as IFNAMSIZ */
};

struct ipc_allowed_ip {
	uint8_t family;		/* IP_V4 or IP_V6 */
	uint8_t cidr;
	uint8_t ip[16];
};

struct ipc_peer {
	uint8_t public_key[32];
	uint8_t preshared_key[32];
	bool has_preshared_key;		/* non-zero */
	struct wg_endpoint endpoint;	/* family 0 when none */
	char endpoint_raw[80];		/* as sent, when not parsable */
	uint64_t last_handshake_sec, last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	uint16_t persistent_keepalive;
	struct ipc_allowed_ip *allowed_ips;
	size_t n_allowed_ips;
};

struct ipc_device {
	char name[IPC_IFNAME_MAX];
	bool has_private_key;		/* non-zero; the public key follows */
	uint8_t private_key[32];
	uint8_t public_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
	struct ipc_peer *peers;
	size_t n_peers;
};

/* Fetch the device's configuration and state. *out is freed with
 * ipc_device_free (which wipes the keys). */
int ipc_get_device(const char *ifname, struct ipc_device **out);
void ipc_device_free(struct ipc_device *dev);

/* Send a complete "set=1\n...\n\n" request; 0 when the daemon answers
 * errno=0. */
int ipc_set_device(const char *ifname, const char *req, size_t len);

/* Interfaces with a socket in the UAPI directory, in directory order (as
 * wg lists them). *names is one allocation, freed with free(). */
int ipc_list_devices(char (**names)[IPC_IFNAME_MAX], size_t *n);

#endif
