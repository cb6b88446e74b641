#!/usr/bin/env bash
# mesh_exit.sh - issue #4 point 3: a device flagged --exit-server in the
# roster is an exit for the others. d2 runs `weft up --exit-node d1`: its
# IPv4 and IPv6 traffic to the "internet" host leaves through d1 (the
# internet host sees d1's address), its DNS goes to d1's resolver;
# `weft set --exit-node off` and back on switch it at run time; stopping
# puts d2's rules, routes and resolv.conf, and d1's firewall and
# forwarding sysctls, back exactly as they were.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"
. "$SRCDIR/tests/netns/ft_lib.sh"
. "$SRCDIR/tests/netns/mesh_lib.sh"

lib_init mesh_exit
trap ft_cleanup EXIT
[[ -x ${WEFT_HUB:-} ]] || { echo "SKIP: WEFT_HUB not built"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump missing"; exit 77; }
mesh_topology 2
host_add inet
ip link add wan netns "${T_NSOF[d1]}" type veth peer name wan netns "${T_NSOF[inet]}"
on d1 ip addr add 198.51.100.1/24 dev wan
on d1 ip addr add 2001:db8:1::1/64 dev wan nodad
on inet ip addr add 198.51.100.2/24 dev wan
on inet ip addr add 198.51.100.53/24 dev wan
on inet ip addr add 2001:db8:1::2/64 dev wan nodad
on d1 ip link set wan up
on inet ip link set wan up
ft_resolv d1 "nameserver 198.51.100.53"
ft_resolv d2 "nameserver 10.124.0.1"

hub_start
for i in 1 2; do device_identity "$i"; done
device_add 1 --ip 100.80.0.10 --exit-server
device_add 2
publish

host_state() {
    on d2 ip -4 rule show; on d2 ip -6 rule show
    on d2 ip -4 route show table all | grep -v " $(mif 2) "; on d2 ip -6 route show table all | grep -v " $(mif 2) \|fe80::\|ff00::"
    cat "/etc/netns/${T_NSOF[d2]}/resolv.conf"
    on d2 sysctl -n net.ipv4.conf.all.src_valid_mark
}
exit_state() {
    on d1 nft list tables; on d1 sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding
}
d2_before=$(host_state)
d1_before=$(exit_state)
check "without the exit, d2 cannot reach the internet host" \
    bash -c "! ip netns exec ${T_NSOF[d2]} ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1"

node_up 1
node_up 2 --exit-node d1
for i in 1 2; do node_wait_up "$i" 15 || die "d$i did not come up: $(tail -2 "$WORK/node$i.log")"; done
check "d2 says it goes through d1" wait_for 10 grep -q "everything goes through exit node owner1/d1" "$WORK/node2.log"
inet_ping() { on d2 ping -c1 -W1 -q "$1" >/dev/null 2>&1; }
check "d2 reaches the internet host over IPv4" wait_for 10 inet_ping 198.51.100.2
check "d2 reaches the internet host over IPv6" wait_for 10 inet_ping 2001:db8:1::2
# What the internet host sees as the source.
on inet timeout 5 tcpdump -lni wan -c 4 icmp or icmp6 and not 'ip6[40] == 135 or ip6[40] == 136' \
    >"$WORK/inet.cap" 2>/dev/null &
cap=$!
T_PIDS+=("$cap")
sleep 0.5
inet_ping 198.51.100.2; inet_ping 2001:db8:1::2
wait_for 6 gone "$cap"
check "the internet host sees d1's IPv4 address" grep -q "198.51.100.1 > 198.51.100.2" "$WORK/inet.cap"
check "the internet host sees d1's IPv6 address" grep -q "2001:db8:1::1 > 2001:db8:1::2" "$WORK/inet.cap"
check "d2's DNS goes to d1's resolver" \
    grep -q "nameserver 198.51.100.53" "/etc/netns/${T_NSOF[d2]}/resolv.conf"
check "d2 still reaches d1 by mesh address" can_ping 2 1

on d2 "$WEFT" set "$(mif 2)" --exit-node off
check "exit off at run time: the internet host is out of reach" \
    wait_for 5 bash -c "! ip netns exec ${T_NSOF[d2]} ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1"
check "exit off: d2's host is as before" test "$(host_state)" = "$d2_before"
on d2 "$WEFT" set "$(mif 2)" --exit-node d1
check "exit back on at run time" wait_for 10 inet_ping 198.51.100.2
check "an unknown exit node is refused" \
    bash -c "! ip netns exec ${T_NSOF[d2]} $WEFT set $(mif 2) --exit-node nosuch 2>/dev/null"

node_stop 2
check "d2's rules, routes, resolv.conf and sysctls are as before" test "$(host_state)" = "$d2_before"

# The kill switch, with the LAN allowed (the hub is on it): the internet
# only through the exit; when the engine dies the kill switch stays, and
# nothing but the LAN is reachable, until weft down.
mv "$WORK/node2.log" "$WORK/node2-first.log"
node_up 2 --exit-node d1 --killswitch --allow-lan
node_wait_up 2 15 || die "d2 did not come up with --killswitch"
check "kill switch: d2 reaches the internet host through d1" wait_for 10 inet_ping 198.51.100.2
check "kill switch: d2 reaches d1 by mesh address" wait_for 10 can_ping 2 1
check "kill switch: the LAN stays open with --allow-lan" on d2 ping -c1 -W1 -q 10.124.0.1
check "kill switch: the table is loaded" test -n "$(on d2 nft list tables)"
engine=$(pgrep -P "${NODE_PID[2]}" | head -1)
kill -KILL "$engine"
wait_for 10 gone "${NODE_PID[2]}"
check "the engine killed: the helper says the kill switch stays" \
    grep -q "the kill switch stays" "$WORK/node2.log"
check "the engine killed: the internet host is out of reach" \
    bash -c "! ip netns exec ${T_NSOF[d2]} ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1"
# Without the kill switch the main table would route it out d2's LAN.
on d2 ip route add 198.51.100.0/24 via 10.124.0.11 2>/dev/null
check "the engine killed: not even with a route out of the LAN" \
    bash -c "! ip netns exec ${T_NSOF[d2]} ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1"
on d2 ip route del 198.51.100.0/24 via 10.124.0.11 2>/dev/null
on d2 env WEFT_STATE_DIR="$WORK/d2" "$WEFT" down "$(mif 2)" >/dev/null 2>&1
check "weft down after the crash: d2 is as before" test "$(host_state)" = "$d2_before"
check "weft down after the crash: no table left" test -z "$(on d2 nft list tables)"

node_stop 1
check "d1's firewall and forwarding are as before" test "$(exit_state)" = "$d1_before"
lib_finish
