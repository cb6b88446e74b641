#!/usr/bin/env bash
# hostcfg_smoke.sh - the client's host configuration and its undo journal
# in a namespace: fwmark policy routing (both families), DNS through a
# rewritten resolv.conf, the kill-switch table, and the sysctl, applied
# and then put back byte for byte by journal_undo: after a normal run,
# after SIGKILL once everything was applied, after a crash between a
# record and its change, and after SIGKILL at random moments. Also which
# table, mark and priorities policy_choose picks next to other rules, and
# the host's own subnets from policy_local_prefixes.
#
#   c (the host under test) -- hcup0 veth -- g (its gateway, default routes)
#   c: hctun0/hctun1  a veth pair standing in for the tunnel
#      hclan0/hclan1  a LAN interface (and a peer that is down)
#
# `ip netns exec` mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf
# when that file exists: the test makes it (and removes it at the end), so
# the host's own /etc/resolv.conf is never written (checked).
#
#   HOSTCFG_SMOKE_BIN  the hostcfg_smoke binary (or pass it as $1)
#   SRCDIR             the source tree (for lib.sh; default: from $0)
#   TEST_BUDGET        seconds before the watchdog stops the test (240)
#   KEEP_WORK=1        keep the work directory
set -euo pipefail

BIN=${HOSTCFG_SMOKE_BIN:-${1:-}}
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ((EUID != 0)); then
    echo "SKIP: hostcfg_smoke needs root (network namespaces, nftables)"
    exit 77
fi
for tool in ip nft timeout sysctl sha256sum pgrep; do
    command -v "$tool" >/dev/null || { echo "SKIP: hostcfg_smoke needs $tool"; exit 77; }
done
[[ -n $BIN && -x $BIN ]] || { echo "FAIL: setup: hostcfg_smoke binary not found (set HOSTCFG_SMOKE_BIN)"; exit 1; }
BIN=$(realpath "$BIN")

# shellcheck source=lib.sh
source "$SRCDIR/tests/netns/lib.sh"

# lib.sh's lib_init wants the WireGuard tools; this test needs none of
# them, so it sets up the same state itself (as firewall_smoke does).
T_NAME=hostcfg
# shellcheck disable=SC2034  # lib.sh reads it
T_START=$SECONDS
T_TAG=$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/weft-$T_NAME.XXXXXX")
ETC_NS=                 # /etc/netns/<our namespace>, once made
MADE_ETC_NETNS=0        # /etc/netns did not exist before us

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$?
    set +e
    if [[ -n $ETC_NS && $ETC_NS == /etc/netns/weft-$T_NAME-$T_TAG-* ]]; then
        rm -rf -- "$ETC_NS"
        ((MADE_ETC_NETNS)) && rmdir /etc/netns 2>/dev/null
    fi
    (exit "$rc")
    lib_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
budget=${TEST_BUDGET:-240} me=$$
(
    trap 'kill "$w" 2>/dev/null; exit 0' TERM
    sleep "$budget" & w=$!
    wait "$w"
    echo "FAIL: watchdog: $T_NAME still running after ${budget}s" >&2
    kill -TERM "$me"
) &
# shellcheck disable=SC2034  # lib.sh reads it
T_WATCHDOG=$!
echo "== $T_NAME: $BIN, work dir $WORK"

HOST_RESOLV_SUM=$(sha256sum </etc/resolv.conf)
STATE=$WORK/state
TUN=hctun0

# ------------------------------------------------------------------ hosts
host_add c g
NS_C=${T_NSOF[c]}
ip link add hcup0 netns "$NS_C" type veth peer name hcup0 netns "${T_NSOF[g]}"
on c ip addr add 10.231.0.2/24 dev hcup0
on c ip -6 addr add fd31::2/64 dev hcup0 nodad
on g ip addr add 10.231.0.1/24 dev hcup0
on g ip -6 addr add fd31::1/64 dev hcup0 nodad
on c ip link set hcup0 up
on g ip link set hcup0 up
on c ip route add default via 10.231.0.1 dev hcup0
on c ip -6 route add default via fd31::1 dev hcup0
on c ip link add "$TUN" type veth peer name hctun1
on c ip addr add 10.99.0.2/32 dev "$TUN"
on c ip -6 addr add fd99::2/128 dev "$TUN" nodad
on c ip link set hctun1 up
on c ip link set "$TUN" up
on c ip link add hclan0 type veth peer name hclan1
on c ip addr add 192.168.77.5/24 dev hclan0
on c ip addr add 192.168.77.9/24 dev hclan0
on c ip addr add 192.168.77.130/25 dev hclan0
on c ip -6 addr add 2001:db8:77::5/64 dev hclan0 nodad
on c ip addr add 172.30.0.1/16 dev hclan1      # hclan1 stays down
on c ip link set hclan0 up
wait_for 10 on c ping -n -q -c 1 -W 1 10.231.0.1 >/dev/null ||
    die "the gateway namespace does not answer"

