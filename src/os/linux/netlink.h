/* netlink.h - rtnetlink over libmnl: links, addresses, routes, policy
 * rules and a change monitor, for the full-tunnel client (routes and
 * fwmark rules the wg-quick way, the original gateway found through the
 * kernel) and for re-probing when the network changes. */
#ifndef WEFT_OS_LINUX_NETLINK_H
#define WEFT_OS_LINUX_NETLINK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

enum nl_values {
	/* Receive buffer: the largest message batch a dump hands over
	 * (the kernel caps a dump skb near 32 KiB). Requests are built in
	 * it too. */
	NL_BUF_SIZE = 32768,
	/* Bound on any wait for the kernel's answer to one request. */
	NL_TIMEOUT_MS = 5000,
	/* Bound on the receive calls of one request (a dump of a full
	 * Internet routing table takes a few thousand). */
	NL_MAX_RECVS = 1 << 16,
	/* Receive calls per nl_monitor_read: what is left stays readable. */
	NL_MONITOR_RECVS = 16,
	/* The kernel's extended-ACK message, truncated. */
	NL_ERR_MSG_MAX = 128,
	/* nl_addr_list: interfaces whose flags are looked up per call. */
	NL_ADDR_LINKS_MAX = 1024,
};

/* One netlink socket. Neither thread-safe nor re-entrant: a callback of a
 * dump must not use the struct nl that calls it (-EBUSY). */
struct nl {
	struct mnl_socket *sock;
	uint32_t seq;		/* of the last request */
	uint32_t portid;
	unsigned pending;	/* NL_CHANGED_* seen while a request waited */
	bool monitor;		/* opened by nl_monitor_open */
	bool busy;		/* a request is running */
	/* The kernel's explanation of the last failed request ("Nexthop
	 * device is not up"), or empty. */
	char err_msg[NL_ERR_MSG_MAX];
	_Alignas(4) uint8_t buf[NL_BUF_SIZE];
};

/* Open a request socket (close-on-exec). 0 or -errno. */
__attribute__((warn_unused_result))
int nl_open(struct nl *nl);
/* Safe on a closed or zeroed struct. */
void nl_close(struct nl *nl);
/* The socket, for poll/epoll (a monitor's becomes readable on changes),
 * or -1. */
int nl_fd(const struct nl *nl);

/* "Not there": what deletions answer when the object is already gone
 * (-ESRCH: route, -ENOENT: rule, -EADDRNOTAVAIL: address). */
static inline bool nl_err_absent(int err)
{
	return err == -ESRCH || err == -ENOENT || err == -EADDRNOTAVAIL;
}

/* Every function below: 0 (or a documented value) on success; -EINVAL
 * for bad input (unknown family, prefix length above 32/128, ifindex not
 * positive, NULL pointers ...) before anything is sent; otherwise the
 * kernel's -errno (-EEXIST, -ENODEV, -ESRCH, -ENOENT, -ENETUNREACH ...),
 * -ETIMEDOUT when no answer came within NL_TIMEOUT_MS, -EBUSY when called
 * from a callback of the same nl. Each request waits for its ACK. */

/* ------------------------------------------------------------------ links */

struct nl_link {
	int ifindex;
	unsigned flags;		/* IFF_UP, IFF_LOOPBACK, IFF_RUNNING ... */
	int mtu;
	char name[16];		/* IFNAMSIZ */
};

/* The index of interface name (> 0), or -ENODEV. */
int nl_link_index(struct nl *nl, const char *name);
int nl_link_get(struct nl *nl, int ifindex, struct nl_link *out);
/* The MTU (> 0) or -errno. */
int nl_link_get_mtu(struct nl *nl, int ifindex);
/* Set or clear IFF_UP. */
int nl_link_set_up(struct nl *nl, int ifindex, bool up);
/* mtu >= 68; the device's own limits are the kernel's to check. */
int nl_link_set_mtu(struct nl *nl, int ifindex, int mtu);

