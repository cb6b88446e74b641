#!/usr/bin/env bash
# addclient.sh - `weft server add-client` gives stock WireGuard clients a
# config that connects: wg-quick with wireguard-go (the reference
# implementation, not weft) brings it up and pings the server's tunnel
# addresses over IPv4 and IPv6.
#
#   1. the server runs: add-client asks it over the control socket, the
#      peer is added live, client c connects at once;
#   2. the server is stopped: add-client edits its state under the lock
#      (a taken name is refused), and after a restart both the new client
#      (host d) and the first one connect, with the addresses they had.
#
# Host s runs `$WEFT server`; c and d are the stock clients. No --dns, so
# the configs have no DNS= line and wg-quick leaves resolv.conf alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init addclient
command -v wg-quick >/dev/null || { echo "SKIP: wg-quick not installed"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: nft not installed"; exit 77; }
STOCK=${REF_DAEMON:-}
[[ -n $STOCK ]] || { echo "SKIP: no reference WireGuard (wireguard-go) for the stock clients"; exit 77; }
if [[ -e /sys/module/wireguard ]]; then
    # wg-quick would take the kernel's WireGuard: as stock as it gets.
    note "the wireguard kernel module is loaded: wg-quick uses it"
fi

host_add s c d
link_add s c 1
link_add s d 2
assert_isolated
IF_S=$(ifname s)
IF_C=$(ifname c)
IF_D=$(ifname d)
STATE=$WORK/state
RUN=$WORK/run
mkdir -p "$RUN"

# server_start: `weft server` in s; waits (bounded) until it serves.
server_start() {
    T_IFS+=("$IF_S")
    spawn s "server-$1" env WEFT_RUN_DIR="$RUN" "$WEFT" server --interface "$IF_S" \
        --listen 51820 --state-dir "$STATE" --endpoint 10.123.1.1 \
        --pool 10.66.0.0/24 --pool6 fd66::/64
    SERVER_PID=$SPAWNED
    wait_for 20 grep -q '^listening on UDP port' "$WORK/server-$1.log" \
        || die "weft server did not start: $(tail -n 5 "$WORK/server-$1.log" | tr '\n' ' ')"
}
server_stop() {
    kill -TERM "$SERVER_PID"
    wait_for 10 gone "$SERVER_PID" || die "weft server ignored SIGTERM"
    wait "$SERVER_PID" 2>/dev/null || true
}

# add_client NAME IF [ARG...]: add-client in s; the config in
# $WORK/IF.conf, its stderr in $WORK/add-NAME.err; the exit status in
# ADD_RC.
add_client() {
    local name=$1 ifn=$2
    shift 2
    ADD_RC=0
    (umask 077; on s env WEFT_RUN_DIR="$RUN" timeout 20 "$WEFT" server add-client "$name" \
        --interface "$IF_S" --state-dir "$STATE" "$@" >"$WORK/$ifn.conf" \
        2>"$WORK/add-$name.err") || ADD_RC=$?
}

# up HOST IF: wg-quick up with the stock implementation.
up() {
    local rc=0
    T_IFS+=("$2")
    on "$1" env WG_QUICK_USERSPACE_IMPLEMENTATION="$STOCK" \
        WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
        timeout 30 wg-quick up "$WORK/$2.conf" >"$WORK/wg-quick-$2.log" 2>&1 || rc=$?
    adopt_ns_pids
    return "$rc"
}

conf_address() { sed -n 's/^Address = //p' "$WORK/$1.conf"; }

# ---- 1: a running server
server_start 1
add_client phone "$IF_C"
check "add-client phone while the server runs (rc $ADD_RC)" test "$ADD_RC" -eq 0
check "  ... through the control socket" grep -q 'to the running server' "$WORK/add-phone.err"
check "  ... the server added the peer" wait_for 5 grep -q '^added client phone' "$WORK/server-1.log"
sed 's/^/     /' "$WORK/$IF_C.conf" | grep -v PrivateKey || true
check "  ... the config names the server's endpoint" grep -qx 'Endpoint = 10.123.1.1:51820' "$WORK/$IF_C.conf"
check "  ... and a full tunnel" grep -qx 'AllowedIPs = 0.0.0.0/0, ::/0' "$WORK/$IF_C.conf"
PHONE_ADDR=$(conf_address "$IF_C")
note "phone: $PHONE_ADDR"
check "wg-quick up on c with $(basename "$STOCK")" up c "$IF_C"
check "ping c -> the server's tunnel address 10.66.0.1 (<= 15 s)" wait_ping c 10.66.0.1 15
check "ping c -> 10.66.0.1" ping_all c 10.66.0.1
check "ping c -> fd66::1 over IPv6" ping_all c fd66::1

# ---- 2: a stopped server
server_stop
# d reaches s on the second link: --endpoint says so.
add_client laptop "$IF_D" --endpoint 10.123.2.1
check "add-client laptop while the server is stopped (rc $ADD_RC)" test "$ADD_RC" -eq 0
check "  ... --endpoint overrides the server's, with its port" \
    grep -qx 'Endpoint = 10.123.2.1:51820' "$WORK/$IF_D.conf"
check "  ... into the state files" grep -q 'the server adds it when it starts' "$WORK/add-laptop.err"
check "  ... listed in $STATE/$IF_S/clients" grep -q '^laptop ' "$STATE/$IF_S/clients"
add_client phone taken
check "add-client phone again is refused (rc $ADD_RC)" test "$ADD_RC" -eq 1
check "  ... with one line that says why" \
    eval "[[ \$(cat '$WORK/add-phone.err') == 'weft: there is already a client named phone: pick another name' ]]"
check "  ... and prints no config" test ! -s "$WORK/taken.conf"

server_start 2
check "wg-quick up on d with the config made offline" up d "$IF_D"
check "ping d -> 10.66.0.1 after the restart (<= 15 s)" wait_ping d 10.66.0.1 15
check "ping d -> fd66::1" ping_all d fd66::1
check "ping c -> 10.66.0.1 again: the named client came back with the server (<= 30 s)" \
    wait_ping c 10.66.0.1 30
# kept IF: the pool file still gives IF's key the IPv4 address its config has.
kept() {
    local pub a4=${PHONE_ADDR%%/*}
    pub=$(sed -n 's/^PrivateKey = //p' "$WORK/$1.conf" | wg pubkey)
    grep -q "^$pub $a4 " "$STATE/$IF_S/pool"
}
check "phone kept its addresses ($PHONE_ADDR)" kept "$IF_C"
on c wg-quick down "$WORK/$IF_C.conf" >/dev/null 2>&1 || true
on d wg-quick down "$WORK/$IF_D.conf" >/dev/null 2>&1 || true
server_stop

lib_finish
