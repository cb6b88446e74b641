#!/usr/bin/env bash
# mesh_hubrestart.sh - issue #4 test 5: the data plane does not depend on
# the hub. Kill the hub: pings between the peers keep passing for 10 s and
# more. Start it again: the nodes reconnect by themselves, resume after the
# last message id they had (not from 0), and a roster change published
# after the restart reaches every node.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init mesh_hubrestart
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
mesh_topology 3
hub_start
for i in 1 2 3; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2
publish
for i in 1 2 3; do node_up "$i"; done
for i in 1 2; do node_wait_up "$i" 15 || die "d$i did not come up"; done
wait_for 10 can_ping 1 2 || die "d1 and d2 do not reach each other"
last_before=$(node_status 1 | jq .last_message)

kill -KILL "$HUB_PID"
wait_for 5 gone "$HUB_PID" || die "the hub did not die"
ok=1
for ((s = 0; s < 12; s++)); do
    can_ping 1 2 && can_ping 2 1 || { ok=0; break; }
    sleep 1
done
check "pings pass for 12 s with the hub dead" test "$ok" = 1
check "the nodes say the hub is gone" wait_for 40 grep -q "hub: no answer" "$WORK/node1.log"

mv "$WORK/hub.log" "$WORK/hub-first.log"
hub_run
check "d1 reconnects and resumes after message $last_before" \
    wait_for 40 grep -q "resuming after message $last_before" "$WORK/node1.log"
device_add 3
publish
check "d3, added after the restart, comes up" node_wait_up 3 40
check "d1 reaches d3" wait_for 15 can_ping 1 3
check "d2 reaches d3" wait_for 15 can_ping 2 3
check "d1 holds roster version 2" test "$(node_status 1 | jq .roster_version)" = 2

# A node restarted starts from the roster it saved (still pinned to the
# admin key, still refusing older versions) before the hub answers.
node_stop 1 || die "d1 did not stop"
mv "$WORK/node1.log" "$WORK/node1-first.log"
node_up 1
check "d1 restarts from its saved roster" \
    wait_for 15 grep -q "starting from the saved roster, version 2" "$WORK/node1.log"
check "d1 is back in the mesh" wait_for 15 can_ping 1 3
lib_finish
