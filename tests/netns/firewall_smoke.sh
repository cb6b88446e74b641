#!/usr/bin/env bash
# firewall_smoke.sh - weft's nftables table in namespaces: the client's
# kill switch, the exit server's NAT / MSS clamping / --secure, and the
# errors, through the firewall_smoke front end (fw_rules + firewall).
# One PASS/FAIL line per check.
#
#   c (client) -- r (router) -- s (server) -- i ("internet")
#        \______ tunnel veth ______/   \____ l (the server's LAN)
#
# The "tunnels" are stand-ins: a dummy (or idle TUN) link in c for the
# kill switch, and
# for the server a veth between c and s whose server end is named like a
# tunnel and passed as the ifname; the pools are routed over it. Traffic
# only goes to addresses in these namespaces; none has a default route.
#
#   FIREWALL_SMOKE_BIN  the firewall_smoke binary (or pass it as $1)
#   SRCDIR              the source tree (for lib.sh; default: from $0)
#   TEST_BUDGET         seconds before the watchdog stops the test (240)
#   KEEP_WORK=1         keep the work directory (captures, logs)
set -euo pipefail

BIN=${FIREWALL_SMOKE_BIN:-${1:-}}
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ((EUID != 0)); then
    echo "SKIP: firewall_smoke needs root (network namespaces, nftables)"
    exit 77
fi
for tool in ip nft tcpdump socat ping timeout ss sysctl; do
    command -v "$tool" >/dev/null || { echo "SKIP: firewall_smoke needs $tool"; exit 77; }
done
[[ -n $BIN && -x $BIN ]] || { echo "FAIL: setup: firewall_smoke binary not found (set FIREWALL_SMOKE_BIN)"; exit 1; }
BIN=$(realpath "$BIN")

# shellcheck source=lib.sh
source "$SRCDIR/tests/netns/lib.sh"

# lib.sh's lib_init wants the WireGuard tools; this test needs none of
# them, so it sets up the same state itself: name, tag, work directory,
# the cleanup trap (ours: namespaces and recorded PIDs only) and a
# watchdog.
# shellcheck disable=SC2034  # T_START, T_WATCHDOG: lib.sh reads them
T_NAME=fwsmoke
T_START=$SECONDS
T_TAG=$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/weft-$T_NAME.XXXXXX")
trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
budget=${TEST_BUDGET:-240} me=$$
(
    trap 'kill "$w" 2>/dev/null; exit 0' TERM
    sleep "$budget" & w=$!
    wait "$w"
    echo "FAIL: watchdog: $T_NAME still running after ${budget}s" >&2
    kill -TERM "$me"
) &
T_WATCHDOG=$!
echo "== $T_NAME: $BIN, work dir $WORK"

