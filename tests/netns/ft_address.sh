#!/usr/bin/env bash
# ft_address.sh - the tunnel address: the same client key gets the same
# address back (after the client restarts and after the server restarts,
# which reloads its pool file), and an address inside one of the client's
# own subnets is never given: a client whose LAN covers its old address
# gets another one outside that LAN, and its LAN route stays its own.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_address

ft_topology
IF_S=$(ifname s)
IF_C=$(ifname c)

ft_server_start server "$IF_S" || die "weft server did not start"
ft_client_start first "$IF_C" || die "weft client did not connect"
A4_FIRST=$CLI_A4 A6_FIRST=$CLI_A6
check "first connection: an IPv4 address in 10.77.0.0/16 ($A4_FIRST)" \
    ft_matches "$A4_FIRST" '^10\.77\.[0-9]+\.[0-9]+$'
ft_stop "$CLI_PID" TERM || true

echo "-- the client again, same key"
ft_client_start again "$IF_C" || true
check "same key, same IPv4 address after a client restart ($CLI_A4 = $A4_FIRST)" \
    test "$CLI_A4" = "$A4_FIRST"
check "same key, same IPv6 address after a client restart ($CLI_A6 = $A6_FIRST)" \
    test "$CLI_A6" = "$A6_FIRST"
ft_stop "$CLI_PID" TERM || true

echo "-- the server restarts (its pool file is all it remembers)"
ft_stop "$SRV_PID" TERM || true
ft_server_start server2 "$IF_S" || die "weft server did not start again"
ft_client_start after-restart "$IF_C" || true
check "same key, same IPv4 address after a server restart ($CLI_A4 = $A4_FIRST)" \
    test "$CLI_A4" = "$A4_FIRST"
ft_stop "$CLI_PID" TERM || true

echo "-- a client LAN that covers the server's tunnel address: refused, said why"
on c ip link add lan0 type veth peer name lan0p   # no dummy module everywhere
on c ip link set lan0p up
on c ip link set lan0 up
on c ip addr add 10.77.0.200/24 dev lan0
rc=0
ft_weft c client --interface "$IF_C" --srv "$SRV_PUB@$ADDR_S4:$FT_PORT" >"$WORK/conflict.log" 2>&1 || rc=$?
sed 's/^/     /' "$WORK/conflict.log" | grep -v "^     weft: .*\(offloads\|UDP port\|is up\)" || true
check "the client exits 1 (status $rc)" test "$rc" = 1
check "and says the server's tunnel addresses overlap its networks" \
    grep -q "server's tunnel addresses overlap this machine's networks" "$WORK/conflict.log"
on c ip addr flush dev lan0

echo "-- the client's LAN now covers its old address (not the server's)"
IFS=. read -r _ _ o3 o4 <<<"$A4_FIRST"
if ((o3 != 0)); then
    LAN=10.77.$o3.1/24 NEIGH=10.77.$o3.9 lo=$((o3 << 8)) hi=$(((o3 << 8) + 256))
else
    LAN=10.77.0.$((o4 & ~1))/31 NEIGH=10.77.0.$((o4 | 1)) lo=$((o4 & ~1)) hi=$(((o4 & ~1) + 2))
fi
on c ip addr add "$LAN" dev lan0
ft_client_start avoided "$IF_C" || true
check "a new IPv4 address ($CLI_A4), not the old one" test -n "$CLI_A4" -a "$CLI_A4" != "$A4_FIRST"
IFS=. read -r _ _ n3 n4 <<<"${CLI_A4:-0.0.0.0}"
n=$(((n3 << 8) + n4))
check "the new address is outside the client's LAN $LAN" test "$n" -lt "$lo" -o "$n" -ge "$hi"
route=$(on c ip route get "$NEIGH" 2>&1 | head -n 1)
check "the client's LAN host $NEIGH is still reached on lan0 ($route)" ft_matches "$route" 'dev lan0'
check "ping c -> i $ADDR_I4 through the tunnel" wait_ping c "$ADDR_I4" 10
A4_AVOIDED=$CLI_A4
ft_stop "$CLI_PID" TERM || true
on c ip link del lan0

echo "-- back without that LAN: the key keeps its new address (sticky)"
ft_client_start sticky "$IF_C" || true
check "after the conflict is gone the key keeps its current address ($CLI_A4 = $A4_AVOIDED)" \
    test -n "$CLI_A4" -a "$CLI_A4" = "$A4_AVOIDED"
ft_stop "$CLI_PID" TERM || true
ft_stop "$SRV_PID" TERM || true
check "weft server exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
lib_finish
