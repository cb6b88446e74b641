/* udp.c - the data plane's UDP sockets: one per family on one port,
 * batched with recvmmsg/sendmmsg, sticky source addresses via pktinfo,
 * UDP GSO (UDP_SEGMENT) on send and GRO (UDP_GRO) on receive. */
#define _GNU_SOURCE	/* recvmmsg, sendmmsg, in_pktinfo, in6_pktinfo */
#include "os/linux/udp.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include "os/linux/env.h"
#include "os/linux/log.h"
#include "os/linux/udp_filter.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

union sockaddr_inet {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* Room for one pktinfo of either family, and one int-sized message more
 * (UDP_SEGMENT's u16 on send, UDP_GRO's int on receive). */
union udp_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* Per-call scratch for one batch; on the stack, so nothing allocates.
 * Receiving, message k fills pk[k] through iov[k]. Sending, pk[0..npk) are
 * the packets of one family, iov[j] points at pk[j]'s data, and message k
 * covers pk[first[k] .. first[k] + nseg[k]) (several with GSO). */
struct udp_msgs {
	struct mmsghdr m[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	union sockaddr_inet name[BATCH_MAX];
	union udp_cmsg ctrl[BATCH_MAX];
	struct pkt *pk[BATCH_MAX];
	uint8_t first[BATCH_MAX];
	uint8_t nseg[BATCH_MAX];
	unsigned npk;
};

/* One coalesced datagram waiting to be split: [done, len) of its buffer
 * is still to hand out, seg bytes at a time (the last may be shorter). */
struct gro_slot {
	uint32_t len, seg, done;
	struct wg_endpoint ep;
};

/* A socket's GRO receive buffers. recvmmsg fills slot k from buf[k] only
 * when every slot has been handed out, so [next, count) is all that is
 * pending. */
struct udp_gro_ring {
	unsigned next, count;
	struct gro_slot slot[UDP_GRO_SLOTS];
	uint8_t buf[UDP_GRO_SLOTS][UDP_GRO_BUF];
};

enum { UDP_RECV_ROUNDS = 4 };

_Static_assert((int)BATCH_MAX <= UINT8_MAX &&
	       (int)UDP_GSO_MAX_SEGS <= (int)BATCH_MAX, "first/nseg are bytes");
_Static_assert((int)PKT_BUF_SIZE <= UINT16_MAX, "a segment size is a u16");

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

static const char *filter_name(const struct udp *u, unsigned i)
{
	return u->sessions[i] ? "sessions" : u->filtered[i] ? "headers" : "off";
}

/* Which offloads each socket has. UDP_SEGMENT 0 as a socket option means
 * "no default segment size" (each send sets its own), so setting it only
 * asks whether the kernel knows it. UDP_GRO stays off until udp_recv
 * turns it on: udp_recv_batch must never see a coalesced datagram. */
static int probe_offloads(struct udp *u, const struct udp_filter *filter)
{
	bool no_gso = env_switch(UDP_ENV_NO_GSO), no_gro = env_switch(UDP_ENV_NO_GRO);
	bool no_filter = env_switch(UDP_ENV_NO_FILTER);
	int fds[2] = { u->fd4, u->fd6 };
	struct udp_gro_ring *ring;

	for (unsigned i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		int err = no_filter ? 0 : udp_filter_attach(fds[i], filter);

		/* Only a cost when missing: garbage then reaches the core,
		 * which drops it too. */
		if (err)
			log_warn("UDP port %u: no socket filter (%s): garbage sent to it will reach the daemon",
				 u->port, strerror(-err));
		u->filtered[i] = !no_filter && !err;
		u->sessions[i] = u->filtered[i] && udp_filter_has_sessions(filter);
		u->gso[i] = !no_gso && set_int(fds[i], SOL_UDP, UDP_SEGMENT, 0) == 0;
		if (no_gro || set_int(fds[i], SOL_UDP, UDP_GRO, 1) != 0 ||
		    set_int(fds[i], SOL_UDP, UDP_GRO, 0) != 0)
			continue;
		/* 4 MiB that stay unbacked until coalesced datagrams
		 * arrive: a mapping of its own, not the heap. */
		ring = mmap(NULL, sizeof(*ring), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ring == MAP_FAILED)
			return -ENOMEM;
		ring->next = ring->count = 0;
		u->ring[i] = ring;
		u->gro[i] = true;
	}
	log_debug("UDP port %u: GSO %s/%s, GRO %s/%s, filter %s/%s (IPv4/IPv6)",
		  u->port, u->gso[0] ? "on" : "off", u->gso[1] ? "on" : "off",
		  u->gro[0] ? "on" : "off", u->gro[1] ? "on" : "off",
		  filter_name(u, 0), filter_name(u, 1));
	return 0;
}

int udp_open(struct udp *u, uint16_t port, uint32_t fwmark)
{
	return udp_open_filtered(u, port, fwmark, NULL);
}

int udp_open_filtered(struct udp *u, uint16_t port, uint32_t fwmark,
		      const struct udp_filter *filter)
{
	int fd4, fd6, p, err;

	memset(u, 0, sizeof(*u));
	u->fd4 = u->fd6 = -1;
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
		err = probe_offloads(u, filter);
		if (err)
			udp_close(u);
		return err;
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
	for (unsigned i = 0; i < 2; i++) {
		if (u->ring[i])
			munmap(u->ring[i], sizeof(*u->ring[i]));
		u->ring[i] = NULL;
		u->gso[i] = u->gro[i] = u->gro_on[i] = false;
	}
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

/* Source and local address of a received datagram into ep, and its GRO
 * segment size into *gro (0: not coalesced); false when the source is not
 * an address of the socket's family. */
static bool endpoint_from_msg(struct wg_endpoint *ep, int *gro,
			      const struct msghdr *mh)
{
	const union sockaddr_inet *a = mh->msg_name;

	memset(ep, 0, sizeof(*ep));
	*gro = 0;
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
		} else if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(gro, CMSG_DATA(cm), sizeof(*gro));
		}
	}
	return true;
}

