#!/usr/bin/env bash
# fulltunnel.sh - weft's full-tunnel VPN measured end to end, beside the
# same path through wireguard-go, in one run: TCP throughput (iperf3, 1 and
# 4 streams) and ping from a client through the exit server to an internet
# host, the VPN processes' CPU; connection time of `weft client`; and a
# server under handshake load (bench/tools/hsload: admissions/s,
# handshakes/s, memory per client).  A markdown report goes to stdout and
# to RESULTS_DIR.
#
# Topology (four fresh namespaces joined by veths; nothing else in them):
#
#   c (client) --ul1-- r (router) --ul2-- s (server) --ul3-- i (internet)
#   10.123.1.1   10.123.1.2 | 10.123.2.1   10.123.2.2 | 10.123.3.1   10.123.3.2
#
# c's default route is r; s's default route is r; r routes only the c and s
# nets (and LOAD_SOURCES to c). i (iperf3 server, ping target) is in none of
# r's routes, so c reaches it only through an exit server at s that
# forwards and masquerades out of ul3.
#
# Throughput systems (interleaved rounds like throughput.sh):
#   raw    no VPN: r routes i's net to s, s forwards + masquerades (nft);
#          the ceiling of this path on this box
#   wggo   wireguard-go + wg on c and s; s forwards + masquerades (nft);
#          c full tunnel the wg-quick way (fwmark 51820, default route in
#          table 51820, `not fwmark` rule, suppress_prefixlength 0)
#   weft   `weft server --passcode` on s, `weft client` on c
# CPU: utime+stime of the client's and the server's VPN process trees over
# each iperf3 run (% of one core), CPU-seconds per Gbit (both together).
#
# Connect time (PARTS connect): CONNECTS times, start `weft client` (the
# server keeps running; the client keeps its key, as a returning user) and
# ping i every 10 ms from that moment; the time to the first answer, median
# and p90. Each client is stopped with SIGTERM; its exit status and that
# c's routes and rules are back as before are checked each time.
#
# Load (PARTS load): `weft server` alone in s; hsload in c with LOAD_CLIENTS
# simulated clients, each with its own key, UDP socket and source address
# (LOAD_SOURCES, local in c, routed by r), concurrency LOAD_CONCURRENCY:
# admit all, one handshake each, then LOAD_SECS s of sustained handshakes.
# Server RSS before and after (KiB per client), its CPU over the sustained
# phase (CPU-µs per handshake). With OVERLOAD_CONCURRENCY > 0 a second
# batch of clients follows at that concurrency, enough to put the server
# under load (cookie replies, mac2).
#
# Knobs (environment):
#   WEFT_CMD=build/weft  HSLOAD=$(dirname $WEFT_CMD)/hsload
#   PARTS="throughput connect load"   SYSTEMS="raw wggo weft"
#   ROUNDS=3 DURATION=10 OMIT=1 PINGS=200   as in throughput.sh
#   CONNECTS=20 CONNECT_TIMEOUT=15
#   LOAD_CLIENTS=1000 LOAD_CONCURRENCY=64 LOAD_SECS=10
#   LOAD_SOURCES=10.124.0.0/16   OVERLOAD_CONCURRENCY=512 OVERLOAD_SECS=5
#   PASSCODE=fulltunnel-bench
#   MAX_BG=20 QUIET_WAIT=30      as in throughput.sh ("noisy" rows)
#   RESULTS_DIR=bench/results    fulltunnel-<date>.md is appended there
#   ANCHORS_FILE=                as in throughput.sh
#   DAEMON_LOG_LEVEL=error       wireguard-go's LOG_LEVEL
#
# Needs root.  Namespaces, processes, sockets and files are this run's own
# (tests/netns/lib.sh; weft's state and run directories are in the work
# directory; c and s get their own resolv.conf under /etc/netns, so a
# client that sets DNS changes only its namespace's) and are removed on
# exit, also on failure or Ctrl-C.  All traffic stays between this run's
# namespaces.
# shellcheck disable=SC2016  # backticks: markdown in printf formats
# shellcheck disable=SC2317  # functions run through part() and traps
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEFT_CMD=${WEFT_CMD:-$ROOT/build/weft}
HSLOAD=${HSLOAD:-$(dirname "$WEFT_CMD")/hsload}
PARTS=${PARTS:-throughput connect load}
SYSTEMS=${SYSTEMS:-raw wggo weft}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
OMIT=${OMIT:-1}
PINGS=${PINGS:-200}
CONNECTS=${CONNECTS:-20}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-15}
LOAD_CLIENTS=${LOAD_CLIENTS:-1000}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-64}
LOAD_SECS=${LOAD_SECS:-10}
LOAD_SOURCES=${LOAD_SOURCES:-10.124.0.0/16}
OVERLOAD_CONCURRENCY=${OVERLOAD_CONCURRENCY:-512}
OVERLOAD_SECS=${OVERLOAD_SECS:-5}
PASSCODE=${PASSCODE:-fulltunnel-bench}
MAX_BG=${MAX_BG:-20}
QUIET_WAIT=${QUIET_WAIT:-30}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
ANCHORS_FILE=${ANCHORS_FILE:-}
export DAEMON_LOG_LEVEL=${DAEMON_LOG_LEVEL:-error}
# lib.sh: WEFT is the wg-compatible CLI (wg configures wireguard-go here),
# WEFTD a daemon it checks for (not used: weft runs its engine in-process).
export WEFT=wg WEFTD=${REF_DAEMON:-wireguard-go}

