/* netlink.c - rtnetlink requests (links, addresses, routes, rules) and the
 * change monitor, over libmnl. Every request is built in the struct nl's
 * buffer, sent, and answered into the same buffer; the answer is matched
 * by sequence number and port id, everything else on the socket is a
 * notification (counted for the monitor) or a stale answer (dropped). */
#include "os/linux/netlink.h"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <time.h>

/* Attribute tables keep types below this; every attribute read here is. */
enum { ATTR_SLOTS = 32 };

enum {
	NL_CHANGED_ALL = NL_CHANGED_LINK | NL_CHANGED_ADDR | NL_CHANGED_ROUTE |
			 NL_CHANGED_RULE,
	NL_MIN_MTU = 68,		/* the IPv4 minimum (RFC 791) */
	NL_MONITOR_RCVBUF = 1 << 20,	/* room for a burst of changes */
};

_Static_assert((int)RTA_TABLE < (int)ATTR_SLOTS &&
	       (int)FRA_DPORT_RANGE < (int)ATTR_SLOTS &&
	       (int)IFLA_MTU < (int)ATTR_SLOTS && (int)IFA_FLAGS < (int)ATTR_SLOTS,
	       "attribute table too small");

struct attrs {
	const struct nlattr *a[ATTR_SLOTS];
};

/* Called for each answer message of the request (not for ACK or DONE);
 * 0 to go on, anything else stops the calls and is returned. */
typedef int (*msg_fn)(const struct nlmsghdr *h, void *arg);

/* ------------------------------------------------------------- helpers */

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* No bit set past plen: the kernel refuses "10.1.2.3/24" as a route. */
static bool prefix_clean(const uint8_t *a, size_t len, unsigned plen)
{
	for (size_t i = plen / 8; i < len; i++) {
		unsigned keep = i == plen / 8 ? plen % 8 : 0;
		uint8_t mask = (uint8_t)(0xff >> keep);

		if (a[i] & mask)
			return false;
	}
	return true;
}

static int attr_keep(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type < ATTR_SLOTS)
		t->a[type] = a;
	return MNL_CB_OK;
}

/* Attributes after the hdrlen-byte family header of h. */
static int parse_attrs(const struct nlmsghdr *h, size_t hdrlen, struct attrs *t)
{
	memset(t, 0, sizeof(*t));
	if (mnl_nlmsg_get_payload_len(h) < hdrlen)
		return -EIO;
	return mnl_attr_parse(h, (unsigned)hdrlen, attr_keep, t) == MNL_CB_ERROR ?
		       -EIO : 0;
}

static bool attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(uint32_t))
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

static bool attr_bytes(const struct nlattr *a, size_t len, uint8_t *out)
{
	if (!a || mnl_attr_get_payload_len(a) != len)
		return false;
	memcpy(out, mnl_attr_get_payload(a), len);
	return true;
}

static int ready(const struct nl *nl)
{
	if (!nl || !nl->sock)
		return -EINVAL;
	return nl->busy ? -EBUSY : 0;
}

static struct nlmsghdr *msg_start(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);

	h->nlmsg_type = type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	return h;
}

/* A dump request of type for family. Every rtnetlink family header starts
 * with its u8 family, so one helper starts them all. */
_Static_assert(offsetof(struct ifinfomsg, ifi_family) == 0 &&
	       offsetof(struct ifaddrmsg, ifa_family) == 0 &&
	       offsetof(struct rtmsg, rtm_family) == 0 &&
	       offsetof(struct fib_rule_hdr, family) == 0,
	       "family leads every rtnetlink header");

static struct nlmsghdr *dump_start(struct nl *nl, uint16_t type,
				   size_t hdrlen, int family)
{
	struct nlmsghdr *h = msg_start(nl, type, NLM_F_DUMP);
	uint8_t *hdr = mnl_nlmsg_put_extra_header(h, hdrlen);

	hdr[0] = (uint8_t)family;
	return h;
}

/* What every listing checks before it asks: a callback, a family it
 * knows (or AF_UNSPEC), a socket that is free. */
