#!/usr/bin/env bash
# throughput.sh - weftd against wireguard-go on this machine, in one run:
# TCP throughput (iperf3, 1 and 4 streams), ping RTT, the daemons' CPU use,
# throughput under a flood of garbage and of fake data messages, and memory
# (idle, and with 1000 peers).  A markdown report goes to stdout and to
# RESULTS_DIR.
#
# Systems (each between two fresh namespaces a -> b joined by one veth;
# iperf3 client in a, server in b, so a encrypts and b decrypts; inner MTU
# 1420 everywhere, the raw veth too):
#   raw          the veth alone, no VPN (ceiling of this box)
#   null         bench/tools/nulltun in a and in b: TUN <-> UDP one packet
#                per wake-up, no crypto, no batching; the floor of any
#                userspace tunnel (the kernel work and the process wake-ups
#                that weftd and wireguard-go pay too), so the report gives
#                each system's ping over null as well as over raw; never
#                flooded
#   wggo         wireguard-go <-> wireguard-go (the yardstick)
#   weftd        weftd <-> weftd, every data-plane technique on
#   weftd-wggo   weftd sends, wireguard-go receives
#   wggo-weftd   wireguard-go sends, weftd receives
# and weftd <-> weftd with techniques switched off (the environment below
# is given to both daemons and checked in /proc/PID/environ):
#   weftd-plain  WEFT_NO_TUN_OFFLOAD=1 WEFT_NO_TUN_GRO=1 WEFT_NO_UDP_GSO=1
#                WEFT_NO_UDP_GRO=1 WEFT_AEAD=libsodium: the batched baseline
#   weftd-gso    WEFT_NO_TUN_OFFLOAD=1 WEFT_NO_TUN_GRO=1 WEFT_NO_UDP_GRO=1
#                (UDP GSO on)
#   weftd-udp    WEFT_NO_TUN_OFFLOAD=1 WEFT_NO_TUN_GRO=1 (UDP GSO + GRO on)
#   weftd-tso    WEFT_NO_TUN_GRO=1 (TUN offload: TSO/USO reads; no
#                coalescing on TUN writes)
#   weftd-sodium WEFT_AEAD=libsodium, everything else on
#   weftd-headers  WEFT_NO_SESSION_FILTER=1: the sockets' header filter
#                only (no eBPF map of live receiver indices)
#   weftd-nofilter WEFT_NO_UDP_FILTER=1: no socket filter at all
# (gso, udp and tso leave the AEAD to weftd, which measures both backends
# at start; weftd vs weftd-sodium shows what that choice is worth.)
#
# Flood: for the FLOOD_SYSTEMS among SYSTEMS, one more single-stream run
# per kind in FLOOD_KINDS while bench/tools/udpflood sends FLOOD_PPS
# datagrams/s from namespace a to the receiving daemon's UDP port (an
# unknown source to it), for the iperf3 run's length + 2 s.  Kinds:
#   garbage  FLOOD_SIZE bytes whose first byte (0x55) is no WireGuard
#            message type: a header check drops them
#   wg       shaped like transport data messages (type 4, a random
#            receiver index per datagram, a counter, random bytes; size
#            FLOOD_SIZE rounded down to 16 + a multiple of 16): they pass
#            any header check and belong to no session
#   elsewhere  the garbage at the same rate to a third namespace c (its
#            own veth from a, nothing listening): none of it reaches b or
#            a daemon, so its flooded / unflooded is what the flood costs
#            the tunnel only by sharing this host's cores with the
#            generator and the kernel's receive path -- the best any
#            daemon can do under the other kinds here
# (even rounds run the kinds in reverse order, like the systems).
#
# Knobs (environment):
#   WEFTD=build/weftd   the daemon (WEFTD=wireguard-go checks the harness)
#   SYSTEMS="raw null wggo weftd weftd-plain weftd-wggo wggo-weftd"
#   SYSTEMS=all or TECHNIQUES=1   every system above
#   ROUNDS=3            each round runs every system once; even rounds run
#                       them (and the 1x/4x tests) in reverse order, so slow
#                       drift cancels out; tables show medians over rounds
#   DURATION=10 OMIT=1  iperf3 -t / -O seconds per test
#   PINGS=200           pings at 10 ms on the idle tunnel, median reported
#   FLOOD=1             the flood test (FLOOD=0 skips it)
#   FLOOD_SYSTEMS="wggo weftd"  FLOOD_PPS=100000  FLOOD_SIZE=1420
#   FLOOD_KINDS="garbage wg elsewhere"  each one more flooded run per flooded system
#                       and round (FLOOD_SIZE at least 48 for wg)
#   UDPFLOOD=$(dirname $WEFTD)/udpflood   the flood tool (meson builds it)
#   NULLTUN=$(dirname $WEFTD)/nulltun     the null tunnel (meson builds it;
#                       without it the null system is skipped)
#   PEERS=1000          peers in the memory test (MEMORY=0 skips it)
#   MAX_BG=20 QUIET_WAIT=30   before each system wait up to QUIET_WAIT s for
#                       the host to be under MAX_BG % of one core busy; a
#                       row measured on a busier host, or while other jobs
#                       (processes outside this run) used MAX_BG % or more
#                       during one of its iperf3 runs, is flagged "noisy"
#   RESULTS_DIR=bench/results   throughput-<date>.md is appended there
#   ANCHORS_FILE=       a results file of ../shared/bench/anchors.sh
#                       (results-<date>.md); its latest tables end the report
#   DAEMON_LOG_LEVEL=error      LOG_LEVEL of the daemons (both honour it)
#
# CPU: utime+stime of each daemon's process tree (all threads, and any
# helper processes it forks) from /proc/PID/stat over the iperf3 run, as %
# of one core, and CPU-seconds per Gbit carried (both daemons together).
# Memory: VmRSS of the daemon's process tree.
#
# Needs root.  Namespaces, processes and sockets are this run's own (see
# tests/netns/lib.sh) and are removed on exit, also on failure or Ctrl-C;
# all traffic, the flood too, stays between this run's namespaces.
# shellcheck disable=SC2016  # backticks: markdown in printf formats
# shellcheck disable=SC2317  # functions run through run_child and traps
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${WEFTD:-} ]]; then
    WEFTD=$ROOT/build/weftd
    [[ -x $WEFTD ]] || { echo "throughput: no $WEFTD; build it or set WEFTD (WEFTD=wireguard-go checks the harness)" >&2; exit 1; }
