#!/usr/bin/env bash
# ft_allowlan.sh - --killswitch --allow-lan: the client's local networks
# stay reachable directly (not through the tunnel), also one that appears
# while the client runs, and everything else still goes through the tunnel
# only. A capture on the client's underlay tells direct from tunnelled.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_allowlan

ft_topology
host_add m
IF_S=$(ifname s)
IF_C=$(ifname c)
ft_server_start server "$IF_S" || die "weft server did not start"
ft_client_start client "$IF_C" --killswitch --allow-lan || die "weft client did not connect"

capture_start c ul1 lan "icmp or icmp6"
check "the LAN (router $ADDR_R4) answers with the kill switch on" wait_ping c "$ADDR_R4" 5
check "the LAN (router $ADDR_R6) answers over IPv6" wait_ping c "$ADDR_R6" 5
check "the internet host $ADDR_I4 answers (through the tunnel)" wait_ping c "$ADDR_I4" 5
capture_stop lan
direct=$(capture_count lan "icmp and dst host $ADDR_R4")
leaked=$(capture_count lan "icmp and host $ADDR_I4")
check "pings to the router went out directly on ul1 ($direct packets)" test "$direct" -gt 0
check "pings to the internet host never appeared on ul1 in clear ($leaked)" test "$leaked" -eq 0

echo "-- a LAN that appears while the client runs"
ft_link c m 5 10.200.0.1 fd00:200::1 10.200.0.2 fd00:200::2 24
check "the new LAN host 10.200.0.2 answers (<= 10 s)" wait_ping c 10.200.0.2 10
check "the new LAN host fd00:200::2 answers over IPv6" wait_ping c fd00:200::2 5
check "the internet host still answers through the tunnel" wait_ping c "$ADDR_I4" 5
ft_stop "$CLI_PID" TERM || true
check "weft client exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
check "the kill switch is gone after the client stopped" \
    test -z "$(on c nft list tables 2>/dev/null | grep weft_ || true)"
ft_stop "$SRV_PID" TERM || true
lib_finish
