/* udp_filter.h - a socket filter on the WireGuard port: datagrams that
 * cannot be one of our messages are dropped in the kernel, before they
 * are queued, copied or wake the daemon. */
#ifndef WEFT_OS_LINUX_UDP_FILTER_H
#define WEFT_OS_LINUX_UDP_FILTER_H

/* Environment switch, read at udp_open, for benchmarks: set to anything
 * but "" or "0" to leave the sockets unfiltered. */
#define UDP_ENV_NO_FILTER "WEFT_NO_UDP_FILTER"

/* Attach the filter to a UDP socket of either family. It passes what
 * starts like a WireGuard message (type 1..4, three zero bytes), a weft
 * message ('W', a subtype, two zero bytes: core/relay.h) or a STUN message
 * (two zero bits, the magic cookie: mesh/stun.c asks from this port), and
 * drops the rest. It reads headers only: lengths, MACs and sessions are
 * the core's to check. 0 or -errno. */
int udp_filter_attach(int fd);

#endif
