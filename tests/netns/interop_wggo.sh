#!/usr/bin/env bash
# interop_wggo.sh - weftd <-> wireguard-go: a handshake initiated by each
# side in turn, pings both ways over IPv4 and IPv6, 100 MiB each way.
#
# Who initiates is forced: only the initiator knows the other's endpoint, and
# a capture shows every initiation (message type 1) came from it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init interop_wggo
[[ -n $REF_DAEMON ]] || { echo "SKIP: wireguard-go not installed"; exit 77; }
MIB100=$((100 * 1024 * 1024))
D=$(basename "$WEFTD") R=$(basename "$REF_DAEMON")

# initiated_by HOST_I IF_I KEY_I HOST_R IF_R KEY_R CAP: checks after the
# first ping from HOST_I that I initiated and R learned I's endpoint.
initiated_by() {
    local hi=$1 ifi=$2 ki=$3 hr=$4 ifr=$5 kr=$6 cap=$7 ui=$8 ur=$9 ep
    capture_stop "$cap"
    check "[$cap] handshake completed on $ifi ($hi)" \
        test "$(latest_hs "$hi" "$ifi" "$(pub "$kr")")" -gt 0
    check "[$cap] handshake completed on $ifr ($hr)" \
        test "$(latest_hs "$hr" "$ifr" "$(pub "$ki")")" -gt 0
    local init_i init_r resp_r
    init_i=$(capture_count "$cap" "udp and src host $ui and udp[8] = 1")
    init_r=$(capture_count "$cap" "udp and src host $ur and udp[8] = 1")
    resp_r=$(capture_count "$cap" "udp and src host $ur and udp[8] = 2")
    check "[$cap] initiations only from $hi ($init_i from $hi, $init_r from $hr), response from $hr ($resp_r)" \
        test "$init_i" -ge 1 -a "$init_r" -eq 0 -a "$resp_r" -ge 1
    ep=$(endpoint_of "$hr" "$ifr" "$(pub "$ki")")
    check "[$cap] $hr learned $hi's endpoint ($ep)" test "$ep" = "$ui:$(port_of "$hi")"
}
port_of() { [[ $1 == a ]] && echo 51820 || echo 51821; }

pings_both_ways() {
    local tag=$1
    check "[$tag] ping a -> b over IPv4" ping_all a 10.77.0.2
    check "[$tag] ping b -> a over IPv4" ping_all b 10.77.0.1
    check "[$tag] ping a -> b over IPv6" ping_all a fd77::2
    check "[$tag] ping b -> a over IPv6" ping_all b fd77::1
}

# ---- 1: $WEFTD (a) initiates; b does not know a's endpoint
echo "-- 1: $D on a initiates, $R on b responds"
SCEN=1 wg_pair "$WEFTD" "$REF_DAEMON" yes no
check "[1] before traffic: no handshake yet on a" test "$(latest_hs a "$IF_A" "$(pub kb)")" -eq 0
check "[1] before traffic: b has no endpoint for a" test "$(endpoint_of b "$IF_B" "$(pub ka)")" = "(none)"
capture_start b ul1 hs1 udp
check "[1] first ping a -> b gets through (<= 10 s)" wait_ping a 10.77.0.2 10
initiated_by a "$IF_A" ka b "$IF_B" kb hs1 10.123.1.1 10.123.1.2
pings_both_ways 1

blob big 100 >/dev/null
check "[1] 100 MiB a -> b over IPv4, sha256 matches" xfer a b 10.77.0.2 5001 big
note "took ${XFER_SECS}s"
check "[1] 100 MiB b -> a over IPv6, sha256 matches" xfer b a fd77::1 5002 big
note "took ${XFER_SECS}s"
for side in "a $IF_A kb" "b $IF_B ka"; do
    read -r h ifn k <<<"$side"
    rx=$(rx_of "$h" "$ifn" "$(pub "$k")") tx=$(tx_of "$h" "$ifn" "$(pub "$k")")
    check "[1] wg show on $h: received $rx, sent $tx bytes (each > 100 MiB)" \
        test "$rx" -gt "$MIB100" -a "$tx" -gt "$MIB100"
    check "[1] wg show on $h: has a latest handshake" \
        test "$(latest_hs "$h" "$ifn" "$(pub "$k")")" -gt 0
done
note "wg show on a:"
wg_show a "$IF_A" | sed 's/^/     /'
teardown

# ---- 2: $REF_DAEMON (b) initiates; a does not know b's endpoint
echo "-- 2: $R on b initiates, $D on a responds"
SCEN=2 wg_pair "$WEFTD" "$REF_DAEMON" no yes
check "[2] before traffic: no handshake yet on a" test "$(latest_hs a "$IF_A" "$(pub kb)")" -eq 0
check "[2] before traffic: a has no endpoint for b" test "$(endpoint_of a "$IF_A" "$(pub kb)")" = "(none)"
capture_start a ul1 hs2 udp
check "[2] first ping b -> a gets through (<= 10 s)" wait_ping b 10.77.0.1 10
initiated_by b "$IF_B" kb a "$IF_A" ka hs2 10.123.1.2 10.123.1.1
pings_both_ways 2

lib_finish
