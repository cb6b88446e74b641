/* netlink_smoke.c - the netlink layer (links, addresses, routes, rules,
 * route lookups with a fwmark, the change monitor) and the sysctl helper,
 * as root inside a namespace that netlink_smoke.sh builds: UPLINK is a
 * veth to a gateway namespace (default routes via GW4/GW6, our addresses
 * OWN4/OWN6), TESTIF an interface that is up, SPARE one that is down.
 * Everything it adds it removes; the script checks that the tables are
 * byte-identical afterwards.
 * Usage: netlink_smoke UPLINK TESTIF SPARE GW4 GW6 OWN4 OWN6 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os/linux/netlink.h"
#include "os/linux/sysctl.h"

enum smoke_values {
	TABLE_A = 51820,	/* routes of the custom-table tests */
	TABLE_WG = 51821,	/* the wg-quick style tunnel table */
	TABLE_MON = 51822,	/* routes the monitor test makes via ip(8) */
	FWMARK = 0xca6c,	/* 51820, as wg-quick picks it */
	MONITOR_WAIT_MS = 3000,
	BAD_IFINDEX = 999999,
};

static int failures, passes;
static struct nl nl;	/* 32 KiB: not on the stack */
static struct nl mon;

static const char *uplink_name, *testif_name, *spare_name;
static int uplink, testif, spare, spare_mtu;
static uint8_t gw4[16], gw6[16], own4[16], own6[16];

__attribute__((format(printf, 2, 3)))
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok && nl.err_msg[0])
		printf(" [kernel: %s]", nl.err_msg);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passes++;
	else
		failures++;
	return ok;
}

__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *e(int err)
{
	return err >= 0 ? "ok" : strerror(-err);
}

static void addr(int family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(family, s, out) != 1) {
		fprintf(stderr, "netlink_smoke: bad address %s\n", s);
		exit(2);
	}
}

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static const char *fmt_addr(int family, const uint8_t *a)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static unsigned next;
	char *b = buf[next++ % 4];

	return inet_ntop(family, a, b, INET6_ADDRSTRLEN) ? b : "?";
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ links */

static void test_links(void)
{
	struct nl_link l;
	int mtu0, r;

	uplink = nl_link_index(&nl, uplink_name);
	testif = nl_link_index(&nl, testif_name);
	spare = nl_link_index(&nl, spare_name);
	check(uplink > 0 && uplink == (int)if_nametoindex(uplink_name) &&
	      testif == (int)if_nametoindex(testif_name) &&
	      spare == (int)if_nametoindex(spare_name),
	      "nl_link_index matches if_nametoindex (%d %d %d)", uplink, testif, spare);
	r = nl_link_index(&nl, "nosuchif0");
	check(r == -ENODEV, "nl_link_index of a missing interface: -ENODEV (%s)", e(r));
	check(nl_link_index(&nl, "") == -EINVAL &&
	      nl_link_index(&nl, "sixteen-chars-xx") == -EINVAL &&
	      nl_link_index(&nl, NULL) == -EINVAL, "nl_link_index: bad names are -EINVAL");

	r = nl_link_get(&nl, spare, &l);
	check(r == 0 && l.ifindex == spare && !strcmp(l.name, spare_name) &&
	      !(l.flags & IFF_UP) && l.mtu > 0,
	      "nl_link_get: %s is down, mtu %d (%s)", l.name, l.mtu, e(r));
	mtu0 = spare_mtu = nl_link_get_mtu(&nl, spare);
	check(mtu0 == l.mtu, "nl_link_get_mtu agrees (%d)", mtu0);

	r = nl_link_set_up(&nl, spare, true);
	check(r == 0 && nl_link_get(&nl, spare, &l) == 0 && (l.flags & IFF_UP),
	      "nl_link_set_up: up (%s)", e(r));
	r = nl_link_set_up(&nl, spare, false);
	check(r == 0 && nl_link_get(&nl, spare, &l) == 0 && !(l.flags & IFF_UP),
	      "nl_link_set_up: down again (%s)", e(r));

	r = nl_link_set_mtu(&nl, spare, 1280);
	check(r == 0 && nl_link_get_mtu(&nl, spare) == 1280,
	      "nl_link_set_mtu 1280 (%s)", e(r));
	r = nl_link_set_mtu(&nl, spare, mtu0);
	check(r == 0 && nl_link_get_mtu(&nl, spare) == mtu0,
	      "nl_link_set_mtu back to %d (%s)", mtu0, e(r));

	check(nl_link_set_mtu(&nl, spare, 10) == -EINVAL &&
	      nl_link_set_mtu(&nl, 0, 1400) == -EINVAL &&
	      nl_link_set_up(&nl, -1, true) == -EINVAL &&
	      nl_link_get(&nl, 0, &l) == -EINVAL,
	      "links: bad mtu and ifindex are -EINVAL");
	r = nl_link_set_up(&nl, BAD_IFINDEX, true);
	check(r == -ENODEV, "nl_link_set_up on a missing ifindex: -ENODEV (%s)", e(r));
	r = nl_link_get_mtu(&nl, BAD_IFINDEX);
	check(r == -ENODEV, "nl_link_get_mtu on a missing ifindex: -ENODEV (%s)", e(r));
}

