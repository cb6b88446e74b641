#!/usr/bin/env bash
# ft_exit.sh - the full tunnel carries the client's traffic out through the
# exit server: what the client sends to the "internet" host i arrives there
# from the server's address (IPv4 and IPv6), DNS queries go through the
# tunnel to the --dns resolver, and nothing but the tunnel's UDP leaves the
# client's underlay.
#
# Topology: ft_lib.sh. The client could reach i without the tunnel too
# (through its router and the server's forwarding), so a packet that
# bypasses the tunnel would reach i from 10.123.1.2 and be counted.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_exit

ft_topology
IF_S=$(ifname s)
IF_C=$(ifname c)
ft_dns_start
ft_echo_start i "$ADDR_I4" 8080
ft_echo_start i "$ADDR_I6" 8080

ft_server_start server "$IF_S" || die "weft server did not start"
note "server public key $SRV_PUB"
# Without weft client, c reaches i directly (the server forwards), with
# its own address: what a bypass of the tunnel would look like below.
seen=$(ft_seen_as c "$ADDR_I4" 8080)
check "control: without weft client, c reaches i directly as $ADDR_C4 (i saw: ${seen:-nothing})" \
    test "$seen" = "$ADDR_C4"
capture_start i ul3 inet
capture_start c ul1 under
ft_client_start client "$IF_C" --dns "$ADDR_I4" || die "weft client did not connect"
capture_start c "$IF_C" tun 'udp port 53'

# The lines the CLI spec promises on stdout.
check "the server's stdout says 'listening on UDP port $FT_PORT'" \
    test "$(ft_count "$WORK/server.log" "listening on UDP port $FT_PORT\$")" -ge 1
check "the client's stdout says 'connecting to $ADDR_S4:$FT_PORT'" \
    test "$(ft_count "$WORK/client.log" "connecting to $ADDR_S4:$FT_PORT\$")" -ge 1
cli_key=$(wg pubkey <"$WORK/c-state/$IF_C.key" 2>/dev/null) || cli_key=
admitted=$(grep -F "admitted $cli_key from $ADDR_C4:" "$WORK/server.log" | head -n 1)
check "the server's stdout says 'admitted <the client's key> from $ADDR_C4:PORT as $CLI_A4/.. $CLI_A6/..' (${admitted:-no such line})" \
    ft_matches "$admitted" " as $CLI_A4/[0-9]+ $CLI_A6/[0-9]+\$"
check "client's IPv4 tunnel address ($CLI_A4) is in the default pool 10.77.0.0/16" \
    ft_matches "$CLI_A4" '^10\.77\.[0-9]+\.[0-9]+$'
check "client got an IPv6 tunnel address ($CLI_A6)" ft_matches "$CLI_A6" ':'

check "ping c -> i $ADDR_I4 through the tunnel (<= 10 s)" wait_ping c "$ADDR_I4" 10
check "ping c -> i $ADDR_I4: 5 of 5" ping_all c "$ADDR_I4"
check "ping c -> i $ADDR_I6 through the tunnel (<= 10 s)" wait_ping c "$ADDR_I6" 10
check "ping c -> i $ADDR_I6: 5 of 5" ping_all c "$ADDR_I6"
seen=$(ft_seen_as c "$ADDR_I4" 8080)
check "TCP c -> i $ADDR_I4:8080 arrives from the server's $ADDR_SI4 (i saw: ${seen:-nothing})" \
    test "$seen" = "$ADDR_SI4"
seen=$(ft_seen_as c "$ADDR_I6" 8080)
check "TCP c -> i [$ADDR_I6]:8080 arrives from the server's $ADDR_SI6 (i saw: ${seen:-nothing})" \
    test "$seen" = "$ADDR_SI6"

resolv=$(on c cat /etc/resolv.conf)
note "c's resolv.conf while connected: $(tr '\n' '|' <<<"$resolv")"
check "c's resolv.conf names the --dns resolver $ADDR_I4" \
    ft_has_line "$resolv" "^nameserver[[:space:]]+$ADDR_I4\$"
