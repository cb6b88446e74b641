/* udp.c - the data plane's UDP sockets: one per family on one port,
 * batched with recvmmsg/sendmmsg, sticky source addresses via pktinfo. */
#define _GNU_SOURCE	/* recvmmsg, sendmmsg, in_pktinfo, in6_pktinfo */
#include "os/linux/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

union sockaddr_inet {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* Room for one pktinfo of either family, and one int-sized message more
 * (UDP_GRO's segment size, later). */
union udp_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* Per-call scratch for one batch; on the stack, so nothing allocates. */
struct udp_msgs {
	struct mmsghdr m[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union sockaddr_inet name[BATCH_MAX];
	union udp_cmsg ctrl[BATCH_MAX];
	struct pkt *pk[BATCH_MAX];
};

enum { UDP_RECV_ROUNDS = 4 };

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) == 0 ? 0 : -errno;
}

/* The *FORCE variants pass rmem_max/wmem_max with CAP_NET_ADMIN; without
 * it the plain ones get what the sysctl allows. Small buffers only cost
 * throughput, so failing here is not an error. */
static void set_buffers(int fd)
{
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, UDP_SOCKET_BUFFER))
		(void)set_int(fd, SOL_SOCKET, SO_RCVBUF, UDP_SOCKET_BUFFER);
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, UDP_SOCKET_BUFFER))
		(void)set_int(fd, SOL_SOCKET, SO_SNDBUF, UDP_SOCKET_BUFFER);
}

/* A bound socket of family on port, or -errno. */
static int open_socket(int family, uint16_t port, uint32_t fwmark)
{
	union sockaddr_inet a;
	socklen_t alen;
	int fd, err;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET6) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		a.in6.sin6_addr = in6addr_any;
		alen = sizeof(a.in6);
		/* v6-only: IPv4 has its own socket, so v4-mapped addresses
		 * never reach the core. */
		err = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		if (!err)
			err = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	} else {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		a.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		alen = sizeof(a.in4);
		err = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
		/* Like WireGuard: no DF, so a path with a smaller MTU
		 * fragments the outer packet instead of dropping it. IPv6
		 * keeps the default (fragment locally to the known path
		 * MTU): routers never fragment there. */
		if (!err)
			err = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER,
				      IP_PMTUDISC_DONT);
	}
	if (!err && fwmark)
		err = set_int(fd, SOL_SOCKET, SO_MARK, (int)fwmark);
	if (!err) {
		set_buffers(fd);
		if (bind(fd, &a.sa, alen) != 0)
			err = -errno;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int bound_port(int fd)
{
	union sockaddr_inet a;
	socklen_t alen = sizeof(a);

	if (getsockname(fd, &a.sa, &alen) != 0)
		return -errno;
	return a.sa.sa_family == AF_INET6 ? ntohs(a.in6.sin6_port) :
					    ntohs(a.in4.sin_port);
}

static bool family_missing(int err)
{
	/* No IPv6 in this kernel (ipv6.disable=1) or no usable address. */
	return err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL ||
	       err == -EPROTONOSUPPORT;
}

int udp_open(struct udp *u, uint16_t port, uint32_t fwmark)
{
	int fd4, fd6, p;

	u->fd4 = u->fd6 = -1;
	u->port = 0;
	u->fwmark = fwmark;
	for (unsigned attempt = 0; attempt < UDP_BIND_ATTEMPTS; attempt++) {
		uint16_t want = port;

		/* IPv4 first: with port 0 it picks the port for both. */
		fd4 = open_socket(AF_INET, port, fwmark);
		if (fd4 < 0 && !family_missing(fd4))
			return fd4;
		if (fd4 >= 0) {
			p = bound_port(fd4);
			if (p < 0) {
				close(fd4);
				return p;
			}
			want = (uint16_t)p;
		}

		fd6 = open_socket(AF_INET6, want, fwmark);
		if (fd6 == -EADDRINUSE && port == 0 && fd4 >= 0) {
			close(fd4);	/* taken in v6 only: another port */
			continue;
		}
		if (fd6 < 0 && !(family_missing(fd6) && fd4 >= 0)) {
			if (fd4 >= 0)
				close(fd4);
			return family_missing(fd6) ? -EAFNOSUPPORT : fd6;
		}
		if (fd6 < 0)
			fd6 = -1;
		if (fd4 < 0) {
			fd4 = -1;
			p = bound_port(fd6);
			if (p < 0) {
				close(fd6);
				return p;
			}
			want = (uint16_t)p;
		}
		u->fd4 = fd4;
		u->fd6 = fd6;
		u->port = want;
		return 0;
	}
	return -EADDRINUSE;
}

void udp_close(struct udp *u)
{
	if (u->fd4 >= 0)
		close(u->fd4);
	if (u->fd6 >= 0)
		close(u->fd6);
	u->fd4 = u->fd6 = -1;
}

int udp_set_fwmark(struct udp *u, uint32_t mark)
{
	int fds[2] = { u->fd4, u->fd6 }, err;

	for (unsigned i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		err = set_int(fds[i], SOL_SOCKET, SO_MARK, (int)mark);
		if (err)
			return err;
	}
	u->fwmark = mark;
	return 0;
}

/* Source and local address of a received datagram into ep; false when
 * the source is not an address of the socket's family. */
static bool endpoint_from_msg(struct wg_endpoint *ep, const struct msghdr *mh)
{
	const union sockaddr_inet *a = mh->msg_name;

	memset(ep, 0, sizeof(*ep));
	if (a->sa.sa_family == AF_INET && mh->msg_namelen >= sizeof(a->in4)) {
		ep->family = IP_V4;
		ep->port = ntohs(a->in4.sin_port);
		memcpy(ep->addr, &a->in4.sin_addr, 4);
	} else if (a->sa.sa_family == AF_INET6 &&
		   mh->msg_namelen >= sizeof(a->in6)) {
		ep->family = IP_V6;
		ep->port = ntohs(a->in6.sin6_port);
		ep->scope_id = a->in6.sin6_scope_id;
		memcpy(ep->addr, &a->in6.sin6_addr, 16);
	} else {
		return false;
	}

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			/* spec_dst, not addr: for a datagram sent to a
			 * broadcast address it is our own address, the one
			 * a reply can leave from. */
			ep->src_family = IP_V4;
			ep->src_ifindex = (uint32_t)pi.ipi_ifindex;
			memcpy(ep->src_addr, &pi.ipi_spec_dst, 4);
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			ep->src_family = IP_V6;
			ep->src_ifindex = pi.ipi6_ifindex;
			memcpy(ep->src_addr, &pi.ipi6_addr, 16);
		}
	}
	return true;
}

