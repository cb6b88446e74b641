#!/usr/bin/env bash
# mesh_nat.sh - issue #5: devices behind NATs find each other. NAT routers
# are nftables masquerade: "easy" (port-preserving; conntrack admits only
# replies, from where we sent to) and "hard" (fully-random: a new port for
# every destination). On the "internet" segment: the hub (relay and STUN
# on :3478), a second relay (weft-hub --relay-only, same database), and E
# with a public address.
#
#   A, B  behind one easy NAT (one LAN)      C  behind another easy NAT
#   D, F  each behind its own hard NAT       E  public
#
# Every ordered pair pings; the paths are asserted: A-B lan, A-C direct,
# A-E direct, D-E direct (D's probe opens its NAT towards E; E answers the
# address the probe came from), C-D relay (D's NAT gives C a port no one
# can learn, and C's NAT admits D only from where C sent to: no direct
# path exists), D-F relay (both ports unknowable). Then: the relay in use
# is killed during a relayed ping and traffic resumes over the other one;
# A's underlay address changes mid-session and A recovers.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"
. "$SRCDIR/tests/netns/nat_lib.sh"
NAT_BUDGET=${NAT_BUDGET:-30}

lib_init mesh_nat
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: nft not installed"; exit 77; }

inet_init hub relay2 stun3
wan hub 1
wan relay2 2
wan stun3 3

nat natab 21 192.168.1 easy
nat natc 22 192.168.2 easy
nat natd 23 192.168.3 hard
nat natf 24 192.168.4 hard
behind natab 1 192.168.1.2      # A
behind natab 2 192.168.1.3      # B
behind natc 3 192.168.2.2       # C
behind natd 4 192.168.3.2       # D
host_add d5                     # E, public
wan d5 5
behind natf 6 192.168.4.2       # F
NAME=([1]=A [2]=B [3]=C [4]=D [5]=E [6]=F)
DEVS="1 2 3 4 5 6"

hub_with_relay
spawn relay2 relay2 "$WEFT_HUB" --relay-only --relay 10.124.2.2:3478 --db "sqlite:$WORK/hub.db"
RELAY2_PID=$SPAWNED
wait_for 10 grep -q "relay and STUN" "$WORK/relay2.log" || die "the relay did not start"

# A STUN server that is not weft's (coturn), listed in the roster too.
STUN3=
if command -v turnserver >/dev/null; then
    spawn stun3 stun3 turnserver -n --stun-only --listening-ip 10.124.3.2 \
        --listening-port 3478 --no-cli --no-tls --no-dtls --db "$WORK/turndb" \
        --pidfile "$WORK/turn.pid" --log-file stdout --simple-log
    STUN3=10.124.3.2:3478
fi

for i in $DEVS; do device_identity "$i"; device_add "$i"; done
if [[ -n $STUN3 ]]; then
    $WEFT admin stun "$STUN3" >/dev/null || die "weft admin stun failed"
fi
# The second relay first: D-F use it until it is unplugged below.
$WEFT admin relays 10.124.2.2:3478 10.124.1.2:3478 >/dev/null || die "weft admin relays failed"
publish

t0=$SECONDS
for i in $DEVS; do node_up "$i" --port $((51820 + i)); done
for i in $DEVS; do
    node_wait_up "$i" 15 || die "d$i did not come up: $(tail -3 "$WORK/node$i.log")"
done

all_pairs() {
    local i j
    for i in $DEVS; do
        for j in $DEVS; do
            ((i == j)) || can_ping "$i" "$j" || { BROKEN="${NAME[$i]}-${NAME[$j]}"; return 1; }
        done
    done
}
BROKEN=
if wait_for "$NAT_BUDGET" all_pairs; then
    pass "all 30 ordered pairs ping within ${NAT_BUDGET} s of weft up (took $((SECONDS - t0)) s)"
else
    fail "not every pair pings within ${NAT_BUDGET} s (first broken: $BROKEN)"
fi

