/* sockaddr.c - endpoints as socket addresses (sockaddr.h). */
#include "os/linux/sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

socklen_t sockaddr_from_endpoint(struct sockaddr_storage *ss, int family,
				 const struct wg_endpoint *e)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(e->port);
		memcpy(&in->sin_addr, e->addr, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(e->port);
	if (e->family == IP_V4) {
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(in6->sin6_addr.s6_addr + 12, e->addr, 4);
	} else {
		memcpy(&in6->sin6_addr, e->addr, 16);
		in6->sin6_scope_id = e->scope_id;
	}
	return sizeof(*in6);
}

void sockaddr_to_endpoint(struct wg_endpoint *e, const struct sockaddr_storage *ss)
{
	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ss;

		e->family = IP_V4;
		e->port = ntohs(in->sin_port);
		memcpy(e->addr, &in->sin_addr, 4);
		return;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ss;

	e->port = ntohs(in6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		e->family = IP_V4;
		memcpy(e->addr, in6->sin6_addr.s6_addr + 12, 4);
	} else {
		e->family = IP_V6;
		e->scope_id = in6->sin6_scope_id;
		memcpy(e->addr, &in6->sin6_addr, 16);
	}
}