static int list_ready(struct nl *nl, int family, bool have_fn)
{
	if (!have_fn || (family != AF_UNSPEC && !addr_len(family)))
		return -EINVAL;
	return ready(nl);
}

static unsigned change_of(const struct nlmsghdr *h)
{
	const struct rtmsg *rtm;

	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return NL_CHANGED_LINK;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return NL_CHANGED_ADDR;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		/* Cached clones (PMTU exceptions ...) are not the table. */
		if (mnl_nlmsg_get_payload_len(h) >= sizeof(*rtm)) {
			rtm = mnl_nlmsg_get_payload(h);
			if (rtm->rtm_flags & RTM_F_CLONED)
				return 0;
		}
		return NL_CHANGED_ROUTE;
	case RTM_NEWRULE:
	case RTM_DELRULE:
		return NL_CHANGED_RULE;
	default:
		return 0;
	}
}

/* A message that is not the answer to the running request. */
static void note(struct nl *nl, const struct nlmsghdr *h)
{
	if (nl->monitor)
		nl->pending |= change_of(h);
}

/* ------------------------------------------------------- send, receive */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_msg(struct nl *nl, const struct nlmsghdr *h)
{
	ssize_t n;

	do
		n = mnl_socket_sendto(nl->sock, h, h->nlmsg_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == h->nlmsg_len ? 0 : -EIO;
}

/* One datagram into nl->buf, waiting until deadline (monotonic ms). Its
 * length; 0 for a datagram to skip (not from the kernel); -ETIMEDOUT,
 * -ENOBUFS (notifications were lost), -EMSGSIZE (truncated) or -errno. */
static ssize_t recv_msg(struct nl *nl, int64_t deadline)
{
	struct pollfd p = { .fd = mnl_socket_get_fd(nl->sock), .events = POLLIN };

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		int64_t left;

		if (n > 0)
			return n;
		if (n == 0)
			return -EIO;
		switch (errno) {
		case EINTR:
			continue;
		case EINVAL:	/* libmnl: the sender is not the kernel */
			return 0;
		case ENOSPC:	/* libmnl: MSG_TRUNC */
			return -EMSGSIZE;
		case EAGAIN:
			break;
		default:
			return -errno;
		}
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
}

static int ext_ack_attr(const struct nlattr *a, void *data)
{
	struct nl *nl = data;
	size_t len;

	if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG ||
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	len = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
	if (len >= sizeof(nl->err_msg))
		len = sizeof(nl->err_msg) - 1;
	memcpy(nl->err_msg, mnl_attr_get_str(a), len);
	nl->err_msg[len] = '\0';
	return MNL_CB_OK;
}

/* The errno of an NLMSG_ERROR (0: the ACK), keeping the kernel's text. */
static int ack_error(struct nl *nl, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	size_t off = sizeof(*e), plen = mnl_nlmsg_get_payload_len(h);

	if (plen < sizeof(*e))
		return -EIO;
	if (e->error < 0 && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		/* Without NLM_F_CAPPED the request is echoed first. */
		if (!(h->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += NLMSG_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
		if (off < plen)
			(void)mnl_attr_parse(h, (unsigned)off, ext_ack_attr, nl);
	}
	return e->error > 0 ? -EIO : e->error;
}

/* The end of a dump may carry an error. */
static int done_error(const struct nlmsghdr *h)
{
	int err;

	if (mnl_nlmsg_get_payload_len(h) < sizeof(int))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(h), sizeof(err));
	return err < 0 ? err : 0;
}

/* Send req (built in nl->buf) and read until its ACK, or until DONE for a
 * dump, handing each answer message to fn (may be NULL). Every answer is
 * read even after fn stopped, so the next request starts clean. (Whether
 * it is a dump is not in the flags alone: NLM_F_EXCL is NLM_F_MATCH.) */
static int talk(struct nl *nl, struct nlmsghdr *req, bool dump, msg_fn fn,
		void *arg)
{
	bool done = false, intr = false;
	int ret, fn_err = 0;
	uint32_t seq;

	nl->err_msg[0] = '\0';
	seq = ++nl->seq;
	if (seq == 0)
		seq = nl->seq = 1;
	req->nlmsg_seq = seq;
	if (!dump)
		req->nlmsg_flags |= NLM_F_ACK;
	ret = send_msg(nl, req);
	if (ret)
		return ret;

	nl->busy = true;
	for (unsigned recvs = 0; !done && recvs < NL_MAX_RECVS; recvs++) {
		const struct nlmsghdr *h = (const void *)nl->buf;
		ssize_t n = recv_msg(nl, now_ms() + NL_TIMEOUT_MS);
		int len;

		if (n == -ENOBUFS && nl->monitor) {
			/* Lost notifications, not our answer (unicast). */
			nl->pending |= NL_CHANGED_ALL | NL_CHANGED_OVERRUN;
			continue;
		}
		if (n < 0) {
			ret = (int)n;
			break;
		}
		for (len = (int)n; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			if (done || h->nlmsg_seq != seq || h->nlmsg_pid != nl->portid) {
				note(nl, h);
				continue;
			}
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_ERROR) {
				ret = ack_error(nl, h);
				done = true;
			} else if (h->nlmsg_type == NLMSG_DONE) {
				ret = done_error(h);
				done = true;
			} else if (h->nlmsg_type < NLMSG_MIN_TYPE) {
				continue;	/* NOOP, OVERRUN */
			} else if (!fn) {
				/* Our own change, echoed to our groups. */
				note(nl, h);
			} else if (!fn_err) {
				fn_err = fn(h, arg);
			}
		}
	}
	nl->busy = false;
	if (!done && !ret)
		ret = -EOVERFLOW;	/* more than NL_MAX_RECVS batches */
	if (fn_err)
		return fn_err;
	if (ret)
		return ret;
	return intr ? -EAGAIN : 0;
}

static int open_socket(struct nl *nl, bool monitor)
{
	int one = 1, err;

	nl->sock = NULL;
	nl->seq = 0;
	nl->portid = 0;
	nl->pending = 0;
	nl->monitor = monitor;
	nl->busy = false;
	nl->err_msg[0] = '\0';
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		nl_close(nl);
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Error text from the kernel, and ACKs without the echoed request.
	 * Old kernels lack them; the errno is enough then. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

int nl_open(struct nl *nl)
{
	if (!nl)
		return -EINVAL;
	return open_socket(nl, false);
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	nl->busy = false;
}

int nl_fd(const struct nl *nl)
{
	return nl && nl->sock ? mnl_socket_get_fd(nl->sock) : -1;
}

/* ------------------------------------------------------------------ links */

static int link_from_msg(const struct nlmsghdr *h, struct nl_link *out)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	struct attrs t;
	uint32_t mtu = 0;
	int err;

	if (h->nlmsg_type != RTM_NEWLINK)
		return 1;
	err = parse_attrs(h, sizeof(*ifi), &t);
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	(void)attr_u32(t.a[IFLA_MTU], &mtu);
	out->mtu = (int)mtu;
	if (t.a[IFLA_IFNAME] &&
	    mnl_attr_validate(t.a[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0) {
		size_t len = strnlen(mnl_attr_get_str(t.a[IFLA_IFNAME]),
				     sizeof(out->name) - 1);

		memcpy(out->name, mnl_attr_get_str(t.a[IFLA_IFNAME]), len);
	}
	return 0;
}

struct link_get {
	struct nl_link *out;
	bool found;
};

static int link_get_msg(const struct nlmsghdr *h, void *arg)
{
	struct link_get *g = arg;
	int err = link_from_msg(h, g->out);

	if (err == 0)
		g->found = true;
	return err < 0 ? err : 0;
}

/* RTM_GETLINK by index or (index 0) by name. */
static int link_get(struct nl *nl, int ifindex, const char *name,
		    struct nl_link *out)
{
	struct link_get g = { .out = out };
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;
	int err = ready(nl);

	if (err)
		return err;
	h = msg_start(nl, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (name)
		mnl_attr_put_strz(h, IFLA_IFNAME, name);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = talk(nl, h, false, link_get_msg, &g);
	if (!err && !g.found)
		err = -ENODEV;
	return err;
}

static bool ifname_ok(const char *name)
{
	size_t len = name ? strnlen(name, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ;
}

int nl_link_index(struct nl *nl, const char *name)
{
	struct nl_link l;
	int err;

	if (!ifname_ok(name))
		return -EINVAL;
	err = link_get(nl, 0, name, &l);
	if (err)
		return err;
	return l.ifindex > 0 ? l.ifindex : -ENODEV;
}

int nl_link_get(struct nl *nl, int ifindex, struct nl_link *out)
{
	if (ifindex <= 0 || !out)
		return -EINVAL;
	return link_get(nl, ifindex, NULL, out);
}

int nl_link_get_mtu(struct nl *nl, int ifindex)
{
	struct nl_link l;
	int err = nl_link_get(nl, ifindex, &l);

	if (err)
		return err;
	return l.mtu > 0 ? l.mtu : -ENODATA;
}

/* RTM_NEWLINK on an existing interface: change what is given. */
static int link_set(struct nl *nl, int ifindex, unsigned change,
		    unsigned flags, int mtu)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;
	int err = ready(nl);

	if (err)
		return err;
	h = msg_start(nl, RTM_NEWLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = change;
	ifi->ifi_flags = flags;
	if (mtu > 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
	return talk(nl, h, false, NULL, NULL);
}

int nl_link_set_up(struct nl *nl, int ifindex, bool up)
{
	if (ifindex <= 0)
		return -EINVAL;
	return link_set(nl, ifindex, IFF_UP, up ? IFF_UP : 0, 0);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, int mtu)
{
	if (ifindex <= 0 || mtu < NL_MIN_MTU)
		return -EINVAL;
	return link_set(nl, ifindex, 0, 0, mtu);
}

/* -------------------------------------------------------------- addresses */

static int addr_change(struct nl *nl, uint16_t cmd, int ifindex, int family,
		       const void *addr, unsigned prefixlen)
{
	size_t alen = addr_len(family);
	const uint8_t *a = addr;
	struct nlmsghdr *h;
	struct ifaddrmsg *ifa;
	int err;

	if (!alen || !addr || ifindex <= 0 || prefixlen > alen * 8)
		return -EINVAL;
	err = ready(nl);
	if (err)
		return err;
	h = msg_start(nl, cmd, cmd == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_index = (uint32_t)ifindex;
	/* IPv6 derives the scope from the address; IPv4 takes it from us,
	 * and `ip` gives loopback addresses host scope. */
	ifa->ifa_scope = family == AF_INET && a[0] == 127 ? RT_SCOPE_HOST :
							    RT_SCOPE_UNIVERSE;
	if (family == AF_INET6 && cmd == RTM_NEWADDR) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
	}
	/* Local and peer the same: not a point-to-point address. Deletion
	 * then matches the prefix length too. */
	mnl_attr_put(h, IFA_LOCAL, alen, addr);
	mnl_attr_put(h, IFA_ADDRESS, alen, addr);
	return talk(nl, h, false, NULL, NULL);
}

int nl_addr_add(struct nl *nl, int ifindex, int family, const void *addr,
		unsigned prefixlen)
{
	return addr_change(nl, RTM_NEWADDR, ifindex, family, addr, prefixlen);
}

int nl_addr_del(struct nl *nl, int ifindex, int family, const void *addr,
		unsigned prefixlen)
{
	return addr_change(nl, RTM_DELADDR, ifindex, family, addr, prefixlen);
}

/* Interface flags by index, from a link dump. */
struct link_table {
	unsigned n;
	unsigned last;		/* where the previous lookup hit */
	struct {
		int ifindex;
		unsigned flags;
	} e[NL_ADDR_LINKS_MAX];
};

static int link_table_msg(const struct nlmsghdr *h, void *arg)
{
	struct link_table *lt = arg;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);

	if (h->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(h) < sizeof(*ifi) || lt->n >= NL_ADDR_LINKS_MAX)
		return 0;
	lt->e[lt->n].ifindex = ifi->ifi_index;
	lt->e[lt->n].flags = ifi->ifi_flags;
	lt->n++;
	return 0;
}

static bool link_table_find(struct link_table *lt, int ifindex, unsigned *flags)
{
	/* Addresses come grouped by interface: try the last hit first. */
	for (unsigned k = 0; k < lt->n; k++) {
		unsigned i = (lt->last + k) % lt->n;

		if (lt->e[i].ifindex == ifindex) {
			lt->last = i;
			*flags = lt->e[i].flags;
			return true;
		}
	}
	return false;
}

struct addr_walk {
	struct link_table *links;
	nl_addr_fn fn;
	void *arg;
};

static int addr_msg(const struct nlmsghdr *h, void *arg)
{
	struct addr_walk *w = arg;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	struct nl_addr a;
	struct attrs t;
	size_t alen;
	int err;

	if (h->nlmsg_type != RTM_NEWADDR)
		return 0;
	err = parse_attrs(h, sizeof(*ifa), &t);
	if (err)
		return err;
	alen = addr_len(ifa->ifa_family);
	if (!alen)
		return 0;
	memset(&a, 0, sizeof(a));
	a.family = ifa->ifa_family;
	a.prefixlen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.ifindex = (int)ifa->ifa_index;
	a.flags = ifa->ifa_flags;
	(void)attr_u32(t.a[IFA_FLAGS], &a.flags);	/* the full 32 bits */
	if (!attr_bytes(t.a[IFA_LOCAL], alen, a.addr) &&
	    !attr_bytes(t.a[IFA_ADDRESS], alen, a.addr))
		return 0;
	a.has_ifflags = link_table_find(w->links, a.ifindex, &a.ifflags);
	return w->fn(&a, w->arg);
}

int nl_addr_list(struct nl *nl, int family, nl_addr_fn fn, void *arg)
{
	struct link_table links;
	struct addr_walk w = { .links = &links, .fn = fn, .arg = arg };
	struct nlmsghdr *h;
	int err = list_ready(nl, family, fn != NULL);

	if (err)
		return err;
	links.n = links.last = 0;
	h = dump_start(nl, RTM_GETLINK, sizeof(struct ifinfomsg), AF_UNSPEC);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = talk(nl, h, true, link_table_msg, &links);
	if (err && err != -EAGAIN)
		return err;	/* a link dump that raced only costs flags */

	h = dump_start(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), family);
	return talk(nl, h, true, addr_msg, &w);
}

/* ----------------------------------------------------------------- routes */

void nl_route_init(struct nl_route *r, int family)
{
	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)family;
	r->type = RTN_UNICAST;
	r->protocol = RTPROT_BOOT;
	r->scope = NL_SCOPE_AUTO;
	r->table = RT_TABLE_MAIN;
}

static bool route_type_ok(uint8_t type)
{
	switch (type) {
	case RTN_UNICAST:
	case RTN_LOCAL:
	case RTN_BLACKHOLE:
	case RTN_UNREACHABLE:
	case RTN_PROHIBIT:
	case RTN_THROW:
		return true;
	default:
		return false;
	}
}

static int route_change(struct nl *nl, uint16_t cmd, uint16_t flags,
			const struct nl_route *r)
{
	bool del = cmd == RTM_DELROUTE;
	size_t alen = r ? addr_len(r->family) : 0;
	uint32_t table;
	uint8_t type;
	struct nlmsghdr *h;
	struct rtmsg *rtm;
	int err;

	if (!alen || r->dst_len > alen * 8 || !prefix_clean(r->dst, alen, r->dst_len) ||
	    r->oif < 0)
		return -EINVAL;
	type = r->type;
	if (!del && type == RTN_UNSPEC)
		type = RTN_UNICAST;
	if (type != RTN_UNSPEC && !route_type_ok(type))
		return -EINVAL;
	/* Blackhole, unreachable, prohibit, throw: no next hop. */
	if (!del && type != RTN_UNICAST && type != RTN_LOCAL &&
	    (r->has_gateway || r->oif))
		return -EINVAL;
	err = ready(nl);
	if (err)
		return err;
	table = r->table ? r->table : RT_TABLE_MAIN;

	h = msg_start(nl, cmd, flags);
	rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_type = type;
	if (r->scope != NL_SCOPE_AUTO)
		rtm->rtm_scope = r->scope;
	else if (del)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;	/* any */
	else if (type == RTN_LOCAL)
		rtm->rtm_scope = RT_SCOPE_HOST;
	else if (type == RTN_UNICAST && !r->has_gateway)
		rtm->rtm_scope = RT_SCOPE_LINK;
	else
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(h, RTA_TABLE, table);
	if (r->dst_len)
		mnl_attr_put(h, RTA_DST, alen, r->dst);
	if (r->has_gateway)
		mnl_attr_put(h, RTA_GATEWAY, alen, r->gateway);
	if (r->oif)
		mnl_attr_put_u32(h, RTA_OIF, (uint32_t)r->oif);
	if (r->metric)
		mnl_attr_put_u32(h, RTA_PRIORITY, r->metric);
	if (r->has_src)
		mnl_attr_put(h, RTA_PREFSRC, alen, r->src);
	return talk(nl, h, false, NULL, NULL);
}

int nl_route_add(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int nl_route_replace(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r);
}

int nl_route_del(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_DELROUTE, 0, r);
}

/* The first next hop of RTA_MULTIPATH: its interface and gateway. */
static void first_hop(const struct nlattr *mp, size_t alen, struct nl_route *r)
{
	const struct rtnexthop *nh = mnl_attr_get_payload(mp);
	size_t len = mnl_attr_get_payload_len(mp);
	const char *end;

	if (len < sizeof(*nh) || nh->rtnh_len < RTNH_LENGTH(0) || nh->rtnh_len > len)
		return;
	r->oif = nh->rtnh_ifindex;
	end = (const char *)nh + nh->rtnh_len;
	for (const struct nlattr *a = (const void *)((const char *)nh + RTNH_LENGTH(0));
	     mnl_attr_ok(a, (int)(end - (const char *)a)); a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == RTA_GATEWAY &&
		    attr_bytes(a, alen, r->gateway)) {
			r->has_gateway = true;
			break;
		}
	}
}

/* 0 and *r filled; 1 for a message to skip (other family; a cached clone
 * unless clones are wanted: the answer to RTM_GETROUTE is one). */
static int route_from_msg(const struct nlmsghdr *h, bool clones,
			  struct nl_route *r)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
	struct attrs t;
	uint32_t u;
	size_t alen;
	int err;

	if (h->nlmsg_type != RTM_NEWROUTE)
		return 1;
	err = parse_attrs(h, sizeof(*rtm), &t);
	if (err)
		return err;
	alen = addr_len(rtm->rtm_family);
	if (!alen || rtm->rtm_dst_len > alen * 8 ||
	    (!clones && (rtm->rtm_flags & RTM_F_CLONED)))
		return 1;
	memset(r, 0, sizeof(*r));
	r->family = rtm->rtm_family;
	r->dst_len = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	r->protocol = rtm->rtm_protocol;
	r->scope = rtm->rtm_scope;
	r->table = attr_u32(t.a[RTA_TABLE], &u) ? u : rtm->rtm_table;
	(void)attr_bytes(t.a[RTA_DST], alen, r->dst);
	r->has_gateway = attr_bytes(t.a[RTA_GATEWAY], alen, r->gateway);
	r->has_src = attr_bytes(t.a[RTA_PREFSRC], alen, r->src);
	if (attr_u32(t.a[RTA_OIF], &u))
		r->oif = (int)u;
	(void)attr_u32(t.a[RTA_PRIORITY], &r->metric);
	if (t.a[RTA_MULTIPATH]) {
		r->multipath = true;
		if (!r->has_gateway && !r->oif)
			first_hop(t.a[RTA_MULTIPATH], alen, r);
	}
	return 0;
}

