/* test_fw_rules.c - the nftables scripts: exact text for small fixed
 * inputs, every validation error, the bounded buffer, and nft itself
 * checking what the builders make (in a network namespace of the test's
 * own: as root directly, otherwise inside a user namespace; skipped when
 * neither is allowed). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "os/linux/firewall.h"
#include "os/linux/fw_rules.h"

static char script[FW_SCRIPT_MAX];

static void addr(int family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, s, out), 1);
}

static struct fw_endpoint ep(int family, const char *a, uint16_t port)
{
	struct fw_endpoint e = { .family = family, .port = port };

	addr(family, a, e.addr);
	return e;
}

static struct fw_prefix pfx(int family, const char *a, uint8_t len)
{
	struct fw_prefix p = { .family = family, .len = len };

	addr(family, a, p.addr);
	return p;
}

static struct fw_addr fwa(int family, const char *a)
{
	struct fw_addr r = { .family = family };

	addr(family, a, r.addr);
	return r;
}

static void assert_script(int r, const char *want)
{
	if (r < 0)
		fail_msg("builder failed: %d", r);
	if (strcmp(script, want)) {
		fprintf(stderr, "---- got\n%s---- want\n%s----\n", script, want);
		fail();
	}
	assert_int_equal(r, (int)strlen(want));
}

/* ------------------------------------------------------------- fixtures */

static struct fw_killswitch ks_small(void)
{
	struct fw_killswitch ks = { .ifname = "wg0", .n_endpoints = 1 };

	ks.endpoints[0] = ep(AF_INET, "192.0.2.1", 51820);
	return ks;
}

/* Two families, a mark, LAN prefixes with host bits set and one inside
 * another. */
static struct fw_killswitch ks_full(void)
{
	struct fw_killswitch ks = { .ifname = "tun.vpn-1", .n_endpoints = 2,
				    .fwmark = 0xca6c, .allow_lan = true,
				    .n_lan = 5 };

	ks.endpoints[0] = ep(AF_INET, "192.0.2.1", 51820);
	ks.endpoints[1] = ep(AF_INET6, "2001:db8::7", 443);
	ks.lan[0] = pfx(AF_INET, "192.168.1.77", 24);
	ks.lan[1] = pfx(AF_INET, "192.168.0.0", 16);
	ks.lan[2] = pfx(AF_INET, "10.1.2.3", 32);
	ks.lan[3] = pfx(AF_INET6, "fe80::1", 10);
	ks.lan[4] = pfx(AF_INET6, "fd12:3456::1", 48);
	return ks;
}

static struct fw_server srv_small(void)
{
	struct fw_server srv = { .ifname = "wg0" };

	srv.pool4 = pfx(AF_INET, "10.8.0.0", 24);
	return srv;
}

static struct fw_server srv_full(void)
{
	struct fw_server srv = { .ifname = "wg0", .secure = true,
				 .offer_dns = true, .isolate_clients = true,
				 .n_deny = 3 };

	srv.pool4 = pfx(AF_INET, "10.8.0.1", 24);
	srv.pool6 = pfx(AF_INET6, "fd00:8::1", 64);
	srv.tun4 = fwa(AF_INET, "10.8.0.1");
	srv.tun6 = fwa(AF_INET6, "fd00:8::1");
	srv.deny[0] = pfx(AF_INET, "192.168.1.0", 24);	/* inside 192.168/16 */
	srv.deny[1] = pfx(AF_INET6, "2001:db8:1::", 64);
	srv.deny[2] = pfx(AF_INET, "203.0.113.0", 24);
	return srv;
}

/* --------------------------------------------------------------- golden */

#define KS_UNDERLAY_OUT \
	"\t\tmeta nfproto ipv4 udp sport 68 udp dport 67 accept\n" \
	"\t\tip6 saddr fe80::/10 udp sport 546 udp dport 547 accept\n" \
	"\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, " \
	"nd-neighbor-advert } ip6 hoplimit 255 accept\n" \
	"\t\ticmpv6 type { mld-listener-report, mld2-listener-report } " \
	"ip6 hoplimit 1 accept\n"
#define KS_UNDERLAY_IN \
	"\t\tmeta nfproto ipv4 udp sport 67 udp dport 68 accept\n" \
	"\t\tip6 saddr fe80::/10 udp sport 547 udp dport 546 accept\n" \
	"\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit, " \
	"nd-neighbor-advert } ip6 hoplimit 255 accept\n" \
	"\t\ticmpv6 type mld-listener-query ip6 hoplimit 1 accept\n"
