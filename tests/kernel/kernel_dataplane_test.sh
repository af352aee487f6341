#!/bin/bash
# Runs inside the kernel lab's VM: namespaces klab-a and klab-b joined by veth (IPv4 and IPv6),
# then the kernel data plane's gtest binary (given as $1) against the real L2TP kernel.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
lab_two_hosts 10.0.0.1 10.0.0.2
in_ns a ip addr add fd00::1/64 dev veth-a nodad
in_ns b ip addr add fd00::2/64 dev veth-b nodad
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$1" --gtest_color=no "${@:2}"
