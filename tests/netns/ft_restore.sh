#!/usr/bin/env bash
# ft_restore.sh - weft puts the host back exactly: after the client and the
# server stop on SIGINT, SIGTERM, SIGHUP (client), `weft down IF`, and after
# SIGKILL followed by `weft cleanup`, the client's and the server's
#   ip route, ip -6 route (main and all tables), ip rule, ip -6 rule,
#   nft list ruleset, resolv.conf, the interface list and the sysctls
#   net.ipv4.ip_forward, net.ipv6.conf.all.forwarding,
#   net.ipv4.conf.all.src_valid_mark
# are byte-identical to before the first start (cmp; diff -u when not).
#
# The client runs with --killswitch and --dns, so that it changes every one
# of these; a snapshot while connected shows that they did change (else
# the comparison would prove nothing). After SIGKILL the kill switch must
# still be there (it fails closed) until `weft cleanup` removes it.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_restore

ft_topology
ft_snap c "$WORK/before-c"
ft_snap s "$WORK/before-s"
etc_before=$(find /etc -maxdepth 1 \( -iname '*resolv*' -o -iname '*weft*' \) | sort)
default_dirs=()
for d in /run/weft /var/lib/weft; do [[ -e $d ]] || default_dirs+=("$d"); done
note "c before: $(tr '\n' ' ' <"$WORK/before-c/sysctl")| $(tr '\n' ' ' <"$WORK/before-c/resolv.conf")"
note "s before: $(tr '\n' ' ' <"$WORK/before-s/sysctl")"

# up TAG N: server and client on fresh interfaces (IF_S, IF_C), traffic
# through the tunnel, a snapshot that must differ from before.
up() {
    local tag=$1 d
    IF_S=$(ifname "s$2")
    IF_C=$(ifname "c$2")
    ft_server_start "server-$tag" "$IF_S" || die "[$tag] weft server did not start"
    ft_client_start "client-$tag" "$IF_C" --killswitch --dns "$ADDR_I4" \
        || die "[$tag] weft client did not connect"
    check "[$tag] ping c -> i $ADDR_I4 through the tunnel" wait_ping c "$ADDR_I4" 10
    check "[$tag] ping c -> i $ADDR_I6 through the tunnel" wait_ping c "$ADDR_I6" 10
    ft_snap c "$WORK/during-$tag-c"
    ft_snap s "$WORK/during-$tag-s"
    d=$(ft_differing "$WORK/before-c" "$WORK/during-$tag-c")
    check "[$tag] while connected, the client's host differs from before in: ${d:-nothing}" test -n "$d"
    d=$(ft_differing "$WORK/before-s" "$WORK/during-$tag-s")
    check "[$tag] while connected, the server's host differs from before in: ${d:-nothing}" test -n "$d"
}

# compare TAG: the snapshots after, against before.
compare() {
    ft_snap c "$WORK/after-$1-c"
    ft_snap s "$WORK/after-$1-s"
    ft_same "[$1] client:" "$WORK/before-c" "$WORK/after-$1-c"
    ft_same "[$1] server:" "$WORK/before-s" "$WORK/after-$1-s"
}

# stop_both TAG CLIENT_SIGNAL SERVER_SIGNAL: signal, exit status 0.
stop_both() {
    ft_stop "$CLI_PID" "$2" || true
    check "[$1] weft client exits 0 on SIG$2 (status $FT_RC)" test "$FT_RC" = 0
    ft_stop "$SRV_PID" "$3" || true
    check "[$1] weft server exits 0 on SIG$3 (status $FT_RC)" test "$FT_RC" = 0
}

echo "-- 1: SIGINT"
up int 1
stop_both int INT INT
compare int
# A cleanup with nothing to undo changes nothing.
rc=0; ft_weft c cleanup >"$WORK/cleanup-noop-c.log" 2>&1 || rc=$?
check "[int] weft cleanup on the clean client host: status $rc (0)" test "$rc" -eq 0
rc=0; ft_weft s cleanup >"$WORK/cleanup-noop-s.log" 2>&1 || rc=$?
check "[int] weft cleanup on the clean server host: status $rc (0)" test "$rc" -eq 0
compare int-noop

echo "-- 2: SIGTERM"
up term 2
stop_both term TERM TERM
compare term

echo "-- 3: SIGHUP to the client, SIGTERM to the server"
up hup 3
stop_both hup HUP TERM
compare hup

echo "-- 4: SIGKILL, then weft cleanup"
up kill 4
ft_stop "$CLI_PID" KILL || true
ft_stop "$SRV_PID" KILL || true
ft_snap c "$WORK/killed-c"
ft_snap s "$WORK/killed-s"
note "after SIGKILL, before cleanup, the client's host differs in: $(ft_differing "$WORK/before-c" "$WORK/killed-c")"
note "after SIGKILL, before cleanup, the server's host differs in: $(ft_differing "$WORK/before-s" "$WORK/killed-s")"
table=$(on c nft list tables | grep -F weft_ || true)
check "[kill] the kill switch stays after the client was killed (fails closed: ${table:-no table})" test -n "$table"
n=$(ping_n c "$ADDR_I4" 2)
check "[kill] nothing gets out of c while the kill switch stays ($n of 2 pings answered)" test "$n" -eq 0
rc=0; ft_weft c cleanup >"$WORK/cleanup-c.log" 2>&1 || rc=$?
check "[kill] weft cleanup (all) on the client host: status $rc (0)" test "$rc" -eq 0
sed 's/^/     /' "$WORK/cleanup-c.log"
rc=0; ft_weft s cleanup "$IF_S" >"$WORK/cleanup-s.log" 2>&1 || rc=$?
check "[kill] weft cleanup $IF_S on the server host: status $rc (0)" test "$rc" -eq 0
sed 's/^/     /' "$WORK/cleanup-s.log"
compare kill
check "[kill] after cleanup c reaches r directly again" ping_all c "$ADDR_R4" 2

echo "-- 5: weft down"
up down 5
rc=0; ft_weft c down "$IF_C" >"$WORK/down-c.log" 2>&1 || rc=$?
check "[down] weft down $IF_C on the client host: status $rc (0)" test "$rc" -eq 0
check "[down] the client has exited after weft down" wait_for 5 gone "$CLI_PID"
rc=0; ft_weft s down "$IF_S" >"$WORK/down-s.log" 2>&1 || rc=$?
check "[down] weft down $IF_S on the server host: status $rc (0)" test "$rc" -eq 0
check "[down] the server has exited after weft down" wait_for 5 gone "$SRV_PID"
ft_stop "$CLI_PID" TERM 1 || true
ft_stop "$SRV_PID" TERM 1 || true
compare down

etc_after=$(find /etc -maxdepth 1 \( -iname '*resolv*' -o -iname '*weft*' \) | sort)
check "the machine's /etc gained no resolv/weft files (before: $(xargs <<<"$etc_before"); after: $(xargs <<<"$etc_after"))" \
    test "$etc_before" = "$etc_after"
for d in "${default_dirs[@]}"; do
    check "weft kept out of $d (WEFT_STATE_DIR/WEFT_RUN_DIR given)" test ! -e "$d"
done

ft_finish