[[ -d /etc/netns ]] || MADE_ETC_NETNS=1
ETC_NS=/etc/netns/$NS_C
mkdir -p "$ETC_NS"
# Bytes a careless rewrite would lose: CRLF, a tab, no final newline.
printf '# from DHCP\r\nnameserver 10.231.0.1\nsearch smoke.test lan\noptions\tedns0 ndots:2\nsortlist 10.231.0.0/255.255.255.0' \
    >"$ETC_NS/resolv.conf"
chmod 0644 "$ETC_NS/resolv.conf"
RESOLV_SUM=$(sha256sum <"$ETC_NS/resolv.conf")
[[ $(on c cat /etc/resolv.conf | sha256sum) == "$RESOLV_SUM" ]] ||
    die "ip netns exec does not bind-mount $ETC_NS/resolv.conf"

# ---------------------------------------------------------------- helpers
smoke() { on c timeout -k 2 30 "$BIN" "$@"; }

snapshot() {
    {
        echo "## ip rule"; on c ip rule
        echo "## ip -6 rule"; on c ip -6 rule
        echo "## ip route show table all"; on c ip route show table all
        echo "## ip -6 route show table all"; on c ip -6 route show table all
        echo "## nft list ruleset"; on c nft list ruleset
        echo "## sysctl"; on c sysctl net.ipv4.conf.all.src_valid_mark
        echo "## /etc/resolv.conf"; on c cat /etc/resolv.conf
    } >"$WORK/$1"
}

# same_as_before WHAT: the namespace byte-identical to the first snapshot,
# the state directory empty, the host's resolv.conf untouched.
same_as_before() {
    snapshot after
    if diff -u "$WORK/before" "$WORK/after"; then
        pass "$1: rules, routes, nft, sysctl and resolv.conf byte-identical"
    else
        fail "$1: the namespace changed (diff above)"
    fi
    check "$1: resolv.conf bytes (sha256) as before" \
        test "$(sha256sum <"$ETC_NS/resolv.conf")" == "$RESOLV_SUM"
    check "$1: the state directory is empty" \
        test -z "$(ls -A "$STATE" 2>/dev/null)"
    check "$1: the host's own /etc/resolv.conf untouched" \
        test "$(sha256sum </etc/resolv.conf)" == "$HOST_RESOLV_SUM"
}

has() { grep -qF -- "$2" <<<"$1"; }

# applied: the changes are in effect (fwmark/table 51820, prefs 32764/5).
applied() {
    local r4 r6 out
    r4=$(on c ip rule) r6=$(on c ip -6 rule)
    check "ip rule: suppress main at 32764" has "$r4" $'32764:\tfrom all lookup main suppress_prefixlength 0'
    check "ip rule: not fwmark at 32765" has "$r4" $'32765:\tnot from all fwmark 0xca6c lookup 51820'
    check "ip -6 rule: suppress main at 32764" has "$r6" $'32764:\tfrom all lookup main suppress_prefixlength 0'
    check "ip -6 rule: not fwmark at 32765" has "$r6" $'32765:\tnot from all fwmark 0xca6c lookup 51820'
    out=$(on c ip route get 10.200.0.1)
    check "unmarked IPv4 goes into the tunnel ($out)" has "$out" "dev $TUN table 51820"
    out=$(on c ip route get 10.200.0.1 mark 51820)
    check "marked IPv4 takes the gateway ($out)" has "$out" "via 10.231.0.1 dev hcup0"
    out=$(on c ip route get 10.231.0.1)
    check "the LAN stays on main ($out)" has "$out" "10.231.0.1 dev hcup0 src 10.231.0.2"
    out=$(on c ip -6 route get 2001:db8::1)
    check "unmarked IPv6 goes into the tunnel ($out)" has "$out" "dev $TUN table 51820"
    out=$(on c ip -6 route get 2001:db8::1 mark 51820)
    check "marked IPv6 takes the gateway ($out)" has "$out" "via fd31::1 dev hcup0"
    check "src_valid_mark is 1" test "$(on c sysctl -n net.ipv4.conf.all.src_valid_mark)" == 1
    check "the kill-switch table exists" has "$(on c nft list tables)" "table inet weft_$TUN"
    out=$(on c cat /etc/resolv.conf)
    check "resolv.conf: the tunnel's servers, the original search/options" test "$out" == \
        "# Written by weft for $TUN: \`weft down $TUN\` restores the original.
nameserver 10.99.0.1
nameserver fd99::1
search smoke.test lan
options	edns0 ndots:2"
    check "the journal and the saved resolv.conf exist" \
        test -s "$STATE/$TUN.undo" -a -s "$STATE/$TUN.resolv.conf.orig"
}

