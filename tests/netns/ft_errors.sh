#!/usr/bin/env bash
# ft_errors.sh - clear errors from weft client, one line each, exit 1, and
# the host left as it was: without root; a malformed --srv; a key file
# others can read; a server that does not answer (wrong server key, or no
# server at all), where the client keeps trying, says what to check, and
# still puts everything back on SIGTERM.
set -euo pipefail
# shellcheck source=ft_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ft_lib.sh"
ft_init ft_errors
command -v setpriv >/dev/null || die "ft_errors needs setpriv (util-linux)"

ft_topology
IF_S=$(ifname s)
IF_C=$(ifname c)
ft_server_start server "$IF_S" || die "weft server did not start"
SRV="$SRV_PUB@$ADDR_S4:$FT_PORT"

# expect_error NAME REGEX CMD...: CMD exits 1 with REGEX on stderr.
expect_error() {
    local name=$1 re=$2 rc=0 err
    shift 2
    err=$("$@" 2>&1 >/dev/null) || rc=$?
    sed 's/^/     stderr: /' <<<"$err"
    check "$name: exit status $rc (1)" test "$rc" = 1
    check "$name: says '$re'" ft_has_line "$err" "$re"
}

ft_env c
expect_error "not root" "run it as root" \
    on c env "${FT_ENV[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$FT_WEFT" client --interface "$IF_C" --srv "$SRV"
expect_error "bad --srv" "expected PUBKEY@HOST:PORT" \
    ft_weft c client --interface "$IF_C" --srv "not-a-key@$ADDR_S4:$FT_PORT"
expect_error "no --srv" "which server\\? --srv PUBKEY@HOST:PORT" \
    ft_weft c client --interface "$IF_C"
KEY=$WORK/open.key
"$FT_WEFT" genkey >"$KEY"
chmod 644 "$KEY"
expect_error "a key file others can read" "permissions 0644 .* too open.*chmod 600" \
    ft_weft c client --interface "$IF_C" --srv "$SRV" --key "$KEY"

ft_snap c "$WORK/snap-before"
for case in wrong-key no-server; do
    echo "-- $case"
    if [[ $case == wrong-key ]]; then
        target="$("$FT_WEFT" genkey | "$FT_WEFT" pubkey)@$ADDR_S4:$FT_PORT"
    else
        target="$SRV_PUB@$ADDR_S4:$((FT_PORT + 1))"
    fi
    ft_spawn c "$case" client --interface "$IF_C" --srv "$target"
    pid=$SPAWNED
    check "[$case] says there is no answer and what to check (<= 20 s)" \
        ft_wait_log "$pid" "$WORK/$case.log" 20 "no answer from $ADDR_S4:[0-9]+: check the server's public key, that it runs, and that UDP port [0-9]+ reaches it"
    check "[$case] says when it tries again" \
        ft_wait_log "$pid" "$WORK/$case.log" 5 "reconnecting in [0-9]+ s: no answer from the server"
    check "[$case] never claims to be connected" test "$(ft_count "$WORK/$case.log" "$FT_CONNECTED")" = 0
    check "[$case] keeps running while the server is silent" kill -0 "$pid"
    ft_stop "$pid" TERM || true
    check "[$case] exits 0 on SIGTERM (status $FT_RC)" test "$FT_RC" = 0
    ft_snap c "$WORK/snap-$case"
    ft_same "[$case] client:" "$WORK/snap-before" "$WORK/snap-$case"
done
ft_stop "$SRV_PID" TERM || true
lib_finish