# fw HOST ARGS...: the front end in HOST's namespace, bounded.
fw() {
    local h=$1
    shift
    on "$h" timeout 20 "$BIN" "$@"
}
# probe HOST ARGS...: a udp/tcp probe; its one line in PROBE, true if it
# got through.
probe() {
    local h=$1
    shift
    PROBE=$(fw "$h" "$@" 2>&1) && return 0
    return 1
}
# fails_fast HOST tcp A P: refused within a second (rejected, not dropped
# into retransmits).
fails_fast() {
    local ms
    probe "$@" && { note "connected: $PROBE"; return 1; }
    ms=$(sed -n 's/.* after \([0-9]*\) ms.*/\1/p' <<<"$PROBE")
    if [[ -z $ms ]] || ((ms >= 1000)); then
        note "$PROBE"
        return 1
    fi
}
blocked() { ! probe "$@" || { note "got through: $PROBE"; return 1; }; }
# got HOST FILE TEXT: TEXT arrives in FILE within 5 s.
got() { wait_for 5 grep -q "$3" "$WORK/$2" 2>/dev/null; }
ruleset() { on "$1" nft list ruleset; }
weft_tables() { on "$1" nft list tables | grep -c '^table inet weft_' || true; }
# mss_of PCAP FLAGS: the MSS options of the SYNs ("S") or SYN-ACKs ("S.")
# in a capture, one a line.
mss_of() {
    timeout 30 tcpdump -n -r "$WORK/$1.pcap" 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null |
        grep -F "Flags [$2]," | grep -o 'mss [0-9]*' | awk '{print $2}'
}
# all_le LIMIT VALUES...: at least one value, none above LIMIT.
all_le() {
    local lim=$1 v
    shift
    (($# > 0)) || { note "no value captured"; return 1; }
    for v in "$@"; do ((v <= lim)) || { note "mss $v > $lim"; return 1; }; done
}
# one_line_error DESC WANT CMD...: CMD fails with exactly one line on
# stderr that holds WANT and the errno.
one_line_error() {
    local desc=$1 want=$2 out rc=0
    shift 2
    out=$("$@" 2>&1 >/dev/null) || rc=$?
    if ((rc != 0)) && [[ $(wc -l <<<"$out") == 1 && $out == *"$want"* ]]; then
        pass "$desc"
        note "$out"
    else
        fail "$desc (rc $rc): $out"
    fi
}

# ------------------------------------------------------------- topology
host_add c r s i l
link_add c r 1
link_add r s 2
link_add s i 3
link_add s l 4
for n in 1 2 3 4; do
    a=${T_NSOF[c]} b=${T_NSOF[r]}
    case $n in
    2) a=${T_NSOF[r]} b=${T_NSOF[s]} ;;
    3) a=${T_NSOF[s]} b=${T_NSOF[i]} ;;
    4) a=${T_NSOF[s]} b=${T_NSOF[l]} ;;
    esac
    ip -n "$a" -6 addr add "fd23:$n::1/64" dev "ul$n" nodad
    ip -n "$b" -6 addr add "fd23:$n::2/64" dev "ul$n" nodad
done
# The tunnel stand-ins; names with '-' and '.' exercise the table name.
IF_K=wf-$T_TAG.k      # kill switch: a dummy in c
IF_S=wf-$T_TAG.s      # server: s's end of the c-s veth
IF_C=wf-$T_TAG.c      # c's end of it
# A dummy link where the kernel has them, else a TUN nobody reads.
on c ip link add "$IF_K" type dummy 2>/dev/null || on c ip tuntap add dev "$IF_K" mode tun
on c ip link set "$IF_K" up
on c ip route add 10.250.0.0/24 dev "$IF_K"
ip link add "$IF_C" netns "${T_NSOF[c]}" type veth peer name "$IF_S" netns "${T_NSOF[s]}"
on c ip addr add 10.99.0.2/24 dev "$IF_C"
on c ip -6 addr add fd99::2/64 dev "$IF_C" nodad
on s ip addr add 10.99.0.1/24 dev "$IF_S"
on s ip -6 addr add fd99::1/64 dev "$IF_S" nodad
on c ip link set "$IF_C" up
on s ip link set "$IF_S" up
# i is "the internet": --secure keeps clients out of 10.0.0.0/8, so it
# has documentation addresses too, routed only by s.
on s ip addr add 198.51.100.1/24 dev ul3
on i ip addr add 198.51.100.2/24 dev ul3
on s ip -6 addr add 2001:db8:3::1/64 dev ul3 nodad
on i ip -6 addr add 2001:db8:3::2/64 dev ul3 nodad
# For the clamping check: s's end of ul3 has the smallest MTU on the
# path. rt mtu takes the smaller of the routes to the destination and
# back to the source, so SYN and SYN-ACK both come down to 1300 - 40.
on s ip link set ul3 mtu 1300

for h in r s; do
    on "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done
on c ip route add 10.123.0.0/16 via 10.123.1.2
on c ip -6 route add fd23::/16 via fd23:1::2
on r ip route add 10.123.3.0/24 via 10.123.2.2
on r ip route add 10.123.4.0/24 via 10.123.2.2
on r ip -6 route add fd23:3::/64 via fd23:2::2
on r ip -6 route add fd23:4::/64 via fd23:2::2
on s ip route add 10.123.1.0/24 via 10.123.2.1
on s ip -6 route add fd23:1::/64 via fd23:2::1
for h in i l; do
    gw=3
    [[ $h == l ]] && gw=4
    # Back to the underlay only: the pools are not routed here, so
    # only masqueraded traffic gets an answer.
    on "$h" ip route add 10.123.0.0/16 via "10.123.$gw.1"
    on "$h" ip -6 route add fd23::/16 via "fd23:$gw::1"
