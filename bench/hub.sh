#!/usr/bin/env bash
# hub.sh - weft-hub under HUB_DEVICES simulated devices (bench/tools/hubload),
# each following the event stream with its own long poll signed with its
# own key, and HUB_ANNOUNCE announcements one after the other:
#   a. one hub on SQLite;
#   b. PostgreSQL (our own: initdb in the work directory, unix socket
#      only, as tests/netns/hub_pg.sh) and two hub instances on it; the
#      subscribers alternate between them and every announcement is posted
#      through the first, so the second instance's half of the deliveries
#      cross instances (LISTEN/NOTIFY).
# A roster holds at most 4096 devices, so the devices are spread over
# ceil(HUB_DEVICES / 4096) networks; each announcement fans out to its
# network's share while all long polls are held. Reported per setup:
# fan-out p50/p99/max per delivery and until the last subscriber, RSS
# per instance, hub CPU per announcement, lost deliveries; a markdown
# table to stdout and to RESULTS_DIR/hub-<date>.md.
#
# Each setup has a network namespace of its own (hubs on 127.0.0.1, the
# hubs' UDP relay off), torn down with everything started in it by the
# exit trap, also on failure or Ctrl-C.
#
# Environment: WEFT_HUB, HUBLOAD (built binaries), HUB_DEVICES (10000),
# HUB_ANNOUNCE (10), HUB_TIMEOUT (30: seconds an announcement may take
# to reach everyone before the rest count as lost), RESULTS_DIR
# (bench/results).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEFT_HUB=${WEFT_HUB:-$ROOT/build/weft-hub}
HUBLOAD=${HUBLOAD:-$ROOT/build/hubload}
HUB_DEVICES=${HUB_DEVICES:-10000}
HUB_ANNOUNCE=${HUB_ANNOUNCE:-10}
HUB_TIMEOUT=${HUB_TIMEOUT:-60}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TEST_BUDGET=${TEST_BUDGET:-1800}
. "$ROOT/tests/netns/lib.sh"
. "$ROOT/bench/lib.sh"
for b in "$WEFT_HUB" "$HUBLOAD"; do
    [[ -x $b ]] || { echo "hub.sh: $b not built (tools/run build)" >&2; exit 1; }
done
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] && id postgres >/dev/null 2>&1 ||
    { echo "hub.sh: needs the PostgreSQL server and a postgres user (Debian: postgresql)" >&2; exit 1; }
# A descriptor per long poll in hubload and in the hub.
if (($(ulimit -Hn) < HUB_DEVICES + 256)); then
    echo "hub.sh: $HUB_DEVICES long polls need an open-file limit of $((HUB_DEVICES + 256)); the hard limit is $(ulimit -Hn)" >&2
    exit 1
fi
ulimit -n "$(ulimit -Hn)"

lib_init hub_bench
. "$ROOT/tests/netns/pg_lib.sh"
NETS=$(((HUB_DEVICES + 4095) / 4096))
load_key=$("$HUBLOAD" keygen "$WORK/load.admin") || die "hubload keygen failed"
nets=() net_args=()
for ((k = 1; k <= NETS; k++)); do nets+=("load$k"); net_args+=(--network "load$k"); done

# create_networks DB: the networks, the load tool's key as their admin.
create_networks() {
    local n
    for n in "${nets[@]}"; do
        "$WEFT_HUB" create-network "$n" --admin-key "$load_key" --db "$1" >/dev/null ||
            die "create-network $n on $1 failed"
    done
}
# hub_up HOST NAME PORT DB: a hub in HOST on 127.0.0.1:PORT, PID in SPAWNED.
hub_up() {
    spawn "$1" "$2" "$WEFT_HUB" --listen "127.0.0.1:$3" --relay off --db "$4"
    local pid=$SPAWNED
    wait_for 15 grep -q "listening on" "$WORK/$2.log" || die "$2 did not start: $(tail -1 "$WORK/$2.log")"
    SPAWNED=$pid
}
# load HOST OUT ARGS...: hubload run, "name value" lines in $WORK/OUT.
load() {
    local host=$1 out=$2
    shift 2
    log "hubload: $HUB_DEVICES devices, $NETS networks, $HUB_ANNOUNCE announcements ($out)"
    on "$host" timeout $((300 + HUB_ANNOUNCE * (HUB_TIMEOUT + 15))) "$HUBLOAD" run "${net_args[@]}" \
        --admin "$WORK/load.admin" --devices "$HUB_DEVICES" --announce "$HUB_ANNOUNCE" \
        --timeout "$HUB_TIMEOUT" "$@" >"$WORK/$out" 2>"$WORK/$out.err"
    local rc=$?
    # A setup that cannot carry the load is a result too: noted, reported.
    ((rc == 0 || rc == 2)) || { NOTES+=("$out: $(tail -1 "$WORK/$out.err")"); log "${NOTES[-1]}"; }
}
NOTES=()