struct route_get {
	struct nl_route *out;
	bool found;
};

static int route_get_msg(const struct nlmsghdr *h, void *arg)
{
	struct route_get *g = arg;
	int err = route_from_msg(h, true, g->out);

	if (err == 0)
		g->found = true;
	return err < 0 ? err : 0;
}

int nl_route_get(struct nl *nl, int family, const void *dst, uint32_t mark,
		 struct nl_route *out)
{
	struct route_get g = { .out = out };
	size_t alen = addr_len(family);
	struct nlmsghdr *h;
	struct rtmsg *rtm;
	int err;

	if (!alen || !dst || !out)
		return -EINVAL;
	err = ready(nl);
	if (err)
		return err;
	h = msg_start(nl, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(alen * 8);
	/* The table the answer came from, not the cache's "main". */
	rtm->rtm_flags = RTM_F_LOOKUP_TABLE;
	mnl_attr_put(h, RTA_DST, alen, dst);
	if (mark)
		mnl_attr_put_u32(h, RTA_MARK, mark);
	err = talk(nl, h, false, route_get_msg, &g);
	if (!err && !g.found)
		err = -ENODATA;
	return err;
}

struct route_walk {
	int family;
	uint32_t table;
	nl_route_fn fn;
	void *arg;
};

static int route_msg(const struct nlmsghdr *h, void *arg)
{
	struct route_walk *w = arg;
	struct nl_route r;
	int err = route_from_msg(h, false, &r);

	if (err)
		return err < 0 ? err : 0;
	if ((w->family != AF_UNSPEC && r.family != w->family) ||
	    (w->table && r.table != w->table))
		return 0;
	return w->fn(&r, w->arg);
}

int nl_route_list(struct nl *nl, int family, uint32_t table, nl_route_fn fn,
		  void *arg)
{
	struct route_walk w = { .family = family, .table = table, .fn = fn, .arg = arg };
	int err = list_ready(nl, family, fn != NULL);

	if (err)
		return err;
	/* Older kernels ignore a table filter in the request: filter here. */
	return talk(nl, dump_start(nl, RTM_GETROUTE, sizeof(struct rtmsg), family),
		    true, route_msg, &w);
}

/* ------------------------------------------------------------------ rules */

void nl_rule_init(struct nl_rule *r, int family)
{
	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)family;
	r->action = FR_ACT_TO_TBL;
	r->suppress_prefixlen = -1;
}

