#!/usr/bin/env bash
# hub_pg.sh - two weft-hub instances on one PostgreSQL database: both
# start at once on an empty database (schema created concurrently); a
# long poll on hub 1 wakes within a second for an announcement posted via
# hub 2 (LISTEN/NOTIFY); 2 x 50 announcements posted in parallel through
# both get distinct ids, and a reader following hub 1 with since=last sees
# every one of them, in increasing order (commit order = id order); with
# the database server killed the API answers 503 and the hubs stay up, and
# after a restart they serve again and wake each other again; an
# unreachable --db is one error line and a non-zero exit.
#
# PostgreSQL is our own: initdb in the work directory as user postgres,
# listening only on a unix socket there; stopped by the exit trap.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init hub_pg
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
for t in curl openssl xxd jq runuser; do
    command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
. "$SRCDIR/tests/netns/pg_lib.sh"
pg_available || { echo "SKIP: PostgreSQL server not installed (Debian: postgresql)"; exit 77; }
H1=http://127.0.0.1:7480 H2=http://127.0.0.1:7481
NDEV=100
# The exit trap: the server down (whatever state it is in), then lib.sh's.
trap 'rc=$?; pg_cleanup; (exit $rc); lib_cleanup' EXIT
pg_init "-c track_commit_timestamp=on"

host_add hub
export WEFT_ADMIN_DIR=$WORK/admin

# 1. An unreachable database: one line, non-zero, for both commands.
for cmd in "--listen 127.0.0.1:7489" "create-network x --admin-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; do
    # shellcheck disable=SC2086
    on hub timeout 20 "$WEFT_HUB" $cmd --db "postgresql://postgres@/weft?host=$WORK/nowhere" \
        >"$WORK/bad.out" 2>"$WORK/bad.err"
    rc=$?
    if ((rc != 0 && rc != 124)) && [[ $(wc -l <"$WORK/bad.err") == 1 ]] &&
        grep -q "cannot connect to PostgreSQL" "$WORK/bad.err"; then
        pass "unreachable --db (${cmd%% *}): exit $rc, $(cat "$WORK/bad.err")"
    else
        fail "unreachable --db (${cmd%% *}): exit $rc, stderr: $(head -c 300 "$WORK/bad.err")"
    fi
done

# 2. Two hubs started at once on the empty database.
spawn hub hub1 "$WEFT_HUB" --listen 127.0.0.1:7480 --relay 127.0.0.1:3478 --db "$DB_URI"
HUB1=$SPAWNED
spawn hub hub2 "$WEFT_HUB" --listen 127.0.0.1:7481 --relay 127.0.0.1:3480 --db "$DB_URI"
HUB2=$SPAWNED
wait_for 15 grep -q "listening on" "$WORK/hub1.log" || die "hub 1 did not start: $(tail -1 "$WORK/hub1.log")"
wait_for 15 grep -q "listening on" "$WORK/hub2.log" || die "hub 2 did not start: $(tail -1 "$WORK/hub2.log")"
pass "two hubs started at once on an empty database"

ADMIN_KEY=$($WEFT admin init --network "$MESH_NET" --range 100.80.0.0/24 2>/dev/null) ||
    die "weft admin init failed"
on hub "$WEFT_HUB" create-network "$MESH_NET" --admin-key "$ADMIN_KEY" --db "$DB_URI" \
    >/dev/null || die "create-network failed"

# Devices dev1..devNDEV: openssl keys ($WORK/devI.pem), public keys in PUB.
declare -A PUB
for ((i = 1; i <= NDEV; i++)); do
    PUB[$i]=$(ed25519_key "dev$i") || die "key generation failed"
    $WEFT admin add-device --owner "o$i" --device "dev$i" --key "${PUB[$i]}" >/dev/null ||
        die "add-device dev$i failed"
done
on hub "$WEFT" admin publish --hub "$H1" >"$WORK/publish.log" 2>&1 ||
    die "publish failed: $(tail -1 "$WORK/publish.log")"

