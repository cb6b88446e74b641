/* udp.h - the WireGuard UDP sockets: one IPv4 and one IPv6 (v6-only) socket
 * on the same port, batched with recvmmsg/sendmmsg, with the local address
 * of each received datagram recorded (IP_PKTINFO/IPV6_RECVPKTINFO) so that
 * replies leave from the address the peer talked to ("sticky" source). */
#ifndef WEFT_OS_LINUX_UDP_H
#define WEFT_OS_LINUX_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "os/linux/udp_filter.h"

/* Counters of one socket, for benchmarks and `show`-style statistics. */
struct udp_stats {
	uint64_t send_calls;	/* sendmmsg calls */
	uint64_t sent;		/* datagrams sent (GSO segments each count) */
	uint64_t gso_msgs;	/* messages sent with UDP_SEGMENT */
	uint64_t gso_segs;	/* datagrams sent inside them */
	uint64_t gso_failed;	/* GSO messages refused and resent unsegmented */
	uint64_t recv_calls;	/* recvmmsg calls (udp_recv only) */
	uint64_t received;	/* datagrams delivered (udp_recv only) */
	uint64_t gro_msgs;	/* coalesced datagrams (two segments or more) */
	uint64_t gro_segs;	/* datagrams split out of them */
	uint64_t rx_dropped;	/* truncated, unknown source, oversize segment */
};

struct udp_gro_ring;

struct udp {
	int fd4, fd6;		/* -1 when that family is unavailable */
	uint16_t port;		/* the bound port, host order */
	uint32_t fwmark;
	/* Per socket, [0] IPv4 and [1] IPv6 (see udp_index). */
	bool gso[2];		/* UDP_SEGMENT in use: probed, off after EIO */
	bool gro[2];		/* UDP_GRO available: probed, ring allocated */
	bool gro_on[2];		/* ... and turned on by the first udp_recv */
	bool filtered[2];	/* udp_filter.h attached */
	bool sessions[2];	/* ... the session filter */
	bool drained[2];	/* the last udp_recv emptied the queue */
	struct udp_stats stats[2];
	struct udp_gro_ring *ring[2];	/* receive buffers; NULL without GRO */
};

enum udp_values {
	/* Socket buffers asked for (the kernel doubles them); as large as
	 * wireguard-go's so a burst between two engine wakeups fits. */
	UDP_SOCKET_BUFFER = 7 << 20,
	/* Port 0: attempts at finding a port free in both families. */
	UDP_BIND_ATTEMPTS = 16,
	/* GSO: datagrams per message (the kernel's UDP_MAX_SEGMENTS) and
	 * payload bytes per message (below the 64 KiB IP limit with room
	 * for headers). */
	UDP_GSO_MAX_SEGS = 64,
	UDP_GSO_MAX_BYTES = 65000,
	/* GRO: coalesced datagrams one recvmmsg can take, and the size of
	 * each buffer (a coalesced datagram is at most 64 KiB). */
	UDP_GRO_SLOTS = BATCH_MAX,
	UDP_GRO_BUF = 65536,
};

/* Environment switches, read at udp_open, for benchmarks: set to anything
 * but "" or "0" to turn the offload off. */
#define UDP_ENV_NO_GSO "WEFT_NO_UDP_GSO"
#define UDP_ENV_NO_GRO "WEFT_NO_UDP_GRO"

/* stats/gso/gro index of a family: IP_V4 (4) or IP_V6 (6). */
static inline unsigned udp_index(int which)
{
	return which == IP_V6 ? 1 : 0;
}

/* Bind both families to port (0: pick one, the same for both), set fwmark
 * (when nonzero) and the socket options, with the filter of udp_filter.h
 * (unless switched off by the environment; without it when the kernel
 * refuses it). Works when the host has no IPv6
 * (fd6 = -1). Probes UDP GSO and GRO per socket (unless switched off by
 * the environment) and allocates the GRO receive buffers (UDP_GRO_SLOTS x
 * UDP_GRO_BUF per socket; pages are touched only as they are used).
 * 0 or -errno (-EADDRINUSE, -ENOMEM ...); on failure nothing is open. */
__attribute__((warn_unused_result))
int udp_open(struct udp *u, uint16_t port, uint32_t fwmark);
/* The same with filter's session filter on the sockets when it has one
 * (the header filter otherwise; NULL: the header filter). */
__attribute__((warn_unused_result))
int udp_open_filtered(struct udp *u, uint16_t port, uint32_t fwmark,
		      const struct udp_filter *filter);
/* Replace the session filter by the header filter on both sockets (the
 * session filter's map could not take an index). */
void udp_use_header_filter(struct udp *u);
void udp_close(struct udp *u);
/* SO_MARK on both sockets (0 clears it); 0 or -errno. */
int udp_set_fwmark(struct udp *u, uint32_t mark);

/* Receive up to max datagrams from fd into pool buffers (off 0, ep filled
 * with source and local address), appending to b. Returns count, 0 when
 * nothing is pending, -ENOBUFS when the pool is empty, or -errno.
 * Truncated datagrams are dropped. Never uses GRO: do not mix with
 * udp_recv on the same socket (once udp_recv turned GRO on, a coalesced
 * datagram would not fit a pool buffer). */
int udp_recv_batch(int fd, struct pool *pool, struct batch *b, unsigned max);

/* Like udp_recv_batch on the socket of family which (4 or 6), with GRO
 * when the socket has it (turned on by the first call): coalesced
 * datagrams are split into one pool packet per segment, each with the
 * datagram's endpoint. When b fills up, the segments left over stay in the
 * socket's ring for the next call: epoll cannot see them, so call again
 * while udp_pending() says so. Returns count (> 0 when something was left
 * over or received), 0 when nothing is pending, -ENOBUFS when the pool is
 * empty, -EBADF when that family has no socket, or -errno. */
int udp_recv(struct udp *u, int which, struct pool *pool, struct batch *b,
	     unsigned max);
/* Segments received but not yet handed out by udp_recv. */
bool udp_pending(const struct udp *u, int which);
/* Whether the last udp_recv on that family found the socket's queue
 * empty (it got fewer datagrams than it asked for) and handed out all it
 * got: calling again now would only return 0. */
bool udp_drained(const struct udp *u, int which);
/* Datagrams the kernel dropped before they reached us, both sockets
 * together: refused by the filter, or no room in the receive buffer. */
uint64_t udp_socket_drops(const struct udp *u);

/* Send every packet of b to its ep (from its ep.src_* when set; if the
 * kernel refuses that source, e.g. the address went away, the source is
 * cleared in that packet's ep and the send retried once: the caller may
 * compare it with the peer's endpoint to forget the stale source).
 * With GSO, consecutive packets of one family with the same destination,
 * the same source and the same length (the last may be shorter) go out as
 * one message: keep a flow's packets together in b to benefit. A GSO
 * message the kernel refuses is resent unsegmented; EIO (no checksum
 * offload on the route) or EINVAL (not explained by a stale source) also
 * turns GSO off for that socket; EMSGSIZE (segments larger than the path
 * MTU, which the kernel fragments only when they go alone) does not.
 * Packets stay owned by the caller. Never blocks: a full socket buffer
 * drops the rest of the batch. Returns the number sent; failures are
 * counted in *dropped (may be NULL). */
int udp_send_batch(struct udp *u, struct batch *b, uint64_t *dropped);

#endif
