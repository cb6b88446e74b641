#!/usr/bin/env bash
# ft_killswitch.sh - `weft client --killswitch`: while the server is gone,
# not one packet leaves the client's underlay interface except to the
# server's endpoint (UDP 10.123.2.2:51820), whatever the client's programs
# try; when the server returns, the client reconnects by itself and the
# traffic flows again.
#
# The probes (ft_probes) try every way out: ping i over IPv4/IPv6 (the
# tunnel's routes), ping the router (the client's LAN; --allow-lan is not
# given), ping bound to the underlay device (SO_BINDTODEVICE ignores the
# routing policy: only the firewall stops it), a DNS lookup, TCP to i and
# to the router, UDP to i's port 53 and to the server's address on another
# port. A capture of what c sends on ul1 (tcpdump -Q out) counts every
# packet but ARP/neighbour discovery/link-scope multicast and the tunnel's
# UDP to the endpoint. As a control, the same probes run before weft
# starts must be seen leaving.
#
# Timers are shortened (WEFT_TEST_KEEPALIVE_TIMEOUT, WEFT_TEST_REKEY_TIMEOUT)
# so that the client notices the dead server within seconds.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_killswitch
FT_KNOBS=(WEFT_TEST_KEEPALIVE_TIMEOUT=2 WEFT_TEST_REKEY_TIMEOUT=2)

# probe DESC CMD...: one probe that expects an answer; counts it.
probe() {
    PROBE_N=$((PROBE_N + 1))
    if "${@:2}" >/dev/null 2>&1; then
        PROBE_OK=$((PROBE_OK + 1))
        note "[$PROBE_TAG] probe answered: $1"
    fi
}
# send DESC CMD...: one probe that only sends a datagram.
send() {
    PROBE_SENT=$((PROBE_SENT + 1))
    "${@:2}" >/dev/null 2>&1 || true
}
# pings HOST DST COUNT: at least one of COUNT pings answered.
# shellcheck disable=SC2317  # called through probe
pings() { (($(ping_n "$@") > 0)); }

# ft_probes TAG: every probe from c, each bounded. PROBE_OK gets how many
# of the PROBE_N that expect an answer got one; PROBE_SENT counts all.
ft_probes() {
    PROBE_TAG=$1 PROBE_OK=0 PROBE_N=0 PROBE_SENT=0
    probe "ping $ADDR_I4" pings c "$ADDR_I4" 2
    probe "ping $ADDR_I6" pings c "$ADDR_I6" 2
    probe "ping router $ADDR_R4" pings c "$ADDR_R4" 2
    probe "ping router $ADDR_R6" pings c "$ADDR_R6" 2
    probe "ping -I ul1 $ADDR_I4" on c timeout 4 ping -n -q -c 2 -i 0.2 -W 1 -I ul1 "$ADDR_I4"
    probe "ping -I ul1 $ADDR_I6" on c timeout 4 ping -n -q -c 2 -i 0.2 -W 1 -I ul1 "$ADDR_I6"
    probe "ping -I ul1 server $ADDR_S4" on c timeout 4 ping -n -q -c 2 -i 0.2 -W 1 -I ul1 "$ADDR_S4"
    probe "getent hosts $FT_NAME" ft_lookup c
    probe "TCP $ADDR_I4:8080" ft_tcp_ok c "$ADDR_I4" 8080
    probe "TCP [$ADDR_I6]:8080" ft_tcp_ok c "$ADDR_I6" 8080
    probe "TCP router $ADDR_R4:8080" ft_tcp_ok c "$ADDR_R4" 8080
    send "UDP $ADDR_R4:53" on c timeout 4 sh -c "echo x | socat -u - UDP4:$ADDR_R4:53"
    send "UDP $ADDR_I4:53" on c timeout 4 sh -c "echo x | socat -u - UDP4:$ADDR_I4:53"
    send "UDP [$ADDR_I6]:53" on c timeout 4 sh -c "echo x | socat -u - UDP6:[$ADDR_I6]:53"
    send "UDP $ADDR_S4:53 (the server, another port)" on c timeout 4 sh -c "echo x | socat -u - UDP4:$ADDR_S4:53"
    PROBE_SENT=$((PROBE_SENT + PROBE_N))
}

leak_filter="not ($FT_LINK_UPKEEP) and not ($FT_TO_ENDPOINT)"

ft_topology
IF_S=$(ifname s)
IF_C=$(ifname c)
ft_dns_start
ft_echo_start i "$ADDR_I4" 8080
ft_echo_start i "$ADDR_I6" 8080
ft_echo_start r "$ADDR_R4" 8080

# ---- control: without weft the probes leave c, and the capture sees them
# (the server runs: its forwarding is what a bypass of the tunnel uses)
echo "-- control: the probes without weft client"
ft_server_start server "$IF_S" || die "weft server did not start"
ft_capture_out c ul1 control
ft_probes control
capture_stop control
leaks=$(capture_count control "$leak_filter")
note "without weft: $PROBE_OK of $PROBE_N probes answered, $leaks packets left ul1"
check "control: without weft the probes' packets leave c's underlay ($leaks, >= $PROBE_SENT)" \
    test "$leaks" -ge "$PROBE_SENT"
