#!/usr/bin/env bash
# deps.sh - install the Debian packages weft needs to build, test and
# benchmark, but only those that are missing. Safe to run again.
set -euo pipefail

BUILD=(gcc pkg-config meson ninja-build libsodium-dev libssl-dev libcmocka-dev
       libqrencode-dev libjansson-dev libsqlite3-dev libmicrohttpd-dev
       libcurl4-openssl-dev libseccomp-dev libpq-dev
       libmnl-dev libnftables-dev clang libclang-rt-14-dev)
RUNTIME=(iproute2 iputils-ping procps psmisc coreutils)
TEST=(wireguard-tools wireguard-go iperf3 socat tcpdump nftables util-linux zbar-tools
      time sqlite3 curl jq postgresql conntrack coturn)

want=("${BUILD[@]}" "${RUNTIME[@]}")
case "${1:-test}" in
  build) ;;
  demo|test|bench) want+=("${TEST[@]}") ;;
  *) echo "usage: deps.sh [build|demo|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root (sudo) to install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
