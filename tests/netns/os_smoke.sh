#!/usr/bin/env bash
# os_smoke.sh - run os_smoke (the Linux OS layer: TUN, UDP, UAPI socket,
# clock, log) as root inside a network namespace of its own.
#   OS_SMOKE  the os_smoke binary (or pass it as $1)
set -euo pipefail

BIN=${OS_SMOKE:-${1:-}}
if ((EUID != 0)); then
    echo "SKIP: os_smoke needs root (network namespace, TUN)"
    exit 77
fi
for tool in ip ping timeout; do
    command -v "$tool" >/dev/null || { echo "SKIP: os_smoke needs $tool"; exit 77; }
done
[[ -c /dev/net/tun ]] || { echo "SKIP: no /dev/net/tun"; exit 77; }
[[ -n $BIN && -x $BIN ]] || { echo "FAIL: setup: os_smoke binary not found (set OS_SMOKE)"; exit 1; }

NS=weft-os_smoke-$$
UAPI_NAME=wfsmk$$            # the UAPI directory is global: unique per run
PIDS=()

cleanup() {
    local rc=$? pid
    set +e
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ -e /run/netns/$NS ]]; then
        # What os_smoke started (ping) lives in our namespace only.
        for pid in $(ip netns pids "$NS" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$NS"
    fi
    rm -f "/var/run/wireguard/$UAPI_NAME.sock"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
ip -n "$NS" link set lo up

rc=0
timeout -k 5 90 ip netns exec "$NS" "$BIN" wfsmk0 "$UAPI_NAME" &
PIDS+=("$!")
wait "${PIDS[0]}" || rc=$?
PIDS=()
((rc == 124)) && echo "FAIL: os_smoke timed out"
exit "$rc"
