/* fw_rules.h - the nftables scripts weft loads: the client's kill switch and
 * the exit server's NAT/forwarding rules, built as text from checked
 * structs. Pure: no syscalls; firewall.h applies the text.
 *
 * Everything weft does to the firewall lives in one table it owns, family
 * inet, named weft_<ifname> ('-' and '.' become '_'). Each script first
 * creates that table empty-if-absent, deletes it, and defines it anew, all
 * in one nft transaction: applying is atomic and idempotent on nftables
 * 1.0.6, which has no "destroy". */
#ifndef WEFT_OS_LINUX_FW_RULES_H
#define WEFT_OS_LINUX_FW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fw_limits {
	FW_IFNAMSIZ = 16,		/* IFNAMSIZ: 15 characters and a NUL */
	FW_TABLE_NAME_MAX = 5 + FW_IFNAMSIZ,	/* "weft_" + name + NUL */
	FW_MAX_ENDPOINTS = 8,
	FW_MAX_LAN = 16,
	/* A buffer this large holds any script the builders make. */
	FW_SCRIPT_MAX = 16384,
};

/* Addresses are in network byte order, IPv4 in the first 4 bytes of
 * addr; family is AF_INET or AF_INET6, or 0 where a field is optional and
 * unset. Ports are in host byte order. */
struct fw_endpoint {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* A prefix's host bits need not be zero (192.168.1.5/24 is taken as the
 * interface address it usually is): the builders clear them. len is at
 * least 1: a /0 "LAN" would open the kill switch to everything. */
struct fw_prefix {
	int family;
	uint8_t addr[16];
	uint8_t len;
};

struct fw_addr {
	int family;
	uint8_t addr[16];
};

struct fw_killswitch {
	char ifname[FW_IFNAMSIZ];	/* the tunnel */
	/* The server: UDP to these is the one way out besides the tunnel.
	 * None is valid: then only the tunnel and loopback remain. */
	struct fw_endpoint endpoints[FW_MAX_ENDPOINTS];
	unsigned n_endpoints;
	bool allow_lan;			/* lan[] is used only when set */
	struct fw_prefix lan[FW_MAX_LAN];
	unsigned n_lan;
	/* Not 0: the tunnel's own socket marks its packets (SO_MARK) with
	 * it, and only packets carrying it may reach the endpoints. */
	uint32_t fwmark;
};

struct fw_server {
	char ifname[FW_IFNAMSIZ];	/* the tunnel */
	struct fw_prefix pool4;		/* the clients' addresses; at least */
	struct fw_prefix pool6;		/* one of the two is set */
	/* The server's own tunnel addresses: the only ones clients may
	 * ping (and ask for DNS) under secure. Either may be unset. */
	struct fw_addr tun4;
	struct fw_addr tun6;
	bool secure;			/* no LAN/private ranges, no host services */
	bool offer_dns;			/* secure: port 53 on tun4/tun6 stays open */
	bool isolate_clients;		/* clients cannot reach each other */
	/* secure: ranges to keep clients out of besides the built-in private,
	 * link-local, CGNAT, ULA and multicast ones: the server's connected
	 * LAN prefixes (a LAN with global IPv6 addresses needs this). */
	struct fw_prefix deny[FW_MAX_LAN];
	unsigned n_deny;
};

struct fw_error {
	char msg[160];			/* what is wrong, one line */
};

/* An interface name the rules accept: 1..15 of [A-Za-z0-9_.-], not "."
 * or "..". Only such names and numbers ever reach the script text. */
__attribute__((warn_unused_result))
bool fw_ifname_valid(const char *ifname);

/* "weft_" + ifname with '-' and '.' mapped to '_' into out. The length,
 * -EINVAL for an invalid name, -ENOSPC when cap is too small. Two names
 * differing only in '-', '.', '_' share a table name. */
int fw_table_name(const char *ifname, char *out, size_t cap);

/* Build the complete script (text for nft -f) into buf. The length of the
 * text (NUL-terminated), -EINVAL when the struct is invalid (err, which
 * may be NULL, says which field and why), or -ENOSPC when cap is too
 * small (FW_SCRIPT_MAX always suffices). On error buf holds "". */
int fw_killswitch_script(const struct fw_killswitch *ks, char *buf,
			 size_t cap, struct fw_error *err);
int fw_server_script(const struct fw_server *srv, char *buf, size_t cap,
		     struct fw_error *err);

#endif