static bool rule_action_ok(uint8_t action)
{
	switch (action) {
	case FR_ACT_TO_TBL:
	case FR_ACT_NOP:
	case FR_ACT_BLACKHOLE:
	case FR_ACT_UNREACHABLE:
	case FR_ACT_PROHIBIT:
		return true;
	default:
		return false;	/* FR_ACT_GOTO needs a target we cannot say */
	}
}

static int rule_change(struct nl *nl, uint16_t cmd, uint16_t flags,
		       const struct nl_rule *r)
{
	bool del = cmd == RTM_DELRULE;
	size_t alen = r ? addr_len(r->family) : 0;
	uint8_t action;
	struct nlmsghdr *h;
	struct fib_rule_hdr *frh;
	int err;

	if (!alen || r->suppress_prefixlen < -1 ||
	    r->suppress_prefixlen > (int)(alen * 8))
		return -EINVAL;
	action = r->action ? r->action : FR_ACT_TO_TBL;
	if (!rule_action_ok(action) ||
	    (!del && action == FR_ACT_TO_TBL && !r->table))
		return -EINVAL;
	err = ready(nl);
	if (err)
		return err;

	h = msg_start(nl, cmd, flags);
	frh = mnl_nlmsg_put_extra_header(h, sizeof(*frh));
	frh->family = r->family;
	frh->action = action;
	frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	frh->flags = r->invert ? FIB_RULE_INVERT : 0;
	if (r->table)
		mnl_attr_put_u32(h, FRA_TABLE, r->table);
	if (r->has_priority)
		mnl_attr_put_u32(h, FRA_PRIORITY, r->priority);
	if (r->fwmark || r->fwmask)
		mnl_attr_put_u32(h, FRA_FWMARK, r->fwmark);
	if (r->fwmask)
		mnl_attr_put_u32(h, FRA_FWMASK, r->fwmask);
	if (r->suppress_prefixlen >= 0)
		mnl_attr_put_u32(h, FRA_SUPPRESS_PREFIXLEN,
				 (uint32_t)r->suppress_prefixlen);
	return talk(nl, h, false, NULL, NULL);
}