# sign I FILE: Ed25519 signature (base64) of FILE by devI.
sign() { openssl pkeyutl -sign -rawin -inkey "$WORK/dev$1.pem" -in "$2" | base64 -w0; }
# auth I METHOD PATH BODYFILE: the Authorization value of devI.
auth() {
    local t h f=$WORK/req.$1.$BASHPID
    t=$(date +%s)
    h=$(sha256sum "$4" | cut -d' ' -f1)
    printf 'weft hub request v1\n%s\n%s\n%s\n%s\n' "$2" "$3" "$t" "$h" >"$f"
    printf 'Weft key=%s, time=%s, sig=%s' "${PUB[$1]}" "$t" "$(sign "$1" "$f")"
}
# announcement I: a signed announcement of devI in $WORK/ann.I.
announcement() {
    local b=$WORK/annbody.$1.$BASHPID
    jq -nc --arg d "${PUB[$1]}" --argjson t "$(date +%s%3N)" \
        --argjson e "$(($(date +%s) + 3600))" \
        '{network:"acme", device:$d, wg:"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
          endpoints:["10.124.0.66:51820"], time:$t, expires:$e}' >"$b"
    { printf 'weft announce v1\n'; cat "$b"; } >"$b.tbs"
    printf '{"type":"announce","body":"%s","signer":"%s","sig":"%s"}' \
        "$(base64 -w0 "$b")" "${PUB[$1]}" "$(sign "$1" "$b.tbs")" >"$WORK/ann.$1"
    rm -f "$b" "$b.tbs"
}
N=/v1/networks/$MESH_NET
# post I HUB: POST devI's announcement (prepared) to HUB; status and body
# in $WORK/post.I.{code,out}.
post() {
    on hub curl -s -m 10 -o "$WORK/post.$1.out" -w '%{http_code}' -X POST \
        --data-binary @"$WORK/ann.$1" -H "Authorization: $3" "$2$N/announce" \
        >"$WORK/post.$1.code" 2>/dev/null
}
: >"$WORK/empty"
# events HUB SINCE WAIT OUT: GET events as dev1; the status on stdout.
events() {
    on hub curl -s -m $(($3 + 10)) -o "$4" -w '%{http_code}' \
        -H "Authorization: $(auth 1 GET "$N/events?since=$2&wait=$3" "$WORK/empty")" \
        "$1$N/events?since=$2&wait=$3" 2>/dev/null
}

[[ $(events "$H2" 0 0 "$WORK/ev0") == 200 ]] || die "events via hub 2: $(cat "$WORK/ev0")"
LAST=$(jq .last "$WORK/ev0")
jq -e '[.messages[].type] == ["roster"]' "$WORK/ev0" >/dev/null ||
    fail "hub 2 does not serve the roster published via hub 1"

# 3. Cross-instance wake-up: long poll on hub 1, post via hub 2.
announcement 1
A1=$(auth 1 POST "$N/announce" "$WORK/ann.1")
( events "$H1" "$LAST" 10 "$WORK/poll1" >"$WORK/poll1.code"; date +%s%N >"$WORK/poll1.t" ) &
T_PIDS+=("$!")
POLLER=$!
sleep 1     # the poll is held by now
t0=$(date +%s%N)
post 1 "$H2" "$A1"
wait "$POLLER"
if [[ $(cat "$WORK/post.1.code") == 200 && $(cat "$WORK/poll1.code") == 200 ]]; then
    ms=$((($(cat "$WORK/poll1.t") - t0) / 1000000))
    id=$(jq .id "$WORK/post.1.out")
    if jq -e --argjson id "$id" '[.messages[].id] == [$id]' "$WORK/poll1" >/dev/null && ((ms < 1000)); then
        pass "long poll on hub 1 got the announcement posted via hub 2 in $ms ms"
    else
        fail "long poll on hub 1: ${ms} ms, $(head -c 200 "$WORK/poll1"), want id $id within 1000 ms"
    fi
    LAST=$id
else
    fail "cross-hub wake-up: post $(cat "$WORK/post.1.code") $(cat "$WORK/post.1.out"), poll $(cat "$WORK/poll1.code")"
fi

# 4. 2 x 50 posts in parallel (even devices via hub 1, odd via hub 2)
# while a reader follows hub 1 with since=last.
note "signing $NDEV announcements"
for ((i = 2; i <= NDEV + 1; i++)); do
    d=$(((i - 1) % NDEV + 1))       # dev2..dev100, then dev1 again
    announcement "$d"
    AUTH[$d]=$(auth "$d" POST "$N/announce" "$WORK/ann.$d")
done
follow() {
    local since=$LAST deadline=$((SECONDS + 60)) n=0
    : >"$WORK/seen"
    while ((n < NDEV && SECONDS < deadline)); do
        [[ $(events "$H1" "$since" 5 "$WORK/follow.json") == 200 ]] || { sleep 0.1; continue; }
        jq -r '.messages[].id' "$WORK/follow.json" >>"$WORK/seen"
        since=$(jq .last "$WORK/follow.json")
        n=$(wc -l <"$WORK/seen")
    done
}
follow &
FOLLOWER=$!
T_PIDS+=("$FOLLOWER")
sleep 0.5
posters=()
for ((d = 1; d <= NDEV; d++)); do
    if ((d % 2)); then h=$H2; else h=$H1; fi
    post "$d" "$h" "${AUTH[$d]}" &
    posters+=("$!")
done
for p in "${posters[@]}"; do wait "$p"; done
wait "$FOLLOWER"
bad=0
: >"$WORK/posted"
for ((d = 1; d <= NDEV; d++)); do
    if [[ $(cat "$WORK/post.$d.code") == 200 ]]; then
        jq .id "$WORK/post.$d.out" >>"$WORK/posted"
    else
        bad=$((bad + 1))
        note "post dev$d: $(cat "$WORK/post.$d.code") $(head -c 150 "$WORK/post.$d.out")"
    fi
