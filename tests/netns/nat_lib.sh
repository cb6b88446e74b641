# nat_lib.sh - NATs for mesh tests and benchmarks (source after lib.sh and
# mesh_lib.sh). An "internet" router (host inet) with each public host on a
# subnet of its own, 10.124.N.2/24 behind 10.124.N.1, so that no public
# address is on anyone's LAN; NAT routers made with nftables masquerade:
#   easy  port-preserving, the same mapping for every destination
#   hard  fully-random: a new port for every destination
# Both drop what arrives unasked for the router itself, as home routers
# do. Without that, an unsolicited packet that reached the router's own
# stack would leave a conntrack entry that makes masquerade pick another
# port for the next flow to that sender: the mapping would then depend on
# the destination, which an easy NAT's does not.

HUB_URL=http://10.124.1.2:7480

# inet_init HOST...: the router and public hosts (not yet wired).
inet_init() {
    host_add inet "$@"
    on inet sysctl -qw net.ipv4.ip_forward=1
    chmod 755 "$WORK"
    export WEFT_ADMIN_DIR=$WORK/admin
}

# wan HOST N: HOST at 10.124.N.2/24, the router at .1.
wan() {
    local h=$1 n=$2
    ip link add "wan-$h" netns "${T_NSOF[inet]}" type veth peer name eth0 netns "${T_NSOF[$h]}"
    on inet ip addr add "10.124.$n.1/24" dev "wan-$h"
    on inet ip link set "wan-$h" up
    on "$h" ip addr add "10.124.$n.2/24" dev eth0
    on "$h" ip link set eth0 up
    on "$h" ip route add default via "10.124.$n.1"
}

# nat_rules HOST easy|hard: (re)load the router's rules.
nat_rules() {
    local h=$1 how=masquerade
    [[ $2 == hard ]] && how="masquerade fully-random"
    on "$h" nft -f - <<NFT || die "nft failed in $h"
flush ruleset
table ip nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "eth0" $how
    }
}
table inet filter {
    chain input {
        type filter hook input priority filter; policy accept;
        iifname "eth0" ct state new drop
    }
}
NFT
}

# nat NAME N LANPREFIX easy|hard: a NAT router at 10.124.N.2 with a LAN
# bridge, LANPREFIX.1/24.
nat() {
    local h=$1 n=$2 lan=$3
    host_add "$h"
    wan "$h" "$n"
    on "$h" ip link add lan type bridge
    on "$h" ip addr add "$lan.1/24" dev lan
    on "$h" ip link set lan up
    on "$h" sysctl -qw net.ipv4.ip_forward=1
    nat_rules "$h" "$4"
}

# behind NAT I ADDR: device dI on NAT's LAN at ADDR.
behind() {
    local n=$1 i=$2 addr=$3 gw=${3%.*}.1
    host_add "d$i"
    ip link add "lan-d$i" netns "${T_NSOF[$n]}" type veth peer name eth0 netns "${T_NSOF[d$i]}"
    on "$n" ip link set "lan-d$i" master lan up
    on "d$i" ip addr add "$addr/24" dev eth0
    on "d$i" ip link set eth0 up
    on "d$i" ip route add default via "$gw"
}

# hub_with_relay: weft-hub (relay on :3478) at 10.124.1.2 in host hub, the
# network created; ADMIN_KEY, HUB_PID. Extra arguments go to weft-hub.
hub_with_relay() {
    ADMIN_KEY=$($WEFT admin init --network "$MESH_NET" --range 100.80.0.0/24 2>/dev/null) ||
        die "weft admin init failed"
    "$WEFT_HUB" create-network "$MESH_NET" --admin-key "$ADMIN_KEY" \
        --db "sqlite:$WORK/hub.db" >/dev/null || die "create-network failed"
    spawn hub hub "$WEFT_HUB" --listen 10.124.1.2:7480 --relay 10.124.1.2:3478 \
        --db "sqlite:$WORK/hub.db" "$@"
    HUB_PID=$SPAWNED
    wait_for 10 grep -q "listening on" "$WORK/hub.log" || die "the hub did not start"
}

# path_of I J: the path dI uses to dJ; endpoint_of_peer I J: its endpoint.
path_of() {
    node_status "$1" | jq -r --arg n "owner$2/d$2" '.peers[] | select(.name == $n) | .path'
}
endpoint_of_peer() {
    node_status "$1" | jq -r --arg n "owner$2/d$2" '.peers[] | select(.name == $n) | .endpoint'
}
