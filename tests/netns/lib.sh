# lib.sh - helpers shared by weft's network-namespace tests (source it).
#
# A test builds "hosts" (network namespaces named weft-TEST-PID-HOST), joins
# them with veth pairs (underlay 10.123.N.0/24), starts WireGuard daemons in
# them, configures those with the CLI and checks what happens.  Everything it
# starts is recorded and torn down by an EXIT trap, also on failure or
# interrupt.  Traffic only ever goes to addresses inside these namespaces:
# they hold lo, our veths and our tunnels, and no default route.
#
# Environment:
#   WEFTD        daemon under test, run as `$WEFTD -f IF` (default wireguard-go)
#   WEFT         CLI that configures and queries it (default wg); it must
#                speak wg's `setconf` and `show IF FIELD`
#   REF_DAEMON   the reference daemon for interop (default wireguard-go)
#   KEEP_WORK=1  keep the work directory (logs, captures) also on success;
#                it is always kept when a check failed
#   TEST_BUDGET  seconds before a watchdog interrupts the test (default 300)
#   DAEMON_LOG_LEVEL  LOG_LEVEL given to the daemons (default verbose)
#
# A test: source this file, call `lib_init NAME`, build hosts and tunnels,
# call pass/fail/skip/check for each check, end with `lib_finish`.

WEFTD=${WEFTD:-wireguard-go}
WG_CLI=${WEFT:-wg}
REF_DAEMON=${REF_DAEMON:-wireguard-go}
TUN_MTU=1420
UAPI_DIR=/var/run/wireguard

T_FAILS=0 T_PASSES=0 T_SKIPS=0
T_PIDS=()              # every process we started (checked before a kill)
T_NS=()                # our namespaces
T_IFS=()               # our tunnel interfaces (their UAPI sockets are global)
declare -gA T_NSOF      # host -> namespace
declare -gA T_DPID      # tunnel interface -> daemon pid
declare -gA T_CAP       # capture name -> tcpdump pid