ALL_PARTS="throughput connect load"
ALL_SYSTEMS="raw wggo weft"
read -ra PART_LIST <<<"$PARTS"
read -ra SYS_LIST <<<"$SYSTEMS"
for p in "${PART_LIST[@]}"; do
    [[ " $ALL_PARTS " == *" $p "* ]] || { echo "fulltunnel: unknown part '$p' (known: $ALL_PARTS)" >&2; exit 2; }
done
for s in "${SYS_LIST[@]}"; do
    [[ " $ALL_SYSTEMS " == *" $s "* ]] || { echo "fulltunnel: unknown system '$s' (known: $ALL_SYSTEMS)" >&2; exit 2; }
done
has_part() { [[ " ${PART_LIST[*]} " == *" $1 "* ]]; }
for v in ROUNDS DURATION PINGS CONNECTS CONNECT_TIMEOUT LOAD_CLIENTS LOAD_CONCURRENCY; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "fulltunnel: $v must be a positive integer" >&2; exit 2; }
done
for v in OMIT LOAD_SECS OVERLOAD_CONCURRENCY OVERLOAD_SECS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "fulltunnel: $v must be an integer" >&2; exit 2; }
done
[[ $LOAD_SOURCES =~ ^[0-9.]+/[0-9]+$ ]] || { echo "fulltunnel: LOAD_SOURCES must be an IPv4 prefix" >&2; exit 2; }
HAS_THR=0 HAS_CONN=0 HAS_LOAD=0
has_part throughput && HAS_THR=1
has_part connect && HAS_CONN=1
has_part load && HAS_LOAD=1
NEED_WEFT=$((HAS_CONN || HAS_LOAD))
if ((HAS_THR)) && [[ " ${SYS_LIST[*]} " == *" weft "* ]]; then NEED_WEFT=1; fi
if ((NEED_WEFT)); then
    [[ -x $WEFT_CMD ]] || { echo "fulltunnel: no $WEFT_CMD; build it (ninja -C build) or set WEFT_CMD" >&2; exit 1; }
    "$WEFT_CMD" server --help >/dev/null 2>&1 || { echo "fulltunnel: $WEFT_CMD has no 'server' command yet" >&2; exit 1; }
fi
if has_part load && [[ ! -x $HSLOAD ]]; then
    echo "fulltunnel: no $HSLOAD (meson builds it next to weft as hsload; or set HSLOAD)" >&2
    exit 1
fi

