/* netmon.c - rtnetlink notifications of address and route changes
 * (netmon.h). */
#include "mesh/netmon.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

int netmon_open(void)
{
	struct sockaddr_nl sa;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
		       RTMGRP_IPV6_ROUTE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A route of the main table to everywhere, through another interface
 * than ours. */
static bool default_route(const struct nlmsghdr *h, int ignore)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	const struct rtattr *a;
	int len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) || rt->rtm_dst_len != 0 ||
	    rt->rtm_table != RT_TABLE_MAIN)
		return false;
	len = (int)RTM_PAYLOAD(h);
	for (a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int) &&
		    *(const int *)RTA_DATA(a) == ignore)
			return false;
	return true;
}

bool netmon_read(int fd, int ignore_ifindex)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;
	ssize_t got;

	while ((got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t off = 0;

		while (off + sizeof(struct nlmsghdr) <= (size_t)got) {
			const struct nlmsghdr *h = (const void *)(buf + off);

			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > (size_t)got - off)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
			switch (h->nlmsg_type) {
			case RTM_NEWADDR:
			case RTM_DELADDR: {
				const struct ifaddrmsg *ifa = NLMSG_DATA(h);

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifa)) &&
				    (int)ifa->ifa_index != ignore_ifindex)
					changed = true;
				break;
			}
			case RTM_NEWROUTE:
			case RTM_DELROUTE:
				changed |= default_route(h, ignore_ifindex);
				break;
			}
		}
	}
	/* ENOBUFS: notifications were lost; assume a change. */
	if (got < 0 && errno == ENOBUFS)
		changed = true;
	return changed;
}