/* -------------------------------------------------------------- addresses */

/* addr is 4 (AF_INET) or 16 (AF_INET6) bytes, network order. IPv4 gets
 * the address as local and peer (like `ip addr add`), IPv6 IFA_F_NODAD
 * (usable at once). -EEXIST when the address is already there. */
int nl_addr_add(struct nl *nl, int ifindex, int family, const void *addr,
		unsigned prefixlen);
/* -EADDRNOTAVAIL when it is not there. */
int nl_addr_del(struct nl *nl, int ifindex, int family, const void *addr,
		unsigned prefixlen);

struct nl_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t scope;		/* RT_SCOPE_UNIVERSE, _LINK, _HOST */
	bool has_ifflags;	/* the interface's flags could be looked up */
	int ifindex;
	uint32_t flags;		/* IFA_F_PERMANENT, _TENTATIVE, _SECONDARY ... */
	unsigned ifflags;	/* the interface's IFF_UP, IFF_LOOPBACK ... */
	uint8_t addr[16];	/* local address (IPv4: IFA_LOCAL) */
};

/* Return 0 to go on; anything else stops the walk (the rest of the
 * dump is read and dropped) and is what the listing returns. */
typedef int (*nl_addr_fn)(const struct nl_addr *a, void *arg);

/* Every address of family (AF_INET, AF_INET6, or AF_UNSPEC for both) on
 * every interface. The interfaces' flags come from a link dump made just
 * before (up to NL_ADDR_LINKS_MAX interfaces; one beyond, or one that
 * appeared in between, has has_ifflags false). -EAGAIN when the kernel
 * says the tables changed during the dump (the walk may have missed or
 * repeated an entry: list again). */
int nl_addr_list(struct nl *nl, int family, nl_addr_fn fn, void *arg);

/* ----------------------------------------------------------------- routes */

enum {
	/* nl_route.scope: chosen as `ip route` does (host for local
	 * routes, link for a unicast route without gateway, else
	 * universe); on deletion, any scope matches. */
	NL_SCOPE_AUTO = 255,	/* RT_SCOPE_NOWHERE */
};

struct nl_route {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t dst_len;	/* 0: default route */
	uint8_t type;		/* RTN_UNICAST, _LOCAL, _BLACKHOLE, _UNREACHABLE,
				 * _PROHIBIT, _THROW */
	uint8_t protocol;	/* RTPROT_*; on deletion 0 matches any */
	uint8_t scope;		/* RT_SCOPE_* or NL_SCOPE_AUTO */
	bool has_gateway;
	bool has_src;
	bool multipath;		/* listed only: several next hops; gateway and
				 * oif are the first one's */
	uint8_t dst[16];	/* host bits beyond dst_len must be zero */
	uint8_t gateway[16];
	uint8_t src[16];	/* preferred source (RTA_PREFSRC) */
	int oif;		/* 0: none (given as input) */
	uint32_t table;		/* 0: main (RT_TABLE_MAIN) */
	uint32_t metric;	/* 0: the kernel's default (IPv6: 1024); on
				 * deletion 0 matches any */
};

/* A unicast route of family in the main table, protocol boot (as `ip
 * route add`), scope auto, nothing else set. */
void nl_route_init(struct nl_route *r, int family);

/* Add (-EEXIST if it exists), replace (or create), delete (-ESRCH if no
 * route matches; unset fields match any: no gateway, oif 0, metric 0,
 * protocol 0, scope NL_SCOPE_AUTO, no source). Deleting with the struct
 * that added the route removes exactly that route. */
int nl_route_add(struct nl *nl, const struct nl_route *r);
int nl_route_replace(struct nl *nl, const struct nl_route *r);
int nl_route_del(struct nl *nl, const struct nl_route *r);

