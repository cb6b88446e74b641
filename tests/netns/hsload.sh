#!/usr/bin/env bash
# hsload.sh - the load tool against a real `weft server`: simulated clients
# from their own source addresses are admitted and complete handshakes that
# the server sees; a wrong passcode, a closed port and a server under load
# (cookie replies) are reported as they should be.
#
# Hosts c (hsload, its clients' addresses 10.124.0.0/24 local there) and s
# (weft server, passcode), joined by ul1; s routes 10.124.0.0/24 back to c.
#
# Environment: WEFT_CMD (weft), HSLOAD (hsload), both built by meson.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WEFT_CMD=${WEFT_CMD:-}
HSLOAD=${HSLOAD:-}
[[ -x $WEFT_CMD && -x $HSLOAD ]] || { echo "SKIP: set WEFT_CMD and HSLOAD (meson test sets both)"; exit 77; }
TEST_BUDGET=${TEST_BUDGET:-240}
lib_init hsload

host_add c s
link_add c s 1
assert_isolated
# A resolv.conf of s's own: the server must not touch the host's.
mkdir -p "/etc/netns/${T_NSOF[s]}"
echo "# hsload.sh" >"/etc/netns/${T_NSOF[s]}/resolv.conf"
eval "$(declare -f teardown | sed '1s/^teardown/lib_teardown/')"
# shellcheck disable=SC2317  # run by the EXIT trap
teardown() {
    lib_teardown
    rm -rf -- "/etc/netns/weft-$T_NAME-$T_TAG-s"
    rmdir /etc/netns 2>/dev/null || true
    return 0
}
on c ip route add local 10.124.0.0/24 dev lo
on s ip route add 10.124.0.0/24 via 10.123.1.1

IF_S=$(ifname s)
T_IFS+=("$IF_S")
keygen srv
SRV="$(pub srv)@10.123.1.2:51820"
spawn s server env WEFT_STATE_DIR="$WORK/state" WEFT_RUN_DIR="$WORK/run" \
    "$WEFT_CMD" server --interface "$IF_S" --key "$WORK/srv.key" --listen 51820 --passcode sesame
SPID=$SPAWNED
wait_for 15 grep -q 'listening on UDP port 51820' "$WORK/server.log" 2>/dev/null \
    || die "weft server did not start: $(tail -n 3 "$WORK/server.log" | tr '\n' ' ')"

# hsload NAME ARGS...: run it in c (bounded); output in $WORK/NAME.log,
# exit status in RC.
hsload() {
    local name=$1
    shift
    RC=0
    on c timeout 60 "$HSLOAD" --server "$SRV" "$@" >"$WORK/$name.log" 2>&1 || RC=$?
    sed 's/^/  | /' "$WORK/$name.log"
}
has() { grep -qE "$2" "$WORK/$1.log"; }

# 1. 40 clients, each its own address: all admitted, all with a session
# the server knows about.
hsload ok --clients 40 --concurrency 8 --duration 1 --passcode sesame --source 10.124.0.0/24 --timeout 1000
check "40 clients: exit status 0" [ "$RC" = 0 ]
check "40 clients admitted" has ok '^admit: 40 ok, 0 failed'
check "40 first handshakes" has ok '^handshake: 40 ok, 0 failed'
check "sustained handshakes, none failed" has ok '^sustained: [1-9][0-9]* ok, 0 failed'
check "the server logged 40 admissions from the clients' own addresses" \
    [ "$(grep -cE '^admitted .* from 10\.124\.0\.[0-9]+:[0-9]+ as 10\.77\.' "$WORK/server.log")" = 40 ]
check "the server has 40 peers" [ "$(on s wg show "$IF_S" peers | wc -l)" = 40 ]
check "every peer completed a handshake" \
    [ "$(on s wg show "$IF_S" latest-handshakes | awk '$2 > 0' | wc -l)" = 40 ]

# 2. A wrong passcode: refused, by kind, exit status 1.
hsload wrong --clients 3 --concurrency 3 --duration 0 --passcode open-sesame --source 10.124.0.0/24 --timeout 1000
check "wrong passcode: exit status 1" [ "$RC" = 1 ]
check "wrong passcode: 3 failures of kind bad-passcode" has wrong '^admit: 0 ok, 3 failed.*bad-passcode 3'
check "wrong passcode: the server said so" grep -q '^wrong passcode from 10\.124\.0\.' "$WORK/server.log"

# 3. Nobody on the port: timeouts after the attempts, ICMP seen.
SRV="$(pub srv)@10.123.1.2:51999"
hsload closed --clients 2 --duration 0 --passcode sesame --timeout 100 --attempts 2
SRV="$(pub srv)@10.123.1.2:51820"
check "closed port: exit status 1" [ "$RC" = 1 ]
check "closed port: 2 timeouts, 2 retransmissions" has closed '^admit: 0 ok, 2 failed.* 2 retransmissions.*timeout 2'
check "closed port: port unreachable seen" has closed ' [1-9][0-9]* unreachable'

# 4. More in flight than the server's handshake queue takes calmly: it
# demands cookies, the clients answer with mac2, and all still get in.
hsload load --clients 400 --concurrency 400 --duration 0 --passcode sesame --source 10.124.0.0/24 --timeout 1000 --attempts 5
check "under load: exit status 0" [ "$RC" = 0 ]
check "under load: 400 admitted" has load '^admit: 400 ok, 0 failed'
check "under load: 400 handshakes" has load '^handshake: 400 ok, 0 failed'
check "under load: the server sent cookie replies" \
    has load '^(admit|handshake): .*; [1-9][0-9]* cookie replies'

bad_usage() { local rc=0; "$HSLOAD" --clients 1 >/dev/null 2>&1 || rc=$?; [[ $rc == 2 ]]; }
check "bad usage (no --server): exit status 2" bad_usage
check "weft server still runs" kill -0 "$SPID"
lib_finish
