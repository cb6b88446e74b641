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
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "os/linux/tun.h"
#include "core/addrpool.h"
#include "os/linux/firewall.h"
#include "os/linux/fw_rules.h"
#include "os/linux/sysctl.h"
#include "vpn/hostdns.h"
#include "vpn/journal.h"
#include "vpn/pidfile.h"
#include "vpn/policy.h"

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
	char serve_dir[PATH_MAX], use_dir[PATH_MAX];
	struct journal serve, use;	/* open while in force */
	bool serving, using;
	struct policy route;		/* fwmark policy routing of EXIT_USE */
	bool killswitch;		/* loaded by the EXIT_USE in force */
	struct helper_msg use_req;	/* that EXIT_USE */
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

/* A sysctl set to value, its old value journalled first. */
static int journal_sysctl(struct journal *j, const char *name, const char *value)
{
	struct journal_entry e = { .kind = JOURNAL_SYSCTL };
	int ret = sysctl_read(name, e.u.sysctl.value, sizeof(e.u.sysctl.value));

	if (ret < 0 || !strcmp(e.u.sysctl.value, value))
		return ret < 0 ? ret : 0;
	snprintf(e.u.sysctl.name, sizeof(e.u.sysctl.name), "%s", name);
	if ((ret = journal_record(j, &e)) < 0)
		return ret;
	return sysctl_write(name, value);
}

