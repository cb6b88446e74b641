#!/usr/bin/env bash
# hub_badinput.sh - issue #4 test 6: bad input to every hub endpoint gets a
# 4xx with a one-line reason, and the hub stays up: malformed JSON, wrong
# signatures, a stale or missing Authorization, huge bodies, an unknown
# network, unknown paths and methods, garbage and idle connections.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init hub_badinput
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
for t in curl openssl xxd jq socat; do
    command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
mesh_topology 1
hub_start
device_identity 1
device_add 1 --ip 100.80.0.10
publish
# d1's identity as a PEM key, to sign requests the way a node does.
{ printf '302e020100300506032b657004220420' | xxd -r -p; base64 -d "$WORK/d1.key"; } |
    openssl pkey -inform DER -out "$WORK/d1.pem" 2>/dev/null || die "key conversion failed"

# auth METHOD PATH BODYFILE [TIME]: the Authorization value of d1.
auth() {
    local t=${4:-$(date +%s)} h
    h=$(sha256sum "$3" | cut -d' ' -f1)
    printf 'weft hub request v1\n%s\n%s\n%s\n%s\n' "$1" "$2" "$t" "$h" >"$WORK/req"
    printf 'Weft key=%s, time=%s, sig=%s' "${ID[1]}" "$t" \
        "$(openssl pkeyutl -sign -rawin -inkey "$WORK/d1.pem" -in "$WORK/req" | base64 -w0)"
}

# expect STATUS DESC curl-args...: the answer's status and a JSON reason.
expect() {
    local want=$1 desc=$2 out code
    shift 2
    out=$(on d1 curl -s -m 5 -o "$WORK/answer" -w '%{http_code}' "$@") || true
    code=$out
    if [[ $code == "$want" ]] && { ((want < 400)) || jq -e '.error | length > 0' "$WORK/answer" >/dev/null 2>&1; }; then
        pass "$desc: $code $(jq -r '.error // empty' "$WORK/answer" 2>/dev/null)"
    else
        fail "$desc: got $code ($(head -c 200 "$WORK/answer" 2>/dev/null)), want $want"
    fi
    on d1 curl -s -m 5 -o /dev/null -w '%{http_code}' "$HUB_URL/v1/health" | grep -qx 200 ||
        fail "the hub does not answer after: $desc"
}

N=/v1/networks/$MESH_NET
: >"$WORK/empty"
echo '{"type":"announce","body":' >"$WORK/badjson"
echo '{"type":"announce","body":"e30=","signer":"'"${ID[1]}"'","sig":"AAAA"}' >"$WORK/badenv"

expect 200 "health" "$HUB_URL/v1/health"
expect 401 "events without Authorization" "$HUB_URL$N/events"
expect 401 "events with a garbled Authorization" -H "Authorization: Weft nonsense" "$HUB_URL$N/events"
expect 401 "events signed 10 minutes ago" \
    -H "Authorization: $(auth GET "$N/events" "$WORK/empty" $(($(date +%s) - 600)))" "$HUB_URL$N/events"
expect 403 "events with a signature for another path" \
    -H "Authorization: $(auth GET "$N/roster" "$WORK/empty")" "$HUB_URL$N/events"
expect 200 "events, signed properly" \
    -H "Authorization: $(auth GET "$N/events" "$WORK/empty")" "$HUB_URL$N/events"
expect 400 "events with a bad query" \
    -H "Authorization: $(auth GET "$N/events?since=abc" "$WORK/empty")" "$HUB_URL$N/events?since=abc"
expect 400 "announce with malformed JSON" -X POST --data-binary @"$WORK/badjson" \
    -H "Authorization: $(auth POST "$N/announce" "$WORK/badjson")" "$HUB_URL$N/announce"
expect 400 "announce with a malformed envelope" -X POST --data-binary @"$WORK/badenv" \
    -H "Authorization: $(auth POST "$N/announce" "$WORK/badenv")" "$HUB_URL$N/announce"
expect 403 "announce whose request signature covers another body" -X POST \
    --data-binary @"$WORK/badenv" -H "Authorization: $(auth POST "$N/announce" "$WORK/badjson")" \
    "$HUB_URL$N/announce"
expect 403 "roster published by a device" -X POST --data-binary @"$WORK/badenv" \
    -H "Authorization: $(auth POST "$N/roster" "$WORK/badenv")" "$HUB_URL$N/roster"
head -c $((2 << 20)) /dev/zero | tr '\0' 'a' >"$WORK/huge"
expect 413 "a 2 MiB body" -X POST --data-binary @"$WORK/huge" \
    -H "Authorization: $(auth POST "$N/roster" "$WORK/huge")" "$HUB_URL$N/roster"
expect 413 "a 2 MiB body, chunked" -X POST -H "Transfer-Encoding: chunked" \
    --data-binary @"$WORK/huge" "$HUB_URL$N/announce"
expect 404 "unknown network" -H "Authorization: $(auth GET /v1/networks/nope/events "$WORK/empty")" \
    "$HUB_URL/v1/networks/nope/events"
expect 404 "unknown path" "$HUB_URL/v2/anything"
expect 404 "unknown endpoint of a network" "$HUB_URL$N/peers"
expect 405 "DELETE on events" -X DELETE "$HUB_URL$N/events"
expect 405 "GET on announce" "$HUB_URL$N/announce"

# Garbage and idle connections.
on d1 bash -c "printf 'GARBAGE\r\n\r\n' | socat -t2 - TCP:10.124.0.1:7480" >/dev/null 2>&1
for _ in 1 2 3 4 5; do
    on d1 socat -u /dev/zero TCP:10.124.0.1:7480 >/dev/null 2>&1 &
    T_PIDS+=("$!")
done
sleep 1
expect 200 "health while garbage streams in" "$HUB_URL/v1/health"
check "the hub process is alive" kill -0 "$HUB_PID"
lib_finish
