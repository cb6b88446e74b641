#!/usr/bin/env bash
# ft_roam.sh - a network change under a connected client (its underlay
# address changes, as when a laptop moves to another network, with the
# kill switch on): the client carries on by itself, traffic resumes, the
# server sees the client's new address as its endpoint, and nothing leaves
# the underlay outside the tunnel meanwhile.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_roam

ft_topology
IF_S=$(ifname s)
IF_C=$(ifname c)
NEW_C4=10.123.1.77

ft_server_start server "$IF_S" || die "weft server did not start"
ft_client_start client "$IF_C" --killswitch || die "weft client did not connect"
check "ping c -> i $ADDR_I4 through the tunnel" wait_ping c "$ADDR_I4" 10
ep=$(on s wg show "$IF_S" endpoints | awk '{print $2}')
check "the server sees the client at $ADDR_C4 ($ep)" ft_matches "$ep" "^$ADDR_C4:"

echo "-- the client's underlay address changes: $ADDR_C4 -> $NEW_C4"
capture_start c ul1 roam "ip or ip6"
on c ip addr del "$ADDR_C4/24" dev ul1
on c ip addr add "$NEW_C4/24" dev ul1
on c ip route replace default via "$ADDR_R4"
t0=$SECONDS
check "ping c -> i $ADDR_I4 resumes through the tunnel (<= 30 s)" wait_ping c "$ADDR_I4" 30
note "traffic resumed $((SECONDS - t0)) s after the change"
ep=$(on s wg show "$IF_S" endpoints | awk '{print $2}')
check "the server now sees the client at $NEW_C4 ($ep)" ft_matches "$ep" "^$NEW_C4:"
capture_stop roam
tunnel=$(capture_count roam "udp and src host $NEW_C4 and dst host $ADDR_S4 and dst port $FT_PORT")
check "the capture saw the tunnel leave from the new address ($tunnel datagrams)" test "$tunnel" -gt 0
other=$(capture_count roam "not (udp and host $ADDR_S4 and port $FT_PORT) and not arp and not icmp6")
check "the underlay carried nothing but the tunnel meanwhile ($other other packets)" test "$other" -eq 0
check "the client is still running" kill -0 "$CLI_PID"
ft_stop "$CLI_PID" TERM || true
check "weft client exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
ft_stop "$SRV_PID" TERM || true
lib_finish