/* -------------------------------------------------------------- addresses */

struct addr_find {
	int family, ifindex;
	uint8_t addr[16];
	unsigned prefixlen;
	bool found, lo_seen, other_family;
	struct nl_addr hit;
	unsigned count, stop_after;
};

static int addr_find_fn(const struct nl_addr *a, void *arg)
{
	struct addr_find *f = arg;

	f->count++;
	if (f->family != AF_UNSPEC && a->family != f->family)
		f->other_family = true;
	if (a->has_ifflags && (a->ifflags & IFF_LOOPBACK))
		f->lo_seen = true;
	if (a->family == (f->family == AF_UNSPEC ? a->family : f->family) &&
	    a->ifindex == f->ifindex && a->prefixlen == f->prefixlen &&
	    !memcmp(a->addr, f->addr, alen(a->family))) {
		f->found = true;
		f->hit = *a;
	}
	if (f->stop_after && f->count >= f->stop_after)
		return 7;
	return 0;
}

static bool addr_present(int family, int ifindex, const uint8_t *a,
			 unsigned plen, struct nl_addr *hit)
{
	struct addr_find f = { .family = AF_UNSPEC, .ifindex = ifindex,
			       .prefixlen = plen };
	int r;

	memcpy(f.addr, a, alen(family));
	r = nl_addr_list(&nl, AF_UNSPEC, addr_find_fn, &f);
	if (r)
		check(false, "nl_addr_list: %s", e(r));
	if (hit && f.found)
		*hit = f.hit;
	return f.found;
}

static int busy_fn(const struct nl_addr *a, void *arg)
{
	int *r = arg;

	(void)a;
	*r = nl_link_index(&nl, "lo");
	return 0;
}