/* The route the kernel would use for a packet this host sends to dst (4
 * or 16 bytes) with firewall mark mark (0: none), policy rules applied:
 * out gets the interface, the gateway (has_gateway false when dst is on
 * the link), the source address the kernel would pick (has_src), the
 * table it came from, the type and dst = the address asked about (/32,
 * /128). Errors are the lookup's: -ENETUNREACH (no route), -EHOSTUNREACH
 * (unreachable), -EACCES (prohibit), -EINVAL (blackhole) ... */
int nl_route_get(struct nl *nl, int family, const void *dst, uint32_t mark,
		 struct nl_route *out);

typedef int (*nl_route_fn)(const struct nl_route *r, void *arg);

/* Every route of family (or AF_UNSPEC: both) in table (0: all tables),
 * cached clones left out. The callback's return as for nl_addr_list;
 * -EAGAIN as there. */
int nl_route_list(struct nl *nl, int family, uint32_t table, nl_route_fn fn,
		  void *arg);

/* ------------------------------------------------------------------ rules */

struct nl_rule {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t action;		/* FR_ACT_TO_TBL (0 means that too), ... */
	bool has_priority;	/* else the kernel picks (on deletion: any) */
	bool invert;		/* "not": match what the selectors do not */
	bool other_selectors;	/* listed only: the rule also has selectors
				 * this struct cannot say (from, to, iif,
				 * oif, uidrange, ports ...) */
	uint32_t priority;
	uint32_t fwmark;	/* 0 with fwmask 0: no fwmark selector */
	uint32_t fwmask;	/* 0: all bits (when fwmark is set) */
	uint32_t table;		/* for FR_ACT_TO_TBL; 0: none (on deletion:
				 * any); RT_TABLE_MAIN is 254 */
	int suppress_prefixlen;	/* -1: unset */
};

/* An empty rule of family: action to table, no priority, no selector,
 * suppress_prefixlen unset. */
void nl_rule_init(struct nl_rule *r, int family);

/* The wg-quick set for mark M, table T is two rules per family:
 *   not fwmark M table T            (invert, fwmark M, table T)
 *   table main suppress_prefixlength 0
 * -EEXIST when an identical rule exists at that priority. Without one the
 * kernel picks a new priority (just below the lowest that is not 0) and a
 * second copy is added: give one to make adding idempotent and removal
 * exact. Deletion removes the first rule that matches every set field
 * (-ENOENT if none). The kernel (6.x) compares neither for -EEXIST nor
 * for deletion whether a rule is inverted: "fwmark M" and "not fwmark M"
 * at one priority count as the same rule. */
int nl_rule_add(struct nl *nl, const struct nl_rule *r);
int nl_rule_del(struct nl *nl, const struct nl_rule *r);

typedef int (*nl_rule_fn)(const struct nl_rule *r, void *arg);

/* Every rule of family (or AF_UNSPEC: both), in priority order. */
int nl_rule_list(struct nl *nl, int family, nl_rule_fn fn, void *arg);

/* ---------------------------------------------------------------- monitor */

enum nl_changed {
	NL_CHANGED_LINK = 1 << 0,
	NL_CHANGED_ADDR = 1 << 1,
	NL_CHANGED_ROUTE = 1 << 2,
	NL_CHANGED_RULE = 1 << 3,
	/* Notifications were lost (socket buffer overrun): anything may
	 * have changed; the other bits are all set too. */
	NL_CHANGED_OVERRUN = 1 << 4,
};

/* Open a non-blocking socket subscribed to link, IPv4/IPv6 address,
 * route and rule changes. Requests work on it too (changes seen while
 * they wait are kept for the next nl_monitor_read). 0 or -errno. */
__attribute__((warn_unused_result))
int nl_monitor_open(struct nl *nl);
/* What changed since the last call (enum nl_changed bits; 0: nothing).
 * Never blocks; reads at most NL_MONITOR_RECVS batches, so the socket
 * may still be readable after it returns: poll nl_fd(). Changes made by
 * this process are reported too. */
unsigned nl_monitor_read(struct nl *nl);

#endif