#define KS_FORWARD \
	"\tchain forward {\n" \
	"\t\ttype filter hook forward priority filter; policy drop;\n" \
	"\t}\n"

static void test_killswitch_small(void **state)
{
	struct fw_killswitch ks = ks_small();

	(void)state;
	assert_script(fw_killswitch_script(&ks, script, sizeof(script), NULL),
		"table inet weft_wg0\n"
		"delete table inet weft_wg0\n"
		"table inet weft_wg0 {\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy drop;\n"
		"\t\toif \"lo\" accept\n"
		"\t\toifname \"wg0\" accept\n"
		"\t\tip daddr 192.0.2.1 udp dport 51820 accept\n"
		KS_UNDERLAY_OUT
		"\t\tmeta l4proto tcp reject with tcp reset\n"
		"\t\treject with icmpx admin-prohibited\n"
		"\t}\n"
		"\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tiif \"lo\" accept\n"
		"\t\tiifname \"wg0\" accept\n"
		"\t\tct state established,related accept\n"
		"\t\tip saddr 192.0.2.1 udp sport 51820 accept\n"
		KS_UNDERLAY_IN
		"\t}\n"
		"\n"
		KS_FORWARD
		"}\n");
}

static void test_killswitch_full(void **state)
{
	struct fw_killswitch ks = ks_full();

	(void)state;
	assert_script(fw_killswitch_script(&ks, script, sizeof(script), NULL),
		"table inet weft_tun_vpn_1\n"
		"delete table inet weft_tun_vpn_1\n"
		"table inet weft_tun_vpn_1 {\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy drop;\n"
		"\t\toif \"lo\" accept\n"
		"\t\toifname \"tun.vpn-1\" accept\n"
		"\t\tip daddr 192.0.2.1 udp dport 51820 meta mark 0x0000ca6c accept\n"
		"\t\tip6 daddr 2001:db8::7 udp dport 443 meta mark 0x0000ca6c accept\n"
		KS_UNDERLAY_OUT
		"\t\tip daddr { 192.168.0.0/16, 10.1.2.3/32 } accept\n"
		"\t\tip6 daddr { fe80::/10, fd12:3456::/48 } accept\n"
		"\t\tmeta l4proto tcp reject with tcp reset\n"
		"\t\treject with icmpx admin-prohibited\n"
		"\t}\n"
		"\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tiif \"lo\" accept\n"
		"\t\tiifname \"tun.vpn-1\" accept\n"
		"\t\tct state established,related accept\n"
		"\t\tip saddr 192.0.2.1 udp sport 51820 accept\n"
		"\t\tip6 saddr 2001:db8::7 udp sport 443 accept\n"
		KS_UNDERLAY_IN
		"\t\tip saddr { 192.168.0.0/16, 10.1.2.3/32 } accept\n"
		"\t\tip6 saddr { fe80::/10, fd12:3456::/48 } accept\n"
		"\t}\n"
		"\n"
		KS_FORWARD
		"}\n");
}

/* No endpoints, LAN listed but not allowed: tunnel and loopback only. */
static void test_killswitch_lockdown(void **state)
{
	struct fw_killswitch ks = ks_full();

	(void)state;
	ks.n_endpoints = 0;
	ks.allow_lan = false;
	ks.fwmark = 0;
	assert_true(fw_killswitch_script(&ks, script, sizeof(script), NULL) > 0);
	assert_null(strstr(script, "daddr 192.168"));
	assert_null(strstr(script, "saddr 192.168"));
	assert_null(strstr(script, "udp dport 51820"));
	assert_null(strstr(script, "mark"));
	assert_non_null(strstr(script, "\t\toifname \"tun.vpn-1\" accept\n"
				       KS_UNDERLAY_OUT
				       "\t\tmeta l4proto tcp reject with tcp reset\n"
				       "\t\treject with icmpx admin-prohibited\n"));
}

