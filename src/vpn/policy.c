/* policy.c - fwmark policy routing for the full tunnel, and the host's own
 * subnets (see policy.h). */
#include "vpn/policy.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/addrpool.h"
#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "os/linux/sysctl.h"
#include "vpn/journal.h"

enum {
	DUMP_TRIES = 3,		/* on -EAGAIN: the tables changed meanwhile */
};

static const char src_valid_mark[] = "net/ipv4/conf/all/src_valid_mark";

/* ------------------------------------------------------------------ choose */

struct scan {
	uint8_t table_used[POLICY_TABLE_RANGE / 8];
	uint8_t pref_used[(POLICY_PREF_MAIN + 7) / 8];	/* 0 .. main - 1 */
};

static void mark(uint8_t *bits, uint32_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool marked(const uint8_t *bits, uint32_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void mark_table(struct scan *s, uint32_t v)
{
	if (v >= POLICY_TABLE_FIRST && v - POLICY_TABLE_FIRST < POLICY_TABLE_RANGE)
		mark(s->table_used, v - POLICY_TABLE_FIRST);
}

static int scan_rule(const struct nl_rule *r, void *arg)
{
	struct scan *s = arg;
	uint32_t prio = r->has_priority ? r->priority : 0;

	if (prio < POLICY_PREF_MAIN)
		mark(s->pref_used, prio);
	if (r->action == FR_ACT_TO_TBL || r->action == 0)
		mark_table(s, r->table);
	if (r->fwmark)
		mark_table(s, r->fwmark);
	return 0;
}

static int scan_route(const struct nl_route *r, void *arg)
{
	mark_table(arg, r->table);
	return 0;
}

int policy_choose(struct nl *nl, struct policy *p)
{
	struct scan s;
	int ret = -EAGAIN;

	if (!nl || !p)
		return -EINVAL;
	for (int t = 0; t < DUMP_TRIES && ret == -EAGAIN; t++) {
		memset(&s, 0, sizeof(s));
		ret = nl_rule_list(nl, AF_UNSPEC, scan_rule, &s);
		if (!ret)
			ret = nl_route_list(nl, AF_UNSPEC, 0, scan_route, &s);
	}
	if (ret) {
		log_err("policy: cannot list the routing rules and tables: %s",
			strerror(-ret));
		return ret;
	}
	p->fwmark = 0;
	for (uint32_t i = 0; i < POLICY_TABLE_RANGE; i++) {
		if (!marked(s.table_used, i)) {
			p->fwmark = POLICY_TABLE_FIRST + i;
			break;
		}
	}
	p->pref = 0;
	for (uint32_t pref = POLICY_PREF_MAIN - 2; pref >= 1; pref--) {
		if (!marked(s.pref_used, pref) && !marked(s.pref_used, pref + 1)) {
			p->pref = pref;
			break;
		}
	}
	if (!p->fwmark || !p->pref) {
		log_err("policy: no free %s (every one in use by other rules)",
			!p->fwmark ? "routing table from 51820 up" :
				     "pair of rule priorities below 32766");
		return -ENOSPC;
	}
	return 0;
}

/* ------------------------------------------------------------------- apply */

static const char *fam_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static int add_route(struct nl *nl, struct journal *j, const struct policy *p,
		     int family)
{
	struct journal_entry e = { .kind = JOURNAL_ROUTE };
	int ret;

	nl_route_init(&e.u.route, family);
	e.u.route.oif = p->ifindex;
	e.u.route.table = p->fwmark;
	ret = journal_record(j, &e);
	if (ret)
		return ret;
	ret = nl_route_add(nl, &e.u.route);
	if (ret)
		log_err("policy: cannot add the %s default route of table %u via interface %d: %s%s%s",
			fam_name(family), p->fwmark, p->ifindex, strerror(-ret),
			nl->err_msg[0] ? " - " : "", nl->err_msg);
	return ret;
}

static int add_rule(struct nl *nl, struct journal *j, struct nl_rule *r,
		    const char *what)
{
	struct journal_entry e = { .kind = JOURNAL_RULE };
	int ret;

	e.u.rule = *r;
	ret = journal_record(j, &e);
	if (ret)
		return ret;
	ret = nl_rule_add(nl, r);
	if (ret)
		log_err("policy: cannot add the %s rule `%s` at priority %u: %s%s%s",
			fam_name(r->family), what, r->priority, strerror(-ret),
			nl->err_msg[0] ? " - " : "", nl->err_msg);
	return ret;
}

static int set_src_valid_mark(struct journal *j)
{
	struct journal_entry e = { .kind = JOURNAL_SYSCTL };
	int ret;

	ret = sysctl_read(src_valid_mark, e.u.sysctl.value,
			  sizeof(e.u.sysctl.value));
	if (ret < 0) {
		log_err("policy: cannot read %s: %s", src_valid_mark,
			strerror(-ret));
		return ret;
	}
	if (!strcmp(e.u.sysctl.value, "1"))
		return 0;
	snprintf(e.u.sysctl.name, sizeof(e.u.sysctl.name), "%s", src_valid_mark);
	ret = journal_record(j, &e);
	if (ret)
		return ret;
	ret = sysctl_write(src_valid_mark, "1");
	if (ret)
		log_err("policy: cannot set %s=1: %s", src_valid_mark,
			strerror(-ret));
	return ret;
}

static int apply_family(struct nl *nl, struct journal *j,
			const struct policy *p, int family)
{
	struct nl_rule r;
	char what[64];
	int ret;

	/* The table first (no rule leads there yet), then the rule that
	 * keeps the LAN on main, then the one that switches traffic over. */
	ret = add_route(nl, j, p, family);
	if (!ret && family == AF_INET)
		ret = set_src_valid_mark(j);
	if (ret)
		return ret;

	nl_rule_init(&r, family);
	r.has_priority = true;
	r.priority = p->pref;
	r.table = RT_TABLE_MAIN;
	r.suppress_prefixlen = 0;
	ret = add_rule(nl, j, &r, "table main suppress_prefixlength 0");
	if (ret)
		return ret;

	nl_rule_init(&r, family);
	r.has_priority = true;
	r.priority = p->pref + 1;
	r.invert = true;
	r.fwmark = p->fwmark;
	r.table = p->fwmark;
	snprintf(what, sizeof(what), "not fwmark %u table %u", p->fwmark,
		 p->fwmark);
	return add_rule(nl, j, &r, what);
}

int policy_apply(struct nl *nl, struct journal *j, const struct policy *p)
{
	int ret = 0;

	if (!nl || !j || !p || p->ifindex <= 0 || (!p->v4 && !p->v6) ||
	    !p->fwmark || p->fwmark == RT_TABLE_MAIN ||
	    p->fwmark == RT_TABLE_LOCAL || p->fwmark == RT_TABLE_DEFAULT ||
	    p->pref < 1 || p->pref + 1 >= POLICY_PREF_MAIN) {
		log_err("policy: invalid policy (tunnel %d, fwmark %u, priority %u)",
			p ? p->ifindex : 0, p ? p->fwmark : 0, p ? p->pref : 0);
		return -EINVAL;
	}
	if (p->v4)
		ret = apply_family(nl, j, p, AF_INET);
	if (!ret && p->v6)
		ret = apply_family(nl, j, p, AF_INET6);
	return ret;
}

/* ------------------------------------------------------------ local subnets */

struct collect {
	int exclude;
	struct ip_prefix *out;
	size_t n, max;
};

static bool covers(const struct ip_prefix *wide, const struct ip_prefix *p)
{
	unsigned bits = wide->cidr;

	if (wide->family != p->family || wide->cidr > p->cidr)
		return false;
	if (memcmp(wide->addr, p->addr, bits / 8))
		return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		if ((wide->addr[bits / 8] ^ p->addr[bits / 8]) & m)
			return false;
	}
	return true;
}

static void clear_host_bits(struct ip_prefix *p)
{
	unsigned len = p->family == 4 ? 4 : 16;

	for (unsigned i = 0; i < len; i++) {
		unsigned lo = i * 8;

		if (lo >= p->cidr)
			p->addr[i] = 0;
		else if (p->cidr - lo < 8)
			p->addr[i] &= (uint8_t)(0xff << (8 - (p->cidr - lo)));
	}
}

static int collect_addr(const struct nl_addr *a, void *arg)
{
	struct collect *c = arg;
	struct ip_prefix q = { 0 };
	size_t k = 0;

	if (a->ifindex == c->exclude || !a->has_ifflags ||
	    !(a->ifflags & IFF_UP) || (a->ifflags & IFF_LOOPBACK) ||
	    a->scope == RT_SCOPE_HOST || a->scope == RT_SCOPE_NOWHERE)
		return 0;
	if (a->family == AF_INET6 && a->addr[0] == 0xfe &&
	    (a->addr[1] & 0xc0) == 0x80)
		return 0;	/* fe80::/10 */
	q.family = a->family == AF_INET ? 4 : 6;
	q.cidr = a->prefixlen;
	if (q.cidr > (q.family == 4 ? 32 : 128))
		return 0;
	memcpy(q.addr, a->addr, q.family == 4 ? 4 : 16);
	clear_host_bits(&q);
	for (size_t i = 0; i < c->n; i++)
		if (covers(&c->out[i], &q))
			return 0;
	/* Drop what the new one covers, then add it. */
	for (size_t i = 0; i < c->n; i++)
		if (!covers(&q, &c->out[i]))
			c->out[k++] = c->out[i];
	c->n = k;
	if (c->n < c->max)
		c->out[c->n++] = q;
	return 0;
}

int policy_local_prefixes(struct nl *nl, int exclude_ifindex,
			  struct ip_prefix *out, size_t max)
{
	struct collect c = { .exclude = exclude_ifindex, .out = out, .max = max };
	int ret = -EAGAIN;

	if (!nl || (!out && max))
		return -EINVAL;
	for (int t = 0; t < DUMP_TRIES && ret == -EAGAIN; t++) {
		c.n = 0;
		ret = nl_addr_list(nl, AF_INET, collect_addr, &c);
		if (!ret)
			ret = nl_addr_list(nl, AF_INET6, collect_addr, &c);
	}
	return ret ? ret : (int)c.n;
}
