#!/usr/bin/env bash
# Installs every Debian 12 package that pwire's build, tests, benchmarks and demo need.
# Idempotent: a second run installs nothing and takes a second. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git ccache
  clang clang-format clang-tidy libclang-rt-14-dev llvm
  # libraries
  libnl-3-dev libnl-genl-3-dev libnl-route-3-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libssl-dev libsystemd-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  # run time, tests, demo and benchmarks
  iproute2 iputils-ping ethtool iperf3 nftables tcpdump tshark procps psmisc openssl
  bridge-utils netcat-openbsd jq
  linux-perf  # profiling the userspace data plane (perf record -g under iperf3)
  # third-party peers and the HA store
  xl2tpd etcd-server etcd-client
  # the eBPF data plane: its tc programs are built with clang and loaded with libbpf
  libbpf-dev bpftool
  # kernel lab (qemu with Debian's own L2TP-capable kernel)
  qemu-system-x86 cpio kmod
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