#define SRV_HEAD(pools) \
	"table inet weft_wg0\n" \
	"delete table inet weft_wg0\n" \
	"table inet weft_wg0 {\n" \
	"\tchain postrouting {\n" \
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n" \
	pools \
	"\t}\n" \
	"\n" \
	"\tchain forward {\n" \
	"\t\ttype filter hook forward priority filter; policy accept;\n" \
	"\t\tiifname \"wg0\" tcp flags syn tcp option maxseg size set rt mtu\n" \
	"\t\toifname \"wg0\" tcp flags syn tcp option maxseg size set rt mtu\n"

static void test_server_small(void **state)
{
	struct fw_server srv = srv_small();

	(void)state;
	assert_script(fw_server_script(&srv, script, sizeof(script), NULL),
		SRV_HEAD("\t\toifname != \"wg0\" ip saddr 10.8.0.0/24 masquerade\n")
		"\t\tiifname \"wg0\" oifname \"wg0\" accept\n"
		"\t\toifname \"wg0\" ct state established,related accept\n"
		"\t\toifname \"wg0\" drop\n"
		"\t\tiifname \"wg0\" accept\n"
		"\t}\n"
		"}\n");
}

#define DENY6_BUILTIN \
	"::/128, ::1/128, ::ffff:0.0.0.0/96, 64:ff9b:1::/48, fc00::/7, " \
	"fe80::/10, fec0::/10, ff00::/8, "
#define DENY6_NAT64 \
	"64:ff9b::/104, 64:ff9b::a00:0/104, 64:ff9b::6440:0/106, " \
	"64:ff9b::7f00:0/104, 64:ff9b::a9fe:0/112, 64:ff9b::ac10:0/108, " \
	"64:ff9b::c0a8:0/112, 64:ff9b::e000:0/100, 64:ff9b::f000:0/100"
#define DENY4_BUILTIN \
	"0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, " \
	"169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, " \
	"240.0.0.0/4"

static void test_server_full(void **state)
{
	struct fw_server srv = srv_full();

	(void)state;
	assert_script(fw_server_script(&srv, script, sizeof(script), NULL),
		SRV_HEAD("\t\toifname != \"wg0\" ip saddr 10.8.0.0/24 masquerade\n"
			 "\t\toifname != \"wg0\" ip6 saddr fd00:8::/64 masquerade\n")
		"\t\tiifname \"wg0\" oifname \"wg0\" drop\n"
		"\t\toifname \"wg0\" ct state established,related accept\n"
		"\t\toifname \"wg0\" drop\n"
		"\t\tiifname \"wg0\" ip daddr { " DENY4_BUILTIN
		", 203.0.113.0/24 } drop\n"
		"\t\tiifname \"wg0\" ip6 daddr { " DENY6_BUILTIN
		"2001:db8:1::/64, " DENY6_NAT64 ", 64:ff9b::cb00:7100/120 } drop\n"
		"\t\tiifname \"wg0\" accept\n"
		"\t}\n"
		"\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy accept;\n"
		"\t\tiifname \"wg0\" jump from_tunnel\n"
		"\t}\n"
		"\n"
		"\tchain from_tunnel {\n"
		"\t\tct state established,related accept\n"
		"\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, "
		"nd-router-solicit } ip6 hoplimit 255 accept\n"
		"\t\tip daddr 10.8.0.1 icmp type echo-request accept\n"
		"\t\tip daddr 10.8.0.1 meta l4proto { tcp, udp } th dport 53 accept\n"
		"\t\tip6 daddr fd00:8::1 icmpv6 type echo-request accept\n"
		"\t\tip6 daddr fd00:8::1 meta l4proto { tcp, udp } th dport 53 accept\n"
		"\t\tdrop\n"
		"\t}\n"
		"}\n");
}

/* IPv6 only, secure without DNS: ping on the one tunnel address only. */
static void test_server_v6_secure(void **state)
{
	struct fw_server srv = { .ifname = "wg0", .secure = true };

	(void)state;
	srv.pool6 = pfx(AF_INET6, "fd00:8::", 64);
	srv.tun6 = fwa(AF_INET6, "fd00:8::1");
	assert_true(fw_server_script(&srv, script, sizeof(script), NULL) > 0);
	assert_null(strstr(script, "ip saddr"));
	assert_null(strstr(script, "dport 53"));
	assert_null(strstr(script, "ip daddr 10.8"));
	assert_non_null(strstr(script,
		"\t\tiifname \"wg0\" ip daddr { " DENY4_BUILTIN " } drop\n"
		"\t\tiifname \"wg0\" ip6 daddr { " DENY6_BUILTIN DENY6_NAT64
		" } drop\n"));
	assert_non_null(strstr(script,
		"nd-router-solicit } ip6 hoplimit 255 accept\n"
		"\t\tip6 daddr fd00:8::1 icmpv6 type echo-request accept\n"
		"\t\tdrop\n"));
	/* Without secure nothing restricts the host's input. */
	srv.secure = false;
	assert_true(fw_server_script(&srv, script, sizeof(script), NULL) > 0);
	assert_null(strstr(script, "chain input"));
	assert_null(strstr(script, "daddr {"));
}

/* A caller prefix that holds built-in ones replaces them, once. */
static void test_server_deny_nesting(void **state)
{
	struct fw_server srv = srv_small();

	(void)state;
	srv.secure = true;
	srv.n_deny = 3;
	srv.deny[0] = pfx(AF_INET, "0.0.0.0", 1);	/* 0/8 .. 127/8 */
	srv.deny[1] = pfx(AF_INET, "0.0.0.0", 1);
	srv.deny[2] = pfx(AF_INET6, "fc00::", 6);	/* fc00::/7 .. ff00::/8 */
	assert_true(fw_server_script(&srv, script, sizeof(script), NULL) > 0);
	assert_non_null(strstr(script, "ip daddr { 169.254.0.0/16, "
				       "172.16.0.0/12, 192.168.0.0/16, "
				       "224.0.0.0/4, 240.0.0.0/4, 0.0.0.0/1 }"
				       " drop\n"));
	assert_non_null(strstr(script, "ip6 daddr { ::/128, ::1/128, "
				       "::ffff:0.0.0.0/96, 64:ff9b:1::/48, "
				       "fc00::/6, 64:ff9b::a9fe:0/112, "
				       "64:ff9b::ac10:0/108, 64:ff9b::c0a8:0/112, "
				       "64:ff9b::e000:0/100, 64:ff9b::f000:0/100, "
				       "64:ff9b::/97 } drop\n"));
}

/* ------------------------------------------------------------ table name */

static void test_table_name(void **state)
{
	static const struct {
		const char *ifname, *table;
	} ok[] = {
		{ "wg0", "weft_wg0" },
		{ "a-b.c_d", "weft_a_b_c_d" },
		{ "x", "weft_x" },
		{ "...", "weft____" },
		{ "0123456789abcde", "weft_0123456789abcde" },
	};
	static const char *const bad[] = {
		"", ".", "..", "0123456789abcdef", "wg 0", "wg\"0", "wg0\n",
		"wg*", "wg/0", "wg:0", "wg{0}", "wg;0", "wg#", "wg\\0", "w\xc3\xa9",
		"wg0\"; flush ruleset; \"",
	};
	char out[FW_TABLE_NAME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_true(fw_ifname_valid(ok[i].ifname));
		assert_int_equal(fw_table_name(ok[i].ifname, out, sizeof(out)),
				 (int)strlen(ok[i].table));
		assert_string_equal(out, ok[i].table);
		/* one byte short */
		assert_int_equal(fw_table_name(ok[i].ifname, out,
					       strlen(ok[i].table)), -ENOSPC);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fw_ifname_valid(bad[i]))
			fail_msg("accepted ifname \"%s\"", bad[i]);
		assert_int_equal(fw_table_name(bad[i], out, sizeof(out)), -EINVAL);
	}
	assert_false(fw_ifname_valid(NULL));
	assert_int_equal(fw_table_name(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(fw_table_name("wg0", NULL, 0), -ENOSPC);
}

/* ------------------------------------------------------------ validation */

struct ks_case {
	const char *field;
	void (*spoil)(struct fw_killswitch *);
};

static void ks_name_empty(struct fw_killswitch *k) { k->ifname[0] = '\0'; }
static void ks_name_quote(struct fw_killswitch *k) { strcpy(k->ifname, "wg\"0"); }
static void ks_name_space(struct fw_killswitch *k) { strcpy(k->ifname, "wg 0"); }
static void ks_name_dot(struct fw_killswitch *k) { strcpy(k->ifname, ".."); }
static void ks_name_unterminated(struct fw_killswitch *k)
{
	memset(k->ifname, 'a', sizeof(k->ifname));
}
static void ks_many_endpoints(struct fw_killswitch *k)
{
	k->n_endpoints = FW_MAX_ENDPOINTS + 1;
}
static void ks_ep_family(struct fw_killswitch *k) { k->endpoints[1].family = AF_UNIX; }
static void ks_ep_unset(struct fw_killswitch *k) { k->endpoints[0].family = 0; }
static void ks_ep_port(struct fw_killswitch *k) { k->endpoints[1].port = 0; }
static void ks_ep_zero4(struct fw_killswitch *k)
{
	memset(k->endpoints[0].addr, 0, 16);
}
static void ks_ep_zero6(struct fw_killswitch *k)
{
	memset(k->endpoints[1].addr, 0, 16);
}
static void ks_many_lan(struct fw_killswitch *k) { k->n_lan = FW_MAX_LAN + 1; }
static void ks_lan_family(struct fw_killswitch *k) { k->lan[2].family = 0; }
static void ks_lan_len0(struct fw_killswitch *k) { k->lan[0].len = 0; }
static void ks_lan_len33(struct fw_killswitch *k) { k->lan[2].len = 33; }
static void ks_lan_len129(struct fw_killswitch *k) { k->lan[4].len = 129; }
/* Entries are checked also while allow_lan is off. */
static void ks_lan_off_bad(struct fw_killswitch *k)
{
	k->allow_lan = false;
	k->lan[1].len = 40;
}

static const struct ks_case ks_cases[] = {
	{ "ifname", ks_name_empty },
	{ "ifname", ks_name_quote },
	{ "ifname", ks_name_space },
	{ "ifname", ks_name_dot },
	{ "ifname", ks_name_unterminated },
	{ "n_endpoints: 9", ks_many_endpoints },
	{ "endpoints[1]: family", ks_ep_family },
	{ "endpoints[0]: family", ks_ep_unset },
	{ "endpoints[1]: port", ks_ep_port },
	{ "endpoints[0]: the unspecified", ks_ep_zero4 },
	{ "endpoints[1]: the unspecified", ks_ep_zero6 },
	{ "n_lan: 17", ks_many_lan },
	{ "lan[2]: family", ks_lan_family },
	{ "lan[0]: prefix length 0 is outside 1..32", ks_lan_len0 },
	{ "lan[2]: prefix length 33 is outside 1..32", ks_lan_len33 },
	{ "lan[4]: prefix length 129 is outside 1..128", ks_lan_len129 },
	{ "lan[1]: prefix length 40", ks_lan_off_bad },
};

struct srv_case {
	const char *field;
	void (*spoil)(struct fw_server *);
};

static void srv_name(struct fw_server *s) { strcpy(s->ifname, "wg0}"); }
static void srv_no_pool(struct fw_server *s)
{
	s->pool4.family = 0;
	s->pool6.family = 0;
}
static void srv_pool4_v6(struct fw_server *s) { s->pool4.family = AF_INET6; }
static void srv_pool6_v4(struct fw_server *s) { s->pool6.family = AF_INET; }
static void srv_pool4_len(struct fw_server *s) { s->pool4.len = 0; }
static void srv_pool6_len(struct fw_server *s) { s->pool6.len = 200; }
static void srv_tun4_family(struct fw_server *s) { s->tun4.family = AF_INET6; }
static void srv_tun6_zero(struct fw_server *s) { memset(s->tun6.addr, 0, 16); }
static void srv_dns_nowhere(struct fw_server *s)
{
	s->tun4.family = 0;
	s->tun6.family = 0;
}
static void srv_many_deny(struct fw_server *s) { s->n_deny = FW_MAX_LAN + 1; }
static void srv_deny_family(struct fw_server *s) { s->deny[1].family = 99; }
static void srv_deny_len(struct fw_server *s) { s->deny[2].len = 33; }

static const struct srv_case srv_cases[] = {
	{ "ifname", srv_name },
	{ "pool4, pool6: both unset", srv_no_pool },
	{ "pool4: family must be AF_INET or unset", srv_pool4_v6 },
	{ "pool6: family must be AF_INET6 or unset", srv_pool6_v4 },
	{ "pool4: prefix length 0", srv_pool4_len },
	{ "pool6: prefix length 200 is outside 1..128", srv_pool6_len },
	{ "tun4: family", srv_tun4_family },
	{ "tun6: the unspecified", srv_tun6_zero },
	{ "offer_dns: needs tun4 or tun6", srv_dns_nowhere },
	{ "n_deny: 17", srv_many_deny },
	{ "deny[1]: family", srv_deny_family },
	{ "deny[2]: prefix length 33", srv_deny_len },
};

static void expect_invalid(int r, const struct fw_error *err,
			   const char *field)
{
	if (r != -EINVAL)
		fail_msg("\"%s\": got %d, want -EINVAL", field, r);
	assert_string_equal(script, "");
	if (strncmp(err->msg, field, strlen(field)))
		fail_msg("want \"%s...\", got \"%s\"", field, err->msg);
	assert_null(strchr(err->msg, '\n'));
}

static void test_validation(void **state)
{
	struct fw_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ks_cases) / sizeof(ks_cases[0]); i++) {
		struct fw_killswitch ks = ks_full();

		ks_cases[i].spoil(&ks);
		memset(&err, 0, sizeof(err));
		strcpy(script, "stale");
		expect_invalid(fw_killswitch_script(&ks, script, sizeof(script),
						    &err),
			       &err, ks_cases[i].field);
		/* err is optional */
		assert_int_equal(fw_killswitch_script(&ks, script,
						      sizeof(script), NULL),
				 -EINVAL);
	}
	for (i = 0; i < sizeof(srv_cases) / sizeof(srv_cases[0]); i++) {
		struct fw_server srv = srv_full();

		srv_cases[i].spoil(&srv);
		memset(&err, 0, sizeof(err));
		strcpy(script, "stale");
		expect_invalid(fw_server_script(&srv, script, sizeof(script),
						&err),
			       &err, srv_cases[i].field);
	}
	strcpy(script, "stale");
	expect_invalid(fw_killswitch_script(NULL, script, sizeof(script), &err),
		       &err, "no kill switch");
	strcpy(script, "stale");
	expect_invalid(fw_server_script(NULL, script, sizeof(script), &err),
		       &err, "no server");
}

