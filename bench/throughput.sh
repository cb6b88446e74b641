#!/usr/bin/env bash
# throughput.sh - weftd against wireguard-go on this machine, in one run:
# TCP throughput (iperf3, 1 and 4 streams), ping RTT, the daemons' CPU use,
# and memory (idle, and with 1000 peers).  A markdown report goes to stdout
# and to RESULTS_DIR.
#
# Systems (each between two fresh namespaces a -> b joined by one veth;
# iperf3 client in a, server in b, so a encrypts and b decrypts; inner MTU
# 1420 everywhere, the raw veth too):
#   raw          the veth alone, no VPN (ceiling of this box)
#   wggo         wireguard-go <-> wireguard-go (the yardstick)
#   weftd        weftd <-> weftd
#   weftd-wggo   weftd sends, wireguard-go receives
#   wggo-weftd   wireguard-go sends, weftd receives
#
# Knobs (environment):
#   WEFTD=build/weftd   the daemon (WEFTD=wireguard-go checks the harness)
#   SYSTEMS="raw wggo weftd weftd-wggo wggo-weftd"
#   ROUNDS=3            each round runs every system once; even rounds run
#                       them (and the 1x/4x tests) in reverse order, so slow
#                       drift cancels out; tables show medians over rounds
#   DURATION=10 OMIT=1  iperf3 -t / -O seconds per test
#   PINGS=50            pings at 10 ms on the idle tunnel, median reported
#   PEERS=1000          peers in the memory test (MEMORY=0 skips it)
#   MAX_BG=20 QUIET_WAIT=30   before each system wait up to QUIET_WAIT s for
#                       the host to be under MAX_BG % of one core busy; a
#                       row measured on a busier host is flagged "noisy"
#   RESULTS_DIR=bench/results   throughput-<date>.md is written there
#   DAEMON_LOG_LEVEL=error      LOG_LEVEL of the daemons (both honour it)
#
# CPU: utime+stime of each daemon's process tree (all threads, and any
# helper processes it forks) from /proc/PID/stat over the iperf3 run, as %
# of one core, and CPU-seconds per Gbit carried (both daemons together).
# Memory: VmRSS of the daemon's process tree.
#
# Needs root.  Namespaces, processes and sockets are this run's own (see
# tests/netns/lib.sh) and are removed on exit, also on failure or Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${WEFTD:-} ]]; then
    WEFTD=$ROOT/build/weftd
    [[ -x $WEFTD ]] || { echo "throughput: no $WEFTD; build it or set WEFTD (WEFTD=wireguard-go checks the harness)" >&2; exit 1; }
