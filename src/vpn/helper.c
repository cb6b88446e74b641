/* helper.c - the privileged helper of a mesh node (helper.h). */
#define _GNU_SOURCE
#include "vpn/helper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "os/linux/tun.h"
#include "vpn/pidfile.h"

enum { HELPER_STOP_GRACE_MS = 5000 };

static bool in_prefix(const uint8_t *a, const uint8_t *net, unsigned cidr)
{
	unsigned i;

	for (i = 0; i < cidr / 8; i++)
		if (a[i] != net[i])
			return false;
	if (cidr % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - cidr % 8));

		if ((a[i] & m) != (net[i] & m))
			return false;
	}
	return true;
}

/* Two prefixes of one family overlap when the shorter holds the other. */
static bool overlaps(const struct helper_addr *x, const struct helper_addr *y)
{
	unsigned c = x->cidr < y->cidr ? x->cidr : y->cidr;

	return x->family == y->family && in_prefix(x->addr, y->addr, c);
}

static bool private4(const struct helper_addr *a)
{
	static const struct { uint8_t net[4]; unsigned cidr; } ok[] = {
		{ { 10, 0, 0, 0 }, 8 }, { { 172, 16, 0, 0 }, 12 },
		{ { 192, 168, 0, 0 }, 16 }, { { 100, 64, 0, 0 }, 10 },
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (a->cidr >= ok[i].cidr && in_prefix(a->addr, ok[i].net, ok[i].cidr))
			return true;
	return false;
}

static bool fail(char reason[HELPER_REASON_MAX], const char *what)
{
	snprintf(reason, HELPER_REASON_MAX, "%s", what);
	return false;
}

bool helper_policy_check(const struct helper_policy *p, const struct helper_msg *m,
			 char reason[HELPER_REASON_MAX])
{
	const struct helper_addr *a = &m->u.addr, *cur;
	unsigned i;

	reason[0] = '\0';
	if (!helper_msg_valid(m, sizeof(*m)))
		return fail(reason, "malformed request");
	switch (m->type) {
	case HELPER_ADDR_SET:
		if (a->family == 4 && (a->cidr < 8 || a->cidr > 30 || !private4(a)))
			return fail(reason, "IPv4 address outside the private ranges or prefix not /8../30");
		if (a->family == 6 && (a->cidr != 96 || (a->addr[0] & 0xfe) != 0xfc))
			return fail(reason, "IPv6 address not a ULA /96");
		for (i = 0; i < p->n_others; i++)
			if (overlaps(a, &p->others[i]))
				return fail(reason, "address overlaps a subnet of another interface");
		return true;
	case HELPER_ROUTE_ADD:
	case HELPER_ROUTE_DEL:
		cur = a->family == 4 ? (p->has4 ? &p->addr4 : NULL) :
				       (p->has6 ? &p->addr6 : NULL);
		if (!cur || a->cidr < cur->cidr || !in_prefix(a->addr, cur->addr, cur->cidr))
			return fail(reason, "route outside the mesh subnet of our interface");
		return true;
	case HELPER_MTU_SET:
		return true;
	case HELPER_EXIT_USE:
	case HELPER_EXIT_STOP:
		if (!p->exit_allowed)
			return fail(reason, "full tunnel through an exit node was not asked "
				    "for on the command line (--exit-node)");
		return true;
	case HELPER_EXIT_SERVE:
	case HELPER_EXIT_SERVE_STOP:
		return true;
	default:
		return fail(reason, "not a request");
	}
}

struct helper_state {
	const char *pidfile;
	struct nl nl;
	struct helper_policy pol;
	pid_t engine;
	int sock, sigfd;
};

static int collect_other(const struct nl_addr *a, void *arg)
{
	struct helper_policy *p = arg;
	struct helper_addr *o;

	if (a->ifindex == p->ifindex || p->n_others >= 64 ||
	    (a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80))
		return 0;
	if (a->has_ifflags && !(a->ifflags & 1 /* IFF_UP */))
		return 0;
	o = &p->others[p->n_others++];
	o->family = a->family == AF_INET ? 4 : 6;
	o->cidr = a->prefixlen;
	memcpy(o->addr, a->addr, a->family == AF_INET ? 4 : 16);
	return 0;
}

static void refresh_others(struct helper_state *h)
{
	h->pol.n_others = 0;
	(void)nl_addr_list(&h->nl, AF_INET, collect_other, &h->pol);
	(void)nl_addr_list(&h->nl, AF_INET6, collect_other, &h->pol);
}

static int do_addr(struct helper_state *h, const struct helper_addr *a)
{
	struct helper_addr *cur = a->family == 4 ? &h->pol.addr4 : &h->pol.addr6;
	bool *has = a->family == 4 ? &h->pol.has4 : &h->pol.has6;
	int fam = a->family == 4 ? AF_INET : AF_INET6;
	int err;

	if (*has && !memcmp(cur, a, sizeof(*a)))
		return 0;
	/* The old one goes first: removing a primary IPv4 address takes the
	 * secondaries of its subnet with it, and the new one would be one. */
	if (*has)
		(void)nl_addr_del(&h->nl, h->pol.ifindex, fam, cur->addr, cur->cidr);
	err = nl_addr_add(&h->nl, h->pol.ifindex, fam, a->addr, a->cidr);
	if (err && err != -EEXIST) {
		if (*has)
			(void)nl_addr_add(&h->nl, h->pol.ifindex, fam, cur->addr, cur->cidr);
		return err;
	}
	*cur = *a;
	*has = true;
	return 0;
}

static int do_route(struct helper_state *h, const struct helper_addr *a, bool add)
{
	struct nl_route r;
	int err;

	nl_route_init(&r, a->family == 4 ? AF_INET : AF_INET6);
	memcpy(r.dst, a->addr, a->family == 4 ? 4 : 16);
	r.dst_len = a->cidr;
	r.oif = h->pol.ifindex;
	err = add ? nl_route_add(&h->nl, &r) : nl_route_del(&h->nl, &r);
	if (add && err == -EEXIST)
		err = 0;
	return err;
}

static void answer(struct helper_state *h, const struct helper_msg *req, int err,
		   const char *reason)
{
	struct helper_msg a;

	memset(&a, 0, sizeof(a));
	a.magic = HELPER_MAGIC;
	a.version = HELPER_VERSION;
	a.type = HELPER_ANSWER;
	a.seq = req->seq;
	a.u.answer.err = err;
	snprintf(a.u.answer.reason, sizeof(a.u.answer.reason), "%s", reason);
	(void)send(h->sock, &a, sizeof(a), MSG_NOSIGNAL);
}

/* One request. false: a protocol or policy violation, the helper ends. */
static bool serve(struct helper_state *h, const struct helper_msg *m, size_t len)
{
	char reason[HELPER_REASON_MAX];
	int err = 0;

	if (!helper_msg_valid(m, len) || m->type == HELPER_HELLO ||
	    m->type == HELPER_ANSWER) {
		log_err("helper: malformed request from the engine; stopping");
		return false;
	}
	if (m->type == HELPER_ADDR_SET)
		refresh_others(h);
	if (!helper_policy_check(&h->pol, m, reason)) {
		log_err("helper: request %u refused: %s; stopping", m->type, reason);
		answer(h, m, -EPERM, reason);
		return false;
	}
	switch (m->type) {
	case HELPER_ADDR_SET:
		err = do_addr(h, &m->u.addr);
		break;
	case HELPER_ROUTE_ADD:
	case HELPER_ROUTE_DEL:
		err = do_route(h, &m->u.addr, m->type == HELPER_ROUTE_ADD);
		break;
	case HELPER_MTU_SET:
		err = nl_link_set_mtu(&h->nl, h->pol.ifindex, (int)m->u.mtu);
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
	answer(h, m, err, err == -EOPNOTSUPP ? "exit routing is not available yet" :
	       err ? strerror(-err) : "");
	return true;
}

static int wait_engine(pid_t pid, int grace_ms)
{
	int status = 0, waited = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			return 1;
		if (waited == grace_ms)
			kill(pid, SIGKILL);
		if (waited > grace_ms + 2000)
			return 1;
		usleep(10000);
		waited += 10;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void __attribute__((noreturn)) helper_loop(struct helper_state *h)
{
	struct helper_msg m;
	bool violated = false;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = h->sock, .events = POLLIN },
			{ .fd = h->sigfd, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(h->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				kill(h->engine, SIGTERM);
		}
		if (!p[0].revents)
			continue;
		n = recv(h->sock, &m, sizeof(m), MSG_TRUNC);
		if (n <= 0)
			break;		/* the engine is gone */
		if (!serve(h, &m, (size_t)n)) {
			violated = true;
			kill(h->engine, SIGKILL);
			break;
		}
	}
	{
		int status = wait_engine(h->engine, HELPER_STOP_GRACE_MS);

		/* The interface went with the engine's descriptor, and with it
		 * its addresses and routes. */
		nl_close(&h->nl);
		if (h->pidfile)
			pidfile_remove(h->pidfile);
		_exit(violated ? 1 : status);
	}
}

int helper_spawn(const struct helper_conf *c, int *sock, int *tun_fd,
		 struct helper_msg *hello, char err[HELPER_REASON_MAX])
{
	struct helper_state h;
	struct tun t;
	sigset_t mask;
	int sv[2], ret;
	pid_t pid;

	memset(&h, 0, sizeof(h));
	*sock = *tun_fd = -1;
	ret = tun_open_offload(&t, c->ifname, TUN_OFFLOAD_ALL);
	if (ret < 0) {
		snprintf(err, HELPER_REASON_MAX, "cannot create TUN interface %s: %s",
			 c->ifname, strerror(-ret));
		return ret;
	}
	if ((ret = nl_open(&h.nl)) < 0) {
		tun_close(&t);
		snprintf(err, HELPER_REASON_MAX, "netlink: %s", strerror(-ret));
		return ret;
	}
	h.pol.ifindex = nl_link_index(&h.nl, c->ifname);
	if (h.pol.ifindex <= 0 ||
	    (c->mtu && nl_link_set_mtu(&h.nl, h.pol.ifindex, (int)c->mtu)) ||
	    nl_link_set_up(&h.nl, h.pol.ifindex, true)) {
		nl_close(&h.nl);
		tun_close(&t);
		snprintf(err, HELPER_REASON_MAX, "cannot configure %s", c->ifname);
		return -EIO;
	}
	snprintf(h.pol.ifname, sizeof(h.pol.ifname), "%s", c->ifname);
	h.pol.exit_allowed = c->exit_allowed;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		nl_close(&h.nl);
		tun_close(&t);
		snprintf(err, HELPER_REASON_MAX, "socketpair: %s", strerror(-ret));
		return ret;
	}
	/* Signals reach the helper through a signalfd; the engine unblocks
	 * what it needs itself. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		nl_close(&h.nl);
		tun_close(&t);
		snprintf(err, HELPER_REASON_MAX, "fork: %s", strerror(-ret));
		return ret;
	}
	if (pid == 0) {
		/* The engine: its TUN comes over the socket like everything
		 * else from the helper. */
		close(sv[0]);
		close(t.fd);
		nl_close(&h.nl);
		ret = helper_recv_hello(sv[1], hello, tun_fd);
		if (ret) {
			close(sv[1]);
			snprintf(err, HELPER_REASON_MAX, "no TUN from the helper");
			return ret;
		}
		*sock = sv[1];
		return 0;
	}
	close(sv[1]);
	h.sock = sv[0];
	h.engine = pid;
	h.pidfile = c->pidfile;
	h.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	memset(hello, 0, sizeof(*hello));
	hello->magic = HELPER_MAGIC;
	hello->version = HELPER_VERSION;
	hello->type = HELPER_HELLO;
	hello->u.hello.ifindex = h.pol.ifindex;
	snprintf(hello->u.hello.ifname, sizeof(hello->u.hello.ifname), "%s", c->ifname);
	if (helper_send_hello(h.sock, hello, t.fd)) {
		log_err("helper: cannot hand the TUN to the engine");
		kill(pid, SIGKILL);
	}
	close(t.fd);
	helper_loop(&h);
}