/* What is valid though unusual. */
static void test_valid_edges(void **state)
{
	struct fw_server srv = srv_full();
	struct fw_killswitch ks = ks_full();

	(void)state;
	/* DNS offered but not secure: nothing to open. */
	srv.secure = false;
	srv.tun4.family = srv.tun6.family = 0;
	assert_true(fw_server_script(&srv, script, sizeof(script), NULL) > 0);
	/* Pool prefixes of full length, ports at the top. */
	srv = srv_full();
	srv.pool4.len = 32;
	srv.pool6.len = 128;
	assert_true(fw_server_script(&srv, script, sizeof(script), NULL) > 0);
	assert_non_null(strstr(script, "ip saddr 10.8.0.1/32 masquerade"));
	assert_non_null(strstr(script, "ip6 saddr fd00:8::1/128 masquerade"));
	ks.endpoints[0].port = 65535;
	ks.fwmark = 0xffffffff;
	assert_true(fw_killswitch_script(&ks, script, sizeof(script), NULL) > 0);
	assert_non_null(strstr(script, "udp dport 65535 meta mark 0xffffffff"));
}

/* -------------------------------------------------------------- buffers */

static void check_all_caps(const char *what, int (*build)(const void *,
		char *, size_t), const void *arg)
{
	static char small[FW_SCRIPT_MAX];
	int full = build(arg, script, sizeof(script));
	size_t cap;

	assert_true(full > 0);
	for (cap = 0; cap <= (size_t)full; cap++) {
		int r;

		memset(small, 'x', sizeof(small));
		r = build(arg, small, cap);
		if (r != -ENOSPC)
			fail_msg("%s: cap %zu of %d: got %d", what, cap, full, r);
		if (cap)
			assert_int_equal(small[0], '\0');
		/* Nothing written past the buffer. */
		assert_int_equal(small[cap], 'x');
	}
	assert_int_equal(build(arg, small, (size_t)full + 1), full);
	assert_string_equal(small, script);
}