NTHR=$((HAS_THR ? ${#SYS_LIST[@]} : 0))
# Seconds, measured on the 2-core reference machine: one system (setup,
# pings, two iperf3 runs), one connect, the load part.
EST_SYS=$((2 * (DURATION + OMIT) + 6 + PINGS / 100))
EST_TOTAL=$((ROUNDS * NTHR * EST_SYS + (HAS_CONN ? 8 + CONNECTS * 2 : 0) \
    + (HAS_LOAD ? 20 + LOAD_CLIENTS / 100 + LOAD_SECS + (OVERLOAD_CONCURRENCY ? OVERLOAD_SECS + 10 : 0) : 0) + 5))
TEST_BUDGET=$((ROUNDS * NTHR * (EST_SYS + QUIET_WAIT + 60) + CONNECTS * (CONNECT_TIMEOUT + 15) \
    + LOAD_SECS + OVERLOAD_SECS + 600))
export TEST_BUDGET
. "$ROOT/tests/netns/lib.sh"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
command -v iperf3 >/dev/null || { echo "fulltunnel: needs iperf3" >&2; exit 77; }
command -v nft >/dev/null || { echo "fulltunnel: needs nft" >&2; exit 77; }
lib_init fulltunnel
WGGO=${REF_DAEMON:-}
if has_part throughput && [[ " ${SYS_LIST[*]} " == *" wggo "* && -z $WGGO ]]; then
    echo "fulltunnel: needs wireguard-go as the yardstick" >&2; exit 77
fi
RES=$WORK/results.tsv       # round sys g1 g4 ping cpu1c cpu1s cpu4c cpu4s cpg1 cpg4 noisy other
CONN=$WORK/connect.tsv      # n secs rc restored
LOADF=$WORK/load.tsv        # batch key value
NOTES=$WORK/notes.txt       # what misbehaved, one line each
: >"$RES"; : >"$CONN"; : >"$LOADF"; : >"$NOTES"

# remark MSG: something misbehaved; the report lists it.
remark() { printf '%s\n' "$*" >>"$NOTES"; log "NOTE: $*"; }

# Our own resolv.conf for each namespace, bind-mounted by `ip netns exec`
# over /etc/resolv.conf: whatever a client does to DNS stays in it.
declare -f teardown >/dev/null || { echo "fulltunnel: lib.sh has no teardown" >&2; exit 1; }
eval "$(declare -f teardown | sed '1s/^teardown/lib_teardown/')"
teardown() {
    lib_teardown
    local d
    for d in /etc/netns/"weft-$T_NAME-$T_TAG-"*; do
        [[ -d $d ]] && rm -rf -- "$d"
    done
    rmdir /etc/netns 2>/dev/null || true
    return 0
}

# ------------------------------------------------------------- topology
# topology: the four hosts and their links and routes (see the top).
topology() {
    local h
    host_add c r s i
    for h in c s; do
        mkdir -p "/etc/netns/${T_NSOF[$h]}"
        printf '# fulltunnel.sh: the resolv.conf of namespace %s only\nnameserver 10.123.3.2\n' \
            "${T_NSOF[$h]}" >"/etc/netns/${T_NSOF[$h]}/resolv.conf"
    done
    link_add c r 1
    link_add r s 2
    link_add s i 3
    on r sysctl -qw net.ipv4.ip_forward=1
    on c ip route add default via 10.123.1.2
    on s ip route add default via 10.123.2.1
    on r ip route add "$LOAD_SOURCES" via 10.123.1.1
    assert_contained
}
# assert_contained: our namespaces hold only lo, our veths (ulN) and our
# tunnels, so whatever their routes say, packets cannot leave them.
assert_contained() {
    local h bad
    for h in "${!T_NSOF[@]}"; do
        bad=$(on "$h" ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' \
            | grep -Ev "^(lo|ul[0-9]+|wf${T_TAG}[a-z][a-z0-9]*)$" || true)
        [[ -z $bad ]] || die "namespace of $h holds interfaces not ours: $bad"
    done
}
# masquerade NET: s forwards, and NATs NET out of ul3 (as an exit server).
masquerade() {
    on s sysctl -qw net.ipv4.ip_forward=1
    on s nft -f - <<EOF
table ip fulltunnel {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr $1 oifname "ul3" masquerade
    }
}
EOF
}

# weft_server IF [ARGS...]: `weft server` in s with a fixed key and the
# passcode; waits until it listens. Sets SPID and SPUB.
weft_server() {
    local ifn=$1 lf
    shift
    [[ -f $WORK/srv.key ]] || keygen srv
    SPUB=$(pub srv)
    T_IFS+=("$ifn")
    lf=weft-server-$ifn
    spawn s "$lf" env WEFT_STATE_DIR="$WORK/state-s" WEFT_RUN_DIR="$WORK/run-s" \
        "$WEFT_CMD" server --interface "$ifn" --key "$WORK/srv.key" --listen 51820 \
        --passcode "$PASSCODE" --endpoint 10.123.2.2:51820 "$@"
    SPID=$SPAWNED
    wait_for 15 grep -q 'listening on UDP port' "$WORK/$lf.log" 2>/dev/null \
        || die "weft server did not start: $(tail -n 3 "$WORK/$lf.log" | tr '\n' ' ')"
    grep -qF "public key: $SPUB" "$WORK/$lf.log" || remark "weft server did not print 'public key: $SPUB'"
}
# weft_client IF LOGNAME: `weft client` in c (key kept in its state
# directory across runs); CPID.
weft_client() {
    T_IFS+=("$1")
    spawn c "$2" env WEFT_STATE_DIR="$WORK/state-c" WEFT_RUN_DIR="$WORK/run-c" \
        "$WEFT_CMD" client --srv "$SPUB@10.123.2.2:51820" --passcode "$PASSCODE" --interface "$1"
    CPID=$SPAWNED
}
# stop_pid PID: SIGTERM, bounded wait; its exit status in STOP_RC (KILL
# when it had to be killed).
stop_pid() {
    local pid=$1
    STOP_RC=0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for 10 gone "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        STOP_RC=KILL
    fi
    if [[ $STOP_RC != KILL ]]; then wait "$pid" 2>/dev/null || STOP_RC=$?; else wait "$pid" 2>/dev/null || true; fi
}
# snap HOST: what a full-tunnel client changes there (routes, rules, nft).
snap() {
    { on "$1" ip route show table all; on "$1" ip -6 route show table all
      on "$1" ip rule; on "$1" ip -6 rule; on "$1" nft list ruleset; } 2>&1
}

# setup SYSTEM ROUND: the topology with SYSTEM's tunnel up; TARGET, DAEMONS.
setup() {
    local ifc ifs
    topology
    TARGET=10.123.3.2
    DAEMONS=()
    case $1 in
    raw)
        on r ip route add 10.123.3.0/24 via 10.123.2.2
        masquerade 10.123.1.0/24
        ;;
    wggo)
        ifc=$(ifname "c$2") ifs=$(ifname "s$2")
        keygen kc; keygen ks
        daemon_start c "$ifc" "$WGGO"
        daemon_start s "$ifs" "$WGGO"
        setconf s "$ifs" <<EOF || die "setconf on $ifs failed"
[Interface]
PrivateKey = $(priv ks)
ListenPort = 51820

[Peer]
PublicKey = $(pub kc)
AllowedIPs = 10.77.0.2/32
EOF
        setconf c "$ifc" <<EOF || die "setconf on $ifc failed"
[Interface]
PrivateKey = $(priv kc)
FwMark = 51820

[Peer]
PublicKey = $(pub ks)
AllowedIPs = 0.0.0.0/0
Endpoint = 10.123.2.2:51820
EOF
        on s ip addr add 10.77.0.1/24 dev "$ifs"
        on s ip link set "$ifs" mtu "$TUN_MTU" up
        masquerade 10.77.0.0/24
        on c ip addr add 10.77.0.2/24 dev "$ifc"
        on c ip link set "$ifc" mtu "$TUN_MTU" up
        # wg-quick's full tunnel.
        on c ip route add default dev "$ifc" table 51820
        on c ip rule add not fwmark 51820 table 51820
        on c ip rule add table main suppress_prefixlength 0
        on c sysctl -qw net.ipv4.conf.all.src_valid_mark=1
        DAEMONS=("${T_DPID[$ifc]}" "${T_DPID[$ifs]}")
        ;;
    weft)
        ifc=$(ifname "c$2") ifs=$(ifname "s$2")
        weft_server "$ifs"
        weft_client "$ifc" "weft-client-$ifc"
        wait_for 20 grep -q '^connected:' "$WORK/weft-client-$ifc.log" 2>/dev/null \
            || die "weft client did not connect: $(tail -n 3 "$WORK/weft-client-$ifc.log" | tr '\n' ' ')"
        DAEMONS=("$CPID" "$SPID")
        ;;
    esac
    assert_contained
}

