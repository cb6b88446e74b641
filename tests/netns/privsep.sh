#!/usr/bin/env bash
# privsep.sh - issue #4's privilege separation rule, on its own: the engine
# runs as nobody with no capabilities, no_new_privs and seccomp, cannot
# configure the interface itself, gets an in-policy request done by the
# helper, and an out-of-policy request (the default route, an address
# outside the private ranges, exit routing not asked for, an unknown
# request) ends the helper, which kills the engine and leaves nothing:
# the interface, its addresses and routes are gone.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/netns/lib.sh"

lib_init privsep
BIN=${PRIVSEP_BIN:?}
host_add h
for mode in route addr exit garbage; do
    on h timeout 20 "$BIN" "$mode" >"$WORK/$mode.out" 2>"$WORK/$mode.err"
    rc=$?
    out=$(cat "$WORK/$mode.out")
    check "$mode: engine is nobody, confined" grep -qx "engine uid=$(id -u nobody) confined=1" "$WORK/$mode.out"
    check "$mode: engine cannot add an address itself" grep -qx "self-addr=-1" "$WORK/$mode.out"
    check "$mode: in-policy address set by the helper" grep -qx "addr-in-policy=0" "$WORK/$mode.out"
    check "$mode: out-of-policy request refused, helper exits 1 (rc $rc)" test "$rc" = 1
    check "$mode: the helper logged why" grep -q "refused\|malformed" "$WORK/$mode.err"
    check "$mode: interface gone" bash -c "! ip -n ${T_NSOF[h]} link show pp0 >/dev/null 2>&1"
    check "$mode: no route left" test -z "$(ip -n "${T_NSOF[h]}" route show)"
    note "$(grep -h 'bad=' "$WORK/$mode.out") / $(tail -1 "$WORK/$mode.err")"
done
lib_finish
