#!/usr/bin/env bash
# nat.sh - the relay and the way off it measured (issue #5 "Performance").
# d1 and d2 each behind a NAT router (tests/netns/nat_lib.sh), weft-hub's
# relay at 10.124.1.2 (no per-device limit: --relay-rate 0). ROUNDS times:
#   1. both NATs hard (a new port per destination): the path is the relay;
#      PINGS pings at 10 ms through the tunnel (median), one iperf3 TCP
#      stream for DURATION s, and the CPU of the relay (weft-hub) and of
#      d1's node meanwhile;
#   2. the NATs open (rules made easy, conntrack flushed, as a router that
#      restarts with another setting): the time until d1's path to d2 says
#      direct, and until d2's does;
#   3. the same measurements on the direct path;
#   4. the NATs close again; wait for the relay.
# The extra latency of the relay is the difference of the two medians.
# A markdown report goes to stdout and to RESULTS_DIR/nat-<date>.md.
#
# Environment: WEFT, WEFT_HUB (built binaries), ROUNDS (3), DURATION (10),
# OMIT (2), PINGS (200), RESULTS_DIR (bench/results).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRCDIR=$ROOT
. "$ROOT/tests/netns/lib.sh"
. "$ROOT/tests/netns/mesh_lib.sh"
. "$ROOT/tests/netns/nat_lib.sh"
. "$ROOT/bench/lib.sh"
WEFT=${WEFT:-$ROOT/build/weft}
WEFT_HUB=${WEFT_HUB:-$ROOT/build/weft-hub}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
OMIT=${OMIT:-2}
PINGS=${PINGS:-200}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TEST_BUDGET=${TEST_BUDGET:-1800}
for b in "$WEFT" "$WEFT_HUB"; do
    [[ -x $b ]] || { echo "nat.sh: $b not built (tools/run build)" >&2; exit 1; }
done
for c in iperf3 conntrack nft jq; do
    command -v "$c" >/dev/null || { echo "nat.sh: $c missing (tools/deps.sh bench)" >&2; exit 1; }
done

lib_init nat_bench
inet_init hub
wan hub 1
nat nat1 21 192.168.1 hard
nat nat2 22 192.168.2 hard
behind nat1 1 192.168.1.2
behind nat2 2 192.168.2.2
hub_with_relay --relay-rate 0
for i in 1 2; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2 --ip 100.80.0.11
$WEFT admin relays 10.124.1.2:3478 >/dev/null || die "weft admin relays failed"
publish
node_up 1 --port 51821
node_up 2 --port 51822
for i in 1 2; do node_wait_up "$i" 15 || die "d$i did not come up"; done
on d2 iperf3 -s -D -B 100.80.0.11 --logfile "$WORK/iperf-server.log" ||
    die "iperf3 server did not start"
TARGET=100.80.0.11
engine1=$(pgrep -P "${NODE_PID[1]}" | head -1)
DAEMONS=("$HUB_PID" "${engine1:-${NODE_PID[1]}}")

# wait_paths WANT SECS: both sides say WANT; prints the seconds it took.
wait_paths() {
    local want=$1 limit=$2 t0 a='' b=''
    t0=$(date +%s.%N)
    while :; do
        [[ -z $a && $(path_of 1 2) == "$want" ]] && a=$(elapsed "$t0" "$(date +%s.%N)")
        [[ -z $b && $(path_of 2 1) == "$want" ]] && b=$(elapsed "$t0" "$(date +%s.%N)")
        [[ -n $a && -n $b ]] && { echo "$a $b"; return 0; }
        (($(date +%s) - ${t0%.*} >= limit)) && { echo "${a:--} ${b:--}"; return 1; }
        sleep 0.1
    done
}
set_nats() {
    local h
    for h in nat1 nat2; do
        nat_rules "$h" "$1"
        on "$h" conntrack -F >/dev/null 2>&1
    done
}
ping_med() {
    on d1 timeout $((PINGS / 50 + 30)) ping -n -c "$PINGS" -i 0.01 -W 1 "$TARGET" 2>/dev/null |
        sed -n 's/.*time=\([0-9.]*\).*/\1/p' | median
}

wait_paths relay 40 >/dev/null || die "the path did not become relay: $(path_of 1 2)"
rows=()
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r: relay"
    wait_paths relay 60 >/dev/null || die "round $r: still not relayed: $(path_of 1 2)"
    wait_for 30 on d1 ping -c1 -W1 -q "$TARGET" >/dev/null || die "round $r: no ping through the relay"
    p_relay=$(ping_med)
    iperf d1
    g_relay=$R_GBPS c_hub=$R_CPU_A c_node_r=$R_CPU_B
    log "round $r: opening the NATs"
    set_nats easy
    read -r up1 up2 < <(wait_paths direct 120) || log "round $r: not direct within 120 s"
    p_direct=$(ping_med)
    iperf d1
    g_direct=$R_GBPS c_node_d=$R_CPU_B
    rows+=("$r $p_relay $g_relay $c_hub $c_node_r $up1 $up2 $p_direct $g_direct $c_node_d")
    log "round $r: relay ${p_relay} ms ${g_relay} Gbit/s, direct after ${up1}/${up2} s, ${p_direct} ms ${g_direct} Gbit/s"
    set_nats hard
done
on hub true
kill -TERM "$HUB_PID"
wait_for 10 gone "$HUB_PID"

colm() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | grep -v '^-$' | median; }
date_s=$(date +%F)
report=$(
    echo "## NAT traversal and relay — $date_s"
    echo
    echo "Two devices, each behind its own nftables NAT router in network namespaces on one"
    echo "host ($(host_desc)); weft-hub's relay between them with no per-device limit."
    echo "Command: \`tools/run bench\` with BENCH=nat (bench/nat.sh), ROUNDS=$ROUNDS, DURATION=${DURATION} s,"
    echo "PINGS=$PINGS. Medians over the rounds."
    echo
    echo "| path | ping RTT (ms, median of $PINGS) | 1 TCP stream (Gbit/s) | relay CPU (% of a core) | d1 node CPU (%) |"
    echo "|---|---|---|---|---|"
    echo "| relay (both NATs hard) | $(colm 2) | $(colm 3) | $(colm 4) | $(colm 5) |"
    echo "| direct (NATs opened) | $(colm 8) | $(colm 9) | - | $(colm 10) |"
    echo
    echo "Relay vs direct: throughput $(awk -v a="$(colm 3)" -v b="$(colm 9)" 'BEGIN { printf (b > 0) ? "%.2f×" : "-", a / b }'),"
    echo "extra latency $(awk -v a="$(colm 2)" -v b="$(colm 8)" 'BEGIN { printf "%.3f", a - b }') ms."
    echo "From the NATs opening to a direct path: d1 $(colm 6) s, d2 $(colm 7) s (median)."
    echo
    echo "| round | relay ping | relay Gbit/s | relay CPU | to direct d1/d2 (s) | direct ping | direct Gbit/s |"
    echo "|---|---|---|---|---|---|---|"
    for row in "${rows[@]}"; do
        read -r r a b c _ e f g h _ <<<"$row"
        echo "| $r | $a | $b | $c | $e / $f | $g | $h |"
    done
)
echo "$report"
mkdir -p "$RESULTS_DIR"
echo "$report" >"$RESULTS_DIR/nat-$date_s.md"
lib_finish
