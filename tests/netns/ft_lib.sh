# ft_lib.sh - topology and helpers for the full-tunnel VPN's network tests
# (weft server / weft client); source it, it sources lib.sh.
#
# Five hosts, each a network namespace of this run (lib.sh names them):
#
#   c --ul1-- r --ul2-- s --ul3-- i        c  client (runs weft client)
#                       |                  r  router (the client's gateway)
#                       +--ul4-- l         s  exit server (runs weft server)
#                                          i  an "internet" host
#                                          l  a host on the server's LAN
#
#   ul1  c 10.123.1.2     2001:db8:1::2    r 10.123.1.1     2001:db8:1::1
#   ul2  r 10.123.2.1     2001:db8:2::1    s 10.123.2.2     2001:db8:2::2
#   ul3  s 203.0.113.1    2001:db8:3::1    i 203.0.113.2    2001:db8:3::2
#   ul4  s 192.168.50.1   fd00:50::1       l 192.168.50.2   fd00:50::2
#   i's "internet" address (on its lo): 198.51.100.2, 2001:db8:ffff::2
#
# c's default route goes to r, r's and l's to s, s's to i (its uplink, as
# on a real exit server; i routes 10.123.0.0/16 and 2001:db8::/32 back to
# s): the client reaches i also without the tunnel (through r and the
# server's forwarding, with its own address), so a packet that bypasses
# the tunnel is seen at i with the wrong source. The "internet" addresses
# are public-looking documentation ones (TEST-NET-2/3, 2001:db8::/32),
# because --secure keeps clients out of every private range and i must
# stay reachable then; i's own address is off the server's connected
# subnets, which --secure also closes. Nothing here routes to the
# machine's real network: the namespaces hold only these veths, lo and the
# tunnels.
#
# The server listens on 10.123.2.2:51820 (the client's --srv endpoint).
# c and s get their own resolv.conf (/etc/netns/NS/resolv.conf, made here
# and removed at exit): c's names r (10.123.1.1) as its resolver, s's
# names i. i can run a tiny DNS responder (ft_dns_start) that answers
# every A query with 198.51.100.7 and every AAAA query with 2001:db8:99::7,
# and TCP servers that tell each client the address they saw it come from
# (ft_echo_start).
#
# Every weft process runs with WEFT_STATE_DIR=$WORK/HOST-state and
# WEFT_RUN_DIR=$WORK/HOST-run (never /var/lib/weft or /run/weft), plus the
# test knobs in FT_KNOBS, with SIGINT at its default disposition (a
# background job of a script would otherwise start with SIGINT ignored,
# which an interactive user's Ctrl-C never sees).

# shellcheck shell=bash disable=SC2034  # variables are for the tests
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ADDR_C4=10.123.1.2      ADDR_C6=2001:db8:1::2
ADDR_R4=10.123.1.1      ADDR_R6=2001:db8:1::1
ADDR_RS4=10.123.2.1     ADDR_RS6=2001:db8:2::1
ADDR_S4=10.123.2.2      ADDR_S6=2001:db8:2::2       # the server's endpoint
ADDR_SI4=203.0.113.1    ADDR_SI6=2001:db8:3::1      # the server, internet side
ADDR_IL4=203.0.113.2    ADDR_IL6=2001:db8:3::2      # i, on the server's uplink
ADDR_I4=198.51.100.2    ADDR_I6=2001:db8:ffff::2    # i, the "internet" host
ADDR_SL4=192.168.50.1   ADDR_SL6=fd00:50::1         # the server, LAN side
ADDR_L4=192.168.50.2    ADDR_L6=fd00:50::2
FT_PORT=51820
FT_NAME=weft-ft.example         # what the DNS responder answers
FT_DNS_A=198.51.100.7
FT_DNS_AAAA=2001:db8:99::7

FT_CONNECTED='(^|[^[:alpha:]])connected: address '   # the client's line
FT_KNOBS=()             # VAR=VALUE given to every weft process
FT_ETC=()               # /etc/netns/NS directories we made
FT_ETC_MADE=0           # 1: we made /etc/netns itself