fi
ALL_SYSTEMS="raw null wggo weftd-plain weftd-gso weftd-udp weftd-tso weftd-sodium weftd-nofilter weftd-headers weftd weftd-wggo wggo-weftd"
SYSTEMS=${SYSTEMS:-raw null wggo weftd weftd-plain weftd-wggo wggo-weftd}
TECHNIQUES=${TECHNIQUES:-0}
[[ $SYSTEMS != all && $TECHNIQUES != 1 ]] || SYSTEMS=$ALL_SYSTEMS
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
OMIT=${OMIT:-1}
PINGS=${PINGS:-200}
FLOOD=${FLOOD:-1}
FLOOD_SYSTEMS=${FLOOD_SYSTEMS:-wggo weftd}
FLOOD_PPS=${FLOOD_PPS:-100000}
FLOOD_SIZE=${FLOOD_SIZE:-1420}
FLOOD_KINDS=${FLOOD_KINDS:-garbage wg elsewhere}
PEERS=${PEERS:-1000}
MEMORY=${MEMORY:-1}
MAX_BG=${MAX_BG:-20}
QUIET_WAIT=${QUIET_WAIT:-30}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
ANCHORS_FILE=${ANCHORS_FILE:-}
export WEFTD WEFT=${WEFT:-wg}
export DAEMON_LOG_LEVEL=${DAEMON_LOG_LEVEL:-error}   # no logging cost in the numbers

# The environment of each weftd <-> weftd variant (both daemons).
declare -A VARIANT_ENV=(
    [weftd]=""
    [weftd-plain]="WEFT_NO_TUN_OFFLOAD=1 WEFT_NO_TUN_GRO=1 WEFT_NO_UDP_GSO=1 WEFT_NO_UDP_GRO=1 WEFT_AEAD=libsodium"
    [weftd-gso]="WEFT_NO_TUN_OFFLOAD=1 WEFT_NO_TUN_GRO=1 WEFT_NO_UDP_GRO=1"
    [weftd-udp]="WEFT_NO_TUN_OFFLOAD=1 WEFT_NO_TUN_GRO=1"
    [weftd-tso]="WEFT_NO_TUN_GRO=1"
    [weftd-sodium]="WEFT_AEAD=libsodium"
    [weftd-headers]="WEFT_NO_SESSION_FILTER=1"
    [weftd-nofilter]="WEFT_NO_UDP_FILTER=1"
)
declare -A VARIANT_DESC=(
    [weftd]="everything on: TUN offload (TSO/USO reads) + TUN GRO writes, UDP GSO + GRO, AEAD measured at start, UDP sockets filtered by header and live receiver index"
    [weftd-plain]="batched baseline: plain TUN reads and writes, no UDP GSO/GRO, libsodium"
    [weftd-gso]="plain TUN; UDP GSO on send; no UDP GRO"
    [weftd-udp]="plain TUN; UDP GSO on send and GRO on receive"
    [weftd-tso]="TUN offload (TSO/USO reads), no TUN GRO; UDP GSO + GRO"
    [weftd-sodium]="everything on, AEAD forced to libsodium"
    [weftd-headers]="everything on, the UDP sockets filtered by message headers only"
    [weftd-nofilter]="everything on but the UDP socket filter"
)
# An inherited WEFT_NO_* or WEFT_AEAD would make every label lie: each
# variant sets its own.
for v in WEFT_NO_TUN_OFFLOAD WEFT_NO_TUN_GRO WEFT_NO_UDP_GSO WEFT_NO_UDP_GRO WEFT_AEAD WEFT_NO_UDP_FILTER WEFT_NO_SESSION_FILTER; do
    if [[ -n ${!v+x} ]]; then
        echo "throughput: ignoring $v=${!v} from the environment (the systems set their own)" >&2
        unset "$v"
    fi