# a. One hub on SQLite.
host_add sq
create_networks "sqlite:$WORK/load.db"
hub_up sq sqhub 7481 "sqlite:$WORK/load.db"
sq_pid=$SPAWNED
load sq sqlite.out --hub http://127.0.0.1:7481 --hub-pid "$sq_pid"
teardown

# b. PostgreSQL and two hubs on it.
# The exit trap: the hubs first (so they do not see the server go), then
# the server, then the rest as lib.sh does it.
trap 'rc=$?; teardown; pg_cleanup; (exit $rc); lib_cleanup' EXIT
pg_init
pg_pid=$(head -1 "$PGDIR/data/postmaster.pid")
host_add pgh
create_networks "$DB_URI"
hub_up pgh pghub1 7481 "$DB_URI"
pg1=$SPAWNED
hub_up pgh pghub2 7482 "$DB_URI"
pg2=$SPAWNED
pg_t0=$(ticks "$pg_pid")
load pgh pg.out --hub http://127.0.0.1:7481 --hub http://127.0.0.1:7482 \
    --hub-pid "$pg1" --hub-pid "$pg2"
pg_cpu=$(awk -v t="$(($(ticks "$pg_pid") - pg_t0))" -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz}')
teardown
pg_cleanup

val() { awk -v k="$2" '$1 == k {print $2}' "$WORK/$1"; }
mib() { awk -v k="$(val "$1" "$2")" 'BEGIN {printf "%.0f", k / 1024}'; }
per_ann() { awk -v c="$(val "$1" "$2")" -v n="$(val "$1" announcements)" 'BEGIN {printf "%.0f", c * 1000 / n}'; }
fan() { echo "$(val "$1" "${2}fanout_p50_ms") / $(val "$1" "${2}fanout_p99_ms") / $(val "$1" "${2}fanout_max_ms") ms"; }
row() { printf '| %s | %s | %s |\n' "$@"; }

mkdir -p "$RESULTS_DIR"
out=$RESULTS_DIR/hub-$(date +%F).md
{
    echo "## Hub under $HUB_DEVICES devices, $(date '+%F %H:%M') ($(host_desc), $(uname -r))"
    echo
    echo "Command: \`WEFT_HUB=build/weft-hub HUBLOAD=build/hubload HUB_DEVICES=$HUB_DEVICES HUB_ANNOUNCE=$HUB_ANNOUNCE HUB_TIMEOUT=$HUB_TIMEOUT bench/hub.sh\`"
    echo "(weft $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'))"
    echo
    row measure "SQLite, one hub" "PostgreSQL, two hubs"
    row "---" "---" "---"
    row "devices following the stream (one long poll each), networks" \
        "$(val sqlite.out subscribers), $NETS" "$(val pg.out subscribers), $NETS (half on each hub)"
    row "announcements timed (deliveries expected)" \
        "$(val sqlite.out announcements) ($(val sqlite.out deliveries))" \
        "$(val pg.out announcements) ($(val pg.out deliveries)), all posted via hub 1"
    row "fan-out per delivery: p50 / p99 / max" "$(fan sqlite.out '')" "$(fan pg.out '')"
    row "&nbsp;&nbsp;subscribers of hub 1 (same instance)" "-" "$(fan pg.out hub1_)"
    row "&nbsp;&nbsp;subscribers of hub 2 (across instances, NOTIFY)" "-" "$(fan pg.out hub2_)"
    row "fan-out until the last subscriber: p50 / p99" \
        "$(val sqlite.out all_p50_ms) / $(val sqlite.out all_p99_ms) ms" \
        "$(val pg.out all_p50_ms) / $(val pg.out all_p99_ms) ms"
    row "RSS per hub instance, all long polls held" "$(mib sqlite.out hub1_rss_kib) MiB" \
        "$(mib pg.out hub1_rss_kib) + $(mib pg.out hub2_rss_kib) MiB"
    row "hub CPU per announcement (all instances)" "$(per_ann sqlite.out hub_cpu_s) ms" \
        "$(per_ann pg.out hub_cpu_s) ms ($(per_ann pg.out hub1_cpu_s) + $(per_ann pg.out hub2_cpu_s))"
    row "PostgreSQL server CPU, whole load run (incl. setup)" "-" "$pg_cpu s"
    row "load tool CPU per announcement" "$(per_ann sqlite.out load_cpu_s) ms" "$(per_ann pg.out load_cpu_s) ms"
    row "time until every long poll had answered once (warm-up)" \
        "$(val sqlite.out warmup_ms) ms" "$(val pg.out warmup_ms) ms"
    row "deliveries lost (not within ${HUB_TIMEOUT} s) / failed polls / posts not answered" \
        "$(val sqlite.out lost) / $(val sqlite.out errors) / $(val sqlite.out posts_failed)" \
        "$(val pg.out lost) / $(val pg.out errors) / $(val pg.out posts_failed)"
    echo
    for n in "${NOTES[@]}"; do echo "Failed: $n"; echo; done
} | tee -a "$out"
pass "report in $out"
lib_finish
