#!/usr/bin/env bash
# ft_passcode.sh - the server's passcode: the right one admits the client;
# a wrong one (--passcode and --passcode-file) makes `weft client` exit 1
# with "weft: server rejected the passcode" on stderr and leave the host as
# it was; 100 quick wrong guesses from one source are rate-limited; the
# server logs "wrong passcode from IP" once for them all; the right
# passcode still works afterwards.
#
# The 100 guesses: the admission request of the wrong-passcode client
# (344 bytes of UDP payload, type 0x57 subtype 1), taken from a capture,
# sent 100 times as fast as a socket can from the client's address. The
# protocol has a rejected request change nothing on the server, so each
# copy is one more guess the server would have to answer. The answers are
# counted in a capture on the server's interface: UDP from the server's
# port to the client of the admission response's size (196 bytes of
# payload, type 0x57 subtype 2); at most 20 may be answered. A control
# resends one copy every 1.5 s until it is answered (<= 30 s), so the
# missing answers were the rate limit's doing, not replay protection.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_passcode

REQ_FILTER="udp and dst host $ADDR_S4 and dst port $FT_PORT and udp[4:2] = 352 and udp[8] = 0x57 and udp[9] = 1"
ANS_FILTER="udp and src host $ADDR_S4 and src port $FT_PORT and dst host $ADDR_C4 and udp[4:2] = 204 and udp[8] = 0x57 and udp[9] = 2"
REJECTED='weft: server rejected the passcode'