done
assert_isolated

# Listeners: the server's endpoint (UDP), a TCP service in i and l, and
# on s: a service on its LAN address, "DNS" on its tunnel address.
listen_udp() {  # HOST ADDR PORT NAME
    local fam=4 a=$2
    [[ $a == *:* ]] && fam=6 a="[$a]"
    spawn "$1" "$4" timeout 200 socat -u "UDP$fam-RECV:$3,bind=$a" "OPEN:$WORK/$4.out,creat,append"
}
listen_tcp() {  # HOST ADDR PORT
    local fam=4 a=$2
    [[ $a == *:* ]] && fam=6 a="[$a]"
    spawn "$1" "tcp-$1-$3-$fam" timeout 200 socat "TCP$fam-LISTEN:$3,bind=$a,reuseaddr,fork" OPEN:/dev/null
}
listen_udp s 10.123.2.2 51820 ep4
listen_udp s fd23:2::2 51820 ep6
listen_udp s 10.123.2.2 51821 other4
listen_tcp i 10.123.3.2 8080
listen_tcp i fd23:3::2 8080
listen_tcp i 198.51.100.2 8080
listen_tcp l 10.123.4.2 8080
listen_tcp s 10.123.4.1 2222
listen_tcp s 10.99.0.1 2222
listen_tcp s 10.99.0.1 53
spawn s dns-udp timeout 200 socat UDP4-LISTEN:53,bind=10.99.0.1,fork PIPE
wait_for 5 listening i 8080 || die "no TCP listener in i"
wait_for 5 listening s 53 || die "no TCP listener in s"
wait_for 5 listening s 2222 || die "no TCP listener in s"

ping_all c 10.123.3.2 2 || die "the client cannot reach i before any rule"
ping_all c fd23:3::2 2 || die "the client cannot reach i over IPv6 before any rule"
probe c tcp 10.123.3.2 8080 || die "the client cannot connect to i: $PROBE"

# ------------------------------------------------------ kill switch (c)
echo "-- kill switch in c on $IF_K"
on c nft -f - <<'EOF'
table ip preexisting {
	set keep {
		type ipv4_addr
		elements = { 10.9.9.9 }
	}

	chain c {
		type filter hook output priority 10; policy accept;
		ip daddr @keep accept
	}
}
EOF
ruleset c >"$WORK/c-before.nft"
TABLE_K=$(fw c name "$IF_K")
capture_start r ul1 ks-leak

KS=(killswitch "$IF_K" --endpoint 10.123.2.2:51820 --endpoint '[fd23:2::2]:51820')
check "kill switch: applied" fw c "${KS[@]}"
on c nft list table inet "$TABLE_K" >"$WORK/ks-1.nft"
fw c "${KS[@]}"
on c nft list table inet "$TABLE_K" >"$WORK/ks-2.nft"
check "kill switch: applying twice leaves one table, the same" \
    test "$(weft_tables c)" = 1 -a -z "$(diff "$WORK/ks-1.nft" "$WORK/ks-2.nft")"
check "kill switch: the table outlives the process that applied it" \
    test "$(fw c exists "$IF_K")" = 1
check "kill switch: ping to the router blocked" ping_none c 10.123.1.2
check "kill switch: ping to i blocked" ping_none c 10.123.3.2
check "kill switch: IPv6 ping to i blocked" ping_none c fd23:3::2
check "kill switch: TCP to i refused at once (reject, not a hang)" fails_fast c tcp 10.123.3.2 8080
note "$PROBE"
check "kill switch: TCP over IPv6 to i refused at once" fails_fast c tcp fd23:3::2 8080
check "kill switch: UDP to the server's other port blocked" blocked c udp 10.123.2.2 51821
check "kill switch: UDP to i on the endpoint's port blocked" blocked c udp 10.123.3.2 51820
check "kill switch: UDP to the endpoint passes" probe c udp 10.123.2.2 51820
check "kill switch: ... and arrives" got s ep4.out "weft firewall smoke"
check "kill switch: UDP to the IPv6 endpoint passes" probe c udp fd23:2::2 51820
check "kill switch: ... and arrives" got s ep6.out "weft firewall smoke"
check "kill switch: loopback works" ping_all c 127.0.0.1 2
check "kill switch: IPv6 loopback works" ping_all c ::1 2
check "kill switch: the tunnel interface takes traffic" probe c udp 10.250.0.9 9
capture_stop ks-leak
LEAK='(src host 10.123.1.1 and not (udp and dst host 10.123.2.2 and dst port 51820))
      or (src host fd23:1::1 and not (udp and dst host fd23:2::2 and dst port 51820)
          and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137))'