done
check "all $NDEV parallel posts accepted" test "$bad" -eq 0
check "the $NDEV ids are distinct" test "$(sort -n "$WORK/posted" | uniq | wc -l)" -eq "$NDEV"
if sort -n -c "$WORK/seen" 2>/dev/null && [[ -z $(sort -n "$WORK/seen" | uniq -d) ]]; then
    pass "the reader saw ids in strictly increasing order ($(wc -l <"$WORK/seen") ids)"
else
    fail "the reader's ids are not strictly increasing: $(tr '\n' ' ' <"$WORK/seen" | head -c 300)"
fi
missed=$(comm -23 <(sort "$WORK/posted") <(sort "$WORK/seen") | tr '\n' ' ')
check "the reader following hub 1 missed none of the posted ids${missed:+ (missed: $missed)}" \
    test -z "$missed"
# What the reader relies on, from the server's own record: the current
# messages committed in id order. (Superseded rows carry the xmin of the
# update that superseded them, so they are left out.)
out=$(pg psql -h "$PGDIR" -U postgres -d weft -Atc "SELECT count(*),
    count(*) FILTER (WHERE c < p) FROM (SELECT pg_xact_commit_timestamp(xmin) AS c,
    lag(pg_xact_commit_timestamp(xmin)) OVER (ORDER BY id) AS p
    FROM messages WHERE current = 1) t")
if [[ $out == *"|0" && ${out%|*} -gt $NDEV ]]; then
    pass "the database committed all ${out%|*} current messages in id order"
else
    fail "commit order is not id order (messages|out of order): $out"
fi

# 5. The database server killed: 503, hubs alive; back after a restart.
pg_kill || die "pg_ctl stop failed"
sleep 0.5
c1=$(events "$H1" 0 0 "$WORK/down1")
c2=$(events "$H2" 0 0 "$WORK/down2")
announcement 2
c3=$(on hub curl -s -m 10 -o "$WORK/down3" -w '%{http_code}' -X POST --data-binary @"$WORK/ann.2" \
    -H "Authorization: $(auth 2 POST "$N/announce" "$WORK/ann.2")" "$H2$N/announce")
if [[ $c1 == 503 && $c2 == 503 && $c3 == 503 ]]; then
    pass "database down: events and announce answer 503 ($(jq -r .error "$WORK/down1"))"
else
    fail "database down: got $c1 $c2 $c3 ($(head -c 100 "$WORK/down1")), want 503"
fi
check "database down: health still answers" \
    test "$(on hub curl -s -m 5 -o /dev/null -w '%{http_code}' "$H1/v1/health")" == 200
check "database down: both hubs run" kill -0 "$HUB1" "$HUB2"
pg_start || die "postgres did not restart: $(tail -1 "$WORK/postgres.log")"
# Past the reconnect backoff (2 s at most), the first request on each hub
# is served: the broken connection is reset on the way.
sleep 2.5
c1=$(events "$H1" 0 0 "$WORK/up1")
c2=$(events "$H2" 0 0 "$WORK/up2")
if [[ $c1 == 200 && $c2 == 200 ]]; then
    pass "database back: the first request on each hub is served"
else
    fail "database back: got $c1 $c2: $(head -c 100 "$WORK/up1") $(head -c 100 "$WORK/up2")"
fi
# The ticker listens again: another cross-hub wake-up.
LAST=$(jq .last "$WORK/up1")
announcement 3
A3=$(auth 3 POST "$N/announce" "$WORK/ann.3")
( events "$H1" "$LAST" 10 "$WORK/poll2" >"$WORK/poll2.code"; date +%s%N >"$WORK/poll2.t" ) &
POLLER=$!
T_PIDS+=("$POLLER")
sleep 1
t0=$(date +%s%N)
post 3 "$H2" "$A3"
wait "$POLLER"
ms=$((($(cat "$WORK/poll2.t") - t0) / 1000000))
if [[ $(cat "$WORK/poll2.code") == 200 ]] && jq -e '.messages | length == 1' "$WORK/poll2" >/dev/null &&
    ((ms < 1000)); then
    pass "after the restart, hub 1's long poll got hub 2's announcement in $ms ms"
else
    fail "after the restart: poll $(cat "$WORK/poll2.code") in $ms ms: $(head -c 200 "$WORK/poll2")"
fi
check "both hubs still run" kill -0 "$HUB1" "$HUB2"
# Stopped while the database is up: a clean exit, nothing a sanitizer saw.
kill -TERM "$HUB1" "$HUB2"
wait_for 10 gone "$HUB1" && wait_for 10 gone "$HUB2" || fail "the hubs did not stop on SIGTERM"
if grep -q "Sanitizer\|runtime error" "$WORK/hub1.log" "$WORK/hub2.log"; then
    fail "sanitizer reports in the hub logs"
else
    pass "both hubs stopped cleanly"
fi
for h in 1 2; do
    grep "database connection" "$WORK/hub$h.log" | while read -r line; do note "hub $h: $line"; done
done
lib_finish
