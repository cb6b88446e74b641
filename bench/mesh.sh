#!/usr/bin/env bash
# mesh.sh - the team mesh measured (issue #4 "Performance"):
#   1. time from `weft up` to the first packet delivered to a peer: a hub
#      and d1 already up on one segment; UP_RUNS times, start `weft up` on
#      d2 (a static device, its key kept, as a returning device) and ping
#      d1's mesh address every 10 ms; the time to the first answer
#      (median, p90); each d2 stopped with SIGTERM before the next;
#   2. a hub under HUB_DEVICES simulated devices (bench/tools/hubload):
#      each follows the event stream with its own long poll, signed with
#      its own key; HUB_ANNOUNCE announcements one after the other; the time
#      until each subscriber has one (fan-out p50/p99/max, and until the
#      last subscriber), the hub's RSS and its CPU over the announcements.
# A markdown report goes to stdout and to RESULTS_DIR/mesh-<date>.md.
#
# Environment: WEFT, WEFT_HUB, HUBLOAD (built binaries), UP_RUNS (20),
# HUB_DEVICES (2000), HUB_ANNOUNCE (50), RESULTS_DIR (bench/results).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRCDIR=$ROOT
. "$ROOT/tests/netns/lib.sh"
. "$ROOT/tests/netns/mesh_lib.sh"
WEFT=${WEFT:-$ROOT/build/weft}
WEFT_HUB=${WEFT_HUB:-$ROOT/build/weft-hub}
HUBLOAD=${HUBLOAD:-$ROOT/build/hubload}
UP_RUNS=${UP_RUNS:-20}
HUB_DEVICES=${HUB_DEVICES:-2000}
HUB_ANNOUNCE=${HUB_ANNOUNCE:-50}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TEST_BUDGET=${TEST_BUDGET:-900}
for b in "$WEFT" "$WEFT_HUB" "$HUBLOAD"; do
    [[ -x $b ]] || { echo "mesh.sh: $b not built (tools/run build)" >&2; exit 1; }
done

lib_init mesh_bench
mesh_topology 2
hub_start
for i in 1 2; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2 --ip 100.80.0.11
publish
node_up 1
node_wait_up 1 15 || die "d1 did not come up"

ms() { echo $(($(date +%s%N) / 1000000)); }
times=()
for ((r = 1; r <= UP_RUNS; r++)); do
    : >"$WORK/node2.log"
    t0=$(ms)
    node_up 2
    until on d2 ping -c1 -W0.01 -q 100.80.0.10 >/dev/null 2>&1; do
        (($(ms) - t0 < 20000)) || die "run $r: no answer from d1 within 20 s"
        sleep 0.01
    done
    times+=($(($(ms) - t0)))
    node_stop 2 || die "run $r: d2 did not stop"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
up_med=$(sed -n "$(((UP_RUNS + 1) / 2))p" <<<"$sorted")
up_p90=$(sed -n "$(((UP_RUNS * 9 + 9) / 10))p" <<<"$sorted")
up_max=$(tail -1 <<<"$sorted")

# The hub load, on a hub of its own (same host namespace as the load tool).
load_key=$("$HUBLOAD" keygen "$WORK/load.admin") || die "hubload keygen failed"
"$WEFT_HUB" create-network load --admin-key "$load_key" --db "sqlite:$WORK/load.db" >/dev/null
spawn hub loadhub "$WEFT_HUB" --listen 127.0.0.1:7481 --relay off --db "sqlite:$WORK/load.db"
load_pid=$SPAWNED
wait_for 10 grep -q "listening on" "$WORK/loadhub.log" || die "the load hub did not start"
on hub "$HUBLOAD" run --hub http://127.0.0.1:7481 --network load --admin "$WORK/load.admin" \
    --devices "$HUB_DEVICES" --announce "$HUB_ANNOUNCE" --hub-pid "$load_pid" \
    >"$WORK/hubload.out" 2>"$WORK/hubload.err" || die "hubload failed: $(tail -1 "$WORK/hubload.err")"
val() { awk -v k="$1" '$1 == k {print $2}' "$WORK/hubload.out"; }

mkdir -p "$RESULTS_DIR"
out=$RESULTS_DIR/mesh-$(date +%F).md
{
    echo "## Team mesh, $(date '+%F %H:%M') ($(nproc) cores, $(uname -r))"
    echo
    echo "Command: \`WEFT=build/weft WEFT_HUB=build/weft-hub HUBLOAD=build/hubload bench/mesh.sh\`"
    echo
    echo "| measure | value |"
    echo "|---|---|"
    echo "| \`weft up\` to first packet delivered to a peer, median of $UP_RUNS | ${up_med} ms |"
    echo "| same, p90 / max | ${up_p90} ms / ${up_max} ms |"
    echo "| hub: devices following the stream (one long poll each) | $(val subscribers) |"
    echo "| hub: announcements timed | $(val announcements) |"
    echo "| fan-out, per subscriber: p50 / p99 / max | $(val fanout_p50_ms) / $(val fanout_p99_ms) / $(val fanout_max_ms) ms |"
    echo "| fan-out, until the last subscriber: p50 / p99 | $(val all_p50_ms) / $(val all_p99_ms) ms |"
    echo "| hub RSS with all subscribers | $(($(val hub_rss_kib) / 1024)) MiB |"
    echo "| hub CPU over the announcements | $(val hub_cpu_s) s ($(awk -v c="$(val hub_cpu_s)" -v n="$(val announcements)" 'BEGIN {printf "%.0f", c * 1000 / n}') ms per announcement) |"
    echo "| deliveries lost (none within 10 s) | $(val lost) |"
    echo
    echo "Connect times (ms): ${times[*]}"
    echo
} | tee -a "$out"
pass "report in $out"
lib_finish
