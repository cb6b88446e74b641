/* policy.h - the client's full tunnel the wg-quick way: policy routing
 * with a firewall mark, through netlink only (never by parsing command
 * output), every change journaled before it is made.
 *
 * For each family routed into the tunnel:
 *   table T:   default dev <tunnel>
 *   pref P:    table main suppress_prefixlength 0   (the LAN and any
 *              more specific route of the main table still win)
 *   pref P+1:  not fwmark M table T                 (everything else that
 *              the tunnel's own socket did not mark goes into the tunnel)
 * and net.ipv4.conf.all.src_valid_mark=1, so that reverse-path filtering
 * sees the mark of the tunnel's packets. M and T are one number.
 * The kernel does not tell "fwmark M" from "not fwmark M" at one priority,
 * hence explicit, distinct priorities (which also make removal exact). */
#ifndef WEFT_VPN_POLICY_H
#define WEFT_VPN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl;
struct journal;
struct ip_prefix;

enum policy_values {
	POLICY_TABLE_FIRST = 51820,	/* wg-quick's first choice */
	POLICY_TABLE_RANGE = 4096,	/* candidates tried */
	POLICY_PREF_MAIN = 32766,	/* the kernel's "lookup main" rule */
};

struct policy {
	int ifindex;		/* the tunnel */
	bool v4, v6;		/* which families go through it (both normally; a
				 * family with no tunnel address is still routed
				 * into the tunnel, so it cannot leak) */
	uint32_t fwmark;	/* the tunnel socket's SO_MARK; also the table */
	uint32_t pref;		/* rule priorities used: pref (suppress main) and
				 * pref + 1 (not fwmark) */
};

/* Choose fwmark/table like wg-quick: POLICY_TABLE_FIRST upward, the first
 * value no rule uses as table or fwmark and whose table is empty in both
 * families; pref: the highest free pair below POLICY_PREF_MAIN that no
 * rule of either family uses. Sets p->fwmark and p->pref only. 0 or
 * -errno (-ENOSPC: nothing free; -EAGAIN: the tables kept changing). */
__attribute__((warn_unused_result))
int policy_choose(struct nl *nl, struct policy *p);

/* For each family: route `default dev ifindex table T` (JOURNAL_ROUTE
 * recorded first), for IPv4 sysctl net/ipv4/conf/all/src_valid_mark=1
 * (JOURNAL_SYSCTL with the old value, only if it changes), rule `table
 * main suppress_prefixlength 0` at pref, rule `not fwmark M table T` at
 * pref + 1 (each JOURNAL_RULE recorded before it is added). Call it once
 * per journal. 0 or -errno, with one line logged (log_err) saying what
 * failed; changes already made stay in the journal for journal_undo. */
__attribute__((warn_unused_result))
int policy_apply(struct nl *nl, struct journal *j, const struct policy *p);

/* The host's own subnets, for the server to avoid when it assigns the
 * tunnel address and for --allow-lan: the prefixes of IPv4 and IPv6
 * addresses on interfaces that are up, not loopback, not exclude_ifindex;
 * IPv6 link-local (fe80::/10) and host-scope left out; host bits cleared;
 * duplicates, and prefixes inside another one, merged. IPv4 first, then
 * in the kernel's order. Returns the count (<= max: the first max when
 * there are more) or -errno. */
__attribute__((warn_unused_result))
int policy_local_prefixes(struct nl *nl, int exclude_ifindex,
			  struct ip_prefix *out, size_t max);

#endif