# extract_request PCAP OUT: the first admission request's UDP payload in
# PCAP (Ethernet, IPv4) into OUT; false when there is none.
extract_request() {
    # shellcheck disable=SC2016  # perl code
    perl -e '
        use strict; use warnings;
        open(my $f, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
        local $/; my $d = <$f>;
        die "not a pcap file\n" if length($d) < 24;
        my ($magic) = unpack("V", $d);
        die "not a little-endian pcap file\n" unless $magic == 0xa1b2c3d4 || $magic == 0xa1b23c4d;
        die "not an Ethernet capture\n" unless unpack("V", substr($d, 20, 4)) == 1;
        my $off = 24;
        while ($off + 16 <= length($d)) {
            my $incl = unpack("V", substr($d, $off + 8, 4));
            my $p = substr($d, $off + 16, $incl);
            $off += 16 + $incl;
            next if length($p) < 14 + 20 + 8 || unpack("n", substr($p, 12, 2)) != 0x0800;
            my $ihl = (ord(substr($p, 14, 1)) & 15) * 4;
            next if ord(substr($p, 14 + 9, 1)) != 17;
            my $udp = substr($p, 14 + $ihl);
            my $len = unpack("n", substr($udp, 4, 2)) - 8;
            my $pl = substr($udp, 8, $len);
            if ($len == 344 && length($pl) == 344 && substr($pl, 0, 2) eq "\x57\x01") {
                open(my $o, ">:raw", $ARGV[1]) or die "$ARGV[1]: $!\n";
                print $o $pl;
                close($o) or die "$ARGV[1]: $!\n";
                exit 0;
            }
        }
        exit 1;' "$1" "$2"
}

# send_copies N: N copies of $WORK/request.bin from c (10.123.1.2, one
# socket) to the server, back to back; prints "sent N in S s, answered A"
# (answers read for 1.5 s after).
send_copies() {
    # shellcheck disable=SC2016  # perl code
    on c timeout 20 perl -e '
        use strict; use warnings; use IO::Socket::INET; use IO::Select;
        use Time::HiRes qw(time);
        my ($file, $src, $dst, $port, $n) = @ARGV;
        open(my $f, "<:raw", $file) or die "$file: $!\n";
        local $/; my $m = <$f>;
        my $s = IO::Socket::INET->new(Proto => "udp", LocalAddr => $src,
                                      PeerAddr => $dst, PeerPort => $port)
            or die "socket: $!\n";
        my $t0 = time;
        for (1 .. $n) { defined($s->send($m)) or die "send: $!\n"; }
        my $secs = time - $t0;
        my ($got, $end, $sel) = (0, time + 1.5, IO::Select->new($s));
        while ((my $left = $end - time) > 0) {
            next unless $sel->can_read($left);
            $s->recv(my $buf, 2048);
            $got++ if length($buf) == 196;
        }
        printf "sent %d in %.3f s, answered %d\n", $n, $secs, $got;' \
        "$WORK/request.bin" "$ADDR_C4" "$ADDR_S4" "$FT_PORT" "$1"
}

# wrong_client TAG ARGS...: weft client with a wrong passcode in ARGS, in
# the foreground (<= 90 s); checks exit status 1 and the message.
wrong_client() {
    local tag=$1 rc=0
    shift
    ft_env c
    T_IFS+=("$IF_C")
    on c timeout 90 env "${FT_ENV[@]}" "$FT_WEFT" client --interface "$IF_C" \
        --srv "$SRV_PUB@$ADDR_S4:$FT_PORT" "$@" \
        >"$WORK/$tag.out" 2>"$WORK/$tag.err" </dev/null || rc=$?
    sed 's/^/     stdout: /' "$WORK/$tag.out"
    sed 's/^/     stderr: /' "$WORK/$tag.err"
    check "[$tag] weft client exits with status 1 ($rc)" test "$rc" -eq 1
    check "[$tag] stderr says '$REJECTED'" grep -qxF "$REJECTED" "$WORK/$tag.err"
    check "[$tag] the client never said it was connected" \
        test "$(ft_count "$WORK/$tag.out" 'connected: address')" -eq 0
}

ft_topology
IF_S=$(ifname s)
IF_C=$(ifname c)
PASS="right-$T_TAG"
ft_server_start server "$IF_S" --passcode "$PASS" || die "weft server did not start"

# ---- 1: the right passcode admits
echo "-- 1: the right passcode"
ft_client_start right "$IF_C" --passcode "$PASS" || die "weft client with the right passcode did not connect"
check "[right] ping c -> i $ADDR_I4 through the tunnel" wait_ping c "$ADDR_I4" 10
admitted=$(grep -E "admitted [A-Za-z0-9+/]{43}= from $ADDR_C4:[0-9]+ as " "$WORK/server.log" | head -n 1)
check "[right] the server logged 'admitted <key> from $ADDR_C4:PORT as ...' (${admitted:-none})" test -n "$admitted"
ft_stop "$CLI_PID" TERM || true
check "[right] weft client exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0

# ---- 2: wrong passcodes
echo "-- 2: a wrong passcode"
ft_snap c "$WORK/before"
t_first=$SECONDS
capture_start s ul2 wrong "udp port $FT_PORT"
wrong_client wrong --passcode "wrong-$T_TAG"
capture_stop wrong
ft_snap c "$WORK/after"
ft_same "[wrong] after the rejection, the client's" "$WORK/before" "$WORK/after"
n=$(capture_count wrong "$ANS_FILTER")
check "[wrong] the server answered the request ($n admission responses)" test "$n" -ge 1
extract_request "$WORK/wrong.pcap" "$WORK/request.bin" \
    || die "no admission request (344 bytes, 0x57 0x01) in the capture of the wrong-passcode client"
note "took the client's admission request from the capture ($(stat -c %s "$WORK/request.bin") bytes)"

(umask 077; printf 'file-wrong-%s\n' "$T_TAG" >"$WORK/wrong.pass")
wrong_client wrongfile --passcode-file "$WORK/wrong.pass"

# ---- 3: 100 quick guesses from one source
echo "-- 3: 100 wrong guesses at once"
sleep 1.5                               # the source's bucket refills
# A small snapshot and a large buffer: tcpdump must keep all 100.
capture_start s ul2 flood -s 512 -B 8192 "udp port $FT_PORT"
sent=$(send_copies 100)
capture_stop flood
note "c: $sent"
req=$(capture_count flood "$REQ_FILTER")
ans=$(capture_count flood "$ANS_FILTER")
cookies=$(capture_count flood "udp and src host $ADDR_S4 and udp[8] = 3")
secs=$(timeout 30 tcpdump -nn -tt -r "$WORK/flood.pcap" "$REQ_FILTER" 2>/dev/null \
    | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.3f", b - a }')
note "the 100 requests arrived within $secs s; the server answered $ans of them (cookie replies: $cookies)"
check "[flood] all 100 requests reached the server ($req)" test "$req" -eq 100
check "[flood] the server answered far fewer than 100: $ans (<= 20)" test "$ans" -le 20
check "[flood] the client's socket got as many answers as the capture shows ($sent)" \
    ft_matches "$sent" "answered $ans\$"
check "[flood] the server still runs" kill -0 "$SRV_PID"

# The control: the same request, resent every 1.5 s, is answered again
# once the source's budget allows, so it was the rate limit that kept the
# answers back, not a replay check.
t0=$SECONDS
answered=0
capture_start s ul2 again "udp port $FT_PORT"
while ((SECONDS - t0 < 30)); do
    if ft_matches "$(send_copies 1)" 'answered 1$'; then answered=1; break; fi
done
capture_stop again
ans=$(capture_count again "$ANS_FILTER")
req=$(capture_count again "$REQ_FILTER")
check "[flood] resent every 1.5 s, the request is answered again within 30 s (after $((SECONDS - t0)) s, $req sent, $ans answered)" \
    test "$answered" -eq 1 -a "$ans" -eq 1
t_last=$SECONDS

# ---- 4: the log, and the right passcode again
nlog=$(ft_count "$WORK/server.log" "wrong passcode from $ADDR_C4([^0-9]|$)")
max=$((1 + (t_last - t_first) / 60))
grep -E "wrong passcode from" "$WORK/server.log" | sed 's/^/     server: /'
check "[log] 'wrong passcode from $ADDR_C4' logged $nlog times for ~103 guesses in $((t_last - t_first)) s (1 .. $max)" \
    test "$nlog" -ge 1 -a "$nlog" -le "$max"

echo "-- 5: the right passcode after the guesses"
sleep 1
ft_client_start right2 "$IF_C" --passcode "$PASS" || true
check "[right2] the right passcode still admits the client" test -n "$CLI_A4"
check "[right2] ping c -> i $ADDR_I4 through the tunnel" wait_ping c "$ADDR_I4" 10
ft_stop "$CLI_PID" TERM || true
check "[right2] weft client exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
ft_stop "$SRV_PID" TERM || true
check "weft server exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0

ft_finish