static void test_addrs(void)
{
	uint8_t a4[16], a6[16];
	struct addr_find f;
	struct nl_addr hit;
	int r, busy = 0;

	addr(AF_INET, "10.231.5.1", a4);
	addr(AF_INET6, "fd31:5::1", a6);

	r = nl_addr_add(&nl, testif, AF_INET, a4, 24);
	check(r == 0, "nl_addr_add 10.231.5.1/24 (%s)", e(r));
	r = nl_addr_add(&nl, testif, AF_INET, a4, 24);
	check(r == -EEXIST, "nl_addr_add again: -EEXIST (%s)", e(r));
	r = nl_addr_add(&nl, BAD_IFINDEX, AF_INET, a4, 24);
	check(r == -ENODEV, "nl_addr_add v4 on a missing ifindex: -ENODEV (%s)", e(r));
	r = nl_addr_add(&nl, testif, AF_INET6, a6, 64);
	check(r == 0, "nl_addr_add fd31:5::1/64 (%s)", e(r));
	r = nl_addr_add(&nl, testif, AF_INET6, a6, 64);
	check(r == -EEXIST, "nl_addr_add v6 again: -EEXIST (%s)", e(r));
	r = nl_addr_add(&nl, BAD_IFINDEX, AF_INET6, a6, 64);
	check(r == -ENODEV, "nl_addr_add v6 on a missing ifindex: -ENODEV (%s)", e(r));
	check(nl_addr_add(&nl, testif, AF_INET, a4, 33) == -EINVAL &&
	      nl_addr_add(&nl, testif, AF_INET6, a6, 129) == -EINVAL &&
	      nl_addr_add(&nl, testif, AF_UNIX, a4, 8) == -EINVAL &&
	      nl_addr_add(&nl, 0, AF_INET, a4, 24) == -EINVAL &&
	      nl_addr_add(&nl, testif, AF_INET, NULL, 24) == -EINVAL &&
	      nl_addr_list(&nl, AF_INET, NULL, NULL) == -EINVAL,
	      "addresses: bad prefix, family, ifindex, pointer are -EINVAL");

	check(addr_present(AF_INET, testif, a4, 24, &hit) && hit.has_ifflags &&
	      (hit.ifflags & IFF_UP) && hit.scope == RT_SCOPE_UNIVERSE,
	      "nl_addr_list sees 10.231.5.1/24 on %s, interface up", testif_name);
	check(addr_present(AF_INET6, testif, a6, 64, &hit) && hit.has_ifflags &&
	      (hit.flags & IFA_F_NODAD) && !(hit.flags & IFA_F_TENTATIVE),
	      "nl_addr_list sees fd31:5::1/64, nodad, not tentative (flags %#x)",
	      hit.flags);
	check(addr_present(AF_INET, uplink, own4, 24, NULL) &&
	      addr_present(AF_INET6, uplink, own6, 64, NULL),
	      "nl_addr_list sees the uplink's addresses");

	memset(&f, 0, sizeof(f));
	f.family = AF_INET;
	r = nl_addr_list(&nl, AF_INET, addr_find_fn, &f);
	check(r == 0 && f.lo_seen && !f.other_family,
	      "nl_addr_list AF_INET: IPv4 only, loopback flagged (%u addresses)", f.count);

	memset(&f, 0, sizeof(f));
	f.family = AF_UNSPEC;
	f.stop_after = 2;
	r = nl_addr_list(&nl, AF_UNSPEC, addr_find_fn, &f);
	check(r == 7 && f.count == 2, "a callback's nonzero return stops the walk (%d)", r);
	r = nl_addr_list(&nl, AF_UNSPEC, busy_fn, &busy);
	check(r == 0 && busy == -EBUSY && nl_link_index(&nl, "lo") == 1,
	      "a request from a callback is -EBUSY; the socket stays in step");

	r = nl_addr_del(&nl, testif, AF_INET, a4, 24);
	check(r == 0 && !addr_present(AF_INET, testif, a4, 24, NULL),
	      "nl_addr_del 10.231.5.1/24 (%s)", e(r));
	r = nl_addr_del(&nl, testif, AF_INET6, a6, 64);
	check(r == 0 && !addr_present(AF_INET6, testif, a6, 64, NULL),
	      "nl_addr_del fd31:5::1/64 (%s)", e(r));
	r = nl_addr_del(&nl, testif, AF_INET, a4, 24);
	check(nl_err_absent(r), "nl_addr_del v4 again: absent (%s)", e(r));
	r = nl_addr_del(&nl, testif, AF_INET6, a6, 64);
	check(nl_err_absent(r), "nl_addr_del v6 again: absent (%s)", e(r));
}

/* ----------------------------------------------------------------- routes */

struct route_find {
	struct nl_route want;	/* family, dst, dst_len, table */
	struct nl_route hit;
	unsigned matches, total;
};

static int route_find_fn(const struct nl_route *r, void *arg)
{
	struct route_find *f = arg;

	f->total++;
	if (r->family == f->want.family && r->dst_len == f->want.dst_len &&
	    r->table == f->want.table &&
	    !memcmp(r->dst, f->want.dst, alen(r->family))) {
		f->matches++;
		f->hit = *r;
	}
	return 0;
}

/* How many routes for r's dst/len are in r's table; the last in *hit. */
static unsigned route_count(const struct nl_route *r, struct nl_route *hit)
{
	struct route_find f = { .want = *r };
	int err = nl_route_list(&nl, r->family, r->table, route_find_fn, &f);

	if (err)
		check(false, "nl_route_list: %s", e(err));
	if (hit)
		*hit = f.hit;
	return f.matches;
}

static unsigned table_size(int family, uint32_t table)
{
	struct route_find f = { .want = { .family = 0 } };
	int err = nl_route_list(&nl, family, table, route_find_fn, &f);

	return err ? 9999 : f.total;
}

static void route(struct nl_route *r, int family, const char *dst,
		  unsigned len, uint32_t table)
{
	nl_route_init(r, family);
	addr(family, dst, r->dst);
	r->dst_len = (uint8_t)len;
	r->table = table;
}