static int build_ks(const void *arg, char *buf, size_t cap)
{
	return fw_killswitch_script(arg, buf, cap, NULL);
}

static int build_srv(const void *arg, char *buf, size_t cap)
{
	return fw_server_script(arg, buf, cap, NULL);
}

static void test_buffer_too_small(void **state)
{
	struct fw_killswitch ks = ks_full();
	struct fw_server srv = srv_full();

	(void)state;
	check_all_caps("kill switch", build_ks, &ks);
	check_all_caps("server", build_srv, &srv);
	assert_int_equal(fw_killswitch_script(&ks, NULL, 0, NULL), -ENOSPC);
}

/* The largest inputs fit FW_SCRIPT_MAX. */
static struct fw_killswitch ks_largest(void)
{
	struct fw_killswitch ks = { .ifname = "abcdefghijklmno",
				    .n_endpoints = FW_MAX_ENDPOINTS,
				    .allow_lan = true, .n_lan = FW_MAX_LAN,
				    .fwmark = 0xffffffff };
	unsigned i;

	for (i = 0; i < FW_MAX_ENDPOINTS; i++) {
		ks.endpoints[i] = ep(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:"
				     "ffff:fff0", 65535);
		ks.endpoints[i].addr[15] = (uint8_t)i;
	}
	for (i = 0; i < FW_MAX_LAN; i++) {
		ks.lan[i] = pfx(i % 2 ? AF_INET : AF_INET6,
				i % 2 ? "255.255.255.0" : "ffff:ffff:ffff:ffff:"
				"ffff:ffff:ffff:ff00", i % 2 ? 32 : 128);
		ks.lan[i].addr[i % 2 ? 3 : 15] = (uint8_t)i;
	}
	return ks;
}

