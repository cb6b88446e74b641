#!/usr/bin/env bash
# psk.sh - weftd <-> weftd with a preshared key: the same PSK on both sides
# gives a working tunnel; different PSKs must give no session at all.
#
# With different PSKs the responder still answers (the PSK is only mixed in
# after the initiation), but the initiator must reject the response: no side
# shows a handshake, no ping gets through and the wire carries only
# handshake messages (type 1 and 2, the first byte of the UDP payload),
# never data (type 4).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init psk

# ---- 1: same PSK
echo "-- 1: the same preshared key on both sides"
(umask 077; wg genpsk >"$WORK/psk1")
PEER_EXTRA_A="PresharedKey = $(cat "$WORK/psk1")"
PEER_EXTRA_B=$PEER_EXTRA_A
SCEN=1 wg_pair "$WEFTD" "$WEFTD"
capture_start b ul1 same udp
check "[1] ping a -> b gets through (<= 10 s)" wait_ping a 10.77.0.2 10
check "[1] ping a -> b over IPv4" ping_all a 10.77.0.2
check "[1] ping b -> a over IPv6" ping_all b fd77::1
capture_stop same
check "[1] handshake on a" test "$(latest_hs a "$IF_A" "$(pub kb)")" -gt 0
check "[1] handshake on b" test "$(latest_hs b "$IF_B" "$(pub ka)")" -gt 0
n4=$(capture_count same 'udp and udp[8] = 4')
check "[1] capture sees data messages (type 4: $n4), so the check in 2 can see them" test "$n4" -ge 10
psk_shown=$(wg_show a "$IF_A" preshared-keys | awk '{print $2}')
check "[1] wg show preshared-keys on a shows the PSK" test "$psk_shown" = "$(cat "$WORK/psk1")"
teardown

# ---- 2: different PSKs
echo "-- 2: a different preshared key on each side"
(umask 077; wg genpsk >"$WORK/psk2a"; wg genpsk >"$WORK/psk2b")
PEER_EXTRA_A="PresharedKey = $(cat "$WORK/psk2a")"
PEER_EXTRA_B="PresharedKey = $(cat "$WORK/psk2b")"
SCEN=2 wg_pair "$WEFTD" "$WEFTD"
capture_start b ul1 diff udp
got=$(ping_n a 10.77.0.2 8 1)             # ~8 s: at least two initiations
check "[2] no ping a -> b answered in ~8 s ($got of 8)" test "$got" -eq 0
check "[2] no ping b -> a answered" ping_none b 10.77.0.1
capture_stop diff
check "[2] no handshake on a" test "$(latest_hs a "$IF_A" "$(pub kb)")" -eq 0
check "[2] no handshake on b" test "$(latest_hs b "$IF_B" "$(pub ka)")" -eq 0
n1=$(capture_count diff 'udp and src host 10.123.1.1 and udp[8] = 1')
n2=$(capture_count diff 'udp and udp[8] = 2')
n4=$(capture_count diff 'udp and udp[8] = 4')
nother=$(capture_count diff 'udp and not (udp[8] = 1 or udp[8] = 2)')
check "[2] initiations sent by a ($n1 >= 2)" test "$n1" -ge 2
note "responses (type 2) on the wire: $n2"
check "[2] no data messages on the wire (type 4: $n4)" test "$n4" -eq 0
check "[2] only handshake messages on the wire (others: $nother)" test "$nother" -eq 0
check "[2] daemon a still runs" daemon_alive "$IF_A"
check "[2] daemon b still runs" daemon_alive "$IF_B"

lib_finish