check "control: without weft most probes are answered ($PROBE_OK of $PROBE_N)" \
    test "$PROBE_OK" -ge $((PROBE_N - 3))

# ---- connected with the kill switch
echo "-- connected with --killswitch"
ft_client_start client "$IF_C" --killswitch --dns "$ADDR_I4" || die "weft client did not connect"
table=$(on c nft list tables | grep -F "weft_" || true)
check "the kill switch's nft table is loaded in c (${table:-none})" test -n "$table"
check "ping c -> i $ADDR_I4 through the tunnel" wait_ping c "$ADDR_I4" 10
check "ping c -> i $ADDR_I6 through the tunnel" wait_ping c "$ADDR_I6" 10
answer=$(ft_lookup c) || true
check "getent hosts $FT_NAME through the tunnel (${answer:-no answer})" test -n "$answer"
check "TCP to i [$ADDR_I6]:8080 through the tunnel arrives from the server" \
    test "$(ft_seen_as c "$ADDR_I6" 8080)" = "$ADDR_SI6"

# ---- the server goes away
echo "-- the server is stopped"
ft_capture_out c ul1 down
n_reconn=$(ft_count "$WORK/client.log" 'reconnecting in [0-9]+ s: ')
ft_stop "$SRV_PID" TERM || true
check "weft server exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
# Traffic makes the client notice the server is gone.
spawn c nudge timeout 40 ping -n -i 0.5 -W 1 "$ADDR_I4"
check "the client says it is reconnecting (<= 40 s)" \
    ft_wait_log "$CLI_PID" "$WORK/client.log" 40 'reconnecting in [0-9]+ s: ' $((n_reconn + 1))
grep -E 'reconnecting in [0-9]+ s: ' "$WORK/client.log" | tail -n 1 | sed 's/^/     /'
kill -TERM "$SPAWNED" 2>/dev/null || true
ft_probes killswitch
check "the client still runs while the server is gone" kill -0 "$CLI_PID"
table=$(on c nft list tables | grep -F "weft_" || true)
check "the kill switch's table is still loaded (${table:-none})" test -n "$table"
capture_stop down
leaks=$(capture_count down "$leak_filter")
to_ep=$(capture_count down "$FT_TO_ENDPOINT")
total=$(capture_count down "")
note "capture on ul1 (out) while the server was gone: $total packets, $to_ep to the endpoint $ADDR_S4:$FT_PORT, $leaks others"
check "with --killswitch and the server gone: zero packets leave ul1 except to $ADDR_S4:$FT_PORT ($leaks)" \
    test "$leaks" -eq 0
((leaks == 0)) || ft_show down "$leak_filter" 12
check "the client kept trying the endpoint ($to_ep datagrams, >= 1): the capture saw its traffic" \
    test "$to_ep" -ge 1
check "no probe was answered while the server was gone ($PROBE_OK of $PROBE_N)" test "$PROBE_OK" -eq 0

# ---- the server returns
echo "-- the server is started again"
n_conn=$(ft_count "$WORK/client.log" "$FT_CONNECTED")
old_pub=$SRV_PUB
ft_server_start server2 "$IF_S" || die "weft server did not start again"
check "the server kept its key across the restart" test "$SRV_PUB" = "$old_pub"
spawn c nudge2 timeout 90 ping -n -i 1 -W 1 "$ADDR_I4"
t0=$SECONDS
check "the client reconnects by itself (<= 75 s)" \
    ft_wait_log "$CLI_PID" "$WORK/client.log" 75 "$FT_CONNECTED" $((n_conn + 1))
note "reconnected $((SECONDS - t0)) s after the server returned"
kill -TERM "$SPAWNED" 2>/dev/null || true
ft_client_addrs client
check "ping c -> i $ADDR_I4 again (<= 10 s)" wait_ping c "$ADDR_I4" 10
check "ping c -> i $ADDR_I4: 5 of 5" ping_all c "$ADDR_I4"
check "ping c -> i $ADDR_I6: 5 of 5" ping_all c "$ADDR_I6"
answer=$(ft_lookup c) || true
check "getent hosts $FT_NAME works again (${answer:-no answer})" test -n "$answer"
check "TCP to i $ADDR_I4:8080 arrives from the server again" \
    test "$(ft_seen_as c "$ADDR_I4" 8080)" = "$ADDR_SI4"

ft_stop "$CLI_PID" TERM || true
check "weft client exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
table=$(on c nft list tables | grep -F "weft_" || true)
check "the kill switch is gone after the client stopped (${table:-none})" test -z "$table"
ft_stop "$SRV_PID" TERM || true

ft_finish