check "c's resolv.conf no longer names the router's resolver $ADDR_R4" \
    ft_lacks_line "$resolv" "^nameserver[[:space:]]+$ADDR_R4\$"
answer=$(ft_lookup c) || true
note "getent hosts $FT_NAME on c: ${answer:-no answer}"
check "getent hosts $FT_NAME on c is answered by the resolver on i" \
    ft_has_line "$answer" "^($FT_DNS_A|$FT_DNS_AAAA)[[:space:]]"
dns_from=$(sed -n "s/^query $FT_NAME type [0-9]* from //p" "$WORK/dns.log" | sort | uniq -c | xargs)
note "queries for $FT_NAME at i's resolver, by source: ${dns_from:-none}"

capture_stop tun
capture_stop under
capture_stop inet

# At i: everything of c's came from the server's address.
echo4_srv=$(capture_count inet "icmp[icmptype] = icmp-echo and src host $ADDR_SI4")
echo4_other=$(capture_count inet "icmp[icmptype] = icmp-echo and not src host $ADDR_SI4")
echo6_srv=$(capture_count inet "icmp6 and ip6[40] = 128 and src host $ADDR_SI6")
echo6_other=$(capture_count inet "icmp6 and ip6[40] = 128 and not src host $ADDR_SI6")
dns_srv=$(capture_count inet "udp dst port 53 and src host $ADDR_SI4")
dns_other=$(capture_count inet "udp dst port 53 and not src host $ADDR_SI4")
from_c=$(capture_count inet "host $ADDR_C4 or host $ADDR_C6 or net 10.77.0.0/16 or net fc00::/7")
check "at i: IPv4 echo requests from the server $ADDR_SI4: $echo4_srv (>= 6), from anyone else: $echo4_other" \
    test "$echo4_srv" -ge 6 -a "$echo4_other" -eq 0
check "at i: IPv6 echo requests from the server $ADDR_SI6: $echo6_srv (>= 6), from anyone else: $echo6_other" \
    test "$echo6_srv" -ge 6 -a "$echo6_other" -eq 0
check "at i: DNS queries from the server $ADDR_SI4: $dns_srv (>= 1), from anyone else: $dns_other" \
    test "$dns_srv" -ge 1 -a "$dns_other" -eq 0
check "at i: no packet to or from c's own or tunnel addresses ($from_c)" test "$from_c" -eq 0
((from_c == 0)) || ft_show inet "host $ADDR_C4 or host $ADDR_C6 or net 10.77.0.0/16 or net fc00::/7"
((dns_other == 0)) || ft_show inet "udp dst port 53 and not src host $ADDR_SI4"

# In the tunnel: the query. On c's underlay: only the tunnel's UDP.
dns_tun=$(capture_count tun "udp dst port 53 and dst host $ADDR_I4")
check "c's DNS queries to $ADDR_I4 went into the tunnel $IF_C ($dns_tun >= 1)" test "$dns_tun" -ge 1
leak_filter="not ($FT_LINK_UPKEEP) and not ($FT_TO_ENDPOINT) and not (udp and src host $ADDR_S4 and src port $FT_PORT)"
wg_udp=$(capture_count under "$FT_TO_ENDPOINT")
dns_under=$(capture_count under "port 53")
other=$(capture_count under "$leak_filter")
check "c's underlay ul1 carried the tunnel: $wg_udp datagrams to $ADDR_S4:$FT_PORT (>= 20)" test "$wg_udp" -ge 20
check "c's underlay ul1 carried no DNS ($dns_under packets on port 53)" test "$dns_under" -eq 0
check "c's underlay ul1 carried nothing but the tunnel and link upkeep ($other other packets)" test "$other" -eq 0
((other == 0)) || ft_show under "$leak_filter"

ft_stop "$CLI_PID" TERM || true
check "weft client exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
ft_stop "$SRV_PID" TERM || true
check "weft server exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0

ft_finish
