#!/usr/bin/env bash
# hub_badinput.sh - issue #4 test 6: weft-hub in a namespace (h) gets bad
# input from another (c) over a veth: unknown paths and networks, wrong
# methods, missing, malformed, stale and wrongly signed Authorization,
# malformed JSON, huge bodies (announced and chunked), slow and garbage
# connections. Each request must get a 4xx with {"error":"..."}; the hub
# must answer /v1/health afterwards and stop cleanly on TERM.
set -uo pipefail
if ((EUID != 0)); then echo "SKIP: hub_badinput needs root"; exit 77; fi
for t in ip curl timeout sqlite3; do
    command -v $t >/dev/null || { echo "SKIP: hub_badinput needs $t"; exit 77; }
done
HUB=${WEFT_HUB:-}
[[ -x $HUB ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }

TAG=$$ NH=hub-bad-$$-h NC=hub-bad-$$-c
WORK=$(mktemp -d /tmp/hub_badinput.XXXXXX)
FAILS=0 HPID=
cleanup() {
    [[ -n $HPID ]] && kill "$HPID" 2>/dev/null
    ip netns del "$NH" 2>/dev/null
    ip netns del "$NC" 2>/dev/null
    ((FAILS)) && echo "work dir kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pass() { echo "PASS: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }

ip netns add "$NH" && ip netns add "$NC" || exit 1
ip link add hb$TAG netns "$NH" type veth peer name hc$TAG netns "$NC" || exit 1
ip -n "$NH" addr add 10.124.0.1/24 dev hb$TAG
ip -n "$NC" addr add 10.124.0.2/24 dev hc$TAG
for n in "$NH" "$NC"; do ip -n "$n" link set lo up; done
ip -n "$NH" link set hb$TAG up
ip -n "$NC" link set hc$TAG up
URL=http://10.124.0.1:7480

ADMIN=$(head -c 32 /dev/urandom | base64)
"$HUB" create-network acme --admin-key "$ADMIN" --db "sqlite:$WORK/db/hub.db" >/dev/null \
    || { fail "create-network"; exit 1; }
"$HUB" create-network acme --admin-key "$ADMIN" --db "sqlite:$WORK/db/hub.db" 2>"$WORK/dup" \
    && fail "create-network twice succeeds" || pass "create-network twice: $(cat "$WORK/dup")"
[[ $(stat -c %a "$WORK/db") == 700 ]] && pass "db dir 0700" || fail "db dir mode"
ip netns exec "$NH" "$HUB" --listen 0.0.0.0:7480 --db "sqlite:$WORK/db/hub.db" \
    >"$WORK/hub.out" 2>"$WORK/hub.err" &
HPID=$!
for _ in $(seq 50); do grep -q '^listening on' "$WORK/hub.out" && break; sleep 0.1; done
grep -q '^listening on 0.0.0.0:7480' "$WORK/hub.out" && pass "hub ready" || { fail "hub did not start"; exit 1; }

C() { ip netns exec "$NC" timeout 20 curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
# expect DESC STATUS CURL-ARGS...: the status and an {"error":...} body.
expect() {
    local desc=$1 want=$2 got; shift 2
    got=$(C "$@")
    if [[ $got == "$want" ]] && { ((want < 400)) || grep -q '^{"error":"[^"]' "$WORK/body"; }; then
        pass "$desc -> $got $(head -c 120 "$WORK/body")"
    else
        fail "$desc: got $got, want $want: $(head -c 200 "$WORK/body")"
    fi
}
NOW=$(date +%s)
K=$(printf 'A%.0s' $(seq 43))= S=$(printf 'A%.0s' $(seq 86))==
expect "health" 200 $URL/v1/health
expect "unknown path" 404 $URL/v1/nothing
expect "path under networks" 404 $URL/v1/networks/acme/foo
expect "unknown network" 404 $URL/v1/networks/nope/roster
expect "bad network name" 404 "$URL/v1/networks/Bad%20Name/roster"
expect "wrong method on health" 405 -X POST $URL/v1/health
expect "wrong method on events" 405 -X DELETE $URL/v1/networks/acme/events
expect "no Authorization" 401 $URL/v1/networks/acme/events
expect "malformed Authorization" 401 -H 'Authorization: Bearer x' $URL/v1/networks/acme/events
expect "stale Authorization" 401 -H "Authorization: Weft key=$K, time=1000, sig=$S" $URL/v1/networks/acme/events
expect "wrong signature" 403 -H "Authorization: Weft key=$K, time=$NOW, sig=$S" $URL/v1/networks/acme/roster
expect "wrong signature, POST with bad JSON" 403 -H "Authorization: Weft key=$K, time=$NOW, sig=$S" \
    -H 'Content-Type: application/json' --data '{"type":' $URL/v1/networks/acme/roster
head -c 2000000 /dev/zero | tr '\0' 'x' >"$WORK/big"
expect "2 MB roster" 413 --data-binary @"$WORK/big" $URL/v1/networks/acme/roster
expect "20 kB announcement" 413 --data-binary @<(head -c 20000 "$WORK/big") $URL/v1/networks/acme/announce
expect "chunked 2 MB announcement" 413 -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big" \
    $URL/v1/networks/acme/announce
expect "events with a bad query" 401 "$URL/v1/networks/acme/events?since=abc"

# Slow and garbage connections, then the hub still answers at once.
ip netns exec "$NC" bash -c "exec 3<>/dev/tcp/10.124.0.1/7480; printf 'GET /v1/he' >&3; sleep 3" &
SLOW=$!
ip netns exec "$NC" bash -c "head -c 65536 /dev/urandom >/dev/tcp/10.124.0.1/7480" 2>/dev/null
ip netns exec "$NC" bash -c "printf 'BREW /coffee HTCPCP/1.0\r\n\r\n' >/dev/tcp/10.124.0.1/7480" 2>/dev/null
ip netns exec "$NC" bash -c "printf 'GET / HTTP/1.1\r\nHost: x\r\nX: %s\r\n\r\n' \$(head -c 100000 /dev/zero | tr '\\\\0' a) >/dev/tcp/10.124.0.1/7480" 2>/dev/null
for _ in $(seq 50); do
    ip netns exec "$NC" bash -c "exec 3<>/dev/tcp/10.124.0.1/7480" 2>/dev/null &
done
wait $SLOW 2>/dev/null
expect "health after slow, garbage and half-open connections" 200 -m 2 $URL/v1/health
kill -0 "$HPID" 2>/dev/null && pass "hub still running" || fail "hub died"
# A long poll held by the hub ends when the hub stops.
kill -TERM "$HPID"
for _ in $(seq 50); do kill -0 "$HPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HPID" 2>/dev/null; then fail "hub ignores TERM"; else
    wait "$HPID"; rc=$?; HPID=
    ((rc == 0)) && pass "hub stopped on TERM" || fail "hub exit status $rc on TERM"
fi
echo "hub stderr:"; sed 's/^/  /' "$WORK/hub.err" | head -20
((FAILS == 0)) && echo "hub_badinput: all passed" || echo "hub_badinput: $FAILS failed"
exit $((FAILS ? 1 : 0))
