#!/usr/bin/env bash
# mesh_tamper.sh - issue #4 test 3: the hub cannot inject or alter peers.
# A compromised hub (its database written directly) serves: a forged
# announcement (a device's real envelope with its body changed), a forged
# roster (body changed), a roster signed by a key that is not a pinned
# admin, a replayed older roster, and an announcement validly signed by a
# device not in the roster. Every node rejects each with its reason in
# its log, and nothing changes on any node: same peers, same allowed IPs,
# same endpoints, pings still pass.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init mesh_tamper
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
for t in sqlite3 openssl xxd jq; do
    command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
mesh_topology 3
hub_start
for i in 1 2 3; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10
device_add 2 --ip 100.80.0.11
device_add 3
publish
roster_v1=$(sqlite3 "$WORK/hub.db" "SELECT env FROM messages WHERE type='roster' ORDER BY id LIMIT 1")
$WEFT admin add-device --owner extra --device spare --key "$(ed25519_key spare)" >/dev/null
publish
for i in 1 2 3; do node_up "$i"; done
for i in 1 2 3; do node_wait_up "$i" 15 || die "d$i did not come up"; done
mesh_ok() {
    local i j
    for i in 1 2 3; do for j in 1 2 3; do
        ((i == j)) || can_ping "$i" "$j" || return 1
    done; done
}
wait_for 10 mesh_ok || die "the mesh did not form"

snapshot() {
    local i
    for i in 1 2 3; do
        on "d$i" "$WEFT" show "$(mif "$i")" dump | awk 'NR > 1 {print $1, $3, $4}' | sort
        node_status "$i" | jq -c '{address, roster_version, peers: [.peers[] | {name, address}]}'
    done
}
before=$(snapshot)

# expect_rejected WHAT PATTERN: every node logs PATTERN; nothing changed.
expect_rejected() {
    local what=$1 pat=$2 i ok=1
    for i in 1 2 3; do
        wait_for 10 grep -q -- "$pat" "$WORK/node$i.log" || { ok=0; note "d$i did not log: $pat"; }
    done
    check "$what: rejected by every node with its reason" test "$ok" = 1
    check "$what: nothing changed on the nodes" test "$(snapshot)" = "$before"
    hub_uninject "$INJECTED"
}

# 1. A forged announcement: d2's envelope, its body changed (wg key).
env2=$(sqlite3 "$WORK/hub.db" "SELECT env FROM messages WHERE type='announce' AND device='${ID[2]}' AND current=1")
[[ -n $env2 ]] || die "no announcement of d2 in the hub"
env_body "$env2" | jq -c '.wg = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" | .time += 1000' >"$WORK/forged.json"
forged=$(jq -c --arg b "$(base64 -w0 "$WORK/forged.json")" '.body = $b' <<<"$env2")
hub_inject announce "${ID[2]}" "$forged"
expect_rejected "forged announcement" "announcement of owner2/d2 does not verify"

# 2. A forged roster: the current one with a device added to its body.
cur=$(sqlite3 "$WORK/hub.db" "SELECT env FROM messages WHERE type='roster' AND current=1")
ed25519_key intruder >/dev/null
env_body "$cur" | jq -c --arg k "$(openssl pkey -in "$WORK/intruder.pem" -pubout -outform DER | tail -c 32 | base64 -w0)" \
    '.version += 1 | .devices += [{"owner":"mallory","name":"x","key":$k}]' >"$WORK/roster-forged.json"
hub_inject roster "" "$(jq -c --arg b "$(base64 -w0 "$WORK/roster-forged.json")" '.body = $b' <<<"$cur")"
expect_rejected "forged roster" "roster signature does not verify"

# 3. A roster signed by a key that is not a pinned admin.
ed25519_key rogue >/dev/null
hub_inject roster "" "$(seal roster rogue "$WORK/roster-forged.json")"
expect_rejected "roster signed by a non-admin" "which is not a pinned admin key"

# 4. The older roster (version 1) replayed.
hub_inject roster "" "$roster_v1"
expect_rejected "replayed older roster" "rollback refused"

# 5. An announcement validly signed by a device not in the roster.
jq -nc --arg d "$(openssl pkey -in "$WORK/intruder.pem" -pubout -outform DER | tail -c 32 | base64 -w0)" \
    --argjson t "$(($(date +%s) * 1000))" --argjson e "$(($(date +%s) + 3600))" \
    '{network:"acme", device:$d, wg:"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
      endpoints:["10.124.0.66:51820"], ip:"100.80.0.66", claim:0, time:$t, expires:$e}' \
    >"$WORK/intruder-ann.json"
hub_inject announce intruder "$(seal announce intruder "$WORK/intruder-ann.json")"
expect_rejected "announcement from a device not in the roster" "which is not in the roster"

check "the mesh still works" wait_for 5 mesh_ok
lib_finish