# ------------------------------------------------------------------ reports
pass() { T_PASSES=$((T_PASSES + 1)); printf 'PASS: %s\n' "$*"; }
fail() { T_FAILS=$((T_FAILS + 1)); printf 'FAIL: %s\n' "$*"; }
skip() { T_SKIPS=$((T_SKIPS + 1)); printf 'SKIP: %s\n' "$*"; }
note() { printf '  .. %s\n' "$*"; }
# check DESC CMD...: PASS if CMD succeeds.
check() {
    local desc=$1; shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# die MSG: a setup step failed; nothing after it can be checked.
die() {
    fail "setup: $*"
    exit 1
}

# ------------------------------------------------------------ start and end
# lib_init NAME: checks root and tools, makes the work directory, arms the
# cleanup trap and the watchdog.
lib_init() {
    T_NAME=$1
    T_START=$SECONDS
    if ((EUID != 0)); then
        echo "SKIP: $T_NAME needs root (network namespaces)"
        exit 77
    fi
    local tool
    for tool in ip wg socat tcpdump timeout sha256sum ping ss perl; do
        command -v "$tool" >/dev/null || { echo "SKIP: $T_NAME needs $tool"; exit 77; }
    done
    WEFTD=$(command -v "$WEFTD") || { echo "FAIL: setup: daemon '${WEFTD}' not found"; exit 1; }
    WG_CLI=$(command -v "$WG_CLI") || { echo "FAIL: setup: CLI '${WG_CLI}' not found"; exit 1; }
    REF_DAEMON=$(command -v "$REF_DAEMON") || REF_DAEMON=
    # The run's tag goes into namespace and interface names: parallel runs
    # (and leftovers of a killed run) never collide.
    T_TAG=$$
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/weft-$T_NAME.XXXXXX")
    trap lib_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local budget=${TEST_BUDGET:-300} me=$$
    (
        trap 'kill "$s" 2>/dev/null; exit 0' TERM
        sleep "$budget" & s=$!
        wait "$s"
        echo "FAIL: watchdog: $T_NAME still running after ${budget}s" >&2
        kill -TERM "$me"
    ) &
    T_WATCHDOG=$!
    echo "== $T_NAME: daemon $WEFTD, CLI $WG_CLI, work dir $WORK"
}

# lib_finish: the summary line; exit status 1 when any check failed.
lib_finish() {
    printf '== %s: %d passed, %d failed, %d skipped in %ds\n' \
        "$T_NAME" "$T_PASSES" "$T_FAILS" "$T_SKIPS" $((SECONDS - T_START))
    ((T_FAILS == 0)) || exit 1
    exit 0
}

# our_ns: our namespaces: those recorded, and any other carrying this run's
# prefix (made in a subshell whose records are gone).
our_ns() {
    local n
    for n in "${T_NS[@]}"; do printf '%s\n' "$n"; done
    for n in /run/netns/"weft-$T_NAME-$T_TAG-"*; do
        [[ -e $n ]] && printf '%s\n' "${n#/run/netns/}"
    done
    return 0
}

# Is PID one we started and still in one of our namespaces?  (A recorded
# PID may have been reused by an unrelated process since.)
is_ours() {
    local pid=$1 ns
    [[ -d /proc/$pid ]] || return 1
    ns=$(ip netns identify "$pid" 2>/dev/null) || return 1
    [[ $ns == "weft-$T_NAME-$T_TAG-"* ]]
}

# Daemons that forked themselves into the background (wg-quick starts them
# like that) are ours too: they live in a namespace only this run knows.
adopt_ns_pids() {
    local n pid
    for n in $(our_ns | sort -u); do
        [[ -e /run/netns/$n ]] || continue
        for pid in $(ip netns pids "$n" 2>/dev/null); do
            [[ " ${T_PIDS[*]} " == *" $pid "* ]] || T_PIDS+=("$pid")
        done
    done
}

# teardown: stop everything we started, delete our namespaces and sockets.
# A test may call it between scenarios and build anew.
teardown() {
    local - pid i alive n
    set +e                          # a cleanup step failing must not stop it
    adopt_ns_pids
    for pid in "${T_PIDS[@]}"; do
        is_ours "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${T_PIDS[@]}"; do is_ours "$pid" && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${T_PIDS[@]}"; do
        if is_ours "$pid"; then
            echo "  .. pid $pid ignored SIGTERM; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    for pid in "${T_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    # Interface names are wf<run tag><letter>...: the letter keeps another
    # run's tag that merely starts with ours (wf123 vs wf1234) out.
    for n in "${T_IFS[@]}" "$UAPI_DIR/wf$T_TAG"[a-z]*.sock; do
        n=${n##*/}
        rm -f "$UAPI_DIR/${n%.sock}.sock"
    done
    for n in $(our_ns | sort -u); do
        [[ -e /run/netns/$n ]] && ip netns del "$n"
    done
    T_PIDS=() T_NS=() T_IFS=() T_NSOF=() T_DPID=() T_CAP=()
    return 0
}

lib_cleanup() {
    local rc=$? f
    set +e
    trap - EXIT INT TERM
    teardown
    [[ -n ${T_WATCHDOG:-} ]] && { kill -TERM "$T_WATCHDOG" 2>/dev/null; wait "$T_WATCHDOG" 2>/dev/null; }
    if [[ -n ${WORK:-} && -d $WORK ]]; then
        rm -f "$WORK"/*.bin
        if ((rc != 0 || T_FAILS > 0)); then
            for f in "$WORK"/*.log; do
                [[ -s $f ]] || continue
                echo "---- last lines of $(basename "$f")"
                tail -n 8 "$f"
            done
            echo "== $T_NAME: kept $WORK"
        elif [[ ${KEEP_WORK:-0} == 1 ]]; then
            echo "== $T_NAME: kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    ((rc != 0 || T_FAILS == 0)) || rc=1
    exit "$rc"
}

# spawn HOST LOGNAME CMD...: run CMD in HOST's namespace in the background,
# output to $WORK/LOGNAME.log; its PID (recorded) in SPAWNED.
spawn() {
    local ns=${T_NSOF[$1]} log=$WORK/$2.log
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
    SPAWNED=$!
    T_PIDS+=("$SPAWNED")
}

# on HOST CMD...: run CMD in HOST's namespace.
on() {
    local ns=${T_NSOF[$1]}
    shift
    ip netns exec "$ns" "$@"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# --------------------------------------------------------- hosts and links
# host_add NAME...: a namespace per name with lo up.
host_add() {
    local h ns
    for h in "$@"; do
        ns=weft-$T_NAME-$T_TAG-$h
        [[ ! -e /run/netns/$ns ]] || die "namespace $ns already exists"
        ip netns add "$ns"
        T_NS+=("$ns")
        T_NSOF[$h]=$ns
        ip -n "$ns" link set lo up
        # No duplicate address detection: addresses are usable at once and
        # the routing tables do not change later on their own.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
}

# link_add A B N: a veth pair between hosts A and B, named ulN on both
# sides, with 10.123.N.1/24 on A and 10.123.N.2/24 on B.
link_add() {
    local a=$1 b=$2 n=$3
    ip link add "ul$n" netns "${T_NSOF[$a]}" type veth peer name "ul$n" netns "${T_NSOF[$b]}"
    ip -n "${T_NSOF[$a]}" addr add "10.123.$n.1/24" dev "ul$n"
    ip -n "${T_NSOF[$b]}" addr add "10.123.$n.2/24" dev "ul$n"
    ip -n "${T_NSOF[$a]}" link set "ul$n" up
    ip -n "${T_NSOF[$b]}" link set "ul$n" up
}

# assert_isolated: no namespace of ours has a default route.
assert_isolated() {
    local n
    for n in "${T_NS[@]}"; do
        [[ -z $(ip -n "$n" route show default) && -z $(ip -n "$n" -6 route show default) ]] \
            || die "namespace $n has a default route"
    done
}

# ifname SUFFIX: a tunnel interface name unique to this run (<= 15 chars);
# SUFFIX starts with a letter.  Use it alone in an assignment, so that
# set -e stops the test when it fails.
ifname() {
    local n=wf$T_TAG$1
    if [[ $1 != [a-z]* || ${#n} -gt 15 ]]; then
        echo "FAIL: setup: bad interface name $n (suffix: a letter first; 15 chars at most)" >&2
        return 1
    fi
    printf '%s\n' "$n"
}

# ---------------------------------------------------------------- daemons
# daemon_start HOST IF BINARY [VAR=VALUE...]: run `BINARY -f IF` in HOST
# (environment VAR=VALUE added), wait (bounded) for its UAPI socket and TUN.
daemon_start() {
    local host=$1 ifn=$2 bin=$3 sock=$UAPI_DIR/$2.sock
    shift 3
    if [[ -e $sock ]]; then
        # A stale socket of a killed run with our PID: nobody answers on it.
        timeout 2 socat -u OPEN:/dev/null "UNIX-CONNECT:$sock" 2>/dev/null \
            && die "$sock is in use by another process"
        rm -f "$sock"
    fi
    T_IFS+=("$ifn")
    spawn "$host" "daemon-$ifn" env LOG_LEVEL="${DAEMON_LOG_LEVEL:-verbose}" "$@" "$bin" -f "$ifn"
    T_DPID[$ifn]=$SPAWNED
    local deadline=$((SECONDS + 10))
    until [[ -S $sock ]] && on "$host" ip link show "$ifn" >/dev/null 2>&1; do
        kill -0 "$SPAWNED" 2>/dev/null || die "$(basename "$bin") -f $ifn exited: $(tail -n 3 "$WORK/daemon-$ifn.log" | tr '\n' ' ')"
        ((SECONDS < deadline)) || die "$(basename "$bin") -f $ifn: no socket $sock after 10 s"
        sleep 0.1
    done
}

# daemon_alive IF: the daemon of IF still runs.
daemon_alive() { kill -0 "${T_DPID[$1]}" 2>/dev/null; }

# daemon_stop IF: SIGTERM, then bounded wait; SIGKILL if it ignored it.
daemon_stop() {
    local pid=${T_DPID[$1]} i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$UAPI_DIR/$1.sock"
}

# gone PID: the process has exited.
gone() { ! kill -0 "$1" 2>/dev/null; }
# listening HOST PORT: a TCP socket listens on PORT in HOST.
listening() { [[ -n $(on "$1" ss -Hltn "sport = :$2") ]]; }

# ---------------------------------------------------------- configuration
# keygen NAME: $WORK/NAME.key and $WORK/NAME.pub; the public key in KEY_PUB.
keygen() {
    (umask 077; wg genkey >"$WORK/$1.key")
    wg pubkey <"$WORK/$1.key" >"$WORK/$1.pub"
}
pub() { cat "$WORK/$1.pub"; }
priv() { cat "$WORK/$1.key"; }

# setconf HOST IF: apply the configuration on stdin with `$WEFT setconf`.
setconf() {
    local f
    f=$(mktemp "$WORK/$2.XXXX.conf")
    cat >"$f"
    on "$1" timeout 10 "$WG_CLI" setconf "$2" "$f"
}

# wg_show HOST IF [FIELD]: `$WEFT show IF FIELD`.
wg_show() {
    local h=$1
    shift
    on "$h" timeout 10 "$WG_CLI" show "$@"
}

# tun_addr HOST IF N: 10.77.0.N/24 and fd77::N/64 on IF, MTU 1420, up.
tun_addr() {
    on "$1" ip addr add "10.77.0.$3/24" dev "$2"
    on "$1" ip -6 addr add "fd77::$3/64" dev "$2" nodad
    on "$1" ip link set "$2" mtu "$TUN_MTU" up
}

# field HOST IF FIELD PUB: the value of FIELD (latest-handshakes, endpoints,
# transfer, ...) for peer PUB; empty if absent.
field() {
    wg_show "$1" "$2" "$3" 2>/dev/null | awk -v k="$4" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'
}
# latest_hs HOST IF PUB: epoch seconds of the last handshake (0 = never).
latest_hs() {
    local v
    v=$(field "$1" "$2" latest-handshakes "$3")
    printf '%s\n' "${v:-0}"
}
endpoint_of() { field "$1" "$2" endpoints "$3"; }
# rx_of / tx_of HOST IF PUB: bytes received from / sent to peer PUB.
rx_of() { field "$1" "$2" transfer "$3" | awk '{print $1 + 0}'; }
tx_of() { field "$1" "$2" transfer "$3" | awk '{print $2 + 0}'; }

# -------------------------------------------------------------- traffic
# ping_n HOST DST COUNT [INTERVAL]: number of replies to COUNT pings.
ping_n() {
    local iv=${4:-0.2} out
    out=$(on "$1" timeout $(($3 + 10)) ping -n -q -c "$3" -i "$iv" -W 1 "$2" 2>&1) || true
    sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out" | head -n 1 | grep . || echo 0
}
# ping_all HOST DST [COUNT]: all COUNT (default 5) pings answered.
ping_all() { (($(ping_n "$1" "$2" "${3:-5}") == ${3:-5})); }
# ping_none HOST DST [COUNT]: not one of COUNT (default 3) pings answered.
ping_none() { (($(ping_n "$1" "$2" "${3:-3}") == 0)); }
# wait_ping HOST DST SECONDS: until one ping is answered.
wait_ping() {
    local deadline=$((SECONDS + $3))
    until on "$1" timeout 3 ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# capture_start HOST DEV NAME [FILTER...]: tcpdump into $WORK/NAME.pcap.
capture_start() {
    local h=$1 dev=$2 name=$3
    shift 3
    # -Z root: Debian's tcpdump would otherwise drop to user tcpdump, which
    # may not write into our work directory.
    spawn "$h" "tcpdump-$name" timeout 300 tcpdump -Z root -n -U --immediate-mode -i "$dev" -w "$WORK/$name.pcap" "$@"
    T_CAP[$name]=$SPAWNED
    wait_for 5 grep -q 'listening on' "$WORK/tcpdump-$name.log" 2>/dev/null \
        || die "tcpdump on $dev did not start: $(cat "$WORK/tcpdump-$name.log")"
}
capture_stop() {
    local pid=${T_CAP[$1]}
    sleep 0.5                    # let the last packets reach the file
    kill -INT "$pid" 2>/dev/null || true
    wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# capture_count NAME FILTER...: packets in the capture matching FILTER.
capture_count() {
    local name=$1
    shift
    timeout 30 tcpdump -n -r "$WORK/$name.pcap" "$@" 2>/dev/null | wc -l
}

# blob NAME MB: $WORK/NAME.bin of MB MiB random bytes; its sha256 is
# printed.
blob() {
    head -c "$2M" /dev/urandom >"$WORK/$1.bin"
    sha256sum <"$WORK/$1.bin" | cut -d' ' -f1
}

# xfer SRC DST ADDR PORT NAME: send $WORK/NAME.bin over TCP from host SRC
# to ADDR:PORT in host DST (socat), hash what arrives; true if the hashes
# match.  XFER_SECS gets how long it took.
# shellcheck disable=SC2034  # XFER_SECS is for the caller
xfer() {
    local src=$1 dst=$2 addr=$3 port=$4 name=$5 want got t0 pid fam=4 rc=0
    [[ $addr == *:* ]] && fam=6
    want=$(sha256sum <"$WORK/$name.bin" | cut -d' ' -f1)
    spawn "$dst" "recv-$port" timeout 120 bash -c \
        "socat -u TCP$fam-LISTEN:$port,reuseaddr - | sha256sum | cut -d' ' -f1 >'$WORK/recv-$port.sha'"
    pid=$SPAWNED
    wait_for 5 listening "$dst" "$port" \
        || { note "receiver on port $port did not listen"; return 1; }
    t0=$(date +%s.%N)
    [[ $fam == 6 ]] && addr="[$addr]"
    on "$src" timeout 120 socat -u "FILE:$WORK/$name.bin" "TCP$fam:$addr:$port" || rc=$?
    wait "$pid" || rc=$?
    XFER_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    got=$(cat "$WORK/recv-$port.sha" 2>/dev/null || true)
    ((rc == 0)) || { note "transfer failed (rc $rc)"; return 1; }
    [[ $got == "$want" ]] || { note "sha256 sent $want, received ${got:-nothing}"; return 1; }
}

# wg_pair A_BIN B_BIN [A_ENDPOINT B_ENDPOINT]: the common two-host setup.
# Hosts a, b joined by ul1 (10.123.1.1 <-> .2); daemon A_BIN on a with
# interface IF_A, B_BIN on b with IF_B, keys ka/kb, tunnel .1/.2, UDP ports
# 51820/51821.  A_ENDPOINT=yes: a knows b's endpoint (and so can initiate);
# likewise B_ENDPOINT.  Extra lines for both peer sections in PEER_EXTRA_A/B.
wg_pair() {
    local abin=$1 bbin=$2 aep=${3:-yes} bep=${4:-yes}
    host_add a b
    link_add a b 1
    assert_isolated
    IF_A=$(ifname "a${SCEN:-}")
    IF_B=$(ifname "b${SCEN:-}")
    keygen ka
    keygen kb
    daemon_start a "$IF_A" "$abin" "${A_ENV[@]}"
    daemon_start b "$IF_B" "$bbin" "${B_ENV[@]}"
    setconf a "$IF_A" <<EOF || die "setconf on $IF_A failed"
[Interface]
PrivateKey = $(priv ka)
ListenPort = 51820

[Peer]
PublicKey = $(pub kb)
AllowedIPs = 10.77.0.2/32, fd77::2/128
$([[ $aep == yes ]] && echo "Endpoint = 10.123.1.2:51821")
${PEER_EXTRA_A:-}
EOF
    setconf b "$IF_B" <<EOF || die "setconf on $IF_B failed"
[Interface]
PrivateKey = $(priv kb)
ListenPort = 51821

[Peer]
PublicKey = $(pub ka)
AllowedIPs = 10.77.0.1/32, fd77::1/128
$([[ $bep == yes ]] && echo "Endpoint = 10.123.1.1:51820")
${PEER_EXTRA_B:-}
EOF
    tun_addr a "$IF_A" 1
    tun_addr b "$IF_B" 2
}
A_ENV=()
B_ENV=()
