#!/usr/bin/env bash
# uapi_tools.sh - weft's wg-compatible commands against a daemon ($WEFTD,
# default wireguard-go) and against wg(8) itself:
#   keys      weft genkey | weft pubkey equals wg pubkey of the same key
#   setconf   weft setconf FILE, then wg showconf says what FILE says
#   show      weft show prints byte for byte what wg show prints, for
#             several peers with real handshakes, plain and on a tty; and
#             against a scripted daemon whose state is fixed (hours-old
#             handshakes, GiB counters, scoped endpoints)
#   errors    a bad config gives one line naming its line, exit non-zero,
#             and leaves the device as it was
# Every check prints PASS or FAIL; the exit status is non-zero if any failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init uapi_tools
WEFT=${WEFT:-$(command -v weft || true)}
[[ -n $WEFT && -x $WEFT ]] || die "weft not found: set WEFT to the weft binary"
[[ -n $REF_DAEMON ]] || { echo "SKIP: wireguard-go not installed"; exit 77; }
note "weft: $WEFT"

HAVE_SCRIPT=0
command -v script >/dev/null && HAVE_SCRIPT=1   # util-linux: a pseudo-tty

# weft / wg in host d, bounded in time.
weft() { on d timeout 10 "$WEFT" "$@"; }
wgd() { on d timeout 10 wg "$@"; }