static struct fw_server srv_largest(void)
{
	struct fw_server srv = srv_full();
	unsigned i;

	strcpy(srv.ifname, "abcdefghijklmno");
	srv.n_deny = FW_MAX_LAN;
	for (i = 0; i < FW_MAX_LAN; i++) {
		srv.deny[i] = pfx(i % 2 ? AF_INET : AF_INET6,
				  i % 2 ? "203.0.113.0" : "2001:db8:ffff:ffff:"
				  "ffff:ffff:ffff:ff00", i % 2 ? 32 : 128);
		srv.deny[i].addr[i % 2 ? 3 : 15] = (uint8_t)i;
	}
	return srv;
}

static void test_largest_fits(void **state)
{
	struct fw_killswitch ks = ks_largest();
	struct fw_server srv = srv_largest();
	int r;

	(void)state;
	r = fw_killswitch_script(&ks, script, sizeof(script), NULL);
	assert_true(r > 0 && r < FW_SCRIPT_MAX / 2);
	r = fw_server_script(&srv, script, sizeof(script), NULL);
	assert_true(r > 0 && r < FW_SCRIPT_MAX / 2);
	/* every deny prefix made it */
	assert_non_null(strstr(script, "203.0.113.15/32"));
	assert_non_null(strstr(script, "64:ff9b::cb00:710f/128"));
	assert_non_null(strstr(script, "2001:db8:ffff:ffff:ffff:ffff:ffff:ff0e/128"));
}