# run_system ROUND SYSTEM: one row of RES.
run_system() {
    local round=$1 sys=$2 noisy=0 rc
    wait_quiet
    [[ -z $BUSY_NOTE ]] || noisy=1
    setup "$sys" "$round"
    wait_ping c "$TARGET" 20 || die "$sys: no ping through to $TARGET"
    # Nothing reaches i but through s: the exit server forwards it.
    spawn i iperf3-server timeout $((4 * (DURATION + OMIT) + 120)) iperf3 -s -B "$TARGET"
    wait_for 5 listening i 5201 || die "$sys: iperf3 server did not start"
    measure "$round" c   # DAEMONS: client, server
    ((M_OTHER < MAX_BG)) || { noisy=1; BUSY_NOTE+="${BUSY_NOTE:+; }other jobs ${M_OTHER}% during a run"; }
    if [[ $sys == weft ]]; then
        for rc in "${DAEMONS[@]}"; do
            kill -0 "$rc" 2>/dev/null || remark "round $round weft: a weft process ($rc) exited during the run"
        done
        rc=$(grep -c '^reconnecting' "$WORK"/weft-client-*"c$round".log 2>/dev/null || true)
        ((${rc:-0} == 0)) || remark "round $round weft: the client logged ${rc} 'reconnecting' lines during the run"
    fi
    log "round $round $sys: 1x $M_G1 Gbit/s (cpu c $M_C1A% s $M_C1B%), 4x $M_G4 Gbit/s (cpu c $M_C4A% s $M_C4B%), ping $M_PING ms${BUSY_NOTE:+ ($BUSY_NOTE)}"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sys" "$M_G1" "$M_G4" "$M_PING" \
        "$M_C1A" "$M_C1B" "$M_C4A" "$M_C4B" "$M_CPG1" "$M_CPG4" "$noisy" "$M_OTHER" >>"$RES"
}