# undo WHAT: a fresh invocation undoes the journal.
undo() {
    local out
    if out=$(smoke undo "$STATE" "$TUN" 2>"$WORK/undo.log"); then
        pass "$1: journal_undo: $out"
    else
        fail "$1: journal_undo failed: $(tr '\n' ' ' <"$WORK/undo.log")"
    fi
    UNDONE=${out#undone }
}

# ------------------------------------------------ the choice of table/pref
check "policy_choose in a clean namespace: 51820, 32764" \
    test "$(smoke choose)" == "fwmark=51820 pref=32764"
on c ip rule add pref 32765 table 51820
on c ip route add 10.5.0.0/24 dev hcup0 table 51821
on c ip -6 rule add pref 32763 fwmark 51822 table 100
check "policy_choose skips used tables, marks and priorities: 51823, 32761" \
    test "$(smoke choose)" == "fwmark=51823 pref=32761"
on c ip rule del pref 32765 table 51820
on c ip route del 10.5.0.0/24 dev hcup0 table 51821
on c ip -6 rule del pref 32763 fwmark 51822 table 100

# --------------------------------------------------------- local subnets
got=$(smoke prefixes "$TUN" | sort | tr '\n' ' ')
want=$(printf '%s\n' 10.231.0.0/24 192.168.77.0/24 fd31::/64 2001:db8:77::/64 | sort | tr '\n' ' ')
check "policy_local_prefixes: the up, non-loopback subnets, merged ($got)" test "$got" == "$want"

sleep 0.2        # let the kernel finish with the links
snapshot before

# ---------------------------------------------- (a) apply, then undo
if smoke apply "$STATE" "$TUN" full >"$WORK/apply.log" 2>&1; then
    pass "apply: $(head -n 1 "$WORK/apply.log")"
else
    fail "apply failed: $(tr '\n' ' ' <"$WORK/apply.log")"
fi
applied
undo "normal stop"
check "normal stop: every entry undone (9: 2 routes, 4 rules, sysctl, file, nft)" test "$UNDONE" == 9
same_as_before "normal stop"
check "undo again: nothing left" test "$(smoke undo "$STATE" "$TUN")" == "undone 0"

# ------------------------------------ (b) SIGKILL once everything is made
spawn c apply-hold timeout -k 2 60 "$BIN" apply "$STATE" "$TUN" hold
pid=$SPAWNED
if wait_for 20 grep -q '^ready$' "$WORK/apply-hold.log"; then
    pass "hold: applied ($(head -n 1 "$WORK/apply-hold.log"))"
else
    fail "hold: never ready: $(tr '\n' ' ' <"$WORK/apply-hold.log")"
fi
# timeout(1) runs the program as its child: kill that one.
victim=$(pgrep -P "$pid" -x hostcfg_smoke || true)
[[ -z $victim ]] || kill -KILL "$victim" || true
wait "$pid" 2>/dev/null || true
check "hold: the program was killed" test -n "$victim"
applied         # a killed client leaves everything in place (fails closed)
if smoke apply "$STATE" "$TUN" full >"$WORK/again.log" 2>&1; then
    fail "a second apply over a leftover journal succeeded"
else
    check "a second apply over a leftover journal is refused (-EEXIST)" \
        grep -q 'did not finish' "$WORK/again.log"
fi
undo "after SIGKILL"
same_as_before "after SIGKILL"

# --------------------------- (b) a crash between a record and its change
rc=0
smoke apply "$STATE" "$TUN" partial >"$WORK/partial.log" 2>&1 || rc=$?
check "partial: killed itself after recording (rc $rc)" test "$rc" == 137
undo "crash between record and change"
same_as_before "crash between record and change"

# ------------------------------------------ (b) SIGKILL at random moments
for delay in 0 0.003 0.006 0.01 0.015 0.02 0.03 0.045 0.07 0.1; do
    spawn c apply-random timeout -k 2 60 "$BIN" apply "$STATE" "$TUN" full
    pid=$SPAWNED
    sleep "$delay"
    victim=$(pgrep -P "$pid" -x hostcfg_smoke || true)
    [[ -z $victim ]] || kill -KILL "$victim" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    note "killed after ${delay}s: $(tr '\n' ' ' <"$WORK/apply-random.log")"
    undo "SIGKILL after ${delay}s"
    same_as_before "SIGKILL after ${delay}s"
done

lib_finish
