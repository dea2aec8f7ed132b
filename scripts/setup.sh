#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test and benchmark (root, or sudo).
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libssl-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  libfuse3-dev fuse3 libibverbs-dev librdmacm-dev rdma-core ibverbs-utils rdmacm-utils
  attr libattr1-dev acl
  samba smbclient samba-testsuite python3-impacket tshark smbnetfs fio iperf3 iproute2
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all ${#PKGS[@]} packages present"
