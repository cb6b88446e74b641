#!/usr/bin/env bash
# wg_quick.sh - wg-quick drives weftd as its userspace implementation: a
# full-tunnel config (AllowedIPs 0.0.0.0/0, ::/0, so wg-quick sets up its
# fwmark policy routing and nft rules) comes up, carries traffic, and after
# `wg-quick down` the namespace's routes, rules and nft ruleset are
# byte-identical to before.
#
# Host c runs `WG_QUICK_USERSPACE_IMPLEMENTATION=$WEFTD wg-quick up`, which
# starts `$WEFTD IF` without -f: the daemon must fork to the background with
# its UAPI socket ready.  Host s is the peer (PEER_DAEMON, default
# wireguard-go).  No DNS= in the config: wg-quick leaves resolv.conf alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init wg_quick
command -v wg-quick >/dev/null || { echo "SKIP: wg-quick not installed"; exit 77; }
PEER_DAEMON=${PEER_DAEMON:-${REF_DAEMON:-$WEFTD}}
if [[ -e /sys/module/wireguard ]]; then
    # wg-quick would take the kernel's WireGuard and never run $WEFTD.
    echo "SKIP: the wireguard kernel module is loaded; wg-quick would not use $WEFTD"
    exit 77
fi

# snap NAME: what wg-quick may touch in host c, one file per view.
snap() {
    mkdir -p "$WORK/$1"
    on c ip route >"$WORK/$1/ip-route"
    on c ip -6 route >"$WORK/$1/ip6-route"
    on c ip rule >"$WORK/$1/ip-rule"
    on c ip -6 rule >"$WORK/$1/ip6-rule"
    on c nft list ruleset >"$WORK/$1/nft-ruleset"
    on c ip route show table all >"$WORK/$1/ip-route-all"
    on c ip -6 route show table all >"$WORK/$1/ip6-route-all"
}

host_add c s
link_add c s 1
assert_isolated
IF_C=$(ifname c)
IF_S=$(ifname s)
keygen kc
keygen ks

daemon_start s "$IF_S" "$PEER_DAEMON"
setconf s "$IF_S" <<EOF || die "setconf on $IF_S failed"
[Interface]
PrivateKey = $(priv ks)
ListenPort = 51821

[Peer]
PublicKey = $(pub kc)
AllowedIPs = 10.77.0.1/32, fd77::1/128
EOF
tun_addr s "$IF_S" 2
# Addresses that c reaches only through its default route (the tunnel).
on s ip addr add 10.88.0.2/32 dev lo
on s ip -6 addr add fd88::2/128 dev lo

CONF=$WORK/$IF_C.conf
(umask 077; cat >"$CONF" <<EOF
[Interface]
PrivateKey = $(priv kc)
Address = 10.77.0.1/24, fd77::1/64
MTU = $TUN_MTU

[Peer]
PublicKey = $(pub ks)
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 10.123.1.2:51821
EOF
)

snap before
T_IFS+=("$IF_C")
rc=0
on c env WG_QUICK_USERSPACE_IMPLEMENTATION="$WEFTD" timeout 30 wg-quick up "$CONF" \
    >"$WORK/wg-quick-up.log" 2>&1 || rc=$?
check "wg-quick up with WG_QUICK_USERSPACE_IMPLEMENTATION=$(basename "$WEFTD") (rc $rc)" test "$rc" -eq 0
sed 's/^/     /' "$WORK/wg-quick-up.log" | grep -v -e '^     [│┌└]' || true
((rc == 0)) || die "wg-quick up failed"
adopt_ns_pids                                  # the forked daemon is ours
dpids=$(ip netns pids "${T_NSOF[c]}" | xargs)
note "daemon processes in c: ${dpids:-none}"
check "the daemon runs in the background after wg-quick up" test -n "$dpids"
check "$IF_C is a TUN device (not the kernel's WireGuard)" \
    eval "on c ip -d link show '$IF_C' | grep -w tun >/dev/null"
check "wg-quick set up IPv4 policy routing (suppress_prefixlength 0)" \
    eval "on c ip rule | grep >/dev/null suppress_prefixlength"
check "wg-quick set up IPv6 policy routing (suppress_prefixlength 0)" \
    eval "on c ip -6 rule | grep >/dev/null suppress_prefixlength"
check "wg-quick installed its nft table" eval "on c nft list ruleset | grep >/dev/null 'wg-quick-$IF_C'"
fwmark=$(wg_show c "$IF_C" fwmark)
check "the daemon reports the fwmark wg-quick set ($fwmark)" test "$fwmark" != off -a -n "$fwmark"

check "ping c -> s over IPv4 through the full tunnel (<= 10 s)" wait_ping c 10.77.0.2 10
check "ping c -> s over IPv4" ping_all c 10.77.0.2
check "ping c -> s over IPv6" ping_all c fd77::2
check "ping s -> c over IPv4" ping_all s 10.77.0.1
# Full tunnel: addresses c has no route for go through the tunnel (its
# default route in wg-quick's table), and nothing but the daemon's UDP
# leaves c in the clear.
capture_start c ul1 leak
check "ping c -> 10.88.0.2 (default route) goes through the tunnel" ping_all c 10.88.0.2
check "ping c -> fd88::2 (default route) goes through the tunnel" ping_all c fd88::2
capture_stop leak
clear=$(capture_count leak 'icmp or (icmp6 and (ip6[40] = 128 or ip6[40] = 129))')
udp=$(capture_count leak 'udp port 51821')
check "no clear ICMP echo on c's underlay ($clear), only WireGuard UDP ($udp)" \
    test "$clear" -eq 0 -a "$udp" -ge 20
check "wg show on c: a latest handshake" test "$(latest_hs c "$IF_C" "$(pub ks)")" -gt 0

rc=0
on c timeout 30 wg-quick down "$CONF" >"$WORK/wg-quick-down.log" 2>&1 || rc=$?
check "wg-quick down (rc $rc)" test "$rc" -eq 0
sed 's/^/     /' "$WORK/wg-quick-down.log"
check "the daemon exits after wg-quick down (<= 5 s)" \
    wait_for 5 eval "[[ -z \$(ip netns pids '${T_NSOF[c]}') ]]"
check "$IF_C is gone" eval "! on c ip link show '$IF_C' >/dev/null 2>&1"
check "UAPI socket $UAPI_DIR/$IF_C.sock is gone" test ! -e "$UAPI_DIR/$IF_C.sock"
snap after
for f in ip-route ip6-route ip-rule ip6-rule nft-ruleset ip-route-all ip6-route-all; do
    if cmp -s "$WORK/before/$f" "$WORK/after/$f"; then
        pass "after down, '$f' is byte-identical to before up"
    else
        fail "after down, '$f' differs from before up:"
        diff -u "$WORK/before/$f" "$WORK/after/$f" | sed 's/^/     /' || true
    fi
done

lib_finish