/* ------------------------------------------------------------------ nft */

/* A network namespace of our own, so nothing here can touch the host's
 * firewall: as root a plain one, otherwise one owned by a new user
 * namespace where we hold CAP_NET_ADMIN. */
static bool private_netns(void)
{
	static int state;	/* 0 untried, 1 yes, -1 no */

	if (state == 0) {
		if (geteuid() == 0)
			state = unshare(CLONE_NEWNET) == 0 ? 1 : -1;
		else
			state = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 1 : -1;
	}
	return state == 1;
}

static int nft_check(const char *text, char *errbuf, size_t cap)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int r;

	assert_non_null(nft);
	nft_ctx_set_dry_run(nft, true);
	assert_int_equal(nft_ctx_buffer_output(nft), 0);
	assert_int_equal(nft_ctx_buffer_error(nft), 0);
	r = nft_run_cmd_from_buffer(nft, text);
	snprintf(errbuf, cap, "%s", nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
	return r;
}

static void nft_accepts(const char *what, int built)
{
	char errbuf[2048];

	assert_true(built > 0);
	if (nft_check(script, errbuf, sizeof(errbuf)) != 0)
		fail_msg("nft --check refuses the %s script:\n%s\n%s", what,
			 errbuf, script);
}

static void test_nft_accepts(void **state)
{
	struct fw_killswitch ks;
	struct fw_server srv;
	char errbuf[2048];

	(void)state;
	if (!private_netns()) {
		fprintf(stderr, "no network namespace of our own (%s): "
			"firewall_smoke checks the scripts instead\n",
			strerror(errno));
		skip();
	}
	/* The check is real: nft refuses what the kernel would. */
	assert_int_not_equal(nft_check("delete table inet weft_absent\n",
				       errbuf, sizeof(errbuf)), 0);
	assert_non_null(strstr(errbuf, "No such file or directory"));

	ks = ks_small();
	nft_accepts("small kill switch", fw_killswitch_script(&ks, script,
							       sizeof(script), NULL));
	ks = ks_full();
	nft_accepts("full kill switch", fw_killswitch_script(&ks, script,
							      sizeof(script), NULL));
	ks = ks_largest();
	nft_accepts("largest kill switch", fw_killswitch_script(&ks, script,
								 sizeof(script), NULL));
	srv = srv_small();
	nft_accepts("small server", fw_server_script(&srv, script,
						     sizeof(script), NULL));
	srv = srv_full();
	nft_accepts("full server", fw_server_script(&srv, script,
						    sizeof(script), NULL));
	srv = srv_largest();
	nft_accepts("largest server", fw_server_script(&srv, script,
						       sizeof(script), NULL));
	srv.isolate_clients = srv.offer_dns = false;
	nft_accepts("server", fw_server_script(&srv, script, sizeof(script),
					       NULL));
}