# ---------------------------------------------------------------- connect
connect_times() {
    local n t0 out first secs ifc ifs base after lf restarts
    topology
    ifs=$(ifname sx) ifc=$(ifname cx)
    weft_server "$ifs"
    base=$(snap c)
    for ((n = 1; n <= CONNECTS; n++)); do
        lf=weft-client-conn$n
        t0=$(date +%s.%N)
        weft_client "$ifc" "$lf"
        # One ping every 10 ms from now until the first answer; ping exits
        # when its socket cannot route (the client changes the routes
        # meanwhile): then again at once.
        first='' restarts=0
        while [[ -z $first ]] && (($(elapsed "$t0" "$(date +%s.%N)" | cut -d. -f1) < CONNECT_TIMEOUT)); do
            out=$(on c timeout $((CONNECT_TIMEOUT + 5)) ping -D -n -c 1 -i 0.01 -W 1 -w "$CONNECT_TIMEOUT" 10.123.3.2 2>&1 || true)
            first=$(sed -n 's/^\[\([0-9.]*\)\] [0-9]* bytes from.*/\1/p' <<<"$out" | head -n 1)
            [[ -n $first ]] || { restarts=$((restarts + 1)); sleep 0.01; }
        done
        secs=-
        [[ -z $first ]] || secs=$(elapsed "$t0" "$first")
        grep -q '^connected:' "$WORK/$lf.log" || wait_for 2 grep -q '^connected:' "$WORK/$lf.log" \
            || remark "connect $n: the client printed no 'connected:' line"
        stop_pid "$CPID"
        after=$(snap c)
        local restored=yes
        if [[ $after != "$base" ]]; then
            restored=no
            remark "connect $n: routes/rules/nft in c differ after the client exited (diff in $WORK/snap-diff-$n.txt)"
            diff <(printf '%s\n' "$base") <(printf '%s\n' "$after") >"$WORK/snap-diff-$n.txt" || true
        fi
        [[ $STOP_RC == 0 ]] || remark "connect $n: weft client exited with status $STOP_RC after SIGTERM: $(tail -n 2 "$WORK/$lf.log" | tr '\n' ' ')"
        [[ $secs != - ]] || remark "connect $n: no answer from 10.123.3.2 within ${CONNECT_TIMEOUT}s; client said: $(tail -n 3 "$WORK/$lf.log" | tr '\n' ' ')"
        log "connect $n: ${secs} s (exit $STOP_RC, restored $restored; ping restarted $restarts times)"
        printf '%s\t%s\t%s\t%s\n' "$n" "$secs" "$STOP_RC" "$restored" >>"$CONN"
    done
    kill -0 "$SPID" 2>/dev/null || remark "connect: weft server exited during the connect runs"
}

# ------------------------------------------------------------------ load
# hsload_batch NAME CONCURRENCY SECS: one hsload run in c against the
# server SPID; its lines into LOADF; RSS and CPU of the server sampled
# when its phases end.
hsload_batch() {
    local name=$1 k=$2 secs=$3 lf=hsload-$1 pid t_hs t_end tk_hs tk_end rss_hs line
    local budget=$((LOAD_CLIENTS / 20 + secs + 120))
    spawn c "$lf" timeout "$budget" "$HSLOAD" --server "$SPUB@10.123.2.2:51820" \
        --clients "$LOAD_CLIENTS" --passcode "$PASSCODE" --concurrency "$k" --duration "$secs" \
        --source "$LOAD_SOURCES" --timeout 1000 --attempts 5
    pid=$SPAWNED
    # At the end of the one-handshake-each phase: every client admitted and
    # holding a session; the sustained phase follows.
    wait_for "$budget" grep -q '^handshake:' "$WORK/$lf.log" 2>/dev/null || true
    t_hs=$(date +%s.%N); tk_hs=$(ticks "$SPID"); rss_hs=$(rss_kib "$SPID")
    wait_for "$budget" gone "$pid" || true
    t_end=$(date +%s.%N); tk_end=$(ticks "$SPID")
    wait "$pid" 2>/dev/null || remark "load $name: hsload exited with status $? ($(tail -n 1 "$WORK/$lf.log"))"
    while IFS= read -r line; do
        case $line in admit:* | handshake:* | sustained:* | hsload:*)
            printf '%s\tline\t%s\n' "$name" "$line" >>"$LOADF" ;;
        esac
    done <"$WORK/$lf.log"
    printf '%s\trss_sessions\t%s\n' "$name" "$rss_hs" >>"$LOADF"
    printf '%s\tserver_cpu_sustained\t%s\n' "$name" \
        "$(awk -v d="$((tk_end - tk_hs))" -v hz="$HZ" -v t="$(elapsed "$t_hs" "$t_end")" \
            'BEGIN { printf "%.0f", (t > 0 ? 100 * d / hz / t : 0) }')" >>"$LOADF"
    printf '%s\tserver_cpu_s_sustained\t%s\n' "$name" \
        "$(awk -v d="$((tk_end - tk_hs))" -v hz="$HZ" 'BEGIN { printf "%.3f", d / hz }')" >>"$LOADF"
    kill -0 "$SPID" 2>/dev/null || remark "load $name: weft server exited during the run: $(tail -n 3 "$WORK"/weft-server-*.log | tr '\n' ' ')"
}
load() {
    local ifs idle n line
    topology
    # hsload's clients bind to addresses of LOAD_SOURCES (local in c).
    on c ip route add local "$LOAD_SOURCES" dev lo
    ifs=$(ifname sl)
    weft_server "$ifs"
    sleep 2
    idle=$(rss_kib "$SPID")
    printf 'base\trss_idle\t%s\n' "$idle" >>"$LOADF"
    hsload_batch base "$LOAD_CONCURRENCY" "$LOAD_SECS"
    n=$(grep -c '^admitted ' "$WORK/weft-server-$ifs.log" || true)
    printf 'base\tserver_admitted_lines\t%s\n' "${n:-0}" >>"$LOADF"
    printf 'base\twg_peers\t%s\n' "$(on s timeout 10 wg show "$ifs" peers 2>/dev/null | wc -l)" >>"$LOADF"
    if ((OVERLOAD_CONCURRENCY)); then
        hsload_batch over "$OVERLOAD_CONCURRENCY" "$OVERLOAD_SECS"
    fi
    printf 'end\trss_end\t%s\n' "$(rss_kib "$SPID")" >>"$LOADF"
    { grep -Ei 'error|warn|refused|cannot' "$WORK/weft-server-$ifs.log" || true; } | sort | uniq -c | sort -rn \
        | head -n 5 | while read -r line; do remark "load: the server logged: $line"; done
}