static void prefix_of(struct fw_prefix *p, const struct helper_addr *a)
{
	unsigned i, len = a->family == 4 ? 4 : 16;

	p->family = a->family == 4 ? AF_INET : AF_INET6;
	p->len = a->cidr;
	memcpy(p->addr, a->addr, len);
	for (i = 0; i < len; i++) {
		unsigned bits = a->cidr > i * 8 ? a->cidr - i * 8 : 0;

		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static void undo(struct helper_state *h, bool serve)
{
	struct journal *j = serve ? &h->serve : &h->use;
	bool *on = serve ? &h->serving : &h->using;
	int ret;

	if (!*on)
		return;
	journal_close(j);
	ret = journal_undo(serve ? h->serve_dir : h->use_dir, h->pol.ifname);
	if (ret < 0)
		log_err("helper: could not put everything back (%s); run weft down",
			strerror(-ret));
	*on = false;
}

/* This device is an exit: forward and masquerade the mesh's traffic out
 * of the host, in weft's nftables table for the interface. */
static int exit_serve(struct helper_state *h)
{
	struct fw_server fw = { 0 };
	struct journal_entry e = { .kind = JOURNAL_NFT };
	struct fw_error ferr;
	char *script;
	int ret;

	if (h->serving)
		return 0;
	if (!h->pol.has4 && !h->pol.has6)
		return -EADDRNOTAVAIL;
	if ((ret = journal_open(&h->serve, h->serve_dir, h->pol.ifname)) < 0)
		return ret;
	h->serving = true;
	snprintf(fw.ifname, sizeof(fw.ifname), "%s", h->pol.ifname);
	if (h->pol.has4) {
		prefix_of(&fw.pool4, &h->pol.addr4);
		fw.tun4.family = AF_INET;
		memcpy(fw.tun4.addr, h->pol.addr4.addr, 4);
	}
	if (h->pol.has6) {
		prefix_of(&fw.pool6, &h->pol.addr6);
		fw.tun6.family = AF_INET6;
		memcpy(fw.tun6.addr, h->pol.addr6.addr, 16);
	}
	script = malloc(FW_SCRIPT_MAX);
	if (!script)
		return -ENOMEM;
	ret = fw_server_script(&fw, script, FW_SCRIPT_MAX, &ferr);
	snprintf(e.u.ifname, sizeof(e.u.ifname), "%s", h->pol.ifname);
	if (ret >= 0)
		ret = journal_record(&h->serve, &e);
	if (ret >= 0)
		ret = fw_apply(script);
	free(script);
	if (ret >= 0 && h->pol.has4)
		ret = journal_sysctl(&h->serve, "net/ipv4/ip_forward", "1");
	if (ret >= 0 && h->pol.has6)
		ret = journal_sysctl(&h->serve, "net/ipv6/conf/all/forwarding", "1");
	if (ret < 0)
		undo(h, true);
	return ret < 0 ? ret : 0;
}

/* Everything through the exit peer: fwmark policy routing for both
 * families (the engine's sockets carry the mark) and DNS to the exit's
 * resolvers, as `weft client` does. */
/* The kill switch of weft client for a mesh node: nothing leaves but the
 * tunnel, the marked UDP of the engine to its peers' endpoints, loopback,
 * and with allow_lan the local subnets. Loaded (record) or reloaded in
 * one nftables transaction, so there is no moment without it. */
static int load_killswitch(struct helper_state *h, const struct helper_msg *m,
			   bool record)
{
	struct fw_killswitch ks = { 0 };
	struct journal_entry e = { .kind = JOURNAL_NFT };
	struct ip_prefix lan[FW_MAX_LAN];
	struct fw_error ferr;
	unsigned i;
	char *script;
	int ret, n;

	snprintf(ks.ifname, sizeof(ks.ifname), "%s", h->pol.ifname);
	for (i = 0; i < m->u.exit_use.n_endpoints && i < FW_MAX_ENDPOINTS; i++) {
		const struct helper_addr *a = &m->u.exit_use.endpoints[i];

		ks.endpoints[i].family = a->family == 4 ? AF_INET : AF_INET6;
		memcpy(ks.endpoints[i].addr, a->addr, 16);
		ks.endpoints[i].port = m->u.exit_use.ports[i];
	}
	ks.n_endpoints = i;
	if (m->u.exit_use.n_endpoints > FW_MAX_ENDPOINTS)
		log_warn("helper: the kill switch lets through only the first %d peers' endpoints",
			 FW_MAX_ENDPOINTS);
	ks.fwmark = h->route.fwmark;
	if (m->u.exit_use.allow_lan) {
		ks.allow_lan = true;
		n = policy_local_prefixes(&h->nl, h->pol.ifindex, lan, FW_MAX_LAN);
		for (int k = 0; k < n; k++) {
			ks.lan[ks.n_lan].family = lan[k].family == 4 ? AF_INET : AF_INET6;
			memcpy(ks.lan[ks.n_lan].addr, lan[k].addr, 16);
			ks.lan[ks.n_lan++].len = lan[k].cidr;
		}
	}
	script = malloc(FW_SCRIPT_MAX);
	if (!script)
		return -ENOMEM;
	ret = fw_killswitch_script(&ks, script, FW_SCRIPT_MAX, &ferr);
	if (ret < 0)
		log_err("helper: cannot build the kill switch: %s", ferr.msg);
	snprintf(e.u.ifname, sizeof(e.u.ifname), "%s", h->pol.ifname);
	if (ret >= 0 && record)
		ret = journal_record(&h->use, &e);
	if (ret >= 0)
		ret = fw_apply(script);
	free(script);
	return ret < 0 ? ret : 0;
}

static int exit_use(struct helper_state *h, const struct helper_msg *m)
{
	struct hostdns_server dns[HELPER_MAX_DNS];
	unsigned i, n = m->u.exit_use.n_dns;
	int ret;

	/* The same exit, other endpoints: only the kill switch changes. */
	if (h->using && m->u.exit_use.killswitch == h->killswitch &&
	    m->u.exit_use.allow_lan == h->use_req.u.exit_use.allow_lan &&
	    n == h->use_req.u.exit_use.n_dns &&
	    !memcmp(m->u.exit_use.dns, h->use_req.u.exit_use.dns, sizeof(m->u.exit_use.dns))) {
		ret = h->killswitch ? load_killswitch(h, m, false) : 0;
		if (!ret)
			h->use_req = *m;
		return ret;
	}
	undo(h, false);
	if ((ret = journal_open(&h->use, h->use_dir, h->pol.ifname)) < 0)
		return ret;
	h->using = true;
	h->use_req = *m;
	h->killswitch = m->u.exit_use.killswitch;
	ret = h->killswitch ? load_killswitch(h, m, true) : 0;
	if (ret >= 0)
		ret = policy_apply(&h->nl, &h->use, &h->route);
	for (i = 0; ret >= 0 && i < n; i++) {
		dns[i].family = m->u.exit_use.dns[i].family == 4 ? AF_INET : AF_INET6;
		memcpy(dns[i].addr, m->u.exit_use.dns[i].addr, 16);
	}
	if (ret >= 0 && n)
		ret = hostdns_apply(&h->use, h->pol.ifname, dns, n, HOSTDNS_AUTO, NULL,
				    NULL);
	if (ret < 0)
		undo(h, false);
	return ret < 0 ? ret : 0;
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
	case HELPER_EXIT_USE:
		err = exit_use(h, m);
		break;
	case HELPER_EXIT_STOP:
		undo(h, false);
		h->killswitch = false;
		break;
	case HELPER_EXIT_SERVE:
		err = exit_serve(h);
		break;
	case HELPER_EXIT_SERVE_STOP:
		undo(h, true);
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
	if (err)
		log_err("helper: request %u failed: %s", m->type,
			err == -EOPNOTSUPP ? "not supported" : strerror(-err));
	answer(h, m, err, err ? strerror(-err) : "");
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
		 * its addresses and routes; the rest is in the journals. A kill
		 * switch fails closed: if the engine died of a signal it stays,
		 * with the routing into the dead tunnel, until weft down. */
		if (h->using && h->killswitch && status >= 128 && !violated) {
			journal_close(&h->use);
			h->using = false;
			log_err("helper: the engine died (status %d); the kill switch stays "
				"until `weft down %s`", status, h->pol.ifname);
		}
		undo(h, false);
		undo(h, true);
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
	/* What a crashed run left is put back first; then the fwmark the
	 * engine's sockets will carry, chosen like wg-quick does. */
	if (snprintf(h.serve_dir, sizeof(h.serve_dir), "%s/serve", c->state_dir) >=
	    (int)sizeof(h.serve_dir) ||
	    snprintf(h.use_dir, sizeof(h.use_dir), "%s/use", c->state_dir) >=
	    (int)sizeof(h.use_dir)) {
		nl_close(&h.nl);
		tun_close(&t);
		snprintf(err, HELPER_REASON_MAX, "state directory path too long");
		return -ENAMETOOLONG;
	}
	(void)mkdir(h.serve_dir, 0700);
	(void)mkdir(h.use_dir, 0700);
	if (journal_undo(h.serve_dir, c->ifname) < 0 ||
	    journal_undo(h.use_dir, c->ifname) < 0)
		log_warn("helper: what an earlier run of %s left could not all be put back",
			 c->ifname);
	h.route.ifindex = h.pol.ifindex;
	h.route.v4 = h.route.v6 = true;
	if (policy_choose(&h.nl, &h.route) < 0)
		h.route.fwmark = 0;
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
	hello->u.hello.fwmark = h.route.fwmark;
	snprintf(hello->u.hello.ifname, sizeof(hello->u.hello.ifname), "%s", c->ifname);
	if (helper_send_hello(h.sock, hello, t.fd)) {
		log_err("helper: cannot hand the TUN to the engine");
		kill(pid, SIGKILL);
	}
	close(t.fd);
	helper_loop(&h);
}