# The packets a host sends on a link that are no traffic of its own:
# ARP, neighbour and router discovery, link-scope multicast (MLD).
FT_LINK_UPKEEP='arp or (icmp6 and ip6[40] >= 133 and ip6[40] <= 136) or (ip6 and dst net ff02::/16)'
# ... and the WireGuard/admission UDP between client and server.
FT_TO_ENDPOINT="udp and dst host $ADDR_S4 and dst port $FT_PORT"

# FT_EXEC FILE CMD...: run CMD with SIGINT and SIGQUIT at their defaults
# and stderr appended to FILE, in the same process.
# shellcheck disable=SC2016  # perl code
FT_EXEC=(perl -e '$SIG{INT} = $SIG{QUIT} = "DEFAULT"; my $e = shift;
    open(STDERR, ">>", $e) or die "$e: $!\n"; exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";')

# ft_init NAME: lib_init plus this file's needs. WEFT must name the weft
# binary: these tests run its server and client commands.
ft_init() {
    TEST_BUDGET=${TEST_BUDGET:-240}
    if [[ -z ${WEFT:-} ]]; then
        if ((EUID != 0)); then echo "SKIP: $1 needs root (network namespaces)"; exit 77; fi
        echo "FAIL: setup: set WEFT to the weft binary (meson test sets it)"
        exit 1
    fi
    lib_init "$1"
    trap ft_cleanup EXIT
    FT_WEFT=$WG_CLI
    local tool
    for tool in nft getent perl sysctl cmp diff; do
        command -v "$tool" >/dev/null \
            || die "$T_NAME needs $tool (tools/deps.sh test installs the test packages)"
    done
}

# ft_etc_cleanup: remove the per-namespace resolv.conf files we made.
ft_etc_cleanup() {
    local d
    for d in "${FT_ETC[@]}" /etc/netns/"weft-$T_NAME-$T_TAG-"*; do
        [[ -d $d ]] || continue
        rm -f "$d/resolv.conf"
        rmdir "$d" 2>/dev/null || true
    done
    FT_ETC=()
    if ((FT_ETC_MADE)); then
        rmdir /etc/netns 2>/dev/null || true
        FT_ETC_MADE=0
    fi
}

# ft_teardown: lib.sh's teardown (processes, namespaces), then our files
# in /etc; a test may build anew after it.
ft_teardown() {
    teardown
    ft_etc_cleanup
}

ft_cleanup() {
    local rc=$?
    set +e
    teardown
    ft_etc_cleanup
    (exit "$rc")
    lib_cleanup
}

# ft_resolv HOST LINE...: HOST's own /etc/resolv.conf (what `ip netns
# exec` mounts over /etc/resolv.conf inside the namespace).
ft_resolv() {
    local h=$1 d
    shift
    d=/etc/netns/${T_NSOF[$h]}
    # Another run may make or remove /etc/netns at the same time.
    if [[ ! -d /etc/netns ]] && mkdir /etc/netns 2>/dev/null; then
        FT_ETC_MADE=1
    fi
    mkdir -p "$d"
    FT_ETC+=("$d")
    printf '%s\n' "$@" >"$d/resolv.conf"
}

# ft_link A B N A4 A6 B4 B6 PLEN4: a veth pair ulN between A and B with
# these addresses (PLEN4 the IPv4 prefix length, IPv6 always /64).
ft_link() {
    local a=$1 b=$2 n=$3 a4=$4 a6=$5 b4=$6 b6=$7 p=$8
    ip link add "ul$n" netns "${T_NSOF[$a]}" type veth peer name "ul$n" netns "${T_NSOF[$b]}"
    ip -n "${T_NSOF[$a]}" addr add "$a4/$p" dev "ul$n"
    ip -n "${T_NSOF[$a]}" -6 addr add "$a6/64" dev "ul$n" nodad
    ip -n "${T_NSOF[$b]}" addr add "$b4/$p" dev "ul$n"
    ip -n "${T_NSOF[$b]}" -6 addr add "$b6/64" dev "ul$n" nodad
    ip -n "${T_NSOF[$a]}" link set "ul$n" up
    ip -n "${T_NSOF[$b]}" link set "ul$n" up
}

# ft_topology: the five hosts above, their links, routes and resolv.conf.
ft_topology() {
    local h
    host_add c r s i l
    ft_link c r 1 "$ADDR_C4" "$ADDR_C6" "$ADDR_R4" "$ADDR_R6" 24
    ft_link r s 2 "$ADDR_RS4" "$ADDR_RS6" "$ADDR_S4" "$ADDR_S6" 24
    ft_link s i 3 "$ADDR_SI4" "$ADDR_SI6" "$ADDR_IL4" "$ADDR_IL6" 24
    on i ip addr add "$ADDR_I4/32" dev lo
    on i ip -6 addr add "$ADDR_I6/128" dev lo
    ft_link s l 4 "$ADDR_SL4" "$ADDR_SL6" "$ADDR_L4" "$ADDR_L6" 24
    on c ip route add default via "$ADDR_R4"
    on c ip -6 route add default via "$ADDR_R6"
    on r ip route add default via "$ADDR_S4"
    on r ip -6 route add default via "$ADDR_S6"
    on s ip route add 10.123.1.0/24 via "$ADDR_RS4"
    on s ip -6 route add 2001:db8:1::/64 via "$ADDR_RS6"
    # The server's uplink is ul3: its default route, as on a real exit
    # server (which tells its LAN interfaces from the uplink by it).
    on s ip route add default via "$ADDR_IL4"
    on s ip -6 route add default via "$ADDR_IL6"
    on i ip route add 10.123.0.0/16 via "$ADDR_SI4"
    on i ip -6 route add 2001:db8::/32 via "$ADDR_SI6"
    on l ip route add default via "$ADDR_SL4"
    on l ip -6 route add default via "$ADDR_SL6"
    on r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    # What the server has to change and put back: it starts as a host that
    # does not forward, and the client as one without src_valid_mark.
    on s sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
    on c sysctl -qw net.ipv4.conf.all.src_valid_mark=0
    for h in c r s i l; do
        # No router advertisements are sent here; none may add routes.
        on "$h" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    done
    ft_resolv c "nameserver $ADDR_R4" "options timeout:2 attempts:1"
    ft_resolv s "nameserver $ADDR_I4"
    # The underlay works before any weft runs: c reaches r and s.
    wait_ping c "$ADDR_S4" 5 || die "no ping c -> $ADDR_S4 over the underlay"
    wait_ping c "$ADDR_S6" 5 || die "no ping c -> $ADDR_S6 over the underlay"
}

# ft_finish: a check that no sanitizer reported anything in the logs of
# this run (a report need not change an exit status), then lib_finish.
ft_finish() {
    local hits
    hits=$(grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: ' \
        "$WORK"/*.log "$WORK"/*.out "$WORK"/*.err 2>/dev/null | xargs -r -n 1 basename | xargs) || true
    check "no sanitizer report in the logs (${hits:-none})" test -z "$hits"
    lib_finish
}

# ---------------------------------------------------------------- weft
# ft_env HOST: FT_ENV, the environment of weft processes in HOST.
ft_env() {
    mkdir -p "$WORK/$1-state" "$WORK/$1-run"
    chmod 700 "$WORK/$1-state" "$WORK/$1-run"
    FT_ENV=("WEFT_STATE_DIR=$WORK/$1-state" "WEFT_RUN_DIR=$WORK/$1-run" "${FT_KNOBS[@]}")
}

# ft_weft HOST ARGS...: `weft ARGS` in HOST in the foreground (<= 30 s).
ft_weft() {
    local h=$1
    shift
    ft_env "$h"
    on "$h" timeout 30 env "${FT_ENV[@]}" "$FT_WEFT" "$@"
}

# ft_spawn HOST LOGNAME ARGS...: `weft ARGS` in HOST in the background,
# stdout to $WORK/LOGNAME.log (the lines the CLI spec names are checked
# there), stderr to $WORK/LOGNAME-stderr.log; its PID (recorded) in SPAWNED.
ft_spawn() {
    local h=$1 log=$2
    shift 2
    ft_env "$h"
    spawn "$h" "$log" "${FT_EXEC[@]}" "$WORK/$log-stderr.log" env "${FT_ENV[@]}" "$FT_WEFT" "$@"
}

# ft_matches STRING REGEX: STRING matches the extended REGEX.
ft_matches() { [[ $1 =~ $2 ]]; }
# ft_has_line TEXT REGEX: a line of TEXT matches the extended REGEX.
ft_has_line() { grep -qE -- "$2" <<<"$1"; }
ft_lacks_line() { ! grep -qE -- "$2" <<<"$1"; }

# ft_count LOG REGEX: lines of LOG matching the extended REGEX.
ft_count() {
    local n
    n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
    printf '%s\n' "${n:-0}"
}

# ft_wait_log PID LOG SECONDS REGEX [N]: until LOG holds N (default 1)
# lines matching REGEX. False (with a note saying why) at the deadline or
# when PID exited first.
ft_wait_log() {
    local pid=$1 log=$2 secs=$3 re=$4 n=${5:-1} deadline=$((SECONDS + $3))
    while :; do
        (($(ft_count "$log" "$re") >= n)) && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            (($(ft_count "$log" "$re") >= n)) && return 0
            note "$(basename "$log" .log) (pid $pid) exited before '$re' appeared (x$n); its last lines:"
            tail -n 5 "$log" 2>/dev/null | sed 's/^/     /'
            return 1
        fi
        if ((SECONDS >= deadline)); then
            note "no '$re' (x$n) in $(basename "$log") after ${secs}s; its last lines:"
            tail -n 5 "$log" 2>/dev/null | sed 's/^/     /'
            return 1
        fi
        sleep 0.1
    done
}

# ft_stop PID SIGNAL [SECONDS]: send SIGNAL, wait (<= SECONDS, default
# 15) for the exit. FT_RC gets the exit status, or "hung" when the process
# did not exit and had to be killed (then false).
ft_stop() {
    local pid=$1 sig=$2 secs=${3:-15}
    FT_RC=hung
    kill -"$sig" "$pid" 2>/dev/null || true
    if ! wait_for "$secs" gone "$pid"; then
        note "pid $pid still runs ${secs}s after SIG$sig; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    FT_RC=0
    wait "$pid" 2>/dev/null || FT_RC=$?
}

# ft_pidfile HOST IF PID: HOST's run directory has IF.pid naming PID (what
# `weft down IF` signals).
ft_pidfile() {
    [[ $(cat "$WORK/$1-run/$2.pid" 2>/dev/null) == "$3" ]]
}

# ft_wait_pidfile HOST IF PID SECONDS: until ft_pidfile; false (noted) at
# the deadline or when PID exited first.
ft_wait_pidfile() {
    local deadline=$((SECONDS + $4))
    until ft_pidfile "$1" "$2" "$3"; do
        if ! kill -0 "$3" 2>/dev/null; then
            note "pid $3 exited before it wrote $WORK/$1-run/$2.pid"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            note "no $WORK/$1-run/$2.pid naming pid $3 after $4 s"
            return 1
        fi
        sleep 0.1
    done
}

# ft_server_start LOGNAME IF ARGS...: `weft server --interface IF ARGS` in
# s; waits (<= 60 s: deriving a passcode key is slow, more so under ASan)
# for its pid file, which is written once it is set up. Sets SRV_PID and
# SRV_PUB (from "public key: "). False when it did not come up.
ft_server_start() {
    local log=$1 ifn=$2
    shift 2
    T_IFS+=("$ifn")
    ft_spawn s "$log" server --interface "$ifn" "$@"
    SRV_PID=$SPAWNED
    SRV_PUB=
    if ! ft_wait_pidfile s "$ifn" "$SRV_PID" 60; then
        tail -n 5 "$WORK/$log.log" "$WORK/$log-stderr.log" 2>/dev/null | sed 's/^/     /'
        return 1
    fi
    SRV_PUB=$(sed -n 's/.*public key: \([A-Za-z0-9+/]\{43\}=\)[[:space:]]*$/\1/p' "$WORK/$log.log" | head -n 1)
    [[ -n $SRV_PUB ]] || { note "no 'public key: <base64>' line in $log.log"; return 1; }
}

# ft_client_start LOGNAME IF ARGS...: `weft client --interface IF --srv
# SRV_PUB@10.123.2.2:51820 ARGS` in c; waits (<= 60 s) for its first
# "connected: address A4 A6". Sets CLI_PID, CLI_A4, CLI_A6 (without
# prefix lengths). False when it did not connect.
ft_client_start() {
    local log=$1 ifn=$2
    shift 2
    T_IFS+=("$ifn")
    ft_spawn c "$log" client --interface "$ifn" --srv "$SRV_PUB@$ADDR_S4:$FT_PORT" "$@"
    CLI_PID=$SPAWNED
    CLI_A4='' CLI_A6=''
    ft_wait_log "$CLI_PID" "$WORK/$log.log" 60 "$FT_CONNECTED" || return 1
    ft_client_addrs "$log"
}

# ft_client_addrs LOGNAME: CLI_A4, CLI_A6 from the last "connected:" line.
ft_client_addrs() {
    local line
    line=$(grep -E "$FT_CONNECTED" "$WORK/$1.log" | tail -n 1)
    read -r CLI_A4 CLI_A6 _ <<<"${line#*connected: address }"
    CLI_A4=${CLI_A4%/*} CLI_A6=${CLI_A6%/*}
    note "client: ${line:-no connected line}"
}

# ------------------------------------------------------------- services
# ft_dns_start: the DNS responder on i, UDP 198.51.100.2:53; one log line
# per query ("query NAME type T from IP") in $WORK/dns.log.
ft_dns_start() {
    # shellcheck disable=SC2016  # perl code
    spawn i dns perl -e '
        use strict; use warnings; use IO::Socket::INET; use Socket;
        my ($addr, $a, $aaaa) = @ARGV;
        my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => 53,
                                      Proto => "udp") or die "dns: bind: $!\n";
        $| = 1;
        print "dns: listening on $addr:53\n";
        while (1) {
            my $peer = $s->recv(my $q, 1500);
            next unless defined $peer && length($q) >= 17;
            my ($id, $flags, $qd) = unpack("n n n", $q);
            next if ($flags & 0x8000) || $qd != 1;
            my ($off, @labels) = (12);
            while (1) {
                last if $off >= length($q);
                my $n = ord(substr($q, $off++, 1));
                last if $n == 0;
                if ($n > 63 || $off + $n > length($q)) { $off = -1; last; }
                push @labels, substr($q, $off, $n);
                $off += $n;
            }
            next if $off < 0 || $off + 4 > length($q);
            my ($type) = unpack("n", substr($q, $off, 2));
            my $question = substr($q, 12, $off + 4 - 12);
            my ($port, $ip) = sockaddr_in($peer);
            printf "query %s type %d from %s\n", join(".", @labels), $type, inet_ntoa($ip);
            my $rdata = $type == 1 ? inet_aton($a)
                      : $type == 28 ? Socket::inet_pton(AF_INET6, $aaaa) : undef;
            my $an = defined $rdata ? pack("n n n N n", 0xc00c, $type, 1, 60, length $rdata) . $rdata : "";
            $s->send(pack("n n n n n n", $id, 0x8180, 1, $an ? 1 : 0, 0, 0) . $question . $an, 0, $peer);
        }' "$ADDR_I4" "$FT_DNS_A" "$FT_DNS_AAAA"
    wait_for 5 grep -qs '^dns: listening' "$WORK/dns.log" \
        || die "the DNS responder on i did not start: $(cat "$WORK/dns.log")"
}

# ft_echo_start HOST ADDR PORT: a TCP server on ADDR:PORT in HOST that
# answers every connection with the address it came from, one line.
ft_echo_start() {
    local h=$1 addr=$2 port=$3 fam=4 bind=$2
    [[ $addr == *:* ]] && fam=6 bind="[$addr],ipv6only=1"
    # shellcheck disable=SC2016  # socat's shell expands it
    spawn "$h" "echo-$h-$port-$fam" socat "TCP$fam-LISTEN:$port,bind=$bind,reuseaddr,fork" \
        SYSTEM:'echo "$SOCAT_PEERADDR"'
    wait_for 5 ft_listening "$h" "$addr" "$port" \
        || die "TCP server on $h $addr:$port did not listen"
}
ft_listening() { on "$1" ss -Hltn "sport = :$3" | grep -qF -- "$2"; }

# ft_seen_as HOST ADDR PORT: connect from HOST to an ft_echo_start server
# (<= 5 s) and print the address it saw (brackets removed); empty when
# the connection failed.
ft_seen_as() {
    local fam=4 a=$2 out
    [[ $a == *:* ]] && fam=6 a="[$a]"
    out=$(on "$1" timeout 5 socat -u "TCP$fam:$a:$3,connect-timeout=4" STDOUT 2>/dev/null) || true
    out=${out#[}
    out=${out%]}
    # socat writes IPv6 addresses in full; compare them in the short form
    [[ $out == *:* ]] && out=$(ft_ip6_canon "$out")
    printf '%s\n' "$out"
}

# ft_ip6_canon ADDR: the IPv6 address in its canonical (RFC 5952) form.
ft_ip6_canon() {
    perl -MSocket=inet_pton,inet_ntop,AF_INET6 -e \
        'my $a = inet_pton(AF_INET6, $ARGV[0]); print defined $a ? inet_ntop(AF_INET6, $a) : $ARGV[0], "\n"' "$1"
}

# ft_tcp_ok HOST ADDR PORT: a TCP connection from HOST to ADDR:PORT is
# accepted (<= 5 s).
ft_tcp_ok() {
    local fam=4 a=$2
    [[ $a == *:* ]] && fam=6 a="[$a]"
    on "$1" timeout 5 socat -u OPEN:/dev/null "TCP$fam:$a:$3,connect-timeout=4" 2>/dev/null
}

# ft_lookup HOST: getent hosts $FT_NAME in HOST (<= 8 s); prints the
# answer, false when there is none.
ft_lookup() {
    on "$1" timeout 8 getent hosts "$FT_NAME" 2>/dev/null
}

# ------------------------------------------------------------- captures
# ft_capture_out HOST DEV NAME [FILTER...]: capture only what HOST sends
# on DEV (tcpdump -Q out).
ft_capture_out() {
    local h=$1 dev=$2 name=$3
    shift 3
    capture_start "$h" "$dev" "$name" -Q out "$@"
}
ft_capture_in() {
    local h=$1 dev=$2 name=$3
    shift 3
    capture_start "$h" "$dev" "$name" -Q in "$@"
}

# ft_show NAME FILTER [N]: the first N (default 8) packets of the capture
# matching FILTER, indented (to explain a failed count).
ft_show() {
    timeout 30 tcpdump -nn -r "$WORK/$1.pcap" "$2" 2>/dev/null | head -n "${3:-8}" | sed 's/^/     /'
}

# ----------------------------------------------------------- snapshots
# ft_snap HOST DIR: what weft may change in HOST, one file per view:
# routes (main and all tables), rules, the nft ruleset, resolv.conf, the
# three sysctls weft sets, and the interface names.
ft_snap() {
    local h=$1 d=$2
    mkdir -p "$d"
    on "$h" ip route >"$d/ip-route"
    on "$h" ip -6 route >"$d/ip6-route"
    on "$h" ip route show table all >"$d/ip-route-all"
    on "$h" ip -6 route show table all >"$d/ip6-route-all"
    on "$h" ip rule >"$d/ip-rule"
    on "$h" ip -6 rule >"$d/ip6-rule"
    on "$h" nft list ruleset >"$d/nft-ruleset"
    on "$h" cat /etc/resolv.conf >"$d/resolv.conf"
    on "$h" sysctl -a 2>/dev/null \
        | grep -E '^(net\.ipv4\.ip_forward|net\.ipv6\.conf\.all\.forwarding|net\.ipv4\.conf\.all\.src_valid_mark) ' \
        >"$d/sysctl" || true
    on "$h" ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' >"$d/links"
}
FT_SNAP_FILES=(ip-route ip6-route ip-route-all ip6-route-all ip-rule ip6-rule nft-ruleset resolv.conf sysctl links)

# ft_same TAG BEFORE AFTER: one check per file, byte-identical; a diff
# when not.
ft_same() {
    local tag=$1 a=$2 b=$3 f
    for f in "${FT_SNAP_FILES[@]}"; do
        if cmp -s "$a/$f" "$b/$f"; then
            pass "$tag '$f' is byte-identical to before"
        else
            fail "$tag '$f' differs from before:"
            diff -u "$a/$f" "$b/$f" | sed 's/^/     /' || true
        fi
    done
}

# ft_differing BEFORE AFTER: the names of the files that differ.
ft_differing() {
    local f out=()
    for f in "${FT_SNAP_FILES[@]}"; do
        cmp -s "$1/$f" "$2/$f" || out+=("$f")
    done
    printf '%s\n' "${out[*]}"
}