/* Message k of s receives into [base, base + len). */
static void recv_msg_init(struct udp_msgs *s, unsigned k, void *base, size_t len)
{
	s->iov[k].iov_base = base;
	s->iov[k].iov_len = len;
	memset(&s->m[k], 0, sizeof(s->m[k]));
	s->m[k].msg_hdr.msg_name = &s->name[k];
	s->m[k].msg_hdr.msg_namelen = sizeof(s->name[k]);
	s->m[k].msg_hdr.msg_iov = &s->iov[k];
	s->m[k].msg_hdr.msg_iovlen = 1;
	s->m[k].msg_hdr.msg_control = s->ctrl[k].buf;
	s->m[k].msg_hdr.msg_controllen = sizeof(s->ctrl[k].buf);
}

static int recvmmsg_nointr(int fd, struct udp_msgs *s, unsigned k)
{
	int r;

	do
		r = recvmmsg(fd, s->m, k, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Without GRO: each datagram straight into a pool buffer. */
static int recv_direct(int fd, struct pool *pool, struct batch *b,
		       unsigned max, struct udp_stats *st, bool *drained)
{
	struct udp_msgs s;
	unsigned k, n = 0;

	/* Another round only when everything received was dropped, so that
	 * 0 keeps meaning "nothing pending". */
	for (unsigned round = 0; round < UDP_RECV_ROUNDS && n == 0; round++) {
		int r;

		for (k = 0; k < max; k++) {
			struct pkt *p = pool_get(pool);

			if (!p)
				break;
			s.pk[k] = p;
			recv_msg_init(&s, k, p->buf, sizeof(p->buf));
		}
		if (k == 0)
			return -ENOBUFS;

		r = recvmmsg_nointr(fd, &s, k);
		st->recv_calls++;
		if (drained)
			*drained = r < (int)k;
		if (r < 0) {
			int err = errno;

			for (unsigned i = 0; i < k; i++)
				pool_put(pool, s.pk[i]);
			return err == EAGAIN || err == EWOULDBLOCK ? 0 : -err;
		}

		for (unsigned i = 0; i < k; i++) {
			struct pkt *p = s.pk[i];
			int gro;

			if (i >= (unsigned)r) {
				pool_put(pool, p);
				continue;
			}
			if ((s.m[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    !endpoint_from_msg(&p->ep, &gro, &s.m[i].msg_hdr)) {
				pool_put(pool, p);
				st->rx_dropped++;
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
	st->received += n;
	return (int)n;
}

int udp_recv_batch(int fd, struct pool *pool, struct batch *b, unsigned max)
{
	struct udp_stats unused = { 0 };
	unsigned room = BATCH_MAX - b->n;

	if (max > room)
		max = room;
	if (max == 0)
		return 0;
	return recv_direct(fd, pool, b, max, &unused, NULL);
}

/* Hand out up to max segments from the ring, copied into pool packets.
 * Sets *dry when the pool ran out first. A slot is passed as soon as its
 * last segment is out, so [next, count) is exactly what is pending. */
static unsigned ring_drain(struct udp_gro_ring *g, struct pool *pool,
			   struct batch *b, unsigned max, struct udp_stats *st,
			   bool *dry)
{
	unsigned n = 0;

	while (g->next < g->count && n < max) {
		struct gro_slot *sl = &g->slot[g->next];
		uint32_t seg = sl->len - sl->done;
		struct pkt *p = NULL;

		if (seg > sl->seg)
			seg = sl->seg;
		if (seg > sizeof(p->buf)) {
			/* Larger than any datagram udp_recv_batch takes. */
			st->rx_dropped++;
		} else if (seg) {
			p = pool_get(pool);
			if (!p) {
				*dry = true;
				break;
			}
			memcpy(p->buf, g->buf[g->next] + sl->done, seg);
			p->off = 0;
			p->len = seg;
			p->ep = sl->ep;
			p->peer = NULL;
			p->next = NULL;
			b->p[b->n++] = p;
			n++;
		}
		sl->done += seg;
		if (sl->done >= sl->len)
			g->next++;
	}
	if (g->next == g->count)
		g->next = g->count = 0;
	return n;
}

/* Receive into the (empty) ring; the number of datagrams, 0 when nothing
 * is pending, or -errno. */
static int ring_fill(struct udp_gro_ring *g, int fd, unsigned want,
		     struct udp_stats *st, bool *drained)
{
	struct udp_msgs s;
	int r;

	if (want > UDP_GRO_SLOTS)
		want = UDP_GRO_SLOTS;
	for (unsigned k = 0; k < want; k++)
		recv_msg_init(&s, k, g->buf[k], sizeof(g->buf[k]));
	r = recvmmsg_nointr(fd, &s, want);
	st->recv_calls++;
	*drained = r < (int)want;
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;

	for (unsigned i = 0; i < (unsigned)r; i++) {
		struct gro_slot *sl = &g->slot[i];
		uint32_t len = s.m[i].msg_len;
		int gro;

		sl->len = sl->done = 0;	/* an empty slot is skipped */
		if ((s.m[i].msg_hdr.msg_flags & MSG_TRUNC) || len == 0 ||
		    !endpoint_from_msg(&sl->ep, &gro, &s.m[i].msg_hdr)) {
			st->rx_dropped++;
			continue;
		}
		sl->len = len;
		sl->seg = gro > 0 && (uint32_t)gro < len ? (uint32_t)gro : len;
		if (sl->seg < len) {
			st->gro_msgs++;
			st->gro_segs += (len + sl->seg - 1) / sl->seg;
		}
	}
	g->next = 0;
	g->count = (unsigned)r;
	return r;
}

int udp_recv(struct udp *u, int which, struct pool *pool, struct batch *b,
	     unsigned max)
{
	unsigned i = udp_index(which), room = BATCH_MAX - b->n, n = 0;
	int fd = i ? u->fd6 : u->fd4;
	struct udp_stats *st = &u->stats[i];
	struct udp_gro_ring *g = u->ring[i];
	bool dry = false;

	if (which != IP_V4 && which != IP_V6)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (max > room)
		max = room;
	if (max == 0)
		return 0;
	u->drained[i] = false;
	if (!u->gro[i])
		return recv_direct(fd, pool, b, max, st, &u->drained[i]);
	if (!u->gro_on[i]) {
		if (set_int(fd, SOL_UDP, UDP_GRO, 1) != 0) {
			u->gro[i] = false;	/* worked at open; be safe */
			return recv_direct(fd, pool, b, max, st,
					   &u->drained[i]);
		}
		u->gro_on[i] = true;
	}

	n = ring_drain(g, pool, b, max, st, &dry);
	/* As in recv_direct: another round only while all was dropped. */
	for (unsigned round = 0; round < UDP_RECV_ROUNDS && n == 0 && !dry &&
				 g->count == 0; round++) {
		int r = ring_fill(g, fd, max, st, &u->drained[i]);

		if (r < 0)
			return r;
		if (r == 0)
			break;
		n += ring_drain(g, pool, b, max, st, &dry);
		if ((unsigned)r < max)
			break;	/* the queue is empty */
	}
	st->received += n;
	if (n == 0 && dry)
		return -ENOBUFS;
	return (int)n;
}

bool udp_pending(const struct udp *u, int which)
{
	const struct udp_gro_ring *g = u->ring[udp_index(which)];

	return g && g->next < g->count;
}

bool udp_drained(const struct udp *u, int which)
{
	unsigned i = udp_index(which);

	return u->drained[i] && !udp_pending(u, which);
}

void udp_use_header_filter(struct udp *u)
{
	int fds[2] = { u->fd4, u->fd6 };

	for (unsigned i = 0; i < 2; i++) {
		if (fds[i] < 0 || !u->sessions[i])
			continue;
		u->sessions[i] = false;
		if (udp_filter_attach(fds[i], NULL) != 0) {
			/* Unfiltered beats dropping live sessions. */
			(void)setsockopt(fds[i], SOL_SOCKET, SO_DETACH_FILTER,
					 &(int){ 0 }, sizeof(int));
			u->filtered[i] = false;
		}
	}
}

uint64_t udp_socket_drops(const struct udp *u)
{
	int fds[2] = { u->fd4, u->fd6 };
	uint64_t sum = 0;

	for (unsigned i = 0; i < 2; i++) {
		uint32_t mem[SK_MEMINFO_VARS] = { 0 };
		socklen_t len = sizeof(mem);

		if (fds[i] >= 0 &&
		    getsockopt(fds[i], SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
		    len > SK_MEMINFO_DROPS * sizeof(mem[0]))
			sum += mem[SK_MEMINFO_DROPS];
	}
	return sum;
}

/* Name and control messages of a datagram (or, with gso_size, of a run of
 * datagrams of that size) to ep. */
static void endpoint_to_msg(struct msghdr *mh, union sockaddr_inet *a,
			    union udp_cmsg *cb, const struct wg_endpoint *ep,
			    uint16_t gso_size)
{
	struct cmsghdr *cm = &cb->align;
	size_t used = 0;

	memset(a, 0, sizeof(*a));
	mh->msg_name = a;
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

	memset(cb, 0, sizeof(*cb));
	/* The source address and the interface it was learned on. The
	 * kernel driver drops a sticky source as soon as the route to the
	 * peer leaves through another interface; pinning the interface here
	 * gets the same effect: if that link went down or no longer routes
	 * to the peer, the send fails, the source is forgotten and the
	 * packet goes out wherever routing says. */
	if (ep->src_family == ep->family && ep->family == IP_V4) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, ep->src_addr, 4);
		pi.ipi_ifindex = (int)ep->src_ifindex;
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		used = CMSG_SPACE(sizeof(pi));
	} else if (ep->src_family == ep->family) {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, ep->src_addr, 16);
		pi.ipi6_ifindex = ep->src_ifindex;
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		used = CMSG_SPACE(sizeof(pi));
	}
	if (gso_size) {
		cm = (struct cmsghdr *)(void *)(cb->buf + used);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(gso_size));
		memcpy(CMSG_DATA(cm), &gso_size, sizeof(gso_size));
		used += CMSG_SPACE(sizeof(gso_size));
	}
	mh->msg_control = used ? cb->buf : NULL;
	mh->msg_controllen = used;
}

static void forget_source(struct wg_endpoint *ep)
{
	ep->src_family = 0;
	ep->src_ifindex = 0;
	memset(ep->src_addr, 0, sizeof(ep->src_addr));
}

static bool has_source(const struct wg_endpoint *ep)
{
	return ep->src_family == ep->family;
}

/* One GSO message may carry a and b: same destination, same source. */
static bool same_flow(const struct wg_endpoint *a, const struct wg_endpoint *b)
{
	size_t n = a->family == IP_V6 ? 16 : 4;

	if (a->family != b->family || a->port != b->port ||
	    a->scope_id != b->scope_id || memcmp(a->addr, b->addr, n) != 0 ||
	    has_source(a) != has_source(b))
		return false;
	return !has_source(a) || memcmp(a->src_addr, b->src_addr, n) == 0;
}

/* How the kernel refuses a source address that is no longer ours: IPv6
 * says EINVAL, IPv4 ENETUNREACH or EINVAL (by kernel version), binding an
 * address that is not there EADDRNOTAVAIL; a pinned interface that is down
 * or gone ENETDOWN/ENODEV, one that no longer routes to the peer
 * ENETUNREACH. */
static bool source_refused(int err)
{
	return err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH ||
	       err == ENETDOWN || err == ENODEV;
}

/* Messages from slot k on for packets pk[j..npk): runs of one flow and
 * one length (the last may be shorter) become one GSO message when gso;
 * packets before single_until go alone whatever gso says. Returns the
 * message count. Messages never outnumber packets, so slot k <= j and
 * rebuilding the tail in place is safe. */
static unsigned build_msgs(struct udp_msgs *s, unsigned k, unsigned j, bool gso,
			   unsigned single_until)
{
	while (j < s->npk) {
		const struct pkt *p = s->pk[j];
		struct msghdr *mh = &s->m[k].msg_hdr;
		size_t total = p->len;
		unsigned n = 1;

		if (gso && j >= single_until && p->len > 0) {
			while (j + n < s->npk && n < UDP_GSO_MAX_SEGS) {
				const struct pkt *q = s->pk[j + n];

				if (q->len == 0 || q->len > p->len ||
				    total + q->len > UDP_GSO_MAX_BYTES ||
				    !same_flow(&p->ep, &q->ep))
					break;
				total += q->len;
				n++;
				if (q->len < p->len)
					break;	/* a shorter one ends the run */
			}
		}
		memset(&s->m[k], 0, sizeof(s->m[k]));
		mh->msg_iov = &s->iov[j];
		mh->msg_iovlen = n;
		endpoint_to_msg(mh, &s->name[k], &s->ctrl[k], &p->ep,
				n > 1 ? (uint16_t)p->len : 0);
		s->first[k] = (uint8_t)j;
		s->nseg[k] = (uint8_t)n;
		k++;
		j += n;
	}
	return k;
}

static void gso_disable(struct udp *u, unsigned fi, int err)
{
	u->gso[fi] = false;
	log_info("UDP GSO off on the IPv%c socket: the kernel refused a "
		 "segmented send (%s)", fi ? '6' : '4', strerror(err));
}

/* Send s->m[0..k) on the socket fi. Returns the number of datagrams sent,
 * adds failures to *lost. A GSO message the kernel refuses is unfolded
 * into one message per datagram. On EIO (no checksum offload on the
 * route, xfrm) or EINVAL without a sticky source, GSO is at fault and goes
 * off for the socket. EINVAL with a source may be a stale address, so the
 * first unfolded datagram decides: if it goes out with its source, GSO
 * was the problem. EMSGSIZE (newer kernels' word, where older ones said
 * EINVAL, for a segment larger than the path MTU) only unfolds. */
static int send_msgs(struct udp *u, unsigned fi, int fd, struct udp_msgs *s,
		     unsigned k, uint64_t *lost)
{
	struct udp_stats *st = &u->stats[fi];
	unsigned i = 0, probe = UINT_MAX;
	int sent = 0;

	while (i < k) {
		struct msghdr *mh = &s->m[i].msg_hdr;
		struct pkt *first = s->pk[s->first[i]];
		int r, err;

		/* A failure after the first message comes back as a short
		 * count; the next call then fails on that message. */
		r = sendmmsg(fd, &s->m[i], k - i, MSG_DONTWAIT);
		st->send_calls++;
		if (r > 0) {
			unsigned end = i + (unsigned)r;

			for (unsigned m = i; m < end; m++) {
				sent += s->nseg[m];
				if (s->nseg[m] > 1) {
					st->gso_msgs++;
					st->gso_segs += s->nseg[m];
				}
			}
			if (probe >= i && probe < end) {
				if (has_source(&s->pk[s->first[probe]]->ep) &&
				    u->gso[fi]) {
					gso_disable(u, fi, EINVAL);
					if (end < k)
						k = build_msgs(s, end, s->first[end],
							       false, 0);
				}
				probe = UINT_MAX;
			}
			i = end;
			continue;
		}
		err = r < 0 ? errno : EAGAIN;	/* 0 sent: treat as full */
		if (err == EINTR)
			continue;
		if (s->nseg[i] > 1 &&
		    (err == EIO || err == EINVAL || err == EMSGSIZE ||
		     (has_source(&first->ep) && source_refused(err)))) {
			st->gso_failed++;
			if (err == EIO || (err == EINVAL && !has_source(&first->ep))) {
				gso_disable(u, fi, err);
				k = build_msgs(s, i, s->first[i], false, 0);
				continue;
			}
			/* EMSGSIZE: segments too large for the path (the
			 * kernel fragments them when they go alone); a
			 * refused source: the per-datagram path handles it.
			 * EINVAL with a source is either: probe. */
			k = build_msgs(s, i, s->first[i], u->gso[fi],
				       s->first[i] + s->nseg[i]);
			if (err == EINVAL)
				probe = i;
			continue;
		}
		if (s->nseg[i] == 1 && mh->msg_controllen && source_refused(err)) {
			/* The sticky source is gone (address removed, route
			 * changed): once more, letting the kernel choose. */
			forget_source(&first->ep);
			endpoint_to_msg(mh, &s->name[i], &s->ctrl[i], &first->ep, 0);
			continue;
		}
		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
			/* Full: the rest would fail the same way. */
			while (i < k)
				*lost += s->nseg[i++];
			break;
		}
		*lost += s->nseg[i];	/* unreachable, too big ... */
		i++;
	}
	st->sent += (uint64_t)sent;
	return sent;
}

static int send_family(struct udp *u, uint8_t family, struct batch *b,
		       struct udp_msgs *s, uint64_t *lost)
{
	unsigned fi = udp_index(family), k;
	int fd = fi ? u->fd6 : u->fd4;

	s->npk = 0;
	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *p = b->p[i];

		if (p->ep.family != family)
			continue;
		if (fd < 0) {
			(*lost)++;
			continue;
		}
		s->iov[s->npk].iov_base = pkt_data(p);
		s->iov[s->npk].iov_len = p->len;
		s->pk[s->npk++] = p;
	}
	if (s->npk == 0)
		return 0;
	k = build_msgs(s, 0, 0, u->gso[fi], 0);
	return send_msgs(u, fi, fd, s, k, lost);
}

int udp_send_batch(struct udp *u, struct batch *b, uint64_t *dropped)
{
	struct udp_msgs s;
	uint64_t lost = 0;
	int sent;

	/* Grouped by family: one sendmmsg run per socket. */
	sent = send_family(u, IP_V4, b, &s, &lost);
	sent += send_family(u, IP_V6, b, &s, &lost);
	for (unsigned i = 0; i < b->n; i++) {
		uint8_t f = b->p[i]->ep.family;

		if (f != IP_V4 && f != IP_V6)
			lost++;	/* no endpoint */
	}
	if (dropped)
		*dropped += lost;
	return sent;
}
