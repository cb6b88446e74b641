#!/usr/bin/env bash
# mesh_roster.sh - issue #4 test 2: a roster update takes effect live on
# every node, without restarts: a device added to the roster joins and is
# reached by all; a device removed can no longer reach anyone, nor anyone
# it; the other nodes' processes are the same before and after.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init mesh_roster
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
mesh_topology 4
hub_start
for i in 1 2 3 4; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2 --ip 100.80.0.11
device_add 3
publish
for i in 1 2 3 4; do node_up "$i"; done
for i in 1 2 3; do node_wait_up "$i" 15 || die "d$i did not come up"; done

# d4 is not in the roster: the hub refuses it, it says so and keeps trying.
check "d4 says the hub refuses it" \
    wait_for 10 grep -q "not an admin or device of $MESH_NET" "$WORK/node4.log"
check "d1 does not reach d4's (absent) address" bash -c "[[ -z \$(grep '^address' $WORK/node4.log) ]]"
pids_before="${NODE_PID[1]} ${NODE_PID[2]} ${NODE_PID[3]} ${NODE_PID[4]}"

# Add d4, remove d3.
device_add 4
$WEFT admin remove-device --owner owner3 --device d3 >/dev/null || die "remove-device failed"
publish
check "d4 joins live" node_wait_up 4 20
pairs_ok() {
    local i j
    for i in 1 2 4; do for j in 1 2 4; do
        ((i == j)) || can_ping "$i" "$j" || return 1
    done; done
}
check "d1, d2 and the added d4 reach each other" wait_for 15 pairs_ok
d3_cut() {
    local j
    for j in 1 2 4; do
        can_ping 3 "$j" && return 1
        can_ping "$j" 3 && return 1
    done
    return 0
}
check "the removed d3 reaches no one and no one reaches it" wait_for 10 d3_cut
check "d3 says it left the roster" grep -q "no longer in the roster" "$WORK/node3.log"
check "d1 has 2 peers (d2, d4)" test "$(node_status 1 | jq '.peers | length')" = 2
check "d1 sees roster version 2" test "$(node_status 1 | jq .roster_version)" = 2
alive=1
for p in $pids_before; do kill -0 "$p" 2>/dev/null || alive=0; done
check "no node was restarted" test "$alive" = 1
lib_finish
