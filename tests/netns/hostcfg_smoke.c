/* hostcfg_smoke.c - the client's host configuration (policy routing, DNS,
 * the nftables table) and its undo journal, driven from hostcfg_smoke.sh
 * as root inside a namespace the script builds. Each command is one
 * invocation, so that the script can kill one with SIGKILL and undo from
 * the next, as `weft cleanup` would.
 *
 *   apply STATE IF full      journal, policy, DNS (resolv.conf), nft table
 *   apply STATE IF hold      the same, then print "ready" and wait to be
 *                            killed
 *   apply STATE IF partial   policy, then a resolv.conf copy and a route
 *                            recorded but not made, then SIGKILL itself
 *                            (a crash between record and change)
 *   undo STATE IF            journal_undo; prints "undone N"
 *   choose                   policy_choose; prints "fwmark=M pref=P"
 *   prefixes EXCLUDE_IF      policy_local_prefixes, one per line
 *
 * The tunnel's stand-in is the interface IF; DNS servers 10.99.0.1 and
 * fd99::1; the kill switch lets UDP to 10.231.0.1:51820 out. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addrpool.h"
#include "os/linux/firewall.h"
#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "vpn/hostdns.h"
#include "vpn/journal.h"
#include "vpn/policy.h"

static struct nl nl;	/* 32 KiB: not on the stack */

static int die(const char *what, int err)
{
	fprintf(stderr, "hostcfg_smoke: %s: %s\n", what, strerror(-err));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: hostcfg_smoke apply STATE IF full|hold|partial | undo STATE IF |\n"
			"       choose | prefixes EXCLUDE_IF\n");
	return 2;
}

static int open_nl_and_link(const char *ifname, int *ifindex)
{
	int ret = nl_open(&nl);

	if (ret)
		return die("nl_open", ret);
	*ifindex = nl_link_index(&nl, ifname);
	if (*ifindex < 0)
		return die(ifname, *ifindex);
	return 0;
}

static int apply_dns(struct journal *j, const char *ifname)
{
	struct hostdns_server s[2] = { { .family = AF_INET }, { .family = AF_INET6 } };
	enum hostdns_mode used;
	int ret;

	inet_pton(AF_INET, "10.99.0.1", s[0].addr);
	inet_pton(AF_INET6, "fd99::1", s[1].addr);
	ret = hostdns_apply(j, ifname, s, 2, HOSTDNS_FILE, NULL, &used);
	if (ret)
		return ret;
	return used == HOSTDNS_FILE ? 0 : -EPROTO;
}

static int apply_nft(struct journal *j, const char *ifname, uint32_t fwmark)
{
	struct journal_entry e = { .kind = JOURNAL_NFT };
	struct fw_killswitch ks = { .fwmark = fwmark, .n_endpoints = 1 };
	struct fw_error err;
	static char script[FW_SCRIPT_MAX];
	int ret;

	snprintf(ks.ifname, sizeof(ks.ifname), "%s", ifname);
	ks.endpoints[0].family = AF_INET;
	inet_pton(AF_INET, "10.231.0.1", ks.endpoints[0].addr);
	ks.endpoints[0].port = 51820;
	ret = fw_killswitch_script(&ks, script, sizeof(script), &err);
	if (ret < 0) {
		fprintf(stderr, "hostcfg_smoke: kill switch: %s\n", err.msg);
		return ret;
	}
	snprintf(e.u.ifname, sizeof(e.u.ifname), "%s", ifname);
	ret = journal_record(j, &e);
	if (!ret)
		ret = fw_apply(script);
	if (ret)
		fprintf(stderr, "hostcfg_smoke: nft: %s\n", fw_last_error());
	return ret;
}

static int cmd_apply(const char *state, const char *ifname, const char *how)
{
	struct policy p = { .v4 = true, .v6 = true };
	struct journal j;
	int ret;

	if (open_nl_and_link(ifname, &p.ifindex))
		return 1;
	ret = journal_open(&j, state, ifname);
	if (ret)
		return die("journal_open", ret);
	ret = policy_choose(&nl, &p);
	if (ret)
		return die("policy_choose", ret);
	ret = policy_apply(&nl, &j, &p);
	if (ret)
		return die("policy_apply", ret);
	if (!strcmp(how, "partial")) {
		struct journal_entry e = { .kind = JOURNAL_ROUTE };

		ret = journal_record_file(&j, HOSTDNS_RESOLV_CONF);
		if (ret)
			return die("journal_record_file", ret);
		nl_route_init(&e.u.route, AF_INET);
		e.u.route.dst[0] = 203;
		e.u.route.dst[1] = 0;
		e.u.route.dst[2] = 113;
		e.u.route.dst_len = 24;
		e.u.route.oif = p.ifindex;
		e.u.route.table = p.fwmark;
		ret = journal_record(&j, &e);
		if (ret)
			return die("journal_record", ret);
		printf("recorded, crashing\n");
		fflush(stdout);
		raise(SIGKILL);
		return 1;
	}
	ret = apply_dns(&j, ifname);
	if (ret)
		return die("hostdns_apply", ret);
	ret = apply_nft(&j, ifname, p.fwmark);
	if (ret)
		return die("nft", ret);
	printf("applied fwmark=%u pref=%u entries=%u\n", p.fwmark, p.pref, j.n);
	fflush(stdout);
	if (!strcmp(how, "hold")) {
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	journal_close(&j);
	nl_close(&nl);
	return 0;
}

static int cmd_undo(const char *state, const char *ifname)
{
	int ret = journal_undo(state, ifname);

	if (ret < 0)
		return die("journal_undo", ret);
	printf("undone %d\n", ret);
	return 0;
}

static int cmd_choose(void)
{
	struct policy p = { 0 };
	int ret = nl_open(&nl);

	if (ret)
		return die("nl_open", ret);
	ret = policy_choose(&nl, &p);
	if (ret)
		return die("policy_choose", ret);
	printf("fwmark=%u pref=%u\n", p.fwmark, p.pref);
	nl_close(&nl);
	return 0;
}

static int cmd_prefixes(const char *exclude)
{
	struct ip_prefix out[ADDRPOOL_MAX_AVOID];
	char s[ADDRPOOL_PREFIX_STR_MAX];
	int ifindex, n;

	if (open_nl_and_link(exclude, &ifindex))
		return 1;
	n = policy_local_prefixes(&nl, ifindex, out, ADDRPOOL_MAX_AVOID);
	if (n < 0)
		return die("policy_local_prefixes", n);
	for (int i = 0; i < n; i++) {
		addrpool_prefix_format(&out[i], s);
		printf("%s\n", s);
	}
	/* A short buffer: the first ones, no overrun. */
	if (n > 1 && policy_local_prefixes(&nl, ifindex, out, 1) != 1)
		return die("policy_local_prefixes with max 1", -EINVAL);
	nl_close(&nl);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("hostcfg_smoke", false, LOG_LEVEL_INFO);
	if (argc == 5 && !strcmp(argv[1], "apply") &&
	    (!strcmp(argv[4], "full") || !strcmp(argv[4], "hold") ||
	     !strcmp(argv[4], "partial")))
		return cmd_apply(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "undo"))
		return cmd_undo(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "choose"))
		return cmd_choose();
	if (argc == 3 && !strcmp(argv[1], "prefixes"))
		return cmd_prefixes(argv[2]);
	return usage();
}
