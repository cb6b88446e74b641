/* sockaddr.h - a core endpoint (core/endpoint.h) as a socket address and
 * back, for the programs that use plain sockets (the relay, netcheck). */
#ifndef WEFT_OS_LINUX_SOCKADDR_H
#define WEFT_OS_LINUX_SOCKADDR_H

#include <sys/socket.h>

#include "core/endpoint.h"

/* e as an address for a socket of family (AF_INET, or AF_INET6 where an
 * IPv4 endpoint becomes ::ffff:a.b.c.d). Returns its length. */
socklen_t sockaddr_from_endpoint(struct sockaddr_storage *ss, int family,
				 const struct wg_endpoint *e);
/* The endpoint of a received address; ::ffff:a.b.c.d becomes IPv4. */
void sockaddr_to_endpoint(struct wg_endpoint *e, const struct sockaddr_storage *ss);

#endif