# normconf: a wg config on stdin in one canonical form, so that two configs
# that mean the same compare equal: no comments or blank lines, keys in
# lower case, AllowedIPs sorted with explicit prefixes, FwMark in decimal,
# "off"/0 values dropped, lines sorted within a section and peers sorted by
# key.
normconf() {
    perl -e '
        my (@iface, @peers, $cur, $sec);
        while (<STDIN>) {
            s/#.*//; s/^\s+|\s+$//g; next if $_ eq "";
            if (/^\[\s*(\w+)\s*\]$/) {
                $sec = lc $1;
                if ($sec eq "peer") { $cur = []; push @peers, $cur }
                next;
            }
            my ($k, $v) = /^([^=]+?)\s*=\s*(.*)$/ or die "bad line: $_\n";
            defined $sec or die "outside a section: $_\n";
            $k = lc $k;
            my @out;
            if ($k eq "allowedips") {
                for my $ip (split /\s*,\s*/, $v) {
                    $ip .= ($ip =~ /:/ ? "/128" : "/32") unless $ip =~ m{/};
                    push @out, "allowedip=" . lc $ip;
                }
            } else {
                $v = ($v =~ /^0x/i ? hex $v : $v + 0) if $k eq "fwmark" && $v ne "off";
                next if $k =~ /^(fwmark|persistentkeepalive|listenport)$/ && ($v eq "off" || $v eq "0");
                @out = ("$k=$v");
            }
            if ($sec eq "interface") { push @iface, @out } else { push @$cur, @out }
        }
        print "[interface]\n", map("$_\n", sort @iface);
        my %by;
        for my $p (@peers) { my ($pk) = grep /^publickey=/, @$p; $by{$pk // ""} = $p }
        for my $k (sort keys %by) { print "[peer]\n", map("$_\n", sort @{$by{$k}}) }
    '
}

# same_output DESC CMD_A -- CMD_B: both commands print the same bytes.
# Retried a few times: a second may tick, or a keepalive pass, between
# the two runs.
same_output() {
    local desc=$1 i a b
    shift
    local -a ca=() cb=()
    while [[ $1 != -- ]]; do ca+=("$1"); shift; done
    shift
    cb=("$@")
    for ((i = 0; i < 5; i++)); do
        a=$("${ca[@]}" 2>&1 | od -c) || true
        b=$("${cb[@]}" 2>&1 | od -c) || true
        if [[ $a == "$b" ]]; then
            pass "$desc"
            return 0
        fi
        sleep 0.3
    done
    fail "$desc"
    diff <("${ca[@]}" 2>&1) <("${cb[@]}" 2>&1) | sed 's/^/     /' | head -n 20 || true
    return 0
}

host_add d p
link_add d p 1
assert_isolated
IF_D=$(ifname d)

# ------------------------------------------------------------------ keys
echo "-- keys"
ok=1
for i in 1 2 3 4 5; do
    k=$("$WEFT" genkey)
    [[ $(printf '%s\n' "$k" | "$WEFT" pubkey) == "$(printf '%s\n' "$k" | wg pubkey)" ]] || ok=0
    k=$(wg genkey)
    [[ $(printf '%s' "$k" | "$WEFT" pubkey) == "$(printf '%s' "$k" | wg pubkey)" ]] || ok=0
done
check "weft genkey | weft pubkey equals wg pubkey (5 keys each way)" test $ok = 1
psk=$("$WEFT" genpsk)
check "weft genpsk prints 32 bytes of base64 ($psk)" \
    test "$(printf '%s' "$psk" | base64 -d 2>/dev/null | wc -c)" = 32
err=$(echo "not a key" | "$WEFT" pubkey 2>&1 >/dev/null) && rc=0 || rc=$?
check "weft pubkey on bad input: exit $rc, one line: $err" \
    test "$rc" != 0 -a "$(printf '%s\n' "$err" | wc -l)" = 1

# --------------------------------------------------------------- setconf
echo "-- setconf / showconf"
daemon_start d "$IF_D" "$WEFTD"
keygen kd
for n in 1 2 3 4; do keygen "kp$n"; done
PSK1=$("$WEFT" genpsk)
cat >"$WORK/full.conf" <<EOF
# weft setconf test: mixed case, spacing, comments, bare addresses
[Interface]
PrivateKey = $(priv kd)
listenport=51820
FwMark = 0x2a   # decimal 42

[Peer]
PublicKey = $(pub kp1)
PresharedKey = $PSK1
AllowedIPs = 10.77.0.11/32, fd77::11/128
Endpoint = 10.123.1.2:51831

[peer]
publickey = $(pub kp2)
allowedips = 10.77.0.12
allowedips = 10.200.0.0/16 , 2001:db8::/32
Endpoint = 10.123.1.2:51832
PersistentKeepalive = 25

[Peer]
AllowedIPs = 10.77.0.13/32
PublicKey = $(pub kp3)
Endpoint = 10.123.1.2:51833

[Peer]
PublicKey = $(pub kp4)
Endpoint = [fd00:123::2]:51834
PersistentKeepalive = off
EOF
check "weft setconf exits 0" weft setconf "$IF_D" "$WORK/full.conf"
wgd showconf "$IF_D" >"$WORK/showconf.wg"
check "wg showconf after weft setconf says what the file says" \
    cmp -s <(normconf <"$WORK/full.conf") <(normconf <"$WORK/showconf.wg")
check "weft showconf says the same as wg showconf" \
    cmp -s <(normconf <"$WORK/showconf.wg") <(weft showconf "$IF_D" | normconf)
weft showconf "$IF_D" >"$WORK/rt.conf" || true
check "weft showconf output is taken back by weft setconf (round trip)" \
    weft setconf "$IF_D" "$WORK/rt.conf"
check "... and wg showconf then says what it says" \
    cmp -s <(normconf <"$WORK/rt.conf") <(wgd showconf "$IF_D" | normconf)

# addconf adds; setconf of a smaller file removes; syncconf keeps sessions
k5=$(wg genkey | wg pubkey)
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.77.0.15/32\n' "$k5" >"$WORK/add.conf"
weft addconf "$IF_D" "$WORK/add.conf" || true
check "weft addconf adds a peer (5 peers now)" test "$(wgd show "$IF_D" peers | wc -l)" = 5
check "weft addconf keeps the interface settings (port 51820)" \
    test "$(wgd show "$IF_D" listen-port)" = 51820
{ echo "[Interface]"; echo "Address = 10.77.0.1/24"; echo "PrivateKey = $(priv kd)";
  echo "ListenPort = 51820"; echo "FwMark = 42";
  sed -n '/^\[Peer\]/,$p' "$WORK/full.conf"; } >"$WORK/sync.conf"
weft syncconf "$IF_D" "$WORK/sync.conf" || true
check "weft syncconf (wg-quick Address skipped) removes the peer not in the file" \
    test "$(wgd show "$IF_D" peers | grep -c -F "$k5" || true)" = 0 \
    -a "$(wgd show "$IF_D" peers | wc -l)" = 4
check "wg showconf after weft syncconf says what the file says" \
    cmp -s <(grep -v Address "$WORK/sync.conf" | normconf) <(wgd showconf "$IF_D" | normconf)

# ---------------------------------------------------------------- errors
echo "-- errors"
before=$(wgd showconf "$IF_D" | normconf)
# bad_conf DESC LINE < CONFIG: setconf must fail at LINE. (Not the end of
# a pipeline: that would run it, and its check, in a subshell.)
bad_conf() {
    local desc=$1 line=$2 out rc
    cat >"$WORK/bad.conf"
    out=$(weft setconf "$IF_D" "$WORK/bad.conf" 2>&1) && rc=0 || rc=$?
    check "$desc: exit $rc, one line naming line $line: $out" \
        test "$rc" != 0 -a "$(printf '%s\n' "$out" | wc -l)" = 1 \
        -a -n "$(grep -F "line $line:" <<<"$out")"
}
bad_conf "a bad PublicKey" 7 < <(printf '[Interface]\nListenPort = 1\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n# x\nPublicKey = abc\n')
bad_conf "a host name as Endpoint" 5 < <(printf '[Interface]\nListenPort = 1\n[Peer]\nPublicKey = %s\nEndpoint = vpn.example.com:51820\n' "$(pub kp1)")
bad_conf "a duplicate key" 3 < <(printf '[Interface]\nListenPort = 1\nListenPort = 2\n')
bad_conf "a [Peer] without PublicKey" 3 < <(printf '[Interface]\nListenPort = 1\n[Peer]\nAllowedIPs = 10.0.0.0/8\n')
bad_conf "a wg-quick key in setconf" 2 < <(printf '[Interface]\nAddress = 10.0.0.1/24\n')
bad_conf "a port out of range" 2 < <(printf '[Interface]\nListenPort = 70000\n')
check "after the failed setconfs the device is unchanged" \
    test "$before" = "$(wgd showconf "$IF_D" | normconf)"
out=$(on d timeout 10 "$WEFT" show nosuchif0 2>&1) && rc=0 || rc=$?
check "weft show of a missing interface: exit $rc, one line: $out" \
    test "$rc" != 0 -a "$(printf '%s\n' "$out" | wc -l)" = 1
out=$(on d timeout 10 "$WEFT" frobnicate 2>&1 | head -n 1) || true
check "an unknown command is named in the first line: $out" grep -q frobnicate <<<"$out"

# ----------------------------------------------------- show, live peers
echo "-- show: live peers with handshakes"
# Three peers in host p, each its own $REF_DAEMON, each a handshake with d
# at a different time; a fourth peer in d never has one.
for n in 1 2 3; do
    ifp=$(ifname "p$n")
    daemon_start p "$ifp" "$REF_DAEMON"
    on p timeout 10 wg set "$ifp" private-key "$WORK/kp$n.key" listen-port "5183$n" \
        peer "$(pub kd)" allowed-ips 10.77.0.1/32 endpoint 10.123.1.1:51820
    # peer 1 shares a preshared key with d (full.conf)
    [[ $n != 1 ]] || on p timeout 10 wg set "$ifp" peer "$(pub kd)" preshared-key <(echo "$PSK1")
    on p ip addr add "10.77.0.1$n/32" dev "$ifp"
    on p ip link set "$ifp" up
done
weft setconf "$IF_D" "$WORK/full.conf" || die "setconf for the show test failed"
on d ip addr add 10.77.0.1/24 dev "$IF_D"
on d ip link set "$IF_D" up
has_handshake() { test "$(latest_hs d "$IF_D" "$1")" -gt 0; }
for n in 1 2 3; do
    # No route back in p: the ping is lost, but it makes a handshake.
    on d timeout 3 ping -n -q -c 1 -W 1 "10.77.0.1$n" >/dev/null 2>&1 || true
    check "a handshake with peer $n (<= 10 s)" wait_for 10 has_handshake "$(pub "kp$n")"
    sleep 1.1
done
same_output "weft show IF equals wg show IF (4 peers, 3 handshakes)" \
    weft show "$IF_D" -- wgd show "$IF_D"
if ((HAVE_SCRIPT)); then
same_output "the same on a terminal, in colour" \
    on d timeout 10 script -qec "$WEFT show $IF_D" /dev/null -- \
    on d timeout 10 script -qec "wg show $IF_D" /dev/null
colour_only_on_tty() {
    local tty plain
    tty=$(on d timeout 10 script -qec "$WEFT show $IF_D" /dev/null) || return 1
    plain=$(weft show "$IF_D") || return 1
    [[ $tty == *$'\x1b[32m'* && $plain != *$'\x1b'* ]]
}
check "... which is in colour there, and plain when piped" colour_only_on_tty
else
    skip "terminal output: no script(1) for a pseudo-tty"
fi
for f in public-key private-key listen-port fwmark; do
    same_output "weft show IF $f equals wg" weft show "$IF_D" "$f" -- wgd show "$IF_D" "$f"
done
# Fields list peers in the daemon's order, which wireguard-go varies from
# one "get" to the next: compare them sorted.
for f in peers preshared-keys endpoints allowed-ips latest-handshakes transfer persistent-keepalive dump; do
    same_output "weft show IF $f equals wg (lines sorted)" \
        bash -c "ip netns exec '${T_NSOF[d]}' '$WEFT' show '$IF_D' $f | sort" -- \
        bash -c "ip netns exec '${T_NSOF[d]}' wg show '$IF_D' $f | sort"
done

# ------------------------------------------------- show, a fixed daemon
echo "-- show: a scripted daemon with fixed state"
# A UAPI responder whose "get" reply holds what live peers rarely show:
# handshakes 1 h 2 min 3 s and 400 days old, one just now and one in the
# future (a clock wound back), counters in every unit, a scoped link-local
# endpoint.
IF_F=$(ifname f)
T_IFS+=("$IF_F")
hexkey() { base64 -d <<<"$1" | od -An -tx1 | tr -d ' \n'; }
cat >"$WORK/reply.sh" <<EOF
#!/usr/bin/env bash
req=
while IFS= read -r line; do [[ -z \$line ]] && break; req+=\$line; done
[[ \$req == get=1 ]] || { printf 'errno=22\n\n'; exit 0; }
now=\$(date +%s)
cat <<R
private_key=$(hexkey "$(priv kd)")
listen_port=1
fwmark=4294967295
public_key=$(hexkey "$(pub kp1)")
preshared_key=$(hexkey "$PSK1")
protocol_version=1
endpoint=[fe80::1%1]:65535
last_handshake_time_sec=\$((now - 3723))
last_handshake_time_nsec=5
tx_bytes=1023
rx_bytes=1048576
persistent_keepalive_interval=3661
allowed_ip=0.0.0.0/0
allowed_ip=::/0
public_key=$(hexkey "$(pub kp2)")
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
endpoint=192.0.2.1:7
last_handshake_time_sec=\$((now - 400 * 86400 - 1))
last_handshake_time_nsec=0
tx_bytes=5000000000000
rx_bytes=1288490188
persistent_keepalive_interval=1
public_key=$(hexkey "$(pub kp3)")
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
last_handshake_time_sec=0
last_handshake_time_nsec=0
tx_bytes=0
rx_bytes=0
persistent_keepalive_interval=0
public_key=$(hexkey "$(pub kp4)")
protocol_version=1
last_handshake_time_sec=\$now
last_handshake_time_nsec=0
public_key=$(hexkey "$(pub kd)")
protocol_version=1
last_handshake_time_sec=\$((now + 100))
last_handshake_time_nsec=0
errno=0

R
EOF
chmod +x "$WORK/reply.sh"
rm -f "$UAPI_DIR/$IF_F.sock"
spawn d "fake-$IF_F" socat "UNIX-LISTEN:$UAPI_DIR/$IF_F.sock,fork" "EXEC:$WORK/reply.sh"
wait_for 5 test -S "$UAPI_DIR/$IF_F.sock" || die "the scripted daemon did not start"
same_output "scripted daemon: weft show equals wg show" \
    weft show "$IF_F" -- wgd show "$IF_F"
((HAVE_SCRIPT)) && same_output "scripted daemon: the same on a terminal, in colour" \
    on d timeout 10 script -qec "$WEFT show $IF_F" /dev/null -- \
    on d timeout 10 script -qec "wg show $IF_F" /dev/null
for f in public-key private-key listen-port fwmark peers preshared-keys endpoints allowed-ips latest-handshakes transfer persistent-keepalive dump; do
    same_output "scripted daemon: weft show IF $f equals wg" \
        weft show "$IF_F" "$f" -- wgd show "$IF_F" "$f"
done
same_output "scripted daemon: weft showconf equals wg showconf" \
    weft showconf "$IF_F" -- wgd showconf "$IF_F"
out=$(printf '[Interface]\nListenPort = 2\n' >"$WORK/p2.conf"; weft setconf "$IF_F" "$WORK/p2.conf" 2>&1) && rc=0 || rc=$?
check "a daemon's errno=22 makes weft setconf fail with one line: $out" \
    test "$rc" != 0 -a "$(printf '%s\n' "$out" | wc -l)" = 1

lib_finish
