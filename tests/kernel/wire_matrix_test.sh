#!/bin/bash
# Runs inside the kernel lab's VM: the wire-compatibility matrix. pwire's userspace data plane
# (pwire-dptool --dataplane userspace) in namespace a against the kernel's l2tp_eth in namespace
# b, the kernel side made either by `ip l2tp` (static) or by pwire's kernel data plane
# (pwire-dptool --dataplane kernel); for UDP and IP encapsulation, cookies of 0, 4 and 8 bytes
# and sublayer none and default, with ping in both directions. A wrong cookie must stop traffic.
#   wire_matrix_test.sh PWIRE_DPTOOL udp|ip
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DPTOOL=$1
ENCAP=$2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
lab_two_hosts 10.0.0.1 10.0.0.2

cookie_hex() {  # LEN BYTE: LEN bytes of BYTE as hex ("" for 0)
  local out="" i
  for ((i = 0; i < $1; i++)); do out+=$2; done
  echo "$out"
}

pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  in_ns b ip l2tp del tunnel tunnel_id 2 2>/dev/null || true
}
trap stop_all EXIT

# start_dptool NS LOG ARGS...: runs pwire-dptool in NS, waits for its "ready" line.
start_dptool() {
  local ns=$1 log=$2
  shift 2
  ip netns exec "$NETNS_PREFIX-$ns" "$DPTOOL" "$@" >"$log" 2>&1 &
  pids+=($!)
  wait_until 60 grep -q '"event":"ready"' "$log" || { echo "dptool in $ns did not start:"; cat "$log"; return 1; }
}

# one_case ENCAP COOKIE_LEN SUBLAYER KERNEL_SIDE(iproute|pwire) N [wrong]
# Cookies (RFC 3931 §4.1): a sends CA and expects CB, b sends CB and expects CA (or, with
# "wrong", expects EE and must drop a's traffic). pwire-dptool: --cookie is what it expects,
# --peer-cookie what it sends. ip l2tp: cookie is what it sends, peer_cookie what it expects.
one_case() {
  local encap=$1 clen=$2 sub=$3 side=$4 n=$5 wrong=${6:-}
  local port=$((1800 + n)) sa=$((100 + n)) sb=$((200 + n))
  local ca cb b_expects
  ca=$(cookie_hex "$clen" a1)
  cb=$(cookie_hex "$clen" b2)
  b_expects=$ca
  [ -n "$wrong" ] && b_expects=$(cookie_hex "$clen" ee)
  local name="$encap cookie=$clen sublayer=$sub kernel-by=$side${wrong:+ (b expects another cookie)}"
  local ua=(--dataplane userspace --encap "$encap" --local 10.0.0.1 --peer 10.0.0.2
    --local-port "$port" --peer-port "$port" --tunnel-id 1 --peer-tunnel-id 2
    --session-id "$sa" --peer-session-id "$sb" --sublayer "$sub" --ifname pwu0)
  [ "$clen" -gt 0 ] && ua+=(--cookie "$cb" --peer-cookie "$ca")
  start_dptool a /tmp/dptool-a.log "${ua[@]}"
  if [ "$side" = iproute ]; then
    local udp=()
    [ "$encap" = udp ] && udp=(udp_sport "$port" udp_dport "$port")
    in_ns b ip l2tp add tunnel tunnel_id 2 peer_tunnel_id 1 encap "$encap" \
      local 10.0.0.2 remote 10.0.0.1 "${udp[@]}"
    local ck=()
    [ "$clen" -gt 0 ] && ck=(cookie "$cb" peer_cookie "$b_expects")
    in_ns b ip l2tp add session name pwk0 tunnel_id 2 session_id "$sb" peer_session_id "$sa" \
      l2spec_type "$sub" "${ck[@]}"
  else
    local ub=(--dataplane kernel --encap "$encap" --local 10.0.0.2 --peer 10.0.0.1
      --local-port "$port" --peer-port "$port" --tunnel-id 2 --peer-tunnel-id 1
      --session-id "$sb" --peer-session-id "$sa" --sublayer "$sub" --ifname pwk0)
    [ "$clen" -gt 0 ] && ub+=(--cookie "$b_expects" --peer-cookie "$cb")
    start_dptool b /tmp/dptool-b.log "${ub[@]}"
  fi
  in_ns a ip addr add 192.168.50.1/24 dev pwu0
  in_ns b ip addr add 192.168.50.2/24 dev pwk0
  in_ns a ip link set pwu0 up
  in_ns b ip link set pwk0 up
  if [ -n "$wrong" ]; then
    check_fails "$name: no traffic" in_ns a ping -c 2 -W 1 192.168.50.2
  else
    check "$name: userspace -> kernel" wait_ping a 192.168.50.2
    check "$name: kernel -> userspace" wait_ping b 192.168.50.1
  fi
  stop_all
}

n=0
for clen in 0 4 8; do
  for sub in none default; do
    side=iproute
    [ $(((n + n / 2) % 2)) -eq 1 ] && side=pwire  # each sublayer meets both kernel sides
    one_case "$ENCAP" "$clen" "$sub" "$side" "$n"
    n=$((n + 1))
  done
done
one_case "$ENCAP" 8 default iproute "$n" wrong
n=$((n + 1))
one_case "$ENCAP" 4 none pwire "$n" wrong
summary