static void test_routes_family(int family)
{
	const char *v = family == AF_INET ? "v4" : "v6";
	bool v4 = family == AF_INET;
	struct nl_route a, m, bh, th, hit, bad;
	const uint8_t *gw = v4 ? gw4 : gw6;
	unsigned plen = v4 ? 24 : 64;
	int r;

	/* Custom table: on-link, then replaced by a route via the gateway. */
	route(&a, family, v4 ? "10.231.60.0" : "fd31:60::", plen, TABLE_A);
	a.oif = testif;
	r = nl_route_add(&nl, &a);
	check(r == 0, "%s route add in table %d (%s)", v, TABLE_A, e(r));
	r = nl_route_add(&nl, &a);
	check(r == -EEXIST, "%s route add again: -EEXIST (%s)", v, e(r));
	check(route_count(&a, &hit) == 1 && hit.oif == testif && !hit.has_gateway &&
	      hit.type == RTN_UNICAST && hit.protocol == RTPROT_BOOT &&
	      (!v4 || hit.scope == RT_SCOPE_LINK),
	      "%s nl_route_list sees it: oif %d, scope %u", v, hit.oif, hit.scope);
	a.oif = uplink;
	a.has_gateway = true;
	memcpy(a.gateway, gw, 16);
	a.has_src = true;
	memcpy(a.src, v4 ? own4 : own6, 16);
	r = nl_route_replace(&nl, &a);
	check(r == 0 && route_count(&a, &hit) == 1 && hit.has_gateway &&
	      !memcmp(hit.gateway, gw, alen(family)) && hit.oif == uplink &&
	      hit.has_src && !memcmp(hit.src, a.src, alen(family)),
	      "%s route replace: one route, via %s src %s (%s)", v,
	      fmt_addr(family, hit.gateway), fmt_addr(family, hit.src), e(r));

	/* Main table, with a metric. */
	route(&m, family, v4 ? "10.231.61.0" : "fd31:61::", plen, 0);
	m.has_gateway = true;
	memcpy(m.gateway, gw, 16);
	m.metric = 100;
	r = nl_route_add(&nl, &m);
	m.table = RT_TABLE_MAIN;
	check(r == 0 && route_count(&m, &hit) == 1 && hit.metric == 100 &&
	      hit.oif == uplink, "%s route add in main, metric 100 (%s)", v, e(r));

	/* Blackhole and throw, in the custom table. */
	route(&bh, family, v4 ? "10.231.62.0" : "fd31:62::", plen, TABLE_A);
	bh.type = RTN_BLACKHOLE;
	route(&th, family, v4 ? "10.231.63.0" : "fd31:63::", plen, TABLE_A);
	th.type = RTN_THROW;
	r = nl_route_add(&nl, &bh);
	check(r == 0 && route_count(&bh, &hit) == 1 && hit.type == RTN_BLACKHOLE,
	      "%s blackhole route (%s)", v, e(r));
	r = nl_route_add(&nl, &th);
	check(r == 0 && route_count(&th, &hit) == 1 && hit.type == RTN_THROW,
	      "%s throw route (%s)", v, e(r));
	check(table_size(family, TABLE_A) == 3,
	      "%s table %d holds 3 routes", v, TABLE_A);

	/* Bad input. */
	bad = bh;
	bad.oif = testif;
	check(nl_route_add(&nl, &bad) == -EINVAL, "%s blackhole with a device: -EINVAL", v);
	route(&bad, family, v4 ? "10.231.60.1" : "fd31:60::1", plen, TABLE_A);
	bad.oif = testif;
	check(nl_route_add(&nl, &bad) == -EINVAL, "%s host bits past the prefix: -EINVAL", v);
	bad.dst_len = v4 ? 33 : 129;
	check(nl_route_add(&nl, &bad) == -EINVAL, "%s prefix too long: -EINVAL", v);
	route(&bad, family, v4 ? "10.231.64.0" : "fd31:64::", plen, TABLE_A);
	bad.oif = BAD_IFINDEX;
	r = nl_route_add(&nl, &bad);
	check(r == -ENODEV, "%s route via a missing ifindex: -ENODEV (%s)", v, e(r));
	bad.oif = -1;
	bad.type = 99;
	check(nl_route_add(&nl, &bad) == -EINVAL && nl_route_add(&nl, NULL) == -EINVAL,
	      "%s bad oif, type, pointer: -EINVAL", v);

	/* Several next hops: the first one is reported; a deletion that
	 * names neither gateway nor device removes the route. */
	if (v4) {
		route(&bad, family, "10.231.65.0", 24, TABLE_A);
		r = run("ip route add 10.231.65.0/24 table %d nexthop via %s dev %s "
			"nexthop dev %s", TABLE_A, fmt_addr(family, gw), uplink_name,
			testif_name);
		check(r == 0 && route_count(&bad, &hit) == 1 && hit.multipath &&
		      hit.has_gateway && !memcmp(hit.gateway, gw, 4) && hit.oif == uplink,
		      "v4 multipath route listed with its first hop (dev %d)", hit.oif);
		bad.protocol = 0;
		bad.type = 0;
		r = nl_route_del(&nl, &bad);
		check(r == 0 && route_count(&bad, NULL) == 0,
		      "v4 multipath route deleted by prefix and table (%s)", e(r));
	}

	/* Metric 0 on deletion matches any metric. */
	hit = m;
	hit.metric = 0;
	r = nl_route_del(&nl, &hit);
	check(r == 0 && route_count(&m, NULL) == 0,
	      "%s route del without a metric removes the metric-100 route (%s)", v, e(r));
	r = nl_route_add(&nl, &m);
	check(r == 0, "%s route add in main again (%s)", v, e(r));

	/* Delete with the structs that added them. */
	r = nl_route_del(&nl, &a);
	check(r == 0 && route_count(&a, NULL) == 0, "%s route del (custom) (%s)", v, e(r));
	r = nl_route_del(&nl, &m);
	check(r == 0 && route_count(&m, NULL) == 0, "%s route del (main) (%s)", v, e(r));
	r = nl_route_del(&nl, &bh);
	check(r == 0, "%s blackhole del (%s)", v, e(r));
	r = nl_route_del(&nl, &th);
	check(r == 0, "%s throw del (%s)", v, e(r));
	r = nl_route_del(&nl, &a);
	check(r == -ESRCH && nl_err_absent(r), "%s route del again: -ESRCH (%s)", v, e(r));
	check(table_size(family, TABLE_A) == 0, "%s table %d empty again", v, TABLE_A);
}

