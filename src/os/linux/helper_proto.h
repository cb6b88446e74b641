/* helper_proto.h - the typed requests the unprivileged engine sends to the
 * privileged helper (DESIGN.md §5), and their answers. One request or
 * answer is one SOCK_SEQPACKET message of fixed size; anything else
 * (wrong size, unknown type, bad field) is a protocol violation that ends
 * the helper, which then undoes everything. The first message on the
 * socket goes the other way: the helper hands the engine the TUN file
 * descriptor (SCM_RIGHTS) with a HELPER_HELLO. Pure encoding/decoding
 * plus the two blocking calls; the policy is the helper's (vpn/helper.h). */
#ifndef WEFT_OS_LINUX_HELPER_PROTO_H
#define WEFT_OS_LINUX_HELPER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum helper_limits {
	HELPER_MAGIC = 0x77656674,	/* "weft" */
	HELPER_VERSION = 1,
	HELPER_MAX_DNS = 4,
	HELPER_MAX_PREFIXES = 16,	/* --allow-lan prefixes, endpoints */
	HELPER_REASON_MAX = 160,
};

enum helper_type {
	HELPER_HELLO = 1,	/* helper -> engine, with the TUN fd */
	HELPER_ADDR_SET,	/* our interface's mesh address of one family
				 * (replaces the previous one); inside the range */
	HELPER_MTU_SET,		/* 1280..65535 */
	HELPER_ROUTE_ADD,	/* prefix via our interface, inside the range */
	HELPER_ROUTE_DEL,
	HELPER_EXIT_USE,	/* full tunnel through a peer: policy routing,
				 * DNS, optional kill switch (allowed: the
				 * endpoints listed) */
	HELPER_EXIT_STOP,
	HELPER_EXIT_SERVE,	/* forward + masquerade the range's traffic out
				 * of the host (this device is an exit) */
	HELPER_EXIT_SERVE_STOP,
	HELPER_ANSWER,		/* helper -> engine */
};

struct helper_addr {
	uint8_t family;		/* 4 or 6 */
	uint8_t cidr;
	uint8_t addr[16];
};

struct helper_msg {
	uint32_t magic, version, type, seq;
	union {
		struct {		/* HELLO */
			int32_t ifindex;
			uint32_t fwmark;	/* the engine's sockets' SO_MARK */
			char ifname[16];
		} hello;
		struct helper_addr addr;	/* ADDR_SET, ROUTE_ADD/DEL */
		uint32_t mtu;			/* MTU_SET */
		struct {			/* EXIT_USE */
			bool killswitch, allow_lan;
			uint8_t n_dns, n_endpoints;
			struct helper_addr dns[HELPER_MAX_DNS];
			/* UDP endpoints the kill switch lets through */
			struct helper_addr endpoints[HELPER_MAX_PREFIXES];
			uint16_t ports[HELPER_MAX_PREFIXES];
		} exit_use;
		struct {			/* ANSWER */
			int32_t err;		/* 0 or -errno */
			char reason[HELPER_REASON_MAX];
		} answer;
	} u;
};

/* Check a received message's framing and fields (lengths, families,
 * prefix lengths, NUL-terminated strings, counts). true if well formed. */
bool helper_msg_valid(const struct helper_msg *m, size_t len);

/* Engine side: send req (type and body filled in) and wait for the answer
 * (at most timeout_ms). Returns the answer's err (0, or -errno with the
 * helper's reason copied), or -EPIPE/-ETIMEDOUT/-EPROTO. */
int helper_call(int sock, struct helper_msg *req, int timeout_ms,
		char reason[HELPER_REASON_MAX]);
/* Helper side: send the HELLO with the TUN fd (SCM_RIGHTS). 0 or -errno. */
int helper_send_hello(int sock, const struct helper_msg *hello, int tun_fd);
/* Engine side: receive the HELLO and the TUN fd. */
int helper_recv_hello(int sock, struct helper_msg *hello, int *tun_fd);

#endif
