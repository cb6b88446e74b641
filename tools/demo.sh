#!/usr/bin/env bash
# demo.sh - two hosts (network namespaces) joined by a weftd tunnel: keys,
# daemons, configuration, handshake, ping, a file transfer checked by hash,
# status; then everything is removed again.  Needs root; takes ~10 s.
#
#   WEFTD  the daemon (default ./build/weftd from the repo root)
#   WEFT   the CLI    (default ./build/weft, else wg)
#   MB     size of the file sent through the tunnel (default 20)
#
# Try it before weftd is built: WEFTD=wireguard-go WEFT=wg tools/demo.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${WEFTD:-} ]]; then
    WEFTD=$ROOT/build/weftd
    [[ -x $WEFTD ]] || { echo "demo: no $WEFTD; build it (meson setup build && ninja -C build) or set WEFTD" >&2; exit 1; }
fi
if [[ -z ${WEFT:-} ]]; then
    WEFT=wg
    [[ -x $ROOT/build/weft ]] && WEFT=$ROOT/build/weft
fi
export WEFTD WEFT
MB=${MB:-20}
TEST_BUDGET=${TEST_BUDGET:-60}
. "$ROOT/tests/netns/lib.sh"
lib_init demo
CLI=$(basename "$WG_CLI")

B='' N=''
[[ -t 1 ]] && B=$'\033[1m' N=$'\033[0m'
say() { printf '\n%s## %s%s\n' "$B" "$*" "$N"; }
run() { printf '$ %s\n' "$*"; }
indent() { sed 's/^/    /'; }

say "1. Two hosts: network namespaces alice and bob, one veth between them"
host_add alice bob
link_add alice bob 1
assert_isolated
printf '    alice %s  <-- veth -->  bob %s\n' 10.123.1.1 10.123.1.2

say "2. Keys ($CLI genkey | $CLI pubkey)"
for h in alice bob; do
    (umask 077; "$WG_CLI" genkey >"$WORK/$h.key")
    "$WG_CLI" pubkey <"$WORK/$h.key" >"$WORK/$h.pub"
    printf '    %-5s public key %s\n' "$h" "$(cat "$WORK/$h.pub")"
done

say "3. Daemons: $(basename "$WEFTD") -f IFNAME in each host"
IF_A=$(ifname al)
IF_B=$(ifname bo)
daemon_start alice "$IF_A" "$WEFTD"
daemon_start bob "$IF_B" "$WEFTD"
printf '    alice: %s (pid %s)   bob: %s (pid %s)\n' "$IF_A" "${T_DPID[$IF_A]}" "$IF_B" "${T_DPID[$IF_B]}"
printf '    UAPI sockets: %s, %s\n' "$UAPI_DIR/$IF_A.sock" "$UAPI_DIR/$IF_B.sock"

say "4. Configuration ($CLI setconf), tunnel addresses 10.77.0.1 and 10.77.0.2"
conf() {  # conf SELF PEER PORT PEERPORT PEERIP PEERUNDER
    cat <<EOF
[Interface]
PrivateKey = $(cat "$WORK/$1.key")
ListenPort = $3

[Peer]
PublicKey = $(cat "$WORK/$2.pub")
AllowedIPs = 10.77.0.$5/32, fd77::$5/128
Endpoint = $6:$4
EOF
}
conf alice bob 51820 51821 2 10.123.1.2 >"$WORK/alice.conf"
conf bob alice 51821 51820 1 10.123.1.1 >"$WORK/bob.conf"
run "$CLI setconf $IF_A alice.conf    # alice.conf:"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/' "$WORK/alice.conf" | indent
on alice "$WG_CLI" setconf "$IF_A" "$WORK/alice.conf"
on bob "$WG_CLI" setconf "$IF_B" "$WORK/bob.conf"
tun_addr alice "$IF_A" 1
tun_addr bob "$IF_B" 2

say "5. Handshake: the first packet from alice starts it"
t=$(date +%s.%N)
wait_ping alice 10.77.0.2 10 || { fail "no handshake within 10 s"; exit 1; }
printf '    first ping answered after %s s\n' "$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
run "$CLI show $IF_A latest-handshakes"
on alice "$WG_CLI" show "$IF_A" latest-handshakes | indent

say "6. Ping through the tunnel, IPv4 and IPv6"
on alice ping -n -c 3 -i 0.2 10.77.0.2 | grep -E 'bytes from|loss' | indent
on bob ping -n -c 3 -i 0.2 fd77::1 | grep -E 'bytes from|loss' | indent

say "7. A $MB MiB file from alice to bob, checked by SHA-256"
sum=$(blob file "$MB")
printf '    sent     %s\n' "$sum"
if xfer alice bob 10.77.0.2 5001 file; then
    printf '    received %s  (%s s, %s Mbit/s)\n' "$(cat "$WORK/recv-5001.sha")" "$XFER_SECS" \
        "$(awk -v mb="$MB" -v s="$XFER_SECS" 'BEGIN { printf "%.0f", (s > 0 ? mb * 8 * 1.048576 / s : 0) }')"
    pass "the hashes match"
else
    fail "the file did not arrive intact"
fi

say "8. Status ($CLI show)"
for h in alice bob; do
    ifn=$IF_A; [[ $h == bob ]] && ifn=$IF_B
    run "$CLI show $ifn    # on $h"
    on "$h" "$WG_CLI" show "$ifn" | indent
done

say "9. Cleanup: daemons stopped, namespaces and sockets removed (${SECONDS}s so far)"
lib_finish
