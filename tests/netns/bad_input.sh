#!/usr/bin/env bash
# bad_input.sh - the daemon under test (a) shrugs off malformed input: UDP
# junk from another host (m) and malformed UAPI requests; afterwards it still
# runs, a real peer (b, wireguard-go) handshakes anew and pings pass.
#
#   b (wireguard-go) --ul1-- a ($WEFTD) --ul2-- m (sends junk)
#
# UDP, to a's port 51820, from m (a perl script; perl-base is in every
# Debian, and unlike bash's /dev/udp it sends exact datagrams, also empty):
# every size 0..2000 of random bytes; each message type 1-4 with a valid
# header and random body at every size 4..200 and the protocol's sizes +-1;
# every truncation and one bit flip per byte of a genuine initiation,
# response and data message captured from a's own handshake with b; the
# genuine initiation and response replayed; type 4 with unknown receiver
# indexes; oversized datagrams (65000 and 65507 bytes).  FUZZ_SEED=N
# repeats a run.
#
# UAPI: set requests with an unknown key, bad hex, a short key, no '=', a
# bad port, a bad allowed IP, an allowed IP before any peer, two gets in one
# request must each get `errno=` (non-zero); random bytes, an unknown
# operation and a 10 MB line must get `errno=` or a closed connection.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init bad_input
[[ -n $REF_DAEMON ]] || { echo "SKIP: wireguard-go not installed"; exit 77; }
FUZZ_SEED=${FUZZ_SEED:-$RANDOM}

wg_pair "$WEFTD" "$REF_DAEMON"
host_add m
link_add a m 2
assert_isolated
SOCK=$UAPI_DIR/$IF_A.sock
DPID=${T_DPID[$IF_A]}

# ---- a genuine handshake and data to mutate
capture_start a ul1 real udp
check "tunnel up: ping b -> a (<= 10 s)" wait_ping b 10.77.0.1 10
check "ping a -> b" ping_all a 10.77.0.2 3
capture_stop real

# First UDP payload of each message type 1, 2, 4 in the capture, in hex.
perl -e '
    local $/; open(my $f, "<:raw", $ARGV[0]) or die; my $d = <$f>;
    my $le = unpack("V", substr($d, 0, 4)) == 0xa1b2c3d4 || unpack("V", substr($d, 0, 4)) == 0xa1b23c4d;
    my ($p, %seen) = (24);
    while ($p + 16 <= length $d) {
        my $n = $le ? unpack("V", substr($d, $p + 8, 4)) : unpack("N", substr($d, $p + 8, 4));
        my $pk = substr($d, $p + 16, $n); $p += 16 + $n;
        next unless length $pk > 42 && unpack("n", substr($pk, 12, 2)) == 0x0800;
        my $ihl = (unpack("C", substr($pk, 14, 1)) & 15) * 4;
        next unless unpack("C", substr($pk, 23, 1)) == 17;
        my $udp = substr($pk, 14 + $ihl, 8);
        my $pl = substr($pk, 14 + $ihl + 8, unpack("n", substr($udp, 4, 2)) - 8);
        my $t = unpack("C", $pl);
        print "$t ", unpack("H*", $pl), "\n" if $t =~ /^[124]$/ && !$seen{$t}++;
    }' "$WORK/real.pcap" >"$WORK/real.hex"
check "captured a genuine initiation, response and data message" \
    test "$(cut -d' ' -f1 "$WORK/real.hex" | sort | xargs)" = "1 2 4"