leaks=$(capture_count ks-leak "$LEAK")
eps=$(capture_count ks-leak 'udp and dst port 51820')
check "kill switch: router saw 0 packets from c but to the endpoint ($leaks; $eps to it)" \
    test "$leaks" = 0 -a "$eps" -ge 2
: >"$WORK/other4.out"
check "kill switch: nothing reached the server's other port" test ! -s "$WORK/other4.out"

# The mark: only the tunnel's own (marked) socket reaches the endpoint.
check "kill switch with fwmark: re-applied in place" fw c "${KS[@]}" --fwmark 0x5eed
check "kill switch with fwmark: unmarked UDP to the endpoint blocked" blocked c udp 10.123.2.2 51820
: >"$WORK/ep4.out"
check "kill switch with fwmark: marked UDP to the endpoint passes" probe c udp 10.123.2.2 51820 --mark 0x5eed
check "kill switch with fwmark: ... and arrives" got s ep4.out "weft firewall smoke"

check "kill switch with LAN: applied" fw c "${KS[@]}" --lan 10.123.1.77/24 --lan fd23:1::/64
check "kill switch with LAN: the router (LAN) answers" ping_all c 10.123.1.2 2
check "kill switch with LAN: the router answers over IPv6" ping_all c fd23:1::2 2
check "kill switch with LAN: i is still blocked" ping_none c 10.123.3.2
check "kill switch with LAN: still one table" test "$(weft_tables c)" = 1

check "kill switch: removed" fw c remove "$IF_K"
ruleset c >"$WORK/c-after.nft"
check "kill switch: the ruleset is back, byte for byte" cmp -s "$WORK/c-before.nft" "$WORK/c-after.nft"
check "kill switch: removing again is fine" fw c remove "$IF_K"
check "kill switch: gone" test "$(fw c exists "$IF_K")" = 0
check "kill switch: i answers again" ping_all c 10.123.3.2 2

# ------------------------------------------------------------ server (s)
echo "-- exit server in s on $IF_S"
on c ip route add 198.51.100.0/24 via 10.99.0.1
on c ip route add 10.123.4.0/24 via 10.99.0.1
on c ip -6 route add 2001:db8:3::/64 via fd99::1
on c ip -6 route add fd23:4::/64 via fd99::1
ruleset s >"$WORK/s-before.nft"
check "server: without rules the pool gets no answer from i" ping_none c 198.51.100.2

SRV=(server "$IF_S" --pool4 10.99.0.0/24 --pool6 fd99::/64 --tun4 10.99.0.1 --tun6 fd99::1)
check "server --secure: applied" fw s "${SRV[@]}" --secure --dns --deny 10.123.4.0/24 --deny fd23:4::/64
capture_start i ul3 srv-i
capture_start c "$IF_C" srv-c 'tcp port 8080'
check "server: the pool reaches i" ping_all c 198.51.100.2 3
check "server: the pool reaches i over IPv6" ping_all c 2001:db8:3::2 3
check "server: TCP from the pool to i" probe c tcp 198.51.100.2 8080
capture_stop srv-i
capture_stop srv-c
n_nat=$(capture_count srv-i 'icmp[icmptype] == icmp-echo and src host 198.51.100.1')
n_raw=$(capture_count srv-i 'src net 10.99.0.0/24')
check "server: i sees the server's address, never the pool's ($n_nat masqueraded, $n_raw raw)" \
    test "$n_nat" -ge 3 -a "$n_raw" = 0
n_nat=$(capture_count srv-i 'icmp6 and ip6[40] == 128 and src host 2001:db8:3::1')
n_raw=$(capture_count srv-i 'src net fd99::/64')
check "server: the same over IPv6 ($n_nat masqueraded, $n_raw raw)" \
    test "$n_nat" -ge 3 -a "$n_raw" = 0
