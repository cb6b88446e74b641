#!/usr/bin/env bash
# netlink_smoke.sh - run netlink_smoke (the netlink layer and the sysctl
# helper) as root in a namespace of its own, whose uplink is a veth to a
# second namespace acting as its gateway (default routes via it), and check
# that the program left routes, rules, addresses and links byte-identical.
#   NETLINK_SMOKE_BIN  the netlink_smoke binary (or pass it as $1)
set -euo pipefail

BIN=${NETLINK_SMOKE_BIN:-${1:-}}
if ((EUID != 0)); then
    echo "SKIP: netlink_smoke needs root (network namespaces)"
    exit 77
fi
for tool in ip ping timeout diff; do
    command -v "$tool" >/dev/null || { echo "SKIP: netlink_smoke needs $tool"; exit 77; }
done
[[ -n $BIN && -x $BIN ]] || { echo "FAIL: setup: netlink_smoke binary not found (set NETLINK_SMOKE_BIN)"; exit 1; }

# Per run: the PID and a random tag, so that neither a parallel run nor
# the leftovers of a killed one collide with ours.
TAG=$$-$RANDOM
NS_C=weft-netlink_smoke-$TAG-c      # the host under test
NS_G=weft-netlink_smoke-$TAG-g      # its gateway
OURS=()
PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/weft-netlink_smoke.XXXXXX")

# Addresses exist only inside our namespaces.
GW4=10.231.0.1 OWN4=10.231.0.2 GW6=fd31::1 OWN6=fd31::2
UPLINK=nlup0 TESTIF=nltest0 SPARE=nlspare0

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$? pid ns
    set +e
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for ns in "${OURS[@]}"; do
        [[ -e /run/netns/$ns ]] || continue
        # Whatever still runs there (ip(8) started by the program) was
        # started by this run: the namespace is ours alone.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$ns"
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ns_add NAME: a namespace with lo up and no duplicate address detection
# (addresses usable at once; the tables do not change later on their own).
ns_add() {
    [[ ! -e /run/netns/$1 ]] || { echo "FAIL: setup: namespace $1 exists"; exit 1; }
    ip netns add "$1"
    OURS+=("$1")
    ip -n "$1" link set lo up
    ip netns exec "$1" sh -c 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad &&
                              echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad'
}

ns_add "$NS_C"
ns_add "$NS_G"
ip -n "$NS_C" link add "$UPLINK" type veth peer name "$UPLINK" netns "$NS_G"
ip -n "$NS_C" addr add "$OWN4/24" dev "$UPLINK"
ip -n "$NS_C" -6 addr add "$OWN6/64" dev "$UPLINK" nodad
ip -n "$NS_G" addr add "$GW4/24" dev "$UPLINK"
ip -n "$NS_G" -6 addr add "$GW6/64" dev "$UPLINK" nodad
ip -n "$NS_C" link set "$UPLINK" up
ip -n "$NS_G" link set "$UPLINK" up
ip -n "$NS_C" route add default via "$GW4" dev "$UPLINK"
ip -n "$NS_C" -6 route add default via "$GW6" dev "$UPLINK"
# TESTIF: up with a carrier (routes and addresses go there); SPARE: down,
# for the link tests (taking TESTIF down would reorder its IPv6 routes).
ip -n "$NS_C" link add "$TESTIF" type veth peer name nltest1
ip -n "$NS_C" link set nltest1 up
ip -n "$NS_C" link set "$TESTIF" up
ip -n "$NS_C" link add "$SPARE" type veth peer name nlspare1
# The first up attaches the default qdisc (noop -> noqueue) for good: do
# it here, so that the program's up/down test leaves no trace.
ip -n "$NS_C" link set "$SPARE" up
ip -n "$NS_C" link set "$SPARE" down

timeout 10 ip netns exec "$NS_C" ping -n -q -c 1 -W 2 "$GW4" >/dev/null ||
    { echo "FAIL: setup: the gateway namespace does not answer"; exit 1; }

snapshot() {
    local f=$WORK/$1
    {
        echo "## ip route show table all"; ip -n "$NS_C" route show table all
        echo "## ip -6 route show table all"; ip -n "$NS_C" -6 route show table all
        echo "## ip rule"; ip -n "$NS_C" rule
        echo "## ip -6 rule"; ip -n "$NS_C" -6 rule
        echo "## ip addr"; ip -n "$NS_C" addr
        echo "## ip link"; ip -n "$NS_C" link
        echo "## sysctl"
        ip netns exec "$NS_C" cat /proc/sys/net/ipv4/ip_forward \
            /proc/sys/net/ipv6/conf/all/forwarding
    } >"$f"
}

sleep 0.2            # let the kernel finish bringing the links up
snapshot before

rc=0
timeout -k 5 120 ip netns exec "$NS_C" "$BIN" "$UPLINK" "$TESTIF" "$SPARE" \
    "$GW4" "$GW6" "$OWN4" "$OWN6" &
PIDS+=("$!")
wait "${PIDS[0]}" || rc=$?
PIDS=()
((rc == 124)) && echo "FAIL: netlink_smoke timed out"

snapshot after
if diff -u "$WORK/before" "$WORK/after"; then
    echo "PASS: routes, rules, addresses, links and sysctls as they were"
else
    echo "FAIL: the namespace changed (diff above)"
    ((rc != 0)) || rc=1
fi
exit "$rc"