done

read -ra SYS_LIST <<<"$SYSTEMS"
for s in "${SYS_LIST[@]}"; do
    [[ " $ALL_SYSTEMS " == *" $s "* ]] || { echo "throughput: unknown system '$s' (known: $ALL_SYSTEMS, or all)" >&2; exit 2; }
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $DURATION =~ ^[1-9][0-9]*$ && $OMIT =~ ^[0-9]+$ && $PINGS =~ ^[1-9][0-9]*$ ]] \
    || { echo "ROUNDS, DURATION, PINGS: positive integers; OMIT: an integer" >&2; exit 2; }
[[ $FLOOD_PPS =~ ^[1-9][0-9]*$ && $FLOOD_SIZE =~ ^[0-9]+$ ]] || { echo "FLOOD_PPS, FLOOD_SIZE: integers" >&2; exit 2; }
read -ra KIND_LIST <<<"$FLOOD_KINDS"
for k in "${KIND_LIST[@]}"; do
    [[ $k == garbage || $k == wg || $k == elsewhere ]] || { echo "throughput: unknown flood kind '$k' in FLOOD_KINDS (known: garbage wg elsewhere)" >&2; exit 2; }
done
if [[ $FLOOD == 1 ]]; then
    ((${#KIND_LIST[@]})) || { echo "throughput: FLOOD_KINDS is empty; name garbage, wg and/or elsewhere, or set FLOOD=0" >&2; exit 2; }
    [[ " ${KIND_LIST[*]} " != *" wg "* ]] || ((FLOOD_SIZE >= 48)) \
        || { echo "throughput: FLOOD_SIZE=$FLOOD_SIZE is too small for flood kind wg (at least 48: header, one block, tag)" >&2; exit 2; }
fi
WG_FLOOD_SIZE=$((FLOOD_SIZE >= 16 ? 16 + (FLOOD_SIZE - 16) / 16 * 16 : 0))   # what udpflood sends for wg
FLOOD_LIST=()
if [[ $FLOOD == 1 ]]; then
    for s in $FLOOD_SYSTEMS; do
        # No daemon port to flood on raw, no header to check on null.
        if [[ " ${SYS_LIST[*]} " == *" $s "* && $s != raw && $s != null ]]; then FLOOD_LIST+=("$s"); fi
    done
fi
FLOOD_SECS=$((DURATION + OMIT + 2))   # the iperf3 run's length + 2 s
# Seconds per part, measured on the 2-core reference machine with a quiet
# host: a system (setup, ping, two iperf3 runs, teardown), one flood run
# (per system and kind), the memory test.  A busy host adds up to
# QUIET_WAIT s per system.
EST_SYS=$((2 * (DURATION + OMIT) + 3 + PINGS / 100))
EST_FLOOD=$((DURATION + OMIT + 3))
TEST_BUDGET=$((ROUNDS * (${#SYS_LIST[@]} * (2 * (DURATION + OMIT) + 60 + PINGS / 50) + ${#FLOOD_LIST[@]} * ${#KIND_LIST[@]} * (FLOOD_SECS + 40)) + PEERS / 5 + 300))
. "$ROOT/tests/netns/lib.sh"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
command -v iperf3 >/dev/null || { echo "throughput: needs iperf3" >&2; exit 77; }
lib_init bench
WGGO=${REF_DAEMON:-}
[[ -n $WGGO ]] || { echo "throughput: needs wireguard-go as the yardstick" >&2; exit 77; }
UDPFLOOD=${UDPFLOOD:-$(dirname "$WEFTD")/udpflood}
FLOOD_NOTE=
if ((${#FLOOD_LIST[@]})) && [[ ! -x $UDPFLOOD ]]; then
    FLOOD_NOTE="skipped: no flood tool $UDPFLOOD (meson builds it next to weftd as udpflood; or set UDPFLOOD)"
    echo "throughput: flood test $FLOOD_NOTE" >&2
    FLOOD_LIST=()
fi
NULLTUN=${NULLTUN:-$(dirname "$WEFTD")/nulltun}
NULL_NOTE=
if [[ " ${SYS_LIST[*]} " == *" null "* && ! -x $NULLTUN ]]; then
    NULL_NOTE="skipped: no null tunnel $NULLTUN (meson builds it next to weftd as nulltun; or set NULLTUN)"
    echo "throughput: null system $NULL_NOTE" >&2
    keep=()
    for s in "${SYS_LIST[@]}"; do [[ $s == null ]] || keep+=("$s"); done
    SYS_LIST=("${keep[@]}")
fi
EST_TOTAL=$((ROUNDS * (${#SYS_LIST[@]} * EST_SYS + ${#FLOOD_LIST[@]} * ${#KIND_LIST[@]} * EST_FLOOD) + (MEMORY == 1 ? 10 + PEERS / 200 : 0) + 5))
RES=$WORK/results.tsv
FRES=$WORK/flood.tsv
: >"$RES"
: >"$FRES"

# ------------------------------------------------------------- systems
# setup SYSTEM: hosts a, b with the system's tunnel; sets TARGET, DAEMONS.
setup() {
    local abin bbin venv=() pid kv
    case $1 in
        raw)        abin= ;;
        null)       null_pair; assert_isolated; return 0 ;;
        wggo)       abin=$WGGO bbin=$WGGO ;;
        weftd-wggo) abin=$WEFTD bbin=$WGGO ;;
        wggo-weftd) abin=$WGGO bbin=$WEFTD ;;
        weftd*)     abin=$WEFTD bbin=$WEFTD
                    [[ -n ${VARIANT_ENV[$1]+x} ]] || die "unknown system $1"
                    read -ra venv <<<"${VARIANT_ENV[$1]}" ;;
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
        A_ENV=("${venv[@]}") B_ENV=("${venv[@]}")
        wg_pair "$abin" "$bbin"
        A_ENV=() B_ENV=()
        DAEMONS=("${T_DPID[$IF_A]}" "${T_DPID[$IF_B]}")
        TARGET=10.77.0.2
        # The variant's switches must have reached both daemons.
        for pid in "${DAEMONS[@]}"; do
            for kv in "${venv[@]}"; do
                tr '\0' '\n' <"/proc/$pid/environ" | grep -qxF -- "$kv" \
                    || die "$1: daemon $pid runs without $kv"
            done
        done
    fi
    assert_isolated
}

# null_pair: hosts a, b joined by ul1 as in wg_pair, nulltun on each side
# over the same underlay and UDP ports, tunnel 10.77.0.1/24 <-> .2/24 with
# the daemons' MTU; DAEMONS are the two nulltun processes (recorded PIDs:
# teardown stops them, also on failure).
null_pair() {
    host_add a b
    link_add a b 1
    IF_A=$(ifname "a${SCEN:-}")
    IF_B=$(ifname "b${SCEN:-}")
    DAEMONS=()
    null_start a "$IF_A" 10.123.1.1 51820 10.123.1.2 51821 1
    null_start b "$IF_B" 10.123.1.2 51821 10.123.1.1 51820 2
    TARGET=10.77.0.2
}
# null_start HOST IF LOCAL_ADDR LOCAL_PORT PEER_ADDR PEER_PORT N: nulltun
# with TUN IF in HOST (bounded wait for IF), 10.77.0.N/24 on it, up; its
# PID appended to DAEMONS.
null_start() {
    local host=$1 ifn=$2 n=$7 deadline=$((SECONDS + 10))
    spawn "$host" "nulltun-$ifn" "$NULLTUN" "$ifn" "$3" "$4" "$5" "$6"
    DAEMONS+=("$SPAWNED")
    until on "$host" ip link show "$ifn" >/dev/null 2>&1; do
        kill -0 "$SPAWNED" 2>/dev/null || die "nulltun $ifn exited: $(tail -n 2 "$WORK/nulltun-$ifn.log" | tr '\n' ' ')"
        ((SECONDS < deadline)) || die "nulltun $ifn: no interface after 10 s"
        sleep 0.1
    done
    on "$host" ip addr add "10.77.0.$n/24" dev "$ifn"
    on "$host" ip link set "$ifn" mtu "$TUN_MTU" up
}

# flood ROUND SYSTEM KIND: one single-stream run while udpflood, in a,
# sends datagrams of KIND (garbage, wg) to b's daemon port (its ListenPort
# in wg_pair); appends a row to FRES.  The flood lasts FLOOD_SECS and is a
# recorded PID (teardown kills it).
flood() {
    local round=$1 sys=$2 kind=$3 pid lf=udpflood-r$1-$3 rate sent d0 d1 port=51821 udp=10.123.1.2 what=$3
    R_GBPS=FAIL R_CPU_A=- R_CPU_B=- R_CPG=- R_OTHER=0 rate='' sent='' d0=0 d1=0
    if [[ $kind == elsewhere ]]; then
        # The same garbage to a namespace of its own where nothing
        # listens (the kernel drops it; its ICMP answers are rate-limited).
        [[ -n ${T_NSOF[c]:-} ]] || { host_add c; link_add a c 2; assert_isolated; }
        udp=10.123.2.2 port=9 what=garbage
    fi
    # A failure here fails the flood row only: the system's row is written.
    if [[ $kind != elsewhere && -z $(on b ss -Hlun "sport = :$port") ]]; then
        log "$sys: nothing listens on UDP $udp:$port in b; no flood run"
    else
        d0=$(udp_drops b)
        spawn a "$lf" "$UDPFLOOD" "$udp" "$port" "$FLOOD_PPS" "$FLOOD_SIZE" "$FLOOD_SECS" "$what"
        pid=$SPAWNED
        sleep 0.5
        if kill -0 "$pid" 2>/dev/null; then
            iperf a
        else
            log "$sys: udpflood $kind exited at once: $(tail -n 2 "$WORK/$lf.log" | tr '\n' ' ')"
        fi
        wait_for $((FLOOD_SECS + 5)) gone "$pid" || { log "udpflood $pid overran; killing it"; kill -TERM "$pid" 2>/dev/null || true; }
        wait "$pid" 2>/dev/null || true
        d1=$(udp_drops b)
        # "udpflood: sent N KIND datagrams of S bytes in T s (R/s), F failed"
        rate=$(sed -n 's/.*(\([0-9]*\)\/s).*/\1/p' "$WORK/$lf.log")
        sent=$(sed -n 's/^udpflood: sent \([0-9]*\) .*/\1/p' "$WORK/$lf.log")
    fi
    ((R_OTHER < MAX_BG)) || FLOOD_NOISY=1
    log "round $round $sys flood: 1x $R_GBPS Gbit/s (cpu a $R_CPU_A% b $R_CPU_B%) under ${rate:-?} pps $kind, $((d1 - d0)) UDP receive-buffer drops in b$( ((R_OTHER < MAX_BG)) || echo " (other jobs ${R_OTHER}% during the run)")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sys" "$kind" "$R_GBPS" "$R_CPU_A" "$R_CPU_B" \
        "$R_CPG" "${rate:--}" "${sent:--}" "$((d1 - d0))" "$FLOOD_NOISY" "$R_OTHER" >>"$FRES"
}
# udp_drops HOST: UDP datagrams HOST's kernel dropped for a full socket
# receive buffer (Udp RcvbufErrors, per namespace).
udp_drops() {
    on "$1" cat /proc/net/snmp | awk '/^Udp:/ { if (!n) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; n = 1 }
        else { print $c + 0; exit } }'
}

# run_system ROUND SYSTEM: measure one system; appends one row to RES (and
# one per flood kind to FRES when the system is flooded too).
run_system() {
    local round=$1 sys=$2 noisy=0 pre k i kinds
    wait_quiet
    [[ -z $BUSY_NOTE ]] || noisy=1
    pre=$noisy
    SCEN=r$round setup "$sys"
    wait_ping a "$TARGET" 20 || die "$sys: no ping through to $TARGET"
    spawn b iperf3-server timeout $((4 * (DURATION + OMIT) + 120)) iperf3 -s -B "$TARGET"
    wait_for 5 listening b 5201 || die "$sys: iperf3 server did not start"
    measure "$round" a
    # Other jobs that started after wait_quiet make the row noisy too.
    ((M_OTHER < MAX_BG)) || { noisy=1; BUSY_NOTE+="${BUSY_NOTE:+; }other jobs ${M_OTHER}% during a run"; }
    log "round $round $sys: 1x $M_G1 Gbit/s (cpu a $M_C1A% b $M_C1B%), 4x $M_G4 Gbit/s (cpu a $M_C4A% b $M_C4B%), ping $M_PING ms${BUSY_NOTE:+ ($BUSY_NOTE)}"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sys" "$M_G1" "$M_G4" "$M_PING" \
        "$M_C1A" "$M_C1B" "$M_C4A" "$M_C4B" "$M_CPG1" "$M_CPG4" "$noisy" "$M_OTHER" >>"$RES"
    # Flooded last, so that the unflooded runs never follow a flood.
    if [[ " ${FLOOD_LIST[*]} " == *" $sys "* ]]; then
        kinds=("${KIND_LIST[@]}")
        if ((round % 2 == 0)); then
            kinds=(); for ((i = ${#KIND_LIST[@]} - 1; i >= 0; i--)); do kinds+=("${KIND_LIST[i]}"); done
        fi
        for k in "${kinds[@]}"; do
            FLOOD_NOISY=$pre
            flood "$round" "$sys" "$k"
        done
    fi
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
# fmed SYS KIND N: median of column N of FRES's rows of SYS flooded with
# KIND (flood_split wrote them to WORK/flood-KIND.tsv).
fmed() { colf "$WORK/flood-$2.tsv" 11 "$1" "$3" | median; }
flood_split() {
    local k
    for k in "${KIND_LIST[@]}"; do awk -F'\t' -v k="$k" '$3 == k' "$FRES" >"$WORK/flood-$k.tsv"; done
}
over() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%+.3f", a - b; else printf "-" }'; }
label() {
    local d w
    d=$(basename "$WEFTD")
    w=$(basename "$WGGO")
    case $1 in
        raw) echo "raw veth (no VPN)" ;;
        null) echo "userspace null tunnel (no crypto)" ;;
        wggo) echo "$w <-> $w" ;;
        weftd) echo "$d <-> $d" ;;
        weftd-wggo) echo "$d -> $w" ;;
        wggo-weftd) echo "$w -> $d" ;;
        weftd-*) echo "$d <-> $d, ${1#weftd-}" ;;
    esac
}

report() {
    local s k name idle full n secs bin any=0
    printf '| system | 1 stream Gbit/s | 1x / wggo | 4 streams Gbit/s | 4x / wggo | ping median ms | ping over raw ms | ping over null ms | CPU 1x a/b %% | CPU 4x a/b %% | CPU-s/Gbit 1x | CPU-s/Gbit 1x / wggo | CPU-s/Gbit 4x | CPU-s/Gbit 4x / wggo | rounds |\n'
    printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
    for s in "${SYS_LIST[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s/%s | %s | %s | %s | %s | %s |\n' "$(label "$s")" \
            "$(med "$s" 3)" "$(ratio "$(med "$s" 3)" "$(med wggo 3)")" \
            "$(med "$s" 4)" "$(ratio "$(med "$s" 4)" "$(med wggo 4)")" \
            "$(med "$s" 5)" "$(if [[ $s == raw ]]; then echo "(ref)"; else over "$(med "$s" 5)" "$(med raw 5)"; fi)" \
            "$(if [[ $s == null ]]; then echo "(ref)"; else over "$(med "$s" 5)" "$(med null 5)"; fi)" \
            "$(med "$s" 6)" "$(med "$s" 7)" "$(med "$s" 8)" "$(med "$s" 9)" \
            "$(med "$s" 10)" "$(ratio "$(med "$s" 10)" "$(med wggo 10)")" \
            "$(med "$s" 11)" "$(ratio "$(med "$s" 11)" "$(med wggo 11)")" "$(rows "$RES" 12 "$s")"
    done
    printf '\nCPU: a = sender (encrypts), b = receiver (decrypts), each daemon in %% of one core (%d cores here); CPU-s/Gbit = both daemons'"'"' CPU-seconds per Gbit carried (lower is better; / wggo below 1 = cheaper than wireguard-go). Ping: median of %s pings at 10 ms on the idle tunnel.\n' "$NCPU" "$PINGS"
    if [[ " ${SYS_LIST[*]} " == *" null "* ]]; then
        printf '\nThe null tunnel is `bench/tools/nulltun` in a and in b: each IP packet read from the TUN goes out in one UDP datagram and back, one packet per wake-up (poll, one read, one send), no crypto, no protocol, no batching (its CPU is measured like a daemon'"'"'s). It is there as the floor of any userspace tunnel on this host: a ping through it pays the kernel work of TUN and UDP and at least four process wake-ups per round trip (the tunnel process in a, the one in b, the one in a again for the reply, then ping itself), which weftd and wireguard-go pay too, while a raw veth ping is answered inside ping'"'"'s own system call. "ping over null" is what a tunnel adds on top of that floor (for raw, how far below it the bare veth is). Its throughput is no ceiling for the others: it moves one packet per wake-up with no offloads, which batching and offloads can beat even with crypto on top.\n'
    elif [[ -n $NULL_NOTE ]]; then
        printf '\nNull tunnel %s.\n' "$NULL_NOTE"
    fi
    for s in "${SYS_LIST[@]}"; do [[ -z ${VARIANT_ENV[$s]+x} ]] || any=1; done
    if ((any)); then
        printf '\n| weftd variant | what runs | environment of both daemons |\n|---|---|---|\n'
        for s in weftd-plain weftd-gso weftd-udp weftd-tso weftd-sodium weftd-nofilter weftd-headers weftd; do
            [[ " ${SYS_LIST[*]} " == *" $s "* ]] || continue
            printf '| %s | %s | %s |\n' "$(label "$s")" "${VARIANT_DESC[$s]}" "${VARIANT_ENV[$s]:-(none)}"
        done
        [[ -z ${WEFTD_INFO:-} ]] || printf '\n%s\n' "$WEFTD_INFO"
    fi
    if ((${#FLOOD_LIST[@]})); then
        flood_split
        printf '\nUnder flood: single stream while `udpflood` in a sends %s datagrams/s to b'"'"'s daemon port for %ss, from a source unknown to it (udpflood'"'"'s own CPU comes from the same cores).' \
            "$FLOOD_PPS" "$FLOOD_SECS"
        [[ " ${KIND_LIST[*]} " != *" garbage "* ]] \
            || printf ' Kind garbage: %s bytes whose first byte (0x55) is no WireGuard message type, so a header check drops them.' "$FLOOD_SIZE"
        [[ " ${KIND_LIST[*]} " != *" wg "* ]] \
            || printf ' Kind wg: %s bytes shaped like transport data messages (type 4, a random receiver index per datagram, a counter, random bytes), which pass any header check but belong to no session, so the receiver pays at least its index lookup.' "$WG_FLOOD_SIZE"
        [[ " ${KIND_LIST[*]} " != *" elsewhere "* ]] \
            || printf ' Kind elsewhere: the garbage at the same rate to a third namespace (its own veth from a, nothing listening), so none of it reaches b or a daemon: its flooded / unflooded is what the flood costs the tunnel only by sharing the cores with the generator and the kernel'"'"'s receive path, the best a daemon can do under the other kinds on this host.' 
        printf '\n'
        printf '\n| system | kind | 1 stream Gbit/s | under flood Gbit/s | flooded / unflooded | CPU a/b %% under flood | flood sent pps | UDP rcvbuf drops in b | rounds |\n|---|---|---|---|---|---|---|---|---|\n'
        for s in "${FLOOD_LIST[@]}"; do
            for k in "${KIND_LIST[@]}"; do
                printf '| %s | %s | %s | %s | %s | %s/%s | %s | %s | %s |\n' "$(label "$s")" "$k" \
                    "$(med "$s" 3)" "$(fmed "$s" "$k" 4)" "$(ratio "$(fmed "$s" "$k" 4)" "$(med "$s" 3)")" \
                    "$(fmed "$s" "$k" 5)" "$(fmed "$s" "$k" 6)" "$(fmed "$s" "$k" 8)" "$(fmed "$s" "$k" 10)" \
                    "$(rows "$WORK/flood-$k.tsv" 11 "$s")"
            done
        done
    elif [[ $FLOOD == 1 ]]; then
        printf '\nFlood test %s.\n' "${FLOOD_NOTE:-skipped: none of FLOOD_SYSTEMS ($FLOOD_SYSTEMS) is in SYSTEMS}"
    fi
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
    anchors_note
}

# anchors_note: the peers (nebula, tinc, OpenVPN, fastd) are measured by the
# shared anchors script, not here: quote the tables of the latest run in
# ANCHORS_FILE verbatim, or say how to make one.
anchors_note() {
    local a=../shared/bench/anchors.sh section
    printf '\n### Peers measured by %s\n\n' "$a"
    if [[ -n $ANCHORS_FILE && -r $ANCHORS_FILE ]]; then
        section=$(anchors_tables "$ANCHORS_FILE")
        if [[ -n $section ]]; then
            printf 'Tables of the latest run in `%s` (%s), verbatim; a separate run, so compare by its own wireguard-go row:\n\n' \
                "$ANCHORS_FILE" "$(sed -n '1s/^## `\(.*\)` at \(.*\)$/`\1` at \2/p' <<<"$section")"
            sed 1d <<<"$section"
            return 0
        fi
        printf 'ANCHORS_FILE=%s holds no anchors.sh tables.\n' "$ANCHORS_FILE"
    elif [[ -n $ANCHORS_FILE ]]; then
        printf 'ANCHORS_FILE=%s is not readable.\n' "$ANCHORS_FILE"
    else
        printf 'Not measured in this run.\n'
    fi
    printf 'To put the peers (nebula, tinc, OpenVPN, fastd, openssl ceiling) beside these numbers: `sudo %s all` (from the repository root; it appends to $TMPDIR/anchors-results/results-<date>.md, or RESULTS_DIR), then run this script again with ANCHORS_FILE=that file.\n' "$a"
}

# probe_weftd: start WEFTD once, idle, with info logging; its offload and
# AEAD lines (info and debug) go to WORK/probe.txt.
probe_weftd() {
    local ifn lf
    host_add p
    ifn=$(ifname p)
    daemon_start p "$ifn" "$WEFTD" LOG_LEVEL=verbose
    lf=$WORK/daemon-$ifn.log
    wait_for 5 grep -q 'ChaCha20-Poly1305 from' "$lf" || true
    { grep -o 'offloads: TUN .*' "$lf" | head -n 1
      grep -o 'UDP port [0-9]*: GSO .*' "$lf" | sed 's/UDP port [0-9]*:/UDP/' | head -n 1
      grep -o 'ChaCha20-Poly1305 from [a-z0-9]*' "$lf" | head -n 1; } >"$WORK/probe.txt" || true
}

# ------------------------------------------------------------------ main
trap on_signal INT TERM
STARTED=$(date -u +%FT%TZ)
log "weftd: $WEFTD; yardstick: $WGGO; systems: $SYSTEMS; $ROUNDS rounds of ${DURATION}s tests"
log "flood: ${FLOOD_LIST[*]:-none}${FLOOD_LIST[*]:+ with ${KIND_LIST[*]}}${FLOOD_NOTE:+ ($FLOOD_NOTE)};${NULL_NOTE:+ null $NULL_NOTE;} memory test: $([[ $MEMORY == 1 ]] && echo "$PEERS peers" || echo off)"
log "estimated duration: $((EST_TOTAL / 60)) min $((EST_TOTAL % 60)) s on a quiet host (up to ${QUIET_WAIT} s more per system on a busy one; watchdog at ${TEST_BUDGET} s)"
# What weftd picks by itself (AEAD backend, offloads), from one start with
# verbose logging; the measured daemons log errors only.
WEFTD_INFO=
if [[ " ${SYS_LIST[*]} " == *" weftd"* && $(basename "$WEFTD") != wireguard-go ]]; then
    run_child probe_weftd
    [[ ! -s $WORK/probe.txt ]] || WEFTD_INFO="$(basename "$WEFTD") on its own at a probe start here: $(paste -sd';' "$WORK/probe.txt" | sed 's/;/; /g') (each measured daemon chooses its AEAD again at its start)."
fi
for ((r = 1; r <= ROUNDS; r++)); do
    round_order "$r"
    for sys in "${ORDER[@]}"; do
        run_child run_system "$r" "$sys"
        if ((CHILD_RC != 0)); then
            log "round $r $sys: failed (rc $CHILD_RC)"
            fail_row "$r" "$sys"
            T_FAILS=$((T_FAILS + 1))
        fi
    done
done
if [[ $MEMORY == 1 ]]; then
    : >"$WORK/memory.tsv"
    for m in "wggo $WGGO" "weftd $WEFTD"; do
        read -r name bin <<<"$m"
        run_child memory "$name" "$bin"
        ((CHILD_RC == 0)) || { log "memory $name: failed"; T_FAILS=$((T_FAILS + 1)); }
    done
fi

table=$(report)
mkdir -p "$RESULTS_DIR"
out=$RESULTS_DIR/throughput-$(date +%F).md
{
    printf '\n## throughput.sh at %s\n\n' "$STARTED"
    printf -- '- invocation: `WEFTD=%s SYSTEMS="%s" ROUNDS=%s DURATION=%s OMIT=%s PINGS=%s FLOOD=%s FLOOD_SYSTEMS="%s" FLOOD_KINDS="%s" FLOOD_PPS=%s FLOOD_SIZE=%s MEMORY=%s PEERS=%s%s bench/throughput.sh`\n' \
        "$WEFTD" "$SYSTEMS" "$ROUNDS" "$DURATION" "$OMIT" "$PINGS" "$FLOOD" "$FLOOD_SYSTEMS" "$FLOOD_KINDS" "$FLOOD_PPS" "$FLOOD_SIZE" \
        "$MEMORY" "$PEERS" "${ANCHORS_FILE:+ ANCHORS_FILE=$ANCHORS_FILE}"
    versions "$(basename "$WEFTD")"
    printf -- '- host: %s\n' "$(host_desc)"
    printf -- '- medians over rounds (only rounds on a quiet host when there are any); inner MTU %s; iperf3 -t %s -O %s; ping -c %s -i 0.01\n\n' \
        "$TUN_MTU" "$DURATION" "$OMIT" "$PINGS"
    printf '%s\n' "$table"
    printf '\n<details><summary>per round</summary>\n\n```\nround system 1x 4x ping cpu1a cpu1b cpu4a cpu4b cpg1 cpg4 noisy other%%\n'
    cat "$RES"
    if [[ -s $FRES ]]; then
        printf '\nround system kind flood-1x cpua cpub cpg flood-pps flood-sent rcvbuf-drops-b noisy other%%\n'
        cat "$FRES"
    fi
    printf '```\n</details>\n'
} >>"$out"
printf '\n%s\n\n' "$table"
log "appended to $out; took $((SECONDS / 60)) min $((SECONDS % 60)) s (estimated $((EST_TOTAL / 60)) min $((EST_TOTAL % 60)) s)"
lib_finish