mapfile -t syn_c < <(mss_of srv-c S)
mapfile -t syn_i < <(mss_of srv-i S)
mapfile -t ack_c < <(mss_of srv-c S.)
mapfile -t ack_i < <(mss_of srv-i S.)
note "MSS: client sent ${syn_c[*]:-none}, i got ${syn_i[*]:-none}; i answered ${ack_i[*]:-none}, client got ${ack_c[*]:-none}"
check "server: MSS of the SYN from the tunnel clamped to <= 1260 (ul3 MTU 1300)" all_le 1260 "${syn_i[@]}"
check "server: ... which the client had not done itself (it sent > 1260)" \
    test "${syn_c[0]:-0}" -gt 1260
check "server: MSS of the SYN-ACK into the tunnel clamped to <= 1260" all_le 1260 "${ack_c[@]}"
check "server: ... which i had not done itself (it sent > 1260)" \
    test "${ack_i[0]:-0}" -gt 1260

check "server --secure: the LAN host is unreachable" ping_none c 10.123.4.2
check "server --secure: ... also over IPv6" ping_none c fd23:4::2
check "server --secure: TCP to the LAN host blocked" blocked c tcp 10.123.4.2 8080
check "server --secure: the server's service on its LAN address blocked" blocked c tcp 10.123.4.1 2222
check "server --secure: the server's service on its tunnel address blocked" blocked c tcp 10.99.0.1 2222
check "server --secure: ping to the server's tunnel address" ping_all c 10.99.0.1 2
check "server --secure: ... and over IPv6" ping_all c fd99::1 2
check "server --secure: the server's LAN address does not answer ping" ping_none c 10.123.4.1
check "server --secure: DNS over TCP on the tunnel address" probe c tcp 10.99.0.1 53
check "server --secure: DNS over UDP on the tunnel address" probe c udp 10.99.0.1 53 --reply
check "server --secure --dns off: DNS blocked" fw s "${SRV[@]}" --secure
check "server --secure --dns off: ... TCP" blocked c tcp 10.99.0.1 53
check "server --secure --dns off: ... UDP" blocked c udp 10.99.0.1 53 --reply

check "server, not secure: applied over the secure one" fw s "${SRV[@]}"
check "server, not secure: one table" test "$(weft_tables s)" = 1
check "server, not secure: the LAN host answers" ping_all c 10.123.4.2 2
check "server, not secure: ... over IPv6" ping_all c fd23:4::2 2
check "server, not secure: the server's LAN service answers" probe c tcp 10.123.4.1 2222
check "server, not secure: the pool still reaches i" ping_all c 198.51.100.2 2

check "server: removed" fw s remove "$IF_S"
ruleset s >"$WORK/s-after.nft"
check "server: the ruleset is back, byte for byte" cmp -s "$WORK/s-before.nft" "$WORK/s-after.nft"
check "server: without the masquerade i no longer answers the pool" ping_none c 198.51.100.2

# -------------------------------------------------------------- errors
echo "-- errors"
one_line_error "bad ifname: -EINVAL, one line" "Invalid argument (-22): ifname" \
    fw c killswitch 'bad name!' --endpoint 10.123.2.2:51820
one_line_error "16-character ifname: -EINVAL, one line" "Invalid argument (-22): ifname" \
    fw c killswitch wf-0123456789abc --endpoint 10.123.2.2:51820
one_line_error "bad pool: -EINVAL, one line" "Invalid argument (-22): pool4: prefix length 33" \
    fw s server "$IF_S" --pool4 10.99.0.0/33
one_line_error "bad remove: -EINVAL, one line" "Invalid argument (-22): interface name" \
    fw s remove 'x;y'
cat >"$WORK/broken.nft" <<'EOF'
table inet weft_broken {
	chain output {
		type filter hook output priority filter; policy drop;
		ip daddr 10.1.2.300 accept
	}
}
EOF
one_line_error "broken script: nft's error text, with its line" \
    "line 4: Could not resolve hostname" fw c apply-file "$WORK/broken.nft"
check "broken script: nothing applied" test "$(on c nft list tables | grep -c weft_broken || true)" = 0
check "the client's ruleset untouched by the errors" \
    cmp -s "$WORK/c-before.nft" <(ruleset c)

lib_finish
