/* udp_filter.h - a socket filter on the WireGuard port: datagrams that
 * cannot be one of our messages are dropped in the kernel, before they
 * are queued, copied or wake the daemon.
 *
 * Two strengths. The header filter (classic BPF, needs no privilege)
 * passes what starts like a WireGuard message (type 1..4, three zero
 * bytes), a weft message ('W', a subtype, two zero bytes: core/relay.h)
 * or a STUN message (two zero bits, the magic cookie: mesh/stun.c asks
 * from this port). The session filter (eBPF, needs CAP_BPF or root) does
 * the same and also drops data messages whose receiver index is none of
 * ours: the daemon keeps its live indices in a kernel map, so a flood of
 * well-formed data messages for no session costs no more than garbage.
 * Neither reads past the header: lengths, MACs and counters stay the
 * core's to check. */
#ifndef WEFT_OS_LINUX_UDP_FILTER_H
#define WEFT_OS_LINUX_UDP_FILTER_H

#include <stdbool.h>
#include <stdint.h>

/* Environment switches, for benchmarks: set to anything but "" or "0".
 * NO_FILTER leaves the sockets unfiltered; NO_SESSION_FILTER keeps the
 * header filter only. */
#define UDP_ENV_NO_FILTER "WEFT_NO_UDP_FILTER"
#define UDP_ENV_NO_SESSION_FILTER "WEFT_NO_SESSION_FILTER"

enum udp_filter_limits {
	/* Live receiver indices the session filter holds (up to four per
	 * peer: a handshake and three keypairs). Past it the daemon falls
	 * back to the header filter. The kernel map costs 16 bytes a slot
	 * up front and about 64 per index in use. */
	UDP_FILTER_MAX_INDICES = 65536,
};

/* The session filter's kernel objects; -1 when there is none. */
struct udp_filter {
	int map_fd, prog_fd;
};

#define UDP_FILTER_NONE ((struct udp_filter){ .map_fd = -1, .prog_fd = -1 })

/* Create the index map and load the session filter. 0 or -errno (-EPERM
 * without CAP_BPF, -EINVAL from a kernel that refuses the program); on
 * failure f is UDP_FILTER_NONE. */
int udp_filter_open(struct udp_filter *f);
void udp_filter_close(struct udp_filter *f);
static inline bool udp_filter_has_sessions(const struct udp_filter *f)
{
	return f && f->prog_fd >= 0;
}

/* Attach the session filter to a UDP socket of either family when f has
 * one, the header filter otherwise (f NULL or without sessions). 0 or
 * -errno. Attaching again replaces the socket's filter. */
int udp_filter_attach(int fd, const struct udp_filter *f);

/* Our receiver index went live or away. 0 or -errno (-E2BIG: map full).
 * When going live fails, data for that index would be dropped: the
 * caller must attach the header filter to its sockets instead. */
int udp_filter_index(const struct udp_filter *f, uint32_t index, bool live);

#endif