/* -------------------------------------------------- lookups, rules, mark */

struct rule_find {
	struct nl_rule want;
	struct nl_rule hit;
	unsigned matches;
};

static int rule_find_fn(const struct nl_rule *r, void *arg)
{
	struct rule_find *f = arg;

	if (r->family == f->want.family && r->table == f->want.table &&
	    r->invert == f->want.invert && r->fwmark == f->want.fwmark &&
	    r->suppress_prefixlen == f->want.suppress_prefixlen &&
	    (!f->want.has_priority || r->priority == f->want.priority)) {
		f->matches++;
		f->hit = *r;
	}
	return 0;
}

static unsigned rule_count(const struct nl_rule *want, struct nl_rule *hit)
{
	struct rule_find f = { .want = *want };
	int err = nl_rule_list(&nl, want->family, rule_find_fn, &f);

	if (err)
		check(false, "nl_rule_list: %s", e(err));
	if (hit)
		*hit = f.hit;
	return f.matches;
}

static void test_lookup_family(int family)
{
	const char *v = family == AF_INET ? "v4" : "v6";
	bool v4 = family == AF_INET;
	const uint8_t *gw = v4 ? gw4 : gw6, *own = v4 ? own4 : own6;
	uint8_t outside[16];
	struct nl_route got, dflt;
	struct nl_rule notmark, suppress, hit = { 0 }, masked, bad;
	int r;

	/* Documentation addresses: only looked up, never sent to. */
	addr(family, v4 ? "198.51.100.7" : "2001:db8::7", outside);

	r = nl_route_get(&nl, family, outside, 0, &got);
	check(r == 0 && got.has_gateway && !memcmp(got.gateway, gw, alen(family)) &&
	      got.oif == uplink && got.has_src && !memcmp(got.src, own, alen(family)) &&
	      got.table == RT_TABLE_MAIN && got.dst_len == alen(family) * 8,
	      "%s nl_route_get %s: via %s dev %d src %s table %u (%s)", v,
	      fmt_addr(family, outside), fmt_addr(family, got.gateway), got.oif,
	      fmt_addr(family, got.src), got.table, e(r));
	r = nl_route_get(&nl, family, gw, 0, &got);
	check(r == 0 && !got.has_gateway && got.oif == uplink,
	      "%s nl_route_get of the gateway: on link, dev %d (%s)", v, got.oif, e(r));

	/* The wg-quick set: a default route in the tunnel table, unmarked
	 * traffic there, main consulted first for all but its default. */
	route(&dflt, family, v4 ? "0.0.0.0" : "::", 0, TABLE_WG);
	dflt.oif = testif;
	r = nl_route_add(&nl, &dflt);
	check(r == 0, "%s default route in table %d (%s)", v, TABLE_WG, e(r));

	nl_rule_init(&notmark, family);
	notmark.invert = true;
	notmark.fwmark = FWMARK;
	notmark.table = TABLE_WG;
	nl_rule_init(&suppress, family);
	suppress.table = RT_TABLE_MAIN;
	suppress.suppress_prefixlen = 0;
	r = nl_rule_add(&nl, &notmark);
	check(r == 0, "%s rule not fwmark %#x table %d (%s)", v, FWMARK, TABLE_WG, e(r));
	r = nl_rule_add(&nl, &suppress);
	check(r == 0, "%s rule table main suppress_prefixlength 0 (%s)", v, e(r));

	check(rule_count(&notmark, &hit) == 1 && hit.invert && hit.fwmark == FWMARK &&
	      hit.fwmask == UINT32_MAX && hit.table == TABLE_WG && hit.has_priority &&
	      hit.priority > 0 && hit.priority < 32766 && !hit.other_selectors &&
	      hit.action == FR_ACT_TO_TBL,
	      "%s nl_rule_list sees 'not fwmark' (priority %u)", v, hit.priority);
	check(rule_count(&suppress, &hit) == 1 && hit.suppress_prefixlen == 0 &&
	      !hit.invert && hit.fwmark == 0 && !hit.other_selectors,
	      "%s nl_rule_list sees 'suppress_prefixlength 0' (priority %u)", v,
	      hit.priority);

	r = nl_route_get(&nl, family, outside, 0, &got);
	check(r == 0 && got.oif == testif && got.table == TABLE_WG,
	      "%s unmarked lookup goes to the tunnel table (dev %d, table %u) (%s)",
	      v, got.oif, got.table, e(r));
	r = nl_route_get(&nl, family, outside, FWMARK, &got);
	check(r == 0 && got.oif == uplink && got.has_gateway &&
	      !memcmp(got.gateway, gw, alen(family)) && got.table == RT_TABLE_MAIN,
	      "%s marked lookup finds the original gateway %s (dev %d, table %u) (%s)",
	      v, fmt_addr(family, got.gateway), got.oif, got.table, e(r));
	r = nl_route_get(&nl, family, gw, 0, &got);
	check(r == 0 && got.oif == uplink && got.table == RT_TABLE_MAIN,
	      "%s unmarked lookup of the local subnet stays in main (%s)", v, e(r));

	/* A masked mark at an explicit priority. */
	nl_rule_init(&masked, family);
	masked.has_priority = true;
	masked.priority = 1234;
	masked.fwmark = 0x100;
	masked.fwmask = 0xff00;
	masked.table = TABLE_WG;
	r = nl_rule_add(&nl, &masked);
	check(r == 0 && rule_count(&masked, &hit) == 1 && hit.priority == 1234 &&
	      hit.fwmask == 0xff00, "%s rule fwmark 0x100/0xff00 priority 1234 (%s)",
	      v, e(r));
	r = nl_rule_add(&nl, &masked);
	check(r == -EEXIST, "%s the same rule again: -EEXIST (%s)", v, e(r));
	r = nl_route_get(&nl, family, outside, 0x100, &got);
	check(r == 0 && got.oif == testif && got.table == TABLE_WG,
	      "%s lookup with mark 0x100 matches the masked rule (%s)", v, e(r));
	r = nl_rule_del(&nl, &masked);
	check(r == 0 && rule_count(&masked, NULL) == 0, "%s masked rule del (%s)", v, e(r));

	bad = suppress;
	bad.suppress_prefixlen = v4 ? 33 : 129;
	check(nl_rule_add(&nl, &bad) == -EINVAL, "%s suppress_prefixlen too long: -EINVAL", v);
	bad = notmark;
	bad.table = 0;
	check(nl_rule_add(&nl, &bad) == -EINVAL && nl_rule_add(&nl, NULL) == -EINVAL,
	      "%s to-table rule without a table, NULL rule: -EINVAL", v);

	/* Remove the set, with the structs that added it. */
	r = nl_rule_del(&nl, &notmark);
	check(r == 0 && rule_count(&notmark, NULL) == 0, "%s rule del 'not fwmark' (%s)",
	      v, e(r));
	r = nl_rule_del(&nl, &suppress);
	check(r == 0 && rule_count(&suppress, NULL) == 0,
	      "%s rule del 'suppress_prefixlength' (%s)", v, e(r));
	r = nl_rule_del(&nl, &suppress);
	check(r == -ENOENT && nl_err_absent(r), "%s rule del again: -ENOENT (%s)", v, e(r));
	r = nl_route_del(&nl, &dflt);
	check(r == 0, "%s default route in table %d removed (%s)", v, TABLE_WG, e(r));
	r = nl_route_get(&nl, family, outside, 0, &got);
	check(r == 0 && got.oif == uplink, "%s lookups use main again (%s)", v, e(r));
}

