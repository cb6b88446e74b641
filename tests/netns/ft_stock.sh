#!/usr/bin/env bash
# ft_stock.sh - a stock WireGuard client uses the exit server: `weft server
# add-client` (while the server runs, with a passcode set) prints a
# wg-quick config; wg-quick with wireguard-go brings it up on the client
# host, and the client reaches the internet host i through the server
# (i sees the server's address), over IPv4 and IPv6.
#
# No weft runs on the client host. wg-quick needs resolvconf for a DNS=
# line; where resolvconf is not installed the line is left out (noted) --
# DNS is not what this test is about.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_stock
for tool in wg-quick wireguard-go; do
    command -v "$tool" >/dev/null || die "ft_stock needs $tool (tools/deps.sh test)"
done

# conf_value CONF KEY: the value of the first "KEY = value" line.
conf_value() {
    sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | head -n 1
}

ft_topology
IF_S=$(ifname s)
IF_Q=$(ifname q)
ft_echo_start i "$ADDR_I4" 8080
ft_echo_start i "$ADDR_I6" 8080
ft_server_start server "$IF_S" --passcode "stock-$T_TAG" --endpoint "$ADDR_S4:$FT_PORT" \
    || die "weft server did not start"

CONF=$WORK/$IF_Q.conf
rc=0
(umask 077; ft_weft s server add-client phone --interface "$IF_S" --no-qr >"$CONF" 2>"$WORK/add-client.err") || rc=$?
check "weft server add-client phone while the server runs: status $rc (0)" test "$rc" -eq 0
sed -e 's/^\(PrivateKey[[:space:]]*=\).*/\1 (hidden)/' -e 's/^/     /' "$CONF"
sed 's/^/     stderr: /' "$WORK/add-client.err"
check "the config has an [Interface] section" grep -q '^\[Interface\]' "$CONF"
check "the config has a [Peer] section" grep -q '^\[Peer\]' "$CONF"
check "[Peer] PublicKey is the server's ($(conf_value "$CONF" PublicKey))" \
    test "$(conf_value "$CONF" PublicKey)" = "$SRV_PUB"
check "[Peer] Endpoint is the server's --endpoint ($(conf_value "$CONF" Endpoint))" \
    test "$(conf_value "$CONF" Endpoint)" = "$ADDR_S4:$FT_PORT"
allowed=$(conf_value "$CONF" AllowedIPs)
check "[Peer] AllowedIPs has 0.0.0.0/0 ($allowed)" ft_matches "$allowed" '(^|[ ,])0\.0\.0\.0/0([ ,]|$)'
check "[Peer] AllowedIPs has ::/0 ($allowed)" ft_matches "$allowed" '(^|[ ,])::/0([ ,]|$)'
addr=$(conf_value "$CONF" Address)
check "[Interface] Address has an IPv4 address ($addr)" ft_matches "$addr" '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+'
check "[Interface] Address has an IPv6 address ($addr)" ft_matches "$addr" ':'
priv_pub=$(conf_value "$CONF" PrivateKey | wg pubkey 2>/dev/null) || priv_pub=
check "[Interface] PrivateKey is a valid key" test -n "$priv_pub"
((rc == 0)) || die "no config to bring up"

# A second client gets a different address.
rc=0
ft_weft s server add-client laptop --interface "$IF_S" --no-qr >"$WORK/laptop.conf" 2>&1 || rc=$?
addr2=$(conf_value "$WORK/laptop.conf" Address)
check "a second add-client (laptop) gets other addresses ($addr2, status $rc)" \
    test "$rc" -eq 0 -a -n "$addr2" -a "$addr2" != "$addr"

if grep -qE '^[[:space:]]*DNS[[:space:]]*=' "$CONF" && ! command -v resolvconf >/dev/null; then
    note "resolvconf is not installed: the DNS line ($(conf_value "$CONF" DNS)) is left out for wg-quick"
    sed -i '/^[[:space:]]*DNS[[:space:]]*=/d' "$CONF"
fi

T_IFS+=("$IF_Q")
rc=0
on c env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go timeout 30 wg-quick up "$CONF" \
    >"$WORK/wg-quick-up.log" 2>&1 || rc=$?
adopt_ns_pids
check "wg-quick up with the add-client config: status $rc (0)" test "$rc" -eq 0
sed 's/^/     /' "$WORK/wg-quick-up.log" | grep -v -e '^     [│┌└]' || true
((rc == 0)) || die "wg-quick up failed"
kind=$(on c ip -d link show "$IF_Q" | grep -owE 'tun|wireguard' | head -n 1)
note "the stock client's interface $IF_Q is a ${kind:-?} device (tun: wireguard-go, wireguard: the kernel's)"

check "ping c -> i $ADDR_I4 through the server (<= 15 s)" wait_ping c "$ADDR_I4" 15
check "ping c -> i $ADDR_I4: 5 of 5" ping_all c "$ADDR_I4"
check "ping c -> i $ADDR_I6 through the server (<= 10 s)" wait_ping c "$ADDR_I6" 10
check "ping c -> i $ADDR_I6: 5 of 5" ping_all c "$ADDR_I6"
seen=$(ft_seen_as c "$ADDR_I4" 8080)
check "TCP c -> i $ADDR_I4:8080 arrives from the server's $ADDR_SI4 (i saw: ${seen:-nothing})" \
    test "$seen" = "$ADDR_SI4"
seen=$(ft_seen_as c "$ADDR_I6" 8080)
check "TCP c -> i [$ADDR_I6]:8080 arrives from the server's $ADDR_SI6 (i saw: ${seen:-nothing})" \
    test "$seen" = "$ADDR_SI6"
hs=$(on c wg show "$IF_Q" latest-handshakes | awk '{ print $2 }')
check "wg show on the stock client: a handshake with the server (${hs:-none})" test "${hs:-0}" -gt 0
# Not part of the spec: whether the server's interface answers `weft show`.
peers=$(on s timeout 10 "$FT_WEFT" show "$IF_S" latest-handshakes 2>/dev/null || true)
note "(not checked) weft show $IF_S latest-handshakes: $(awk -v k="$priv_pub" '$1 == k { print "the stock client, " $2 }' <<<"$peers")"

rc=0
on c timeout 30 wg-quick down "$CONF" >"$WORK/wg-quick-down.log" 2>&1 || rc=$?
check "wg-quick down: status $rc (0)" test "$rc" -eq 0
check "the stock client's wireguard-go has exited" \
    wait_for 5 eval "[[ -z \$(ip netns pids '${T_NSOF[c]}') ]]"
ft_stop "$SRV_PID" TERM || true
check "weft server exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0

ft_finish
