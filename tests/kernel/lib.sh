#!/bin/bash
# Helpers for the scripts that run inside the kernel lab's VM: namespaces joined by veth,
# checks that count and report, waiting on a condition with a deadline.
PASSED=0
FAILED=0
NETNS_PREFIX=${NETNS_PREFIX:-klab}

fail() { echo "FAIL: $*"; exit 1; }
# check NAME CMD...: runs CMD; counts and prints the result, never exits.
check() {
  local name=$1
  shift
  if "$@" >/tmp/check.out 2>&1; then
    PASSED=$((PASSED + 1)); echo "ok: $name [${SECONDS}s]"
  else
    FAILED=$((FAILED + 1)); echo "FAIL: $name [${SECONDS}s]"; sed 's/^/    /' /tmp/check.out | tail -n 20
  fi
}
check_fails() {
  local name=$1
  shift
  if "$@" >/tmp/check.out 2>&1; then
    FAILED=$((FAILED + 1)); echo "FAIL: $name (command succeeded)"
  else
    PASSED=$((PASSED + 1)); echo "ok: $name"
  fi
}
summary() {
  echo "checks: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
in_ns() {
  local ns=$1
  shift
  ip netns exec "$NETNS_PREFIX-$ns" "$@"
}
# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds or the deadline passes.
wait_until() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# wait_ping NS ADDR: a ping from NS reaches ADDR within 20 s (the first may hit ARP/ND).
wait_ping() { wait_until 20 in_ns "$1" ping -c 1 -W 1 "$2"; }
# lab_two_hosts IP_A IP_B [PREFIXLEN]: namespaces a and b joined by veth, addressed.
lab_two_hosts() {
  local plen=${3:-24} nodad=()
  case "$1" in *:*) plen=${3:-64} nodad=(nodad) ;; esac
  ip netns add "$NETNS_PREFIX-a"
  ip netns add "$NETNS_PREFIX-b"
  ip link add veth-a netns "$NETNS_PREFIX-a" type veth peer name veth-b netns "$NETNS_PREFIX-b"
  in_ns a ip link set lo up
  in_ns b ip link set lo up
  in_ns a ip addr add "$1/$plen" dev veth-a "${nodad[@]}"
  in_ns b ip addr add "$2/$plen" dev veth-b "${nodad[@]}"
  in_ns a ip link set veth-a up
  in_ns b ip link set veth-b up
}
ip -V | grep -q iproute2 || fail "ip is not iproute2: $(ip -V 2>&1)"
