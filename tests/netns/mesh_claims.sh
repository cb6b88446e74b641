#!/usr/bin/env bash
# mesh_claims.sh - issue #4 test 4: two dynamic devices that claim the same
# address converge to distinct addresses, and the one whose claim has the
# lower hub message id keeps it. Both are given the same previous address
# (their state directory remembers it) and start while the hub is frozen
# (SIGSTOP), so that both learn the network from the same answer and claim
# before either sees the other's claim.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init mesh_claims
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
mesh_topology 3
hub_start
for i in 1 2 3; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2
device_add 3
publish
node_up 1
node_wait_up 1 15 || die "d1 did not come up"
for i in 2 3; do
    mkdir -p "$WORK/d$i/$(mif "$i")/mesh" && echo 100.80.0.77 >"$WORK/d$i/$(mif "$i")/mesh/address"
done
kill -STOP "$HUB_PID"
node_up 2
node_up 3
# Both must be waiting on the frozen hub before it answers.
two_waiting() { (($(on hub ss -Htn state established '( sport = :7480 )' | wc -l) >= 3)); }
wait_for 10 two_waiting || note "not both nodes reached the frozen hub"
kill -CONT "$HUB_PID"
for i in 2 3; do node_wait_up "$i" 15 || die "d$i did not come up"; done

distinct() {
    local a2 a3
    a2=$(node_status 2 | jq -r .address) a3=$(node_status 3 | jq -r .address)
    [[ $a2 == 100.80.0.* && $a3 == 100.80.0.* && $a2 != "$a3" ]]
}
check "the two claims converge to distinct addresses" wait_for 15 distinct
# Who claimed .77 first, by hub message id: the announcements' first claims.
first=$(sqlite3 "$WORK/hub.db" "SELECT device FROM messages WHERE type='announce' ORDER BY id" |
    while read -r dev; do
        for i in 2 3; do [[ $dev == "${ID[$i]}" ]] && { echo "$i"; break 2; }; done
    done)
note "first claim by message id: d$first"
claimed_both=$(grep -l '^address 100.80.0.77$' "$WORK/node2.log" "$WORK/node3.log" | wc -l)
check "both devices claimed 100.80.0.77 first" test "$claimed_both" = 2
check "d$first (lower message id) keeps 100.80.0.77" \
    test "$(node_status "$first" | jq -r .address)" = 100.80.0.77
other=$((first == 2 ? 3 : 2))
check "d$other says it picks another address" \
    grep -q "claimed by a device that claimed it first" "$WORK/node$other.log"
all_ok() {
    local i j
    for i in 1 2 3; do for j in 1 2 3; do
        ((i == j)) || can_ping "$i" "$j" || { FAILED_PAIR="d$i -> d$j"; return 1; }
    done; done
}
if wait_for 10 all_ok; then
    pass "all pairs ping after the conflict"
else
    fail "all pairs ping after the conflict ($FAILED_PAIR does not)"
    for i in 1 2 3; do node_status "$i"; on "d$i" ip -br addr show "$(mif "$i")"; done
fi
lib_finish
