/* fw_rules.c - nftables scripts for the kill switch and the exit server,
 * generated as text from checked structs. */
#include "os/linux/fw_rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Room for every prefix a deny set can hold: the built-in ranges, the
 * caller's, and the NAT64 form of each IPv4 one. */
enum {
	DENY_SET_MAX = 40 + 2 * FW_MAX_LAN,
};

/* The bounded text the builders write into. Once full, it stays full and
 * the builder reports -ENOSPC at the end. */
struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

__attribute__((format(printf, 2, 3)))
static int invalid(struct fw_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool fw_ifname_valid(const char *ifname)
{
	size_t len, i;

	if (!ifname)
		return false;
	len = strnlen(ifname, FW_IFNAMSIZ);
	if (len == 0 || len >= FW_IFNAMSIZ)
		return false;
	/* The kernel refuses these two; a rule naming them could never
	 * match our tunnel. */
	if (!strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return false;
	for (i = 0; i < len; i++) {
		char c = ifname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

int fw_table_name(const char *ifname, char *out, size_t cap)
{
	static const char prefix[] = "weft_";
	size_t len, i;

	if (!fw_ifname_valid(ifname))
		return -EINVAL;
	len = strlen(ifname);
	if (!out || cap < sizeof(prefix) + len)
		return -ENOSPC;
	memcpy(out, prefix, sizeof(prefix) - 1);
	/* nft identifiers take neither '-' nor a '.' we would want to
	 * explain; '_' keeps the name readable. */
	for (i = 0; i < len; i++)
		out[sizeof(prefix) - 1 + i] =
			ifname[i] == '-' || ifname[i] == '.' ? '_' : ifname[i];
	out[sizeof(prefix) - 1 + len] = '\0';
	return (int)(sizeof(prefix) - 1 + len);
}

static const char ifname_rule[] =
	"ifname: must be 1 to 15 characters of A-Z a-z 0-9 _ . - "
	"(not \".\" or \"..\")";

/* ------------------------------------------------------------ addresses */

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static unsigned max_len(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static bool addr_zero(int family, const uint8_t *a)
{
	for (size_t i = 0; i < addr_len(family); i++)
		if (a[i])
			return false;
	return true;
}

/* Addresses reach the text only through inet_ntop: hex, digits, ':' and
 * '.'. The buffer fits the longest IPv6 form. */
struct addr_str {
	char s[INET6_ADDRSTRLEN];
};

static struct addr_str addr_fmt(int family, const uint8_t *a)
{
	struct addr_str r;

	if (!inet_ntop(family, a, r.s, sizeof(r.s)))
		strcpy(r.s, "?");	/* unreachable: family is checked */
	return r;
}

static void prefix_mask(struct fw_prefix *p)
{
	size_t n = addr_len(p->family);

	for (size_t i = 0; i < n; i++) {
		unsigned keep = p->len > 8 * i ? p->len - 8 * i : 0;

		if (keep < 8)
			p->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	if (n < sizeof(p->addr))
		memset(p->addr + n, 0, sizeof(p->addr) - n);
}

/* Does a hold all of b? (Prefixes either nest or are disjoint.) */
static bool prefix_contains(const struct fw_prefix *a, const struct fw_prefix *b)
{
	struct fw_prefix t = *b;

	if (a->family != b->family || a->len > b->len)
		return false;
	t.len = a->len;
	prefix_mask(&t);
	return !memcmp(t.addr, a->addr, addr_len(a->family));
}

static int prefix_check(const struct fw_prefix *p, const char *what,
			unsigned idx, bool indexed, struct fw_error *err)
{
	char name[32];

	if (indexed)
		snprintf(name, sizeof(name), "%s[%u]", what, idx);
	else
		snprintf(name, sizeof(name), "%s", what);
	if (!family_ok(p->family))
		return invalid(err, "%s: family must be AF_INET or AF_INET6",
			       name);
	if (p->len < 1 || p->len > max_len(p->family))
		return invalid(err, "%s: prefix length %u is outside 1..%u "
			       "for %s", name, p->len, max_len(p->family),
			       family_name(p->family));
	return 0;
}

/* A list of prefixes of one family, masked, with every prefix that
 * another one holds left out: nft then gets disjoint intervals, and the
 * script says each range once. */
struct prefix_set {
	struct fw_prefix p[DENY_SET_MAX];
	unsigned n;
};

static void set_add(struct prefix_set *s, const struct fw_prefix *p)
{
	struct fw_prefix m = *p;
	unsigned i, j;

	prefix_mask(&m);
	for (i = 0; i < s->n; i++)
		if (prefix_contains(&s->p[i], &m))
			return;
	/* Drop what the new one holds, keeping the order of the rest. */
	for (i = j = 0; i < s->n; i++)
		if (!prefix_contains(&m, &s->p[i]))
			s->p[j++] = s->p[i];
	s->n = j;
	if (s->n < DENY_SET_MAX)
		s->p[s->n++] = m;
}

/* "PREFIX" alone, or "{ A, B }" for several. nft would take a one-element
 * set too, but the plain form reads better in `nft list`. */
static void emit_set(struct out *o, const struct prefix_set *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct fw_prefix *p = &s->p[i];

		emit(o, "%s%s/%u", i ? ", " : s->n > 1 ? "{ " : "",
		     addr_fmt(p->family, p->addr).s, p->len);
	}
	if (s->n > 1)
		emit(o, " }");
}

static const char *nft_family(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

/* -------------------------------------------------------------- common */

static int begin(struct out *o, char *buf, size_t cap, const char *ifname,
		 char table[FW_TABLE_NAME_MAX])
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
	o->full = !buf || cap == 0;
	if (buf && cap)
		buf[0] = '\0';
	if (fw_table_name(ifname, table, FW_TABLE_NAME_MAX) < 0)
		return -EINVAL;
	/* Create-if-absent, delete, define: one transaction that replaces
	 * whatever an earlier run left, and works when nothing is there. */
	emit(o, "table inet %s\ndelete table inet %s\ntable inet %s {\n",
	     table, table, table);
	return 0;
}

static int finish(struct out *o)
{
	emit(o, "}\n");
	if (o->full) {
		if (o->buf && o->cap)
			o->buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)o->len;
}

static void fail_clear(char *buf, size_t cap)
{
	if (buf && cap)
		buf[0] = '\0';
}

/* --------------------------------------------------------- kill switch */

static int killswitch_check(const struct fw_killswitch *ks,
			    struct fw_error *err)
{
	unsigned i;
	int r;

	if (!fw_ifname_valid(ks->ifname))
		return invalid(err, "%s", ifname_rule);
	if (ks->n_endpoints > FW_MAX_ENDPOINTS)
		return invalid(err, "n_endpoints: %u is more than %u",
			       ks->n_endpoints, (unsigned)FW_MAX_ENDPOINTS);
	for (i = 0; i < ks->n_endpoints; i++) {
		const struct fw_endpoint *e = &ks->endpoints[i];

		if (!family_ok(e->family))
			return invalid(err, "endpoints[%u]: family must be "
				       "AF_INET or AF_INET6", i);
		if (addr_zero(e->family, e->addr))
			return invalid(err, "endpoints[%u]: the unspecified "
				       "address is not a server", i);
		if (e->port == 0)
			return invalid(err, "endpoints[%u]: port must be "
				       "1..65535", i);
	}
	if (ks->n_lan > FW_MAX_LAN)
		return invalid(err, "n_lan: %u is more than %u", ks->n_lan,
			       (unsigned)FW_MAX_LAN);
	for (i = 0; i < ks->n_lan; i++) {
		r = prefix_check(&ks->lan[i], "lan", i, true, err);
		if (r)
			return r;
	}
	return 0;
}

static void emit_lan(struct out *o, const struct fw_killswitch *ks,
		     const char *dir)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct prefix_set s;

	if (!ks->allow_lan)
		return;
	for (unsigned f = 0; f < 2; f++) {
		s.n = 0;
		for (unsigned i = 0; i < ks->n_lan; i++)
			if (ks->lan[i].family == families[f])
				set_add(&s, &ks->lan[i]);
		if (!s.n)
			continue;
		emit(o, "\t\t%s %s ", nft_family(families[f]), dir);
		emit_set(o, &s);
		emit(o, " accept\n");
	}
}

/* What the underlay needs to keep its addresses while everything else is
 * shut: DHCPv4 and DHCPv6 (whose client ports are privileged, so they are
 * no way out for an unprivileged program), router and neighbour discovery
 * with hop limit 255 (RFC 4861: it cannot have crossed a router), and MLD
 * reports so that snooping switches keep delivering our solicited-node
 * multicast. */
static void emit_underlay(struct out *o, bool out_dir)
{
	if (out_dir) {
		emit(o, "\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 accept\n"
		     "\t\tip6 saddr fe80::/10 udp sport 546 udp dport 547 accept\n"
		     "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, "
		     "nd-neighbor-advert } ip6 hoplimit 255 accept\n"
		     "\t\ticmpv6 type { mld-listener-report, "
		     "mld2-listener-report } ip6 hoplimit 1 accept\n");
	} else {
		emit(o, "\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept\n"
		     "\t\tip6 saddr fe80::/10 udp sport 547 udp dport 546 accept\n"
		     "\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit, "
		     "nd-neighbor-advert } ip6 hoplimit 255 accept\n"
		     "\t\ticmpv6 type mld-listener-query ip6 hoplimit 1 accept\n");
	}
}

int fw_killswitch_script(const struct fw_killswitch *ks, char *buf,
			 size_t cap, struct fw_error *err)
{
	char table[FW_TABLE_NAME_MAX];
	struct out o;
	unsigned i;
	int r;

	fail_clear(buf, cap);
	if (!ks)
		return invalid(err, "no kill switch given");
	r = killswitch_check(ks, err);
	if (r)
		return r;
	if (begin(&o, buf, cap, ks->ifname, table))
		return invalid(err, "%s", ifname_rule);

	/* Output: the tunnel, the server, loopback, the underlay's own
	 * upkeep, the LAN if allowed. The rest is rejected rather than
	 * dropped, so that programs fail at once instead of hanging in
	 * retransmits while the tunnel is down; the answer goes to the
	 * local sender only (over lo), it never leaves the machine. TCP
	 * gets a reset: an ICMP error that arrives while connect() still
	 * holds the socket is only a soft error, and IPv6 connects would
	 * wait for the first retransmission. */
	emit(&o, "\tchain output {\n"
	     "\t\ttype filter hook output priority filter; policy drop;\n"
	     "\t\toif \"lo\" accept\n"
	     "\t\toifname \"%s\" accept\n", ks->ifname);
	for (i = 0; i < ks->n_endpoints; i++) {
		const struct fw_endpoint *e = &ks->endpoints[i];

		emit(&o, "\t\t%s daddr %s udp dport %u", nft_family(e->family),
		     addr_fmt(e->family, e->addr).s, e->port);
		/* With a mark only the tunnel's own socket gets out, not
		 * any program that happens to talk to the same address. */
		if (ks->fwmark)
			emit(&o, " meta mark 0x%08x", ks->fwmark);
		emit(&o, " accept\n");
	}
	emit_underlay(&o, true);
	emit_lan(&o, ks, "daddr");
	emit(&o, "\t\tmeta l4proto tcp reject with tcp reset\n"
	     "\t\treject with icmpx admin-prohibited\n"
	     "\t}\n\n");

	/* Input: the same peers. The server's datagrams are accepted by
	 * address as well as by conntrack state, so a flow whose entry
	 * timed out while idle is not cut off. */
	emit(&o, "\tchain input {\n"
	     "\t\ttype filter hook input priority filter; policy drop;\n"
	     "\t\tiif \"lo\" accept\n"
	     "\t\tiifname \"%s\" accept\n"
	     "\t\tct state established,related accept\n", ks->ifname);
	for (i = 0; i < ks->n_endpoints; i++) {
		const struct fw_endpoint *e = &ks->endpoints[i];

		emit(&o, "\t\t%s saddr %s udp sport %u accept\n",
		     nft_family(e->family), addr_fmt(e->family, e->addr).s,
		     e->port);
	}
	emit_underlay(&o, false);
	emit_lan(&o, ks, "saddr");
	emit(&o, "\t}\n\n");

	/* A client is not a router: whatever it would forward could leave
	 * outside the tunnel, so nothing is forwarded while the switch is
	 * on. */
	emit(&o, "\tchain forward {\n"
	     "\t\ttype filter hook forward priority filter; policy drop;\n"
	     "\t}\n");
	return finish(&o);
}

/* -------------------------------------------------------------- server */

struct builtin_prefix {
	int family;
	const char *addr;
	uint8_t len;
};

/* What --secure keeps clients out of: this-network, private, CGNAT,
 * loopback, link-local, multicast and reserved IPv4; unspecified,
 * loopback, IPv4-mapped, local-use NAT64, ULA, link-local, site-local and
 * multicast IPv6. The NAT64 form (64:ff9b::/96) of each IPv4 range is
 * added too, so a NAT64 gateway on the server's network is no way round. */
static const struct builtin_prefix secure_deny[] = {
	{ AF_INET, "0.0.0.0", 8 },
	{ AF_INET, "10.0.0.0", 8 },
	{ AF_INET, "100.64.0.0", 10 },
	{ AF_INET, "127.0.0.0", 8 },
	{ AF_INET, "169.254.0.0", 16 },
	{ AF_INET, "172.16.0.0", 12 },
	{ AF_INET, "192.168.0.0", 16 },
	{ AF_INET, "224.0.0.0", 4 },
	{ AF_INET, "240.0.0.0", 4 },
	{ AF_INET6, "::", 128 },
	{ AF_INET6, "::1", 128 },
	{ AF_INET6, "::ffff:0:0", 96 },
	{ AF_INET6, "64:ff9b:1::", 48 },
	{ AF_INET6, "fc00::", 7 },
	{ AF_INET6, "fe80::", 10 },
	{ AF_INET6, "fec0::", 10 },
	{ AF_INET6, "ff00::", 8 },
};

_Static_assert(2 * sizeof(secure_deny) / sizeof(secure_deny[0]) +
	       2 * FW_MAX_LAN <= DENY_SET_MAX,
	       "a deny set holds every built-in and caller prefix");

/* 64:ff9b::/96, RFC 6052's well-known NAT64 prefix. */
static const uint8_t nat64_wkp[12] = { 0x00, 0x64, 0xff, 0x9b };

/* IPv4 ranges, then IPv6 ones, then the NAT64 form of each IPv4 range
 * that is left once nested ones are gone. */
static void deny_sets(const struct fw_server *srv, struct prefix_set *v4,
		      struct prefix_set *v6)
{
	const unsigned n_builtin = sizeof(secure_deny) / sizeof(secure_deny[0]);
	unsigned i;

	v4->n = v6->n = 0;
	for (i = 0; i < n_builtin; i++) {
		struct fw_prefix p = { .family = secure_deny[i].family,
				       .len = secure_deny[i].len };

		if (inet_pton(p.family, secure_deny[i].addr, p.addr) == 1)
			set_add(p.family == AF_INET ? v4 : v6, &p);
	}
	for (i = 0; i < srv->n_deny; i++)
		set_add(srv->deny[i].family == AF_INET ? v4 : v6, &srv->deny[i]);
	for (i = 0; i < v4->n; i++) {
		struct fw_prefix n = { .family = AF_INET6,
				       .len = (uint8_t)(96 + v4->p[i].len) };

		memcpy(n.addr, nat64_wkp, sizeof(nat64_wkp));
		memcpy(n.addr + 12, v4->p[i].addr, 4);
		set_add(v6, &n);
	}
}

static int addr_check(const struct fw_addr *a, int family, const char *name,
		      struct fw_error *err)
{
	if (a->family == 0)
		return 0;
	if (a->family != family)
		return invalid(err, "%s: family must be %s or unset (0)", name,
			       family == AF_INET ? "AF_INET" : "AF_INET6");
	if (addr_zero(family, a->addr))
		return invalid(err, "%s: the unspecified address is not the "
			       "server's", name);
	return 0;
}

static int pool_check(const struct fw_prefix *p, int family,
		      const char *name, struct fw_error *err)
{
	if (p->family == 0)
		return 0;
	if (p->family != family)
		return invalid(err, "%s: family must be %s or unset (0)", name,
			       family == AF_INET ? "AF_INET" : "AF_INET6");
	return prefix_check(p, name, 0, false, err);
}

static int server_check(const struct fw_server *srv, struct fw_error *err)
{
	unsigned i;
	int r;

	if (!fw_ifname_valid(srv->ifname))
		return invalid(err, "%s", ifname_rule);
	if ((r = pool_check(&srv->pool4, AF_INET, "pool4", err)) ||
	    (r = pool_check(&srv->pool6, AF_INET6, "pool6", err)))
		return r;
	if (!srv->pool4.family && !srv->pool6.family)
		return invalid(err, "pool4, pool6: both unset; the server needs "
			       "at least one client address pool");
	if ((r = addr_check(&srv->tun4, AF_INET, "tun4", err)) ||
	    (r = addr_check(&srv->tun6, AF_INET6, "tun6", err)))
		return r;
	if (srv->secure && srv->offer_dns && !srv->tun4.family &&
	    !srv->tun6.family)
		return invalid(err, "offer_dns: needs tun4 or tun6, the "
			       "addresses clients ask for DNS");
	if (srv->n_deny > FW_MAX_LAN)
		return invalid(err, "n_deny: %u is more than %u", srv->n_deny,
			       (unsigned)FW_MAX_LAN);
	for (i = 0; i < srv->n_deny; i++) {
		r = prefix_check(&srv->deny[i], "deny", i, true, err);
		if (r)
			return r;
	}
	return 0;
}

static void emit_masquerade(struct out *o, const struct fw_server *srv,
			    const struct fw_prefix *pool)
{
	struct fw_prefix p = *pool;

	if (!p.family)
		return;
	prefix_mask(&p);
	emit(o, "\t\toifname != \"%s\" %s saddr %s/%u masquerade\n",
	     srv->ifname, nft_family(p.family), addr_fmt(p.family, p.addr).s,
	     p.len);
}

static void emit_to_self(struct out *o, const struct fw_addr *a,
			 bool offer_dns)
{
	const char *fam;
	struct addr_str s;

	if (!a->family)
		return;
	fam = nft_family(a->family);
	s = addr_fmt(a->family, a->addr);
	emit(o, "\t\t%s daddr %s %s type echo-request accept\n", fam, s.s,
	     a->family == AF_INET ? "icmp" : "icmpv6");
	if (offer_dns)
		emit(o, "\t\t%s daddr %s meta l4proto { tcp, udp } th dport 53 "
		     "accept\n", fam, s.s);
}

int fw_server_script(const struct fw_server *srv, char *buf, size_t cap,
		     struct fw_error *err)
{
	char table[FW_TABLE_NAME_MAX];
	const char *tun;
	struct out o;
	int r;

	fail_clear(buf, cap);
	if (!srv)
		return invalid(err, "no server given");
	r = server_check(srv, err);
	if (r)
		return r;
	if (begin(&o, buf, cap, srv->ifname, table))
		return invalid(err, "%s", ifname_rule);
	tun = srv->ifname;

	/* Clients leave with the server's address, wherever they go but
	 * back into the tunnel. */
	emit(&o, "\tchain postrouting {\n"
	     "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	emit_masquerade(&o, srv, &srv->pool4);
	emit_masquerade(&o, srv, &srv->pool6);
	emit(&o, "\t}\n\n");

	/* Forward: the policy stays accept because forwarding that does
	 * not touch the tunnel (containers, other routing on this host) is
	 * not ours to judge; every rule names the tunnel. MSS clamping
	 * comes first, as the accepts below end the chain, on SYNs out of
	 * the tunnel and on SYN-ACKs into it: rt mtu is the smaller MTU of
	 * the routes to the destination and back to the source, less the
	 * headers, and the kernel only ever lowers the option. */
	emit(&o, "\tchain forward {\n"
	     "\t\ttype filter hook forward priority filter; policy accept;\n"
	     "\t\tiifname \"%s\" tcp flags syn tcp option maxseg size set rt mtu\n"
	     "\t\toifname \"%s\" tcp flags syn tcp option maxseg size set rt mtu\n"
	     "\t\tiifname \"%s\" oifname \"%s\" %s\n"
	     "\t\toifname \"%s\" ct state established,related accept\n"
	     "\t\toifname \"%s\" drop\n",
	     tun, tun, tun, tun, srv->isolate_clients ? "drop" : "accept",
	     tun, tun);
	if (srv->secure) {
		struct prefix_set v4, v6;

		deny_sets(srv, &v4, &v6);
		emit(&o, "\t\tiifname \"%s\" ip daddr ", tun);
		emit_set(&o, &v4);
		emit(&o, " drop\n\t\tiifname \"%s\" ip6 daddr ", tun);
		emit_set(&o, &v6);
		emit(&o, " drop\n");
	}
	emit(&o, "\t\tiifname \"%s\" accept\n"
	     "\t}\n", tun);

	if (srv->secure) {
		/* The host's own services are off limits from the tunnel,
		 * whichever of its addresses a client aims at; only ping and
		 * DNS on its tunnel addresses stay. Neighbour discovery is
		 * harmless (hop limit 255 never crossed a router) and lets
		 * the rules work on a link-layer tunnel too. */
		emit(&o, "\n\tchain input {\n"
		     "\t\ttype filter hook input priority filter; policy accept;\n"
		     "\t\tiifname \"%s\" jump from_tunnel\n"
		     "\t}\n\n"
		     "\tchain from_tunnel {\n"
		     "\t\tct state established,related accept\n"
		     "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, "
		     "nd-router-solicit } ip6 hoplimit 255 accept\n", tun);
		emit_to_self(&o, &srv->tun4, srv->offer_dns);
		emit_to_self(&o, &srv->tun6, srv->offer_dns);
		emit(&o, "\t\tdrop\n"
		     "\t}\n");
	}
	return finish(&o);
}