wait_path() {
    local i=$1 j=$2 want=$3 why=$4 got t=$SECONDS
    while :; do
        got=$(path_of "$i" "$j")
        [[ $got == "$want" ]] && { pass "${NAME[$i]}-${NAME[$j]}: $want ($why)"; return 0; }
        ((SECONDS - t >= 20)) && break
        sleep 0.5
    done
    fail "${NAME[$i]}-${NAME[$j]}: path ${got:-none}, want $want ($why)"
}
wait_path 1 2 lan "same LAN"
wait_path 2 1 lan "same LAN"
wait_path 1 3 direct "two easy NATs: both probes open them"
wait_path 3 1 direct "two easy NATs"
wait_path 1 5 direct "easy NAT and a public address"
wait_path 5 1 direct "public address and an easy NAT"
wait_path 4 5 direct "hard NAT and a public address: E answers where D's probe came from"
wait_path 5 4 direct "E learned D's mapping from D's probe"
wait_path 3 4 relay "C's NAT admits only replies; D's NAT port for C is random"
wait_path 4 3 relay "the same pair from D's side"
wait_path 4 6 relay "two hard NATs"
wait_path 6 4 relay "two hard NATs"
for i in $DEVS; do
    note "${NAME[$i]}: $(node_status "$i" | jq -c '[.peers[] | .name + "=" + .path]')"
done

# --- weft netcheck from the roster each node saved.
netcheck() {
    on "d$1" "$WEFT" netcheck --interface "$(mif "$1")" --state-dir "$WORK/d$1" "${@:2}"
}
nc_c=$(netcheck 3 --json) nc_d=$(netcheck 4 --json) nc_e=$(netcheck 5 --json)
note "netcheck C: $nc_c"
note "netcheck D: $nc_d"
note "netcheck E: $nc_e"
check "netcheck C: easy NAT at 10.124.22.2, filtering by address and port" \
    jq -e '.nat and .mapping == "endpoint-independent" and .filtering == "by address and port"
           and (.public | startswith("10.124.22.2:"))' <<<"$nc_c"
check "netcheck D: hard NAT (mapping varies by destination)" \
    jq -e '.nat and .hard_nat and .mapping == "varies by destination"' <<<"$nc_d"
check "netcheck E: no NAT" jq -e '(.nat | not) and .public == "10.124.5.2:" + (.public | split(":")[1])' <<<"$nc_e"
check "netcheck measures the round trip to both relays" \
    jq -e '[.servers[] | select(.relay and .rtt_ms != null)] | length == 2' <<<"$nc_c"
text_names_public() { netcheck 3 | grep -q '^public address  10.124.22.2:'; }
check "netcheck's text names the public address" text_names_public
if [[ -n $STUN3 ]]; then
    nc_std=$(netcheck 3 --stun "$STUN3" --json)
    check "a standard STUN server (coturn) tells C its public address" \
        jq -e '.public | startswith("10.124.22.2:")' <<<"$nc_std"
    stun_used() { node_status 3 | jq -e --arg s "$STUN3" '.servers[] | select(.server == $s) | .rtt_ms != null' >/dev/null; }
    check "C's node asks the roster's standard STUN server too" stun_used
else
    skip "coturn (turnserver) not installed: no standard STUN server to ask"
fi
both_registered() { node_status 4 | jq -e '[.servers[] | select(.registered)] | length == 2' >/dev/null; }
check "weft status lists both relays as registered" both_registered

# --- Pull the plug on the relay D-F use: traffic moves to the hub's.
check "D-F go through relay2 (first in the roster)" test "$(endpoint_of_peer 4 6)" = 10.124.2.2:3478
can_ping 4 6 || fail "D-F do not ping before the relay goes"
kill -KILL "$RELAY2_PID"
t1=$SECONDS
if wait_for 40 can_ping 4 6 && wait_for 10 can_ping 6 4; then
    pass "D-F ping again $((SECONDS - t1)) s after relay2 died, through $(endpoint_of_peer 4 6)"
    check "D-F now go through the hub's relay" test "$(endpoint_of_peer 4 6)" = 10.124.1.2:3478
else
    fail "D-F do not ping 50 s after relay2 died"
fi
check "C-D also moved to the hub's relay" wait_for 20 can_ping 3 4

# --- A's underlay address changes mid-session.
on d1 ip addr flush dev eth0
on d1 ip addr add 192.168.1.12/24 dev eth0
on d1 ip route add default via 192.168.1.1
t2=$SECONDS
recovered() { can_ping 1 2 && can_ping 1 3 && can_ping 1 5 && can_ping 2 1 && can_ping 3 1; }
if wait_for 30 recovered; then
    pass "A reaches B, C and E again $((SECONDS - t2)) s after its address changed (A-B $(path_of 1 2), A-C $(path_of 1 3), A-E $(path_of 1 5))"
else
    fail "A did not recover within 30 s of its address change"
fi
check "A noticed the change through netlink" grep -q "network changed" "$WORK/node1.log"
wait_path 2 1 lan "B found A's new LAN address"

for i in $DEVS; do node_stop "$i"; done
lib_finish