/* firewall.c in the same private namespace: apply twice, one table;
 * remove twice, both fine. The netns smoke test covers the traffic. */
static void test_apply_remove(void **state)
{
	struct fw_killswitch ks = ks_full();
	struct fw_server srv = srv_full();

	(void)state;
	if (!private_netns())
		skip();
	assert_int_equal(fw_table_exists("tun.vpn-1"), 0);
	assert_true(fw_killswitch_script(&ks, script, sizeof(script), NULL) > 0);
	assert_int_equal(fw_apply(script), 0);
	assert_string_equal(fw_last_error(), "");
	assert_int_equal(fw_apply(script), 0);
	assert_int_equal(fw_table_exists("tun.vpn-1"), 1);
	/* "tun_vpn-1" maps to the same table name; "tun.vpn-" does not. */
	assert_int_equal(fw_table_exists("tun_vpn-1"), 1);
	assert_int_equal(fw_table_exists("tun.vpn-"), 0);
	assert_true(fw_server_script(&srv, script, sizeof(script), NULL) > 0);
	assert_int_equal(fw_apply(script), 0);
	assert_int_equal(fw_table_exists("wg0"), 1);
	assert_int_equal(fw_remove("tun.vpn-1"), 0);
	assert_int_equal(fw_table_exists("tun.vpn-1"), 0);
	assert_int_equal(fw_remove("tun.vpn-1"), 0);
	assert_int_equal(fw_table_exists("wg0"), 1);
	assert_int_equal(fw_remove("wg0"), 0);
	assert_int_equal(fw_table_exists("wg0"), 0);

	/* Errors: one line, with nft's words, line and source. */
	assert_int_equal(fw_apply("table inet weft_t {\n"
				  "\tchain c {\n"
				  "\t\tip daddr 300.1.1.1 accept\n"
				  "\t}\n}\n"), -EINVAL);
	assert_non_null(strstr(fw_last_error(), "line 3: Could not resolve"));
	assert_non_null(strstr(fw_last_error(), "(in: ip daddr 300.1.1.1 accept)"));
	assert_null(strchr(fw_last_error(), '\n'));
	assert_int_equal(fw_table_exists("t"), 0);	/* all or nothing */
	assert_int_equal(fw_apply(""), -EINVAL);
	assert_int_equal(fw_apply(NULL), -EINVAL);
	assert_int_equal(fw_remove("bad name"), -EINVAL);
	assert_non_null(strstr(fw_last_error(), "interface name"));
	assert_int_equal(fw_table_exists(""), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killswitch_small),
		cmocka_unit_test(test_killswitch_full),
		cmocka_unit_test(test_killswitch_lockdown),
		cmocka_unit_test(test_server_small),
		cmocka_unit_test(test_server_full),
		cmocka_unit_test(test_server_v6_secure),
		cmocka_unit_test(test_server_deny_nesting),
		cmocka_unit_test(test_table_name),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_valid_edges),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_largest_fits),
		cmocka_unit_test(test_nft_accepts),
		cmocka_unit_test(test_apply_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