cat >"$WORK/fuzz.pl" <<'EOF'
# fuzz.pl ADDR PORT REAL.hex SEED: malformed WireGuard datagrams to ADDR:PORT.
use strict; use warnings; use Socket;
my ($addr, $port, $realf, $seed) = @ARGV;
srand($seed);
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
setsockopt($s, SOL_SOCKET, SO_SNDBUF, 1 << 20);
my $to = sockaddr_in($port, inet_aton($addr));
my ($sent, $bytes) = (0, 0);
sub rnd { my $n = shift; join "", map { chr int rand 256 } 1 .. $n }
sub out {
    my $d = shift;
    send($s, $d, 0, $to);                 # errors (ICMP back) do not matter
    $sent++; $bytes += length $d;
    select(undef, undef, undef, 0.002) if $sent % 50 == 0;   # do not just overflow a's buffer
}
my %real;
open(my $f, "<", $realf) or die; while (<$f>) { my ($t, $h) = split; $real{$t} = pack("H*", $h) }
out(rnd($_)) for 0 .. 2000;                                   # random, every size
for my $t (1 .. 4) {                                          # valid header, junk body
    out(pack("C x3", $t) . rnd($_ - 4)) for 4 .. 200;
    out(pack("C x3", $t) . rnd($_ - 4)) for map { ($_ - 1, $_, $_ + 1) } 148, 92, 64, 32, 1452;
}
for my $t (sort keys %real) {                                 # genuine, mutated
    my $m = $real{$t};
    out(substr($m, 0, $_)) for 0 .. length($m) - 1;           # every truncation
    for my $i (0 .. length($m) - 1) {                         # one bit flipped
        my $c = $m; substr($c, $i, 1) = chr(ord(substr($c, $i, 1)) ^ (1 << int rand 8)); out($c);
    }
    out($m . rnd(1)); out($m . rnd(100));                     # trailing junk
    out($m) if $t != 4;                                       # replay
}
for (1 .. 500) {                                              # data, unknown index
    out(pack("C x3 V Q<", 4, int rand 2**32, int rand 2**32) . rnd(16 + int rand 1400));
}
out(pack("C x3 V Q<", 4, 0, 0) . rnd(16));                    # index 0, counter 0
out(pack("C x3 V Q<", 4, 0xffffffff, ~0) . rnd(16));          # all ones
out(rnd(65000)); out(rnd(65507));                             # oversized
out(pack("C x3", 1) . rnd(65503)); out(pack("C x3", 4) . rnd(65503));
print "sent $sent datagrams, $bytes bytes (seed $seed)\n";
EOF

hs_before=$(latest_hs a "$IF_A" "$(pub kb)")
note "UDP junk from m to 10.123.2.1:51820, FUZZ_SEED=$FUZZ_SEED"
capture_start a ul2 junk udp
if on m timeout 120 perl "$WORK/fuzz.pl" 10.123.2.1 51820 "$WORK/real.hex" "$FUZZ_SEED" >"$WORK/fuzz.log" 2>&1; then
    pass "junk sent: $(cat "$WORK/fuzz.log")"
else
    fail "the junk sender failed: $(cat "$WORK/fuzz.log")"
fi
sleep 1
capture_stop junk
sent=$(sed -n 's/^sent \([0-9]*\) .*/\1/p' "$WORK/fuzz.log")
arrived=$(capture_count junk 'udp dst port 51820')
check "the junk reached a's ul2 ($arrived of ${sent:-?} datagrams)" test "$arrived" -ge "$((${sent:-1} * 9 / 10))"
answers=$(capture_count junk 'udp src port 51820 and udp[8] = 2')
check "a answered no replayed or mangled initiation ($answers responses to m)" test "$answers" -eq 0
check "daemon a still runs after the UDP junk" daemon_alive "$IF_A"
check "a's UAPI still answers (wg show)" eval 'wg_show a "$IF_A" >/dev/null'
check "ping a -> b on the existing session" ping_all a 10.77.0.2 3
# A fresh handshake: re-applying b's config drops b's session state.
sleep 1
setconf b "$IF_B" <<EOF || fail "setconf on $IF_B failed"
[Interface]
PrivateKey = $(priv kb)
ListenPort = 51821

[Peer]
PublicKey = $(pub ka)
AllowedIPs = 10.77.0.1/32, fd77::1/128
Endpoint = 10.123.1.1:51820
EOF
check "a new handshake from b gets through (<= 10 s)" wait_ping b 10.77.0.1 10
hs_after=$(latest_hs a "$IF_A" "$(pub kb)")
check "a's latest handshake moved on ($hs_before -> $hs_after)" test "$hs_after" -gt "$hs_before"
check "ping a -> b over IPv6" ping_all a fd77::2 3