fi
SYSTEMS=${SYSTEMS:-raw wggo weftd weftd-wggo wggo-weftd}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
OMIT=${OMIT:-1}
PINGS=${PINGS:-50}
PEERS=${PEERS:-1000}
MEMORY=${MEMORY:-1}
MAX_BG=${MAX_BG:-20}
QUIET_WAIT=${QUIET_WAIT:-30}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
export WEFTD WEFT=${WEFT:-wg}
export DAEMON_LOG_LEVEL=${DAEMON_LOG_LEVEL:-error}   # no logging cost in the numbers
read -ra SYS_LIST <<<"$SYSTEMS"
TEST_BUDGET=$((ROUNDS * ${#SYS_LIST[@]} * (2 * (DURATION + OMIT) + 60) + PEERS / 5 + 300))
. "$ROOT/tests/netns/lib.sh"
command -v iperf3 >/dev/null || { echo "throughput: needs iperf3" >&2; exit 77; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $DURATION =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS, DURATION: positive integers" >&2; exit 2; }
lib_init bench
WGGO=${REF_DAEMON:-}
[[ -n $WGGO ]] || { echo "throughput: needs wireguard-go as the yardstick" >&2; exit 77; }
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
RES=$WORK/results.tsv
: >"$RES"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ------------------------------------------------------------- measuring
# tree PID...: the PIDs and all their descendants (a daemon may fork helpers).
tree() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        { kids[$2] = kids[$2] " " $1 }
        END { n = split(roots, q, " ")
              for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " ")
                  for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}
# ticks PID...: utime+stime (all threads) summed over the process trees.
ticks() {
    local p s sum=0 f
    for p in $(tree "$@"); do
        s=$(cat /proc/"$p"/stat 2>/dev/null) || continue
        s=${s##*) }                       # after "pid (comm) "
        read -ra f <<<"$s"
        sum=$((sum + f[11] + f[12]))      # fields 14, 15: utime, stime
    done
    echo "$sum"
}
# rss_kib PID: VmRSS summed over the process tree, KiB.
rss_kib() {
    local p sum=0 v
    for p in $(tree "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null) || true
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
# host_busy SECS: % of one core the whole host was busy over SECS.
host_busy() {
    local a b
    a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    sleep "$1"
    b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    awk -v a="$a" -v b="$b" -v n="$NCPU" 'BEGIN { split(a, x); split(b, y)
        printf "%.0f", (y[2] > x[2]) ? 100 * n * (y[1] - x[1]) / (y[2] - x[2]) : 0 }'
}
# wait_quiet: up to QUIET_WAIT s for the host to calm down; BUSY_NOTE set
# when it never did.
wait_quiet() {
    local t0=$SECONDS bg
    BUSY_NOTE=
    while :; do
        bg=$(host_busy 1)
        ((bg < MAX_BG)) && return 0
        if ((SECONDS - t0 >= QUIET_WAIT)); then
            BUSY_NOTE="host ${bg}% busy before the run"
            log "host still ${bg}% busy; measuring anyway (flagged noisy)"
            return 0
        fi
        sleep 2
    done
}
median() {
    sort -g | awk '{v[NR] = $1} END { if (!NR) print "-"; else if (NR % 2) printf "%.3g\n", v[(NR + 1) / 2];
        else printf "%.3g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# iperf ARGS...: one iperf3 run a -> TARGET, CPU of DAEMONS sampled around
# it; sets R_GBPS, R_CPU_A, R_CPU_B (% of one core), R_CPG (CPU-s/Gbit).
iperf() {
    local t0 t1 a0 a1 b0 b1 out=$WORK/iperf.out rc=0
    R_GBPS=FAIL R_CPU_A=- R_CPU_B=- R_CPG=-
    t0=$(date +%s.%N)
    if ((${#DAEMONS[@]})); then a0=$(ticks "${DAEMONS[0]}"); b0=$(ticks "${DAEMONS[1]}"); fi
    on a timeout $((DURATION + OMIT + 30)) iperf3 -c "$TARGET" -t "$DURATION" -O "$OMIT" \
        --connect-timeout 5000 -f g "$@" >"$out" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    if ((${#DAEMONS[@]})); then a1=$(ticks "${DAEMONS[0]}"); b1=$(ticks "${DAEMONS[1]}"); fi
    if ((rc != 0)); then
        log "iperf3 $* failed: $(tail -n 2 "$out" | tr '\n' ' ')"
        return 0
    fi
    R_GBPS=$(awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i + 1) == "Gbits/sec") v = $i} END {print v}' "$out")
    [[ -n $R_GBPS ]] || R_GBPS=FAIL
    ((${#DAEMONS[@]})) || return 0
    read -r R_CPU_A R_CPU_B R_CPG < <(awk -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v hz="$HZ" \
        -v t0="$t0" -v t1="$t1" -v g="$R_GBPS" 'BEGIN { dt = t1 - t0
            ca = a / hz / dt; cb = b / hz / dt
            printf "%.0f %.0f %s\n", 100 * ca, 100 * cb, (g > 0) ? sprintf("%.3f", (ca + cb) / g) : "-" }')
}

# ------------------------------------------------------------- systems
# setup SYSTEM: hosts a, b with the system's tunnel; sets TARGET, DAEMONS.
setup() {
    local abin bbin
    case $1 in
        raw)        abin= ;;
        wggo)       abin=$WGGO bbin=$WGGO ;;
        weftd)      abin=$WEFTD bbin=$WEFTD ;;
        weftd-wggo) abin=$WEFTD bbin=$WGGO ;;
        wggo-weftd) abin=$WGGO bbin=$WEFTD ;;
        *) die "unknown system $1" ;;
    esac
    DAEMONS=()
    if [[ -z $abin ]]; then
        host_add a b
        link_add a b 1
        on a ip link set ul1 mtu "$TUN_MTU"
        on b ip link set ul1 mtu "$TUN_MTU"
        TARGET=10.123.1.2
    else
        wg_pair "$abin" "$bbin"
        DAEMONS=("${T_DPID[$IF_A]}" "${T_DPID[$IF_B]}")
        TARGET=10.77.0.2
    fi
    assert_isolated
}

# run_system ROUND SYSTEM: measure one system; appends one row to RES.
run_system() {
    local round=$1 sys=$2 ping g1=FAIL g4=FAIL c1a=- c1b=- c4a=- c4b=- cpg1=- cpg4=- t noisy=0 order
    wait_quiet
    [[ -z $BUSY_NOTE ]] || noisy=1
    SCEN=r$round setup "$sys"
    wait_ping a "$TARGET" 20 || die "$sys: no ping through to $TARGET"
    spawn b iperf3-server timeout $((4 * (DURATION + OMIT) + 120)) iperf3 -s -B "$TARGET"
    wait_for 5 listening b 5201 || die "$sys: iperf3 server did not start"
    ping=$(on a timeout 30 ping -n -c "$PINGS" -i 0.01 -W 1 "$TARGET" 2>/dev/null \
        | sed -n 's/.*time=\([0-9.]*\).*/\1/p' | median)
    order="1 4"; ((round % 2)) || order="4 1"
    for t in $order; do
        if [[ $t == 1 ]]; then
            iperf
            g1=$R_GBPS c1a=$R_CPU_A c1b=$R_CPU_B cpg1=$R_CPG
        else
            iperf -P 4
            g4=$R_GBPS c4a=$R_CPU_A c4b=$R_CPU_B cpg4=$R_CPG
        fi
    done
    log "round $round $sys: 1x $g1 Gbit/s (cpu a $c1a% b $c1b%), 4x $g4 Gbit/s (cpu a $c4a% b $c4b%), ping $ping ms${BUSY_NOTE:+ ($BUSY_NOTE)}"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sys" "$g1" "$g4" "$ping" \
        "$c1a" "$c1b" "$c4a" "$c4b" "$cpg1" "$cpg4" "$noisy" >>"$RES"
}

# ---------------------------------------------------------------- memory
# memory NAME BINARY: idle RSS, then RSS with PEERS peers set in one setconf.
memory() {
    local name=$1 bin=$2 ifn pid idle full n t0 secs conf=$WORK/peers-$1.conf i
    host_add "m$name"
    ifn=$(ifname "m$name")
    keygen "mem$name"
    daemon_start "m$name" "$ifn" "$bin"
    pid=${T_DPID[$ifn]}
    setconf "m$name" "$ifn" <<EOF || die "memory $name: setconf failed"
[Interface]
PrivateKey = $(priv "mem$name")
ListenPort = 51820
EOF
    on "m$name" ip addr add 10.77.0.1/16 dev "$ifn"
    on "m$name" ip link set "$ifn" mtu "$TUN_MTU" up
    sleep 2
    idle=$(rss_kib "$pid")
    printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$(priv "mem$name")" >"$conf"
    for ((i = 1; i <= PEERS; i++)); do
        # Random 32-byte public keys will do: nobody answers for them.
        printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n' \
            "$(head -c 32 /dev/urandom | base64)" $((100 + i / 65536)) $((i / 256 % 256)) $((i % 256))
    done >>"$conf"
    t0=$(date +%s.%N)
    on "m$name" timeout 60 "$WG_CLI" setconf "$ifn" "$conf" || die "memory $name: setconf of $PEERS peers failed"
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    n=$(wg_show "m$name" "$ifn" peers | wc -l)
    sleep 2
    full=$(rss_kib "$pid")
    log "memory $name: idle $idle KiB, $n peers $full KiB (setconf took ${secs}s)"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$idle" "$full" "$n" "$secs" >>"$WORK/memory.tsv"
}

# ---------------------------------------------------------------- report
col() {   # col SYS N: column N of SYS's rows (clean rounds if any), numbers only
    awk -F'\t' -v s="$1" -v c="$2" -v clean="$(awk -F'\t' -v s="$1" '$2 == s && !$12' "$RES" | wc -l)" \
        '$2 == s && (!clean || !$12) && $c ~ /^[0-9.]+$/ {print $c}' "$RES"
}
med() { col "$1" "$2" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "-" }'; }
label() {
    local d w
    d=$(basename "$WEFTD")
    w=$(basename "$WGGO")
    case $1 in
        raw) echo "raw veth (no VPN)" ;;
        wggo) echo "$w <-> $w" ;;
        weftd) echo "$d <-> $d" ;;
        weftd-wggo) echo "$d -> $w" ;;
        wggo-weftd) echo "$w -> $d" ;;
    esac
}

report() {
    local s n rounds name idle full secs bin
    printf '| system | 1 stream Gbit/s | 4 streams Gbit/s | ping median ms | CPU 1x a/b %% | CPU 4x a/b %% | CPU-s/Gbit 1x | CPU-s/Gbit 4x | rounds |\n'
    printf '|---|---|---|---|---|---|---|---|---|\n'
    for s in "${SYS_LIST[@]}"; do
        rounds=$(awk -F'\t' -v s="$s" '$2 == s' "$RES" | wc -l)
        n=$(awk -F'\t' -v s="$s" '$2 == s && $12' "$RES" | wc -l)
        printf '| %s | %s | %s | %s | %s/%s | %s/%s | %s | %s | %s%s |\n' "$(label "$s")" \
            "$(med "$s" 3)" "$(med "$s" 4)" "$(med "$s" 5)" "$(med "$s" 6)" "$(med "$s" 7)" \
            "$(med "$s" 8)" "$(med "$s" 9)" "$(med "$s" 10)" "$(med "$s" 11)" "$rounds" \
            "$( ((n)) && echo " ($n noisy)")"
    done
    printf '\nCPU: a = sender (encrypts), b = receiver (decrypts), each daemon in %% of one core (%d cores here); CPU-s/Gbit = both daemons'"'"' CPU-seconds per Gbit carried.\n' "$NCPU"
    printf '\n| system | 1x / wggo | 4x / wggo | ping / wggo | CPU-s/Gbit 1x / wggo | CPU-s/Gbit 4x / wggo |\n|---|---|---|---|---|---|\n'
    for s in "${SYS_LIST[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s |\n' "$(label "$s")" \
            "$(ratio "$(med "$s" 3)" "$(med wggo 3)")" "$(ratio "$(med "$s" 4)" "$(med wggo 4)")" \
            "$(ratio "$(med "$s" 5)" "$(med wggo 5)")" "$(ratio "$(med "$s" 10)" "$(med wggo 10)")" \
            "$(ratio "$(med "$s" 11)" "$(med wggo 11)")"
    done
    if [[ -s $WORK/memory.tsv ]]; then
        printf '\n| daemon | idle RSS MiB | RSS with %s peers MiB | per peer KiB | peers shown | setconf s | idle / wggo | %s peers / wggo |\n|---|---|---|---|---|---|---|---|\n' "$PEERS" "$PEERS"
        local wi wf
        wi=$(awk -F'\t' '$1 == "wggo" {print $2}' "$WORK/memory.tsv")
        wf=$(awk -F'\t' '$1 == "wggo" {print $3}' "$WORK/memory.tsv")
        while IFS=$'\t' read -r name idle full n secs; do
            bin=$WEFTD
            [[ $name == wggo ]] && bin=$WGGO
            printf '| %s | %.1f | %.1f | %.2f | %s | %s | %s | %s |\n' \
                "$(basename "$bin")" \
                "$(awk -v k="$idle" 'BEGIN { print k / 1024 }')" "$(awk -v k="$full" 'BEGIN { print k / 1024 }')" \
                "$(awk -v i="$idle" -v f="$full" -v n="$PEERS" 'BEGIN { print (f - i) / n }')" "$n" "$secs" \
                "$(ratio "$idle" "$wi")" "$(ratio "$full" "$wf")"
        done <"$WORK/memory.tsv"
    fi
}

# ------------------------------------------------------------------ main
# Ctrl-C: stop the running system's subshell first, so that it starts
# nothing more; the EXIT trap then removes what it left by this run's prefix.
CHILD=
# shellcheck disable=SC2317  # called by the trap
on_signal() {
    [[ -z $CHILD ]] || { kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; }
    exit 130
}
trap on_signal INT TERM
pkgv() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
STARTED=$(date -u +%FT%TZ)
log "weftd: $WEFTD; yardstick: $WGGO; systems: $SYSTEMS; $ROUNDS rounds of ${DURATION}s tests"
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${SYS_LIST[@]}")
    if ((r % 2 == 0)); then
        order=(); for ((i = ${#SYS_LIST[@]} - 1; i >= 0; i--)); do order+=("${SYS_LIST[i]}"); done
    fi
    for sys in "${order[@]}"; do
        # Each system in a subshell of its own, torn down on its way out;
        # in the background so that Ctrl-C is handled at once (the main
        # cleanup then finds its namespaces by this run's prefix).
        set +e
        (set -e; trap teardown EXIT; run_system "$r" "$sys") &
        CHILD=$!
        wait "$CHILD"; rc=$?
        CHILD=
        set -e
        if ((rc != 0)); then
            log "round $r $sys: failed (rc $rc)"
            printf '%s\t%s\tFAIL\tFAIL\t-\t-\t-\t-\t-\t-\t-\t0\n' "$r" "$sys" >>"$RES"
            T_FAILS=$((T_FAILS + 1))
        fi
    done
done
if [[ $MEMORY == 1 ]]; then
    : >"$WORK/memory.tsv"
    for m in "wggo $WGGO" "weftd $WEFTD"; do
        read -r name bin <<<"$m"
        set +e
        (set -e; trap teardown EXIT; memory "$name" "$bin") &
        CHILD=$!
        wait "$CHILD"; rc=$?
        CHILD=
        set -e
        ((rc == 0)) || { log "memory $name: failed"; T_FAILS=$((T_FAILS + 1)); }
    done
fi

table=$(report)
mkdir -p "$RESULTS_DIR"
out=$RESULTS_DIR/throughput-$(date +%F).md
{
    printf '\n## throughput.sh at %s\n\n' "$STARTED"
    printf -- '- invocation: `WEFTD=%s SYSTEMS="%s" ROUNDS=%s DURATION=%s OMIT=%s PINGS=%s PEERS=%s bench/throughput.sh`\n' \
        "$WEFTD" "$SYSTEMS" "$ROUNDS" "$DURATION" "$OMIT" "$PINGS" "$PEERS"
    printf -- '- weft %s (%s); wireguard-go %s; iperf3 %s; kernel %s\n' \
        "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')" "$(basename "$WEFTD")" \
        "$(pkgv wireguard-go)" "$(pkgv iperf3)" "$(uname -r)"
    printf -- '- host: %s x %s, %s MiB RAM\n' "$NCPU" "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
        "$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
    printf -- '- medians over rounds (only rounds on a quiet host when there are any); inner MTU %s; iperf3 -t %s -O %s; ping -c %s -i 0.01\n\n' \
        "$TUN_MTU" "$DURATION" "$OMIT" "$PINGS"
    printf '%s\n' "$table"
    printf '\n<details><summary>per round</summary>\n\n```\nround system 1x 4x ping cpu1a cpu1b cpu4a cpu4b cpg1 cpg4 noisy\n'
    cat "$RES"
    printf '```\n</details>\n'
} >>"$out"
printf '\n%s\n\n' "$table"
log "appended to $out"
lib_finish