# ---------------------------------------------------------------- report
label() {
    case $1 in
        raw) echo "routed + NAT, no VPN" ;;
        wggo) echo "$(basename "${WGGO:-wireguard-go}") client -> server (wg, nft masquerade)" ;;
        weft) echo "weft client -> weft server" ;;
    esac
}
# lv NAME KEY: a value of LOADF.
lv() { awk -F'\t' -v n="$1" -v k="$2" '$1 == n && $2 == k { print $3; exit }' "$LOADF"; }
# phase NAME PHASE FIELD: from hsload's line "PHASE: A ok, B failed in T s = R/s; latency p50 X ms, p90 .., p99 Y ms, max ..; C cookie replies, ...; failures: ..."
phase() {
    local l
    l=$(awk -F'\t' -v n="$1" -v p="$2:" '$1 == n && $2 == "line" && index($3, p) == 1 { print $3; exit }' "$LOADF")
    [[ -n $l ]] || { echo -; return; }
    case $3 in
        ok) sed -n 's/^[a-z]*: \([0-9]*\) ok.*/\1/p' <<<"$l" ;;
        failed) sed -n 's/^[a-z]*: [0-9]* ok, \([0-9]*\) failed.*/\1/p' <<<"$l" ;;
        rate) sed -n 's/.* = \([0-9.]*\)\/s;.*/\1/p' <<<"$l" ;;
        p50) sed -n 's/.*latency p50 \([0-9.]*\) ms.*/\1/p' <<<"$l" ;;
        p99) sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$l" ;;
        cookies) sed -n 's/.*; \([0-9]*\) cookie replies.*/\1/p' <<<"$l" ;;
        secs) sed -n 's/.* failed in \([0-9.]*\) s = .*/\1/p' <<<"$l" ;;
        cpu) sed -n 's/.*hsload CPU \([0-9.]*\) s;.*/\1/p' <<<"$l" ;;
        failures) sed -n 's/.*failures: //p' <<<"$l" | tr ',' '\n' | awk '$2 > 0 { printf "%s%s %s", n++ ? ", " : "", $1, $2 }' ;;
    esac
}

# failures BATCH: "phase: kind n, ...; ..." for the kinds that occurred.
failures() {
    local p f out=
    for p in admit handshake sustained; do
        f=$(phase "$1" "$p" failures)
        [[ -z $f || $f == - ]] || out+="${out:+; }$p: $f"
    done
    printf '%s' "${out:-none}"
}