# ---- UAPI
# uapi NAME EXPECT REQUEST-FILE: send the file, half-close, read the reply
# (bounded). EXPECT = errno (a non-zero errno= line) or errno|close.
uapi() {
    local name=$1 expect=$2 req=$3 t0 secs reply rc=0
    t0=$(date +%s.%N)
    timeout 30 socat -t 3 - "UNIX-CONNECT:$SOCK" <"$req" >"$WORK/uapi.reply" 2>"$WORK/uapi.err" || rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    reply=$(grep -a '^errno=' "$WORK/uapi.reply" | tail -n 1 || true)
    if [[ $reply =~ ^errno=-?[1-9][0-9]*$ ]]; then
        pass "uapi $name: '$reply' (${secs}s)"
    elif [[ $expect == "errno|close" && -z $reply && $(awk -v s="$secs" 'BEGIN { print (s < 2.5) }') == 1 ]]; then
        pass "uapi $name: connection closed without a reply (${secs}s, socat rc $rc)"
    else
        fail "uapi $name: expected $expect, got '${reply:-no errno line}' after ${secs}s (socat rc $rc)"
    fi
    check "daemon a still runs after uapi $name" daemon_alive "$IF_A"
}
ureq() { printf '%b' "$2" >"$WORK/req-$1"; echo "$WORK/req-$1"; }
junkpub=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
uapi "unknown key" errno "$(ureq unknown 'set=1\nno_such_key=1\n\n')"
uapi "bad hex private_key" errno "$(ureq badhex "set=1\nprivate_key=$(printf 'z%.0s' {1..64})\n\n")"
uapi "short private_key" errno "$(ureq short 'set=1\nprivate_key=abcd\n\n')"
uapi "line without =" errno "$(ureq noeq 'set=1\nprivate_key\n\n')"
uapi "listen_port 99999" errno "$(ureq port 'set=1\nlisten_port=99999\n\n')"
uapi "allowed_ip before any peer" errno "$(ureq early 'set=1\nallowed_ip=10.9.0.0/16\n\n')"
uapi "bad allowed_ip" errno "$(ureq badip "set=1\npublic_key=$junkpub\nallowed_ip=300.1.1.1/33\n\n")"
uapi "bad endpoint" errno "$(ureq badep "set=1\npublic_key=$junkpub\nendpoint=nowhere\n\n")"
uapi "get with a key" errno "$(ureq getget 'get=1\nget=1\n\n')"
uapi "unknown operation" "errno|close" "$(ureq op 'hello=1\n\n')"
head -c 4096 /dev/urandom >"$WORK/req-random"
uapi "4 KiB of random bytes" "errno|close" "$WORK/req-random"
{ printf 'set=1\nprivate_key='; head -c 10M /dev/zero | tr '\0' a; printf '\n\n'; } >"$WORK/req-huge"
uapi "a 10 MB line" "errno|close" "$WORK/req-huge"
rm -f "$WORK/req-huge"

printf 'get=1\n\n' >"$WORK/req-get"
timeout 10 socat -t 3 - "UNIX-CONNECT:$SOCK" <"$WORK/req-get" >"$WORK/get.reply" 2>&1 || true
check "uapi get=1 still answers errno=0" grep -qx 'errno=0' "$WORK/get.reply"
check "a kept its key (wg show public-key)" test "$(wg_show a "$IF_A" public-key)" = "$(pub ka)"
check "a kept its listen port" test "$(wg_show a "$IF_A" listen-port)" = 51820
check "same daemon process as at the start" test "${T_DPID[$IF_A]}" = "$DPID"
check "ping a -> b after the UAPI junk" ping_all a 10.77.0.2 3
check "ping b -> a after the UAPI junk" ping_all b 10.77.0.1 3

lib_finish