int udp_recv_batch(int fd, struct pool *pool, struct batch *b, unsigned max)
{
	struct udp_msgs s;
	unsigned room = BATCH_MAX - b->n, k, n = 0;

	if (max > room)
		max = room;
	if (max == 0)
		return 0;
	/* Another round only when everything received was dropped, so that
	 * 0 keeps meaning "nothing pending". */
	for (unsigned round = 0; round < UDP_RECV_ROUNDS && n == 0; round++) {
		int r;

		for (k = 0; k < max; k++) {
			struct pkt *p = pool_get(pool);

			if (!p)
				break;
			s.pk[k] = p;
			s.iov[k].iov_base = p->buf;
			s.iov[k].iov_len = sizeof(p->buf);
			memset(&s.m[k], 0, sizeof(s.m[k]));
			s.m[k].msg_hdr.msg_name = &s.name[k];
			s.m[k].msg_hdr.msg_namelen = sizeof(s.name[k]);
			s.m[k].msg_hdr.msg_iov = &s.iov[k];
			s.m[k].msg_hdr.msg_iovlen = 1;
			s.m[k].msg_hdr.msg_control = s.ctrl[k].buf;
			s.m[k].msg_hdr.msg_controllen = sizeof(s.ctrl[k].buf);
		}
		if (k == 0)
			return -ENOBUFS;

		do
			r = recvmmsg(fd, s.m, k, MSG_DONTWAIT, NULL);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			int err = errno;

			for (unsigned i = 0; i < k; i++)
				pool_put(pool, s.pk[i]);
			return err == EAGAIN || err == EWOULDBLOCK ? 0 : -err;
		}

		for (unsigned i = 0; i < k; i++) {
			struct pkt *p = s.pk[i];

			if (i >= (unsigned)r ||
			    (s.m[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    !endpoint_from_msg(&p->ep, &s.m[i].msg_hdr)) {
				pool_put(pool, p);
				continue;
			}
			p->off = 0;
			p->len = s.m[i].msg_len;
			p->peer = NULL;
			p->next = NULL;
			b->p[b->n++] = p;
			n++;
		}
		if ((unsigned)r < k)
			break;	/* the queue is empty */
	}
	return (int)n;
}

static void endpoint_to_msg(struct msghdr *mh, union sockaddr_inet *a,
			    union udp_cmsg *cb, const struct wg_endpoint *ep)
{
	struct cmsghdr *cm = &cb->align;

	memset(a, 0, sizeof(*a));
	mh->msg_name = a;
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (ep->family == IP_V4) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(ep->port);
		memcpy(&a->in4.sin_addr, ep->addr, 4);
		mh->msg_namelen = sizeof(a->in4);
	} else {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(ep->port);
		a->in6.sin6_scope_id = ep->scope_id;
		memcpy(&a->in6.sin6_addr, ep->addr, 16);
		mh->msg_namelen = sizeof(a->in6);
	}
	if (ep->src_family != ep->family)
		return;

	/* Only the source address: the outgoing interface is left to
	 * routing (and to the destination's scope id for link-local), as the
	 * kernel driver does, so policy routing and route changes apply. */
	memset(cb, 0, sizeof(*cb));
	mh->msg_control = cb->buf;
	if (ep->family == IP_V4) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, ep->src_addr, 4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, ep->src_addr, 16);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}