report() {
    local s n ok med p90 rest_no rc_bad idle rss_s per
    if ((NTHR)); then
        printf '### Throughput: client -> server -> internet host\n\n'
        printf '| path | 1 stream Gbit/s | 1x / wggo | 4 streams Gbit/s | 4x / wggo | ping median ms | CPU 1x client/server %% | CPU 4x client/server %% | CPU-s/Gbit 1x | CPU-s/Gbit 1x / wggo | CPU-s/Gbit 4x | rounds |\n'
        printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
        for s in "${SYS_LIST[@]}"; do
            printf '| %s | %s | %s | %s | %s | %s | %s/%s | %s/%s | %s | %s | %s | %s |\n' "$(label "$s")" \
                "$(med "$s" 3)" "$(ratio "$(med "$s" 3)" "$(med wggo 3)")" \
                "$(med "$s" 4)" "$(ratio "$(med "$s" 4)" "$(med wggo 4)")" "$(med "$s" 5)" \
                "$(med "$s" 6)" "$(med "$s" 7)" "$(med "$s" 8)" "$(med "$s" 9)" \
                "$(med "$s" 10)" "$(ratio "$(med "$s" 10)" "$(med wggo 10)")" "$(med "$s" 11)" "$(rows "$RES" 12 "$s")"
        done
        printf '\nMedians over rounds. iperf3 in c to 10.123.3.2 in i, which c reaches only through s; ping: median of %s at 10 ms. CPU: the VPN processes (client in c, server in s) in %% of one core (%d cores here); CPU-s/Gbit: both together per Gbit carried (lower is better).\n\n' "$PINGS" "$NCPU"
    fi
    if [[ -s $CONN ]]; then
        n=$(wc -l <"$CONN")
        ok=$(awk -F'\t' '$2 != "-"' "$CONN" | wc -l)
        med=$(awk -F'\t' '$2 != "-" {print $2}' "$CONN" | median)
        p90=$(awk -F'\t' '$2 != "-" {print $2}' "$CONN" | pctl 90)
        rest_no=$(awk -F'\t' '$4 != "yes"' "$CONN" | wc -l)
        rc_bad=$(awk -F'\t' '$3 != "0"' "$CONN" | wc -l)
        printf '### Connect time: `weft client` start -> first ping answered by the internet host\n\n'
        printf '| runs | answered | median s | p90 s | min s | max s | exit status not 0 | routes/rules/nft not restored |\n|---|---|---|---|---|---|---|---|\n'
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n\n' "$n" "$ok" "$med" "$p90" \
            "$(awk -F'\t' '$2 != "-" {print $2}' "$CONN" | sort -g | head -n 1)" \
            "$(awk -F'\t' '$2 != "-" {print $2}' "$CONN" | sort -g | tail -n 1)" "$rc_bad" "$rest_no"
        printf 'From the start of `weft client` (a returning client: same key every run; the server keeps running) to the first echo reply, with a ping every 10 ms from the start; includes the client'"'"'s Argon2id passcode key, the admission exchange, the host setup and the handshake. Stopped with SIGTERM after each run.\n\n'
    fi
    if [[ -s $LOADF ]]; then
        idle=$(lv base rss_idle)
        rss_s=$(lv base rss_sessions)
        per=$(awk -v a="$idle" -v b="$rss_s" -v n="$(phase base admit ok)" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && n > 0) printf "%.1f", (b - a) / n; else printf "-" }')
        printf '### Server under handshake load (hsload, %s clients, each its own key, socket and source address)\n\n' "$LOAD_CLIENTS"
        printf '| batch | concurrency | admitted | admissions/s | admit p50/p99 ms | handshakes/s, one each | sustained handshakes/s | sustained p50/p99 ms | cookie replies (admit/hs/sustained) | failures | server CPU %% sustained | server CPU-µs per handshake | hsload CPU %% sustained |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
        for s in base over; do
            [[ -n $(lv "$s" rss_sessions) ]] || continue
            printf '| %s | %s | %s | %s | %s/%s | %s | %s | %s/%s | %s/%s/%s | %s | %s | %s | %s |\n' \
                "$([[ $s == base ]] && echo "first $LOAD_CLIENTS" || echo "next $LOAD_CLIENTS")" \
                "$([[ $s == base ]] && echo "$LOAD_CONCURRENCY" || echo "$OVERLOAD_CONCURRENCY")" \
                "$(phase "$s" admit ok)" "$(phase "$s" admit rate)" "$(phase "$s" admit p50)" "$(phase "$s" admit p99)" \
                "$(phase "$s" handshake rate)" "$(phase "$s" sustained rate)" \
                "$(phase "$s" sustained p50)" "$(phase "$s" sustained p99)" \
                "$(phase "$s" admit cookies)" "$(phase "$s" handshake cookies)" "$(phase "$s" sustained cookies)" \
                "$(failures "$s")" "$(lv "$s" server_cpu_sustained)" \
                "$(awk -v c="$(lv "$s" server_cpu_s_sustained)" -v n="$(phase "$s" sustained ok)" \
                    'BEGIN { if (c ~ /^[0-9.]+$/ && n > 0) printf "%.0f", 1e6 * c / n; else printf "-" }')" \
                "$(awk -v c="$(phase "$s" sustained cpu)" -v t="$(phase "$s" sustained secs)" \
                    'BEGIN { if (c ~ /^[0-9.]+$/ && t > 0) printf "%.0f", 100 * c / t; else printf "-" }')"
        done
        printf '\n| server RSS idle MiB | with %s clients (sessions) MiB | KiB per client | at the end MiB | peers in `wg show` | "admitted" lines |\n|---|---|---|---|---|---|\n' "$LOAD_CLIENTS"
        printf '| %s | %s | %s | %s | %s | %s |\n\n' \
            "$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$rss_s" 'BEGIN { printf "%.1f", k / 1024 }')" \
            "$per" "$(awk -v k="$(lv end rss_end)" 'BEGIN { printf "%.1f", k / 1024 }')" \
            "$(lv base wg_peers)" "$(lv base server_admitted_lines)"
        printf 'Admission: the passcode exchange (the server: 2 X25519 + the proof check; the client: as `weft client`). Latency: first transmission to the answer, cookie round trips and retransmissions included (hsload --timeout 1000 ms, 5 attempts). Sustained: each client handshakes again at most every 25 ms (the server takes 50 initiations/s per peer); server CPU over that phase (%% of one core, from the end of the one-each phase to hsload'"'"'s exit) includes the confirming keepalives, and per handshake is that CPU over the sustained handshakes completed; hsload runs on the same cores (%d here) and does the same number of X25519 operations per handshake as the server. The second batch (if any) runs at a concurrency that fills the server'"'"'s handshake queue, so it answers with cookie replies and the clients resend with mac2. KiB per client: RSS after every client of the first batch was admitted and completed a handshake, minus idle, over the admitted count.\n' "$NCPU"
    fi
    if [[ -s $NOTES ]]; then
        printf '\n### What misbehaved\n\n'
        sed 's/^/- /' "$NOTES"
    fi
    anchors_note
}