int nl_rule_add(struct nl *nl, const struct nl_rule *r)
{
	return rule_change(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int nl_rule_del(struct nl *nl, const struct nl_rule *r)
{
	return rule_change(nl, RTM_DELRULE, 0, r);
}

struct rule_walk {
	int family;
	nl_rule_fn fn;
	void *arg;
};

static int rule_msg(const struct nlmsghdr *h, void *arg)
{
	/* Selectors the struct cannot hold: the kernel reports each only
	 * when it is set (suppress_ifgroup: when not -1). */
	static const uint16_t other[] = {
		FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_OIFNAME, FRA_GOTO, FRA_FLOW,
		FRA_TUN_ID, FRA_L3MDEV, FRA_UID_RANGE, FRA_IP_PROTO,
		FRA_SPORT_RANGE, FRA_DPORT_RANGE,
	};
	struct rule_walk *w = arg;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(h);
	struct nl_rule r;
	struct attrs t;
	uint32_t u;
	int err;

	if (h->nlmsg_type != RTM_NEWRULE)
		return 0;
	err = parse_attrs(h, sizeof(*frh), &t);
	if (err)
		return err;
	if (!addr_len(frh->family) ||
	    (w->family != AF_UNSPEC && frh->family != w->family))
		return 0;
	nl_rule_init(&r, frh->family);
	r.action = frh->action;
	r.invert = frh->flags & FIB_RULE_INVERT;
	r.has_priority = true;		/* absent: 0, the local rule */
	(void)attr_u32(t.a[FRA_PRIORITY], &r.priority);
	r.table = attr_u32(t.a[FRA_TABLE], &u) ? u : frh->table;
	(void)attr_u32(t.a[FRA_FWMARK], &r.fwmark);
	(void)attr_u32(t.a[FRA_FWMASK], &r.fwmask);
	if (attr_u32(t.a[FRA_SUPPRESS_PREFIXLEN], &u))
		r.suppress_prefixlen = (int)u;
	r.other_selectors = frh->src_len || frh->dst_len || frh->tos;
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (t.a[other[i]])
			r.other_selectors = true;
	if (attr_u32(t.a[FRA_SUPPRESS_IFGROUP], &u) && u != UINT32_MAX)
		r.other_selectors = true;
	return w->fn(&r, w->arg);
}

int nl_rule_list(struct nl *nl, int family, nl_rule_fn fn, void *arg)
{
	struct rule_walk w = { .family = family, .fn = fn, .arg = arg };
	int err = list_ready(nl, family, fn != NULL);

	if (err)
		return err;
	return talk(nl, dump_start(nl, RTM_GETRULE, sizeof(struct fib_rule_hdr),
				   family),
		    true, rule_msg, &w);
}

/* ---------------------------------------------------------------- monitor */

int nl_monitor_open(struct nl *nl)
{
	static const unsigned groups[] = {
		RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
		RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE,
		RTNLGRP_IPV6_RULE,
	};
	int fd, size = NL_MONITOR_RCVBUF, err;

	if (!nl)
		return -EINVAL;
	err = open_socket(nl, true);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		unsigned g = groups[i];

		if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &g,
					  sizeof(g)) < 0) {
			err = -errno;
			nl_close(nl);
			return err;
		}
	}
	/* A burst (a link going down takes its routes along) must not
	 * overrun the default buffer; FORCE needs CAP_NET_ADMIN. */
	fd = mnl_socket_get_fd(nl->sock);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

unsigned nl_monitor_read(struct nl *nl)
{
	unsigned changed;

	if (!nl || !nl->sock || !nl->monitor)
		return 0;
	if (nl->busy)
		return 0;	/* from a callback: keep it for later */
	for (unsigned i = 0; i < NL_MONITOR_RECVS; i++) {
		const struct nlmsghdr *h = (const void *)nl->buf;
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		int len;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR || errno == EINVAL)
				continue;
			/* ENOBUFS: lost some. Anything else is as bad. */
			nl->pending |= NL_CHANGED_ALL | NL_CHANGED_OVERRUN;
			if (errno != ENOBUFS && errno != ENOSPC)
				break;
			continue;
		}
		for (len = (int)n; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
			nl->pending |= change_of(h);
	}
	changed = nl->pending;
	nl->pending = 0;
	return changed;
}