static void forget_source(struct wg_endpoint *ep)
{
	ep->src_family = 0;
	ep->src_ifindex = 0;
	memset(ep->src_addr, 0, sizeof(ep->src_addr));
}

/* How the kernel refuses a source address that is no longer ours: IPv6
 * says EINVAL, IPv4 ENETUNREACH or EINVAL (by kernel version), binding an
 * address that is not there EADDRNOTAVAIL. */
static bool source_refused(int err)
{
	return err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH;
}

/* Send s->m[0..k) on fd. Returns the number sent, adds failures to *lost. */
static int send_msgs(int fd, struct udp_msgs *s, unsigned k, uint64_t *lost)
{
	unsigned i = 0;
	int sent = 0;

	while (i < k) {
		struct msghdr *mh = &s->m[i].msg_hdr;
		int r, err;

		/* A failure after the first message comes back as a short
		 * count; the next call then fails on that message. */
		r = sendmmsg(fd, &s->m[i], k - i, MSG_DONTWAIT);
		if (r > 0) {
			i += (unsigned)r;
			sent += r;
			continue;
		}
		err = r < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		if (mh->msg_controllen && source_refused(err)) {
			/* The sticky source is gone (address removed, route
			 * changed): once more, letting the kernel choose. */
			forget_source(&s->pk[i]->ep);
			mh->msg_control = NULL;
			mh->msg_controllen = 0;
			continue;
		}
		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
			/* Full: the rest would fail the same way. */
			*lost += k - i;
			break;
		}
		(*lost)++;	/* this datagram only (unreachable, too big ...) */
		i++;
	}
	return sent;
}

static int send_family(int fd, uint8_t family, struct batch *b,
		       struct udp_msgs *s, uint64_t *lost)
{
	unsigned k = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *p = b->p[i];
		struct msghdr *mh = &s->m[k].msg_hdr;

		if (p->ep.family != family)
			continue;
		if (fd < 0) {
			(*lost)++;
			continue;
		}
		memset(&s->m[k], 0, sizeof(s->m[k]));
		s->iov[k].iov_base = pkt_data(p);
		s->iov[k].iov_len = p->len;
		mh->msg_iov = &s->iov[k];
		mh->msg_iovlen = 1;
		endpoint_to_msg(mh, &s->name[k], &s->ctrl[k], &p->ep);
		s->pk[k++] = p;
	}
	return k ? send_msgs(fd, s, k, lost) : 0;
}

int udp_send_batch(struct udp *u, struct batch *b, uint64_t *dropped)
{
	struct udp_msgs s;
	uint64_t lost = 0;
	int sent;

	/* Grouped by family: one sendmmsg run per socket. */
	sent = send_family(u->fd4, IP_V4, b, &s, &lost);
	sent += send_family(u->fd6, IP_V6, b, &s, &lost);
	for (unsigned i = 0; i < b->n; i++) {
		uint8_t f = b->p[i]->ep.family;

		if (f != IP_V4 && f != IP_V6)
			lost++;	/* no endpoint */
	}
	if (dropped)
		*dropped += lost;
	return sent;
}