anchors_note() {
    local a=../shared/bench/anchors.sh section
    printf '\n### Peers measured by %s\n\n' "$a"
    if [[ -n $ANCHORS_FILE && -r $ANCHORS_FILE ]]; then
        section=$(anchors_tables "$ANCHORS_FILE")
        if [[ -n $section ]]; then
            printf 'Tables of the latest run in `%s`, verbatim; a separate run on a two-namespace path, so compare by its own wireguard-go row:\n\n' "$ANCHORS_FILE"
            sed 1d <<<"$section"
            return 0
        fi
        printf 'ANCHORS_FILE=%s holds no anchors.sh tables.\n' "$ANCHORS_FILE"
    else
        printf 'Not measured in this run (point-to-point tunnels only; see bench/throughput.sh and ANCHORS_FILE).\n'
    fi
}

# ------------------------------------------------------------------ main
trap on_signal INT TERM
# part NAME CMD...: CMD in a subshell torn down on its way out.
part() {
    local name=$1
    shift
    run_child "$@"
    if ((CHILD_RC != 0)); then
        log "$name: failed (rc $CHILD_RC)"
        remark "$name: failed (rc $CHILD_RC); see the log lines above"
        T_FAILS=$((T_FAILS + 1))
    fi
    return 0
}
STARTED=$(date -u +%FT%TZ)
log "parts: $PARTS; systems: $SYSTEMS; $ROUNDS rounds of ${DURATION}s tests; weft: $WEFT_CMD"
log "estimated duration: $((EST_TOTAL / 60)) min $((EST_TOTAL % 60)) s on a quiet host (watchdog at ${TEST_BUDGET} s)"
if ((HAS_THR)); then
    for ((r = 1; r <= ROUNDS; r++)); do
        round_order "$r"
        for sys in "${ORDER[@]}"; do
            part "round $r $sys" run_system "$r" "$sys"
            awk -F'\t' -v r="$r" -v s="$sys" '$1 == r && $2 == s' "$RES" | grep -q . \
                || fail_row "$r" "$sys"
        done
    done
fi
((HAS_CONN)) && part connect connect_times
((HAS_LOAD)) && part load load

table=$(report)
mkdir -p "$RESULTS_DIR"
out=$RESULTS_DIR/fulltunnel-$(date +%F).md
{
    printf '\n## fulltunnel.sh at %s\n\n' "$STARTED"
    printf -- '- invocation: `PARTS="%s" SYSTEMS="%s" ROUNDS=%s DURATION=%s OMIT=%s PINGS=%s CONNECTS=%s LOAD_CLIENTS=%s LOAD_CONCURRENCY=%s LOAD_SECS=%s OVERLOAD_CONCURRENCY=%s OVERLOAD_SECS=%s bench/fulltunnel.sh`\n' \
        "$PARTS" "$SYSTEMS" "$ROUNDS" "$DURATION" "$OMIT" "$PINGS" "$CONNECTS" "$LOAD_CLIENTS" \
        "$LOAD_CONCURRENCY" "$LOAD_SECS" "$OVERLOAD_CONCURRENCY" "$OVERLOAD_SECS"
    versions "$WEFT_CMD"
    printf -- '- host: %s; topology c -- r -- s -- i (veths, inner MTU %s)\n\n' "$(host_desc)" "$TUN_MTU"
    printf '%s\n' "$table"
    printf '\n<details><summary>raw data</summary>\n\n```\nround system 1x 4x ping cpu1c cpu1s cpu4c cpu4s cpg1 cpg4 noisy other%%\n'
    cat "$RES"
    if [[ -s $CONN ]]; then printf '\nconnect secs exit restored\n'; cat "$CONN"; fi
    if [[ -s $LOADF ]]; then printf '\nload batch key value\n'; cat "$LOADF"; fi
    printf '```\n</details>\n'
} >>"$out"
printf '\n%s\n\n' "$table"
log "appended to $out; took $((SECONDS / 60)) min $((SECONDS % 60)) s (estimated $((EST_TOTAL / 60)) min $((EST_TOTAL % 60)) s)"
lib_finish
