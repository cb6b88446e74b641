/* udp.h - the WireGuard UDP sockets: one IPv4 and one IPv6 (v6-only) socket
 * on the same port, batched with recvmmsg/sendmmsg, with the local address
 * of each received datagram recorded (IP_PKTINFO/IPV6_RECVPKTINFO) so that
 * replies leave from the address the peer talked to ("sticky" source). */
#ifndef WEFT_OS_LINUX_UDP_H
#define WEFT_OS_LINUX_UDP_H

#include <stdint.h>

#include "core/pool.h"

struct udp {
	int fd4, fd6;		/* -1 when that family is unavailable */
	uint16_t port;		/* the bound port, host order */
	uint32_t fwmark;
};

enum udp_values {
	/* Socket buffers asked for (the kernel doubles them); as large as
	 * wireguard-go's so a burst between two engine wakeups fits. */
	UDP_SOCKET_BUFFER = 7 << 20,
	/* Port 0: attempts at finding a port free in both families. */
	UDP_BIND_ATTEMPTS = 16,
};

/* Bind both families to port (0: pick one, the same for both), set fwmark
 * (when nonzero) and the socket options. Works when the host has no IPv6
 * (fd6 = -1). 0 or -errno (-EADDRINUSE ...); on failure nothing is open. */
__attribute__((warn_unused_result))
int udp_open(struct udp *u, uint16_t port, uint32_t fwmark);
void udp_close(struct udp *u);
/* SO_MARK on both sockets (0 clears it); 0 or -errno. */
int udp_set_fwmark(struct udp *u, uint32_t mark);

/* Receive up to max datagrams from fd into pool buffers (off 0, ep filled
 * with source and local address), appending to b. Returns count, 0 when
 * nothing is pending, -ENOBUFS when the pool is empty, or -errno.
 * Truncated datagrams are dropped. */
int udp_recv_batch(int fd, struct pool *pool, struct batch *b, unsigned max);

/* Send every packet of b to its ep (from its ep.src_* when set; if the
 * kernel refuses that source, e.g. the address went away, the source is
 * cleared in that packet's ep and the send retried once: the caller may
 * compare it with the peer's endpoint to forget the stale source).
 * Packets stay owned by the caller. Never blocks: a full socket buffer
 * drops the rest of the batch. Returns the number sent; failures are
 * counted in *dropped (may be NULL). */
int udp_send_batch(struct udp *u, struct batch *b, uint64_t *dropped);

#endif