/* ---------------------------------------------------------------- monitor */

/* Drain, so that only what follows is seen. */
static void monitor_drain(void)
{
	for (int i = 0; i < 100 && nl_monitor_read(&mon); i++)
		;
}

/* Accumulate changes until want is seen or MONITOR_WAIT_MS pass. */
static unsigned monitor_wait(unsigned want)
{
	int64_t deadline = now_ms() + MONITOR_WAIT_MS;
	unsigned seen = 0;

	for (;;) {
		struct pollfd p = { .fd = nl_fd(&mon), .events = POLLIN };
		int64_t left;

		seen |= nl_monitor_read(&mon);
		if ((seen & want) == want)
			return seen;
		left = deadline - now_ms();
		if (left <= 0)
			return seen;
		(void)poll(&p, 1, (int)left);
	}
}

static void test_monitor(void)
{
	uint8_t a4[16];
	unsigned got;
	int r;

	r = nl_monitor_open(&mon);
	if (!check(r == 0 && nl_fd(&mon) >= 0, "nl_monitor_open (%s)", e(r)))
		return;
	monitor_drain();
	usleep(100 * 1000);
	got = nl_monitor_read(&mon);
	check(got == 0, "monitor: nothing changes, nothing reported (%#x)", got);

	r = run("ip addr add 10.231.70.1/32 dev %s", testif_name);
	got = monitor_wait(NL_CHANGED_ADDR);
	check(r == 0 && (got & NL_CHANGED_ADDR),
	      "monitor: 'ip addr add' by another process is seen (%#x)", got);
	r = run("ip -6 addr add fd31:70::1/128 dev %s nodad", testif_name);
	got = monitor_wait(NL_CHANGED_ADDR);
	check(r == 0 && (got & NL_CHANGED_ADDR), "monitor: 'ip -6 addr add' is seen (%#x)", got);
	r = run("ip route add 10.231.71.0/24 dev %s table %d", testif_name, TABLE_MON);
	got = monitor_wait(NL_CHANGED_ROUTE);
	check(r == 0 && (got & NL_CHANGED_ROUTE), "monitor: 'ip route add' is seen (%#x)", got);
	r = run("ip -6 route add fd31:71::/64 dev %s table %d", testif_name, TABLE_MON);
	got = monitor_wait(NL_CHANGED_ROUTE);
	check(r == 0 && (got & NL_CHANGED_ROUTE), "monitor: 'ip -6 route add' is seen (%#x)", got);
	r = run("ip rule add fwmark 0x77 table %d priority 1777", TABLE_MON);
	got = monitor_wait(NL_CHANGED_RULE);
	check(r == 0 && (got & NL_CHANGED_RULE), "monitor: 'ip rule add' is seen (%#x)", got);
	r = run("ip link set %s mtu 1300", spare_name);
	got = monitor_wait(NL_CHANGED_LINK);
	check(r == 0 && (got & NL_CHANGED_LINK), "monitor: 'ip link set mtu' is seen (%#x)", got);

	r = run("ip rule del fwmark 0x77 table %d priority 1777 && "
		"ip -6 route del fd31:71::/64 dev %s table %d && "
		"ip route del 10.231.71.0/24 dev %s table %d && "
		"ip -6 addr del fd31:70::1/128 dev %s && "
		"ip addr del 10.231.70.1/32 dev %s && ip link set %s mtu %d",
		TABLE_MON, testif_name, TABLE_MON, testif_name, TABLE_MON,
		testif_name, testif_name, spare_name, spare_mtu);
	got = monitor_wait(NL_CHANGED_ADDR | NL_CHANGED_ROUTE | NL_CHANGED_RULE |
			   NL_CHANGED_LINK);
	check(r == 0 && (got & (NL_CHANGED_ADDR | NL_CHANGED_ROUTE | NL_CHANGED_RULE |
				NL_CHANGED_LINK)) == (NL_CHANGED_ADDR | NL_CHANGED_ROUTE |
						      NL_CHANGED_RULE | NL_CHANGED_LINK),
	      "monitor: the removals are seen (%#x)", got);

	/* Requests on the monitor socket itself: the echo of our own change
	 * is kept for the next read. */
	monitor_drain();
	addr(AF_INET, "10.231.72.1", a4);
	r = nl_addr_add(&mon, testif, AF_INET, a4, 32);
	got = monitor_wait(NL_CHANGED_ADDR);
	check(r == 0 && (got & NL_CHANGED_ADDR),
	      "monitor: a request on the monitor socket works, its change is seen (%#x)",
	      got);
	r = nl_addr_del(&mon, testif, AF_INET, a4, 32);
	check(r == 0, "monitor: and is undone (%s)", e(r));
	nl_close(&mon);
	check(nl_fd(&mon) == -1, "nl_close: no socket left");
}

