#!/usr/bin/env bash
# mesh_up.sh - issue #4 test 1: a hub and four devices on one segment, two
# with static and two with dynamic addresses; every ordered pair pings by
# mesh address within MESH_UP_BUDGET seconds of `weft up`. Also: the
# engine runs unprivileged (no capabilities, no_new_privs, seccomp), and
# `weft status` shows every peer with its path. One device joins with the
# one-line invite of `weft admin invite`, the others with --hub/--network/
# --admin-key.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"
MESH_UP_BUDGET=${MESH_UP_BUDGET:-10}

lib_init mesh_up
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
mesh_topology 4
hub_start
for i in 1 2 3 4; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2 --ip 100.80.0.11
device_add 3
device_add 4
publish

invite=$($WEFT admin invite --hub "$HUB_URL") || die "weft admin invite failed"
t0=$SECONDS
for i in 1 2 3; do node_up "$i"; done
node_up_invite 4 "$invite"     # the invite pins the admin key too
for i in 1 2 3 4; do
    node_wait_up "$i" 15 || die "d$i did not come up: $(tail -3 "$WORK/node$i.log")"
done
check "static addresses as the roster says" \
    test "$(mesh_addr 1) $(mesh_addr 2)" = "100.80.0.10 100.80.0.11"
a3=$(mesh_addr 3) a4=$(mesh_addr 4)
check "dynamic addresses in the range and distinct ($a3, $a4)" \
    bash -c "[[ $a3 == 100.80.0.* && $a4 == 100.80.0.* && $a3 != $a4 ]]"

all_pairs() {
    local i j
    for i in 1 2 3 4; do
        for j in 1 2 3 4; do
            ((i == j)) || can_ping "$i" "$j" || return 1
        done
    done
}
if wait_for "$MESH_UP_BUDGET" all_pairs; then
    pass "all 12 ordered pairs ping within ${MESH_UP_BUDGET} s of weft up (took $((SECONDS - t0)) s)"
else
    fail "not every pair pings within ${MESH_UP_BUDGET} s"
    for i in 1 2 3 4; do tail -5 "$WORK/node$i.log"; done
fi

# The engine is the child of the helper: find it and read its status.
engine=$(pgrep -P "${NODE_PID[1]}" | head -1)
if [[ -n $engine ]]; then
    st=/proc/$engine/status
    check "engine runs as nobody" test "$(awk '/^Uid:/{print $2}' "$st")" = "$(id -u nobody)"
    check "engine has no capabilities" \
        test "$(awk '/^Cap(Inh|Prm|Eff|Amb):/{print $2}' "$st" | sort -u)" = "0000000000000000"
    check "engine has no_new_privs and seccomp" \
        test "$(awk '/^NoNewPrivs:|^Seccomp:/{print $2}' "$st" | tr '\n' ' ')" = "1 2 "
    check "helper stays root" test "$(awk '/^Uid:/{print $2}' "/proc/${NODE_PID[1]}/status")" = 0
else
    fail "no engine process under the helper"
fi

js=$(node_status 1)
check "weft status lists 3 peers on d1" \
    test "$(jq '.peers | length' <<<"$js")" = 3
# A path is "lan" once a probe on it was answered: at most a probe burst
# interval (0.5 s) after the tunnel works.
all_lan() { test "$(node_status 1 | jq -r '[.peers[].path] | unique | join(",")')" = lan; }
check "every peer of d1 is on the LAN path" wait_for 5 all_lan
check "text status names the peers" bash -c "on_out=\$(ip netns exec ${T_NSOF[d1]} $WEFT status $(mif 1)); grep -q owner2/d2 <<<\"\$on_out\""

# weft down on one node: its interface and pid file are gone.
on d4 "$WEFT" down "$(mif 4)" >/dev/null 2>&1
check "weft down stops d4" wait_for 10 gone "${NODE_PID[4]}"
check "d4's interface is gone" bash -c "! ip -n ${T_NSOF[d4]} link show $(mif 4) >/dev/null 2>&1"
lib_finish