/* ----------------------------------------------------------------- sysctl */

static void test_sysctl_one(const char *name)
{
	char before[SYSCTL_VALUE_MAX], now[SYSCTL_VALUE_MAX];
	struct sysctl_saved saved;
	const char *flip;
	int r;

	r = sysctl_read(name, before, sizeof(before));
	if (!check(r == 1 && (before[0] == '0' || before[0] == '1'),
		   "sysctl_read %s = '%s' (%s)", name, before, e(r)))
		return;
	flip = before[0] == '0' ? "1\n" : " 0";
	r = sysctl_save_and_set(&saved, name, flip);
	check(r == 0 && !strcmp(saved.name, name) && !strcmp(saved.value, before) &&
	      sysctl_read(name, now, sizeof(now)) == 1 && now[0] != before[0],
	      "sysctl_save_and_set %s: '%s' now, '%s' saved (%s)", name, now,
	      saved.value, e(r));
	r = sysctl_restore(&saved);
	check(r == 0 && sysctl_read(name, now, sizeof(now)) == 1 &&
	      !strcmp(now, before), "sysctl_restore %s: '%s' again (%s)", name, now,
	      e(r));
}

static void test_sysctl(void)
{
	static const char *const bad[] = {
		"", "/net/ipv4/ip_forward", "../../etc/passwd", "net/../../etc/passwd",
		"net//ipv4/ip_forward", "net/ipv4/", "net/./ipv4/ip_forward",
		"net/ipv4/ip_forward;x", "net/ipv4/ip forward", "net\\ipv4",
		"net/ipv4/ip_forward\n",
		("net/ipv4/a_name_that_is_far_too_long_to_be_accepted_by_the_helper_"
		 "because_it_is_longer_than_ninety_five_characters"),
	};
	struct sysctl_saved saved;
	char buf[SYSCTL_VALUE_MAX], long_value[SYSCTL_VALUE_MAX + 2];
	bool all = true;
	int r;

	test_sysctl_one("net/ipv4/ip_forward");
	test_sysctl_one("net/ipv6/conf/all/forwarding");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = sysctl_read(bad[i], buf, sizeof(buf));
		if (r != -EINVAL || sysctl_write(bad[i], "1") != -EINVAL) {
			all = false;
			printf("  .. accepted name '%s' (%s)\n", bad[i], e(r));
		}
	}
	check(all, "sysctl: bad names are -EINVAL");
	r = sysctl_read("net/ipv4/no_such_setting", buf, sizeof(buf));
	check(r == -ENOENT, "sysctl_read of a missing setting: -ENOENT (%s)", e(r));
	r = sysctl_read("net/ipv4/ip_local_port_range", buf, sizeof(buf));
	check(r > 0 && strchr(buf, '\t') && !strchr(buf, '\n') && buf[r - 1] != ' ',
	      "sysctl_read keeps inner tabs, trims the end ('%s')", buf);
	r = sysctl_read("net/ipv4/ip_forward", buf, 1);
	check(r == -EOVERFLOW, "sysctl_read into a too small buffer: -EOVERFLOW (%s)", e(r));
	memset(buf, ' ', sizeof(buf));
	buf[0] = '1';
	memcpy(long_value, buf, sizeof(buf));
	memcpy(long_value + sizeof(buf), "x", 2);
	check(sysctl_write("net/ipv4/ip_forward", "1\n0") == -EINVAL &&
	      sysctl_write("net/ipv4/ip_forward", long_value) == -EINVAL &&
	      sysctl_write("net/ipv4/ip_forward", " \n") == -EINVAL &&
	      sysctl_write("net/ipv4/ip_forward", NULL) == -EINVAL,
	      "sysctl_write: bad values are -EINVAL");
	r = sysctl_save_and_set(&saved, "net/ipv4/no_such_setting", "1");
	check(r == -ENOENT && saved.name[0] == '\0' && sysctl_restore(&saved) == 0,
	      "sysctl_save_and_set failing leaves nothing to restore (%s)", e(r));
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 8) {
		fprintf(stderr, "usage: netlink_smoke UPLINK TESTIF SPARE GW4 GW6 OWN4 OWN6\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	uplink_name = argv[1];
	testif_name = argv[2];
	spare_name = argv[3];
	addr(AF_INET, argv[4], gw4);
	addr(AF_INET6, argv[5], gw6);
	addr(AF_INET, argv[6], own4);
	addr(AF_INET6, argv[7], own6);

	r = nl_open(&nl);
	if (!check(r == 0, "nl_open (%s)", e(r)))
		return 1;
	test_links();
	test_addrs();
	test_routes_family(AF_INET);
	test_routes_family(AF_INET6);
	test_lookup_family(AF_INET);
	test_lookup_family(AF_INET6);
	test_monitor();
	test_sysctl();
	nl_close(&nl);
	nl_close(&nl);
	check(true, "nl_close twice is harmless");

	printf("netlink_smoke: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
