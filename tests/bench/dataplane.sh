#!/usr/bin/env bash
# Data plane benchmark (run through tests/bench/run.sh dataplane; root). Between two network
# namespaces, over: a plain veth (the limit); VXLAN with its offloads; VXLAN with
# `ethtool -K vx0 tso off gro off` (the shape of the kernel's l2tp_eth); pwire's userspace
# L2TPv3 data plane over UDP and over IP; pwire's eBPF data plane over UDP. For each: iperf3 TCP with 1 and 4 streams, the
# 64-byte-frame packet rate (pwire-udpblast, 18-byte UDP payloads) and the machine's CPU
# seconds per gigabit on the 1-stream run (for pwire also its two forwarders' own, which load
# from elsewhere disturbs less; the eBPF data plane has none, its work is the kernel's).
# Medians of RUNS runs (paths interleaved in each run so that load from elsewhere spreads
# evenly), then pwire's ratios to each path.
#   RUNS=3 SECS=3 BIN=build/bin tests/bench/dataplane.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
RUNS=${RUNS:-3}
SECS=${SECS:-3}
P=pwbn$$
TMP=$(mktemp -d)
PATHS=(veth vxlan vxlan_nooffload userspace_udp userspace_ip ebpf_udp)
HZ=$(getconf CLK_TCK)

cleanup() {
  for f in "$TMP"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  for i in "${!PATHS[@]}"; do ip netns del "$P-${i}a" 2>/dev/null || true
                              ip netns del "$P-${i}b" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out: $*" >&2; return 1; }
    sleep 0.1
  done
}

# Sets up path number $1 named $2: namespaces $P-$1a and $P-$1b, inner addresses
# 10.233.$1.1 and 10.233.$1.2 on the interface under test, an iperf3 server in b.
setup() {
  local i=$1 name=$2 a=$P-$1a b=$P-$1b dev=v0
  ip netns add "$a"; ip netns add "$b"
  ip -n "$a" link set lo up; ip -n "$b" link set lo up
  ip link add v0 netns "$a" type veth peer name v0 netns "$b"
  ip -n "$a" link set v0 up; ip -n "$b" link set v0 up
  if [ "$name" != veth ]; then
    ip -n "$a" addr add "10.234.$i.1/24" dev v0
    ip -n "$b" addr add "10.234.$i.2/24" dev v0
  fi
  case $name in
    vxlan*)
      dev=vx0
      for s in 1 2; do
        local ns; ns=$([ $s = 1 ] && echo "$a" || echo "$b")
        ip -n "$ns" link add vx0 type vxlan id 42 local "10.234.$i.$s" \
          remote "10.234.$i.$((3 - s))" dstport 4789 dev v0
        ip -n "$ns" link set vx0 up
        if [ "$name" = vxlan_nooffload ]; then
          ip netns exec "$ns" ethtool -K vx0 tso off gro off >/dev/null
        fi
      done ;;
    userspace_* | ebpf_*)
      dev=pw0
      for s in 1 2; do
        local ns; ns=$([ $s = 1 ] && echo "$a" || echo "$b")
        ip netns exec "$ns" "$BIN/pwire-dptool" --dataplane "${name%_*}" --encap "${name#*_}" \
          --local "10.234.$i.$s" --peer "10.234.$i.$((3 - s))" --ifname pw0 \
          >"$TMP/dp$i$s.out" 2>&1 &
        echo $! >"$TMP/dp$i$s.pid"
        wait_for 20 grep -q '"event":"ready"' "$TMP/dp$i$s.out"
      done ;;
  esac
  ip -n "$a" addr add "10.233.$i.1/24" dev $dev
  ip -n "$b" addr add "10.233.$i.2/24" dev $dev
  ip netns exec "$b" iperf3 -s -D -I "$TMP/iperf$i.pid"
  wait_for 10 ip netns exec "$a" ping -c 1 -W 1 "10.233.$i.2"
  wait_for 10 sh -c "ip netns exec $b ss -ltn | grep -q ':5201 '"
}

busy_jiffies() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# CPU jiffies (user + system) the two forwarders of path $1 have used, 0 for kernel paths.
fwd_jiffies() {
  local t=0 f
  for f in "$TMP/dp${1}1.pid" "$TMP/dp${1}2.pid"; do
    [ -f "$f" ] && t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$(cat "$f")/stat") ))
  done
  echo "$t"
}

# Prints "gbit_per_s cpu_s_per_gbit fwd_cpu_s_per_gbit" for a TCP run of $3 streams over path
# $1: the machine's CPU, and that of the path's own forwarders (which also includes the kernel
# work done in their system calls), per gigabit carried.
tcp_run() {
  local i=$1 streams=$2 c0 c1 f0 f1 out
  c0=$(busy_jiffies); f0=$(fwd_jiffies "$i")
  out=$(ip netns exec "$P-${i}a" iperf3 -c "10.233.$i.2" -t "$SECS" -P "$streams" -J) || {
    echo "0 0 0"; return; }
  c1=$(busy_jiffies); f1=$(fwd_jiffies "$i")
  jq -r --argjson cpu "$(( c1 - c0 ))" --argjson fwd "$(( f1 - f0 ))" --argjson hz "$HZ" \
    '.end.sum_received | (.bytes * 8 / 1e9) as $gb | [(.bits_per_second / 1e9), (if $gb > 0 then ($cpu / $hz) / $gb else 0 end), (if $gb > 0 then ($fwd / $hz) / $gb else 0 end)] | @tsv' <<<"$out"
}

# Prints the received 64-byte packet rate (kpps) over path $1.
pps_run() {
  local i=$1
  local f="$TMP/blast$i.out"
  ip netns exec "$P-${i}b" "$BIN/pwire-udpblast" recv 9000 >"$f" &
  local rpid=$!
  wait_for 10 grep -q listening "$f"
  ip netns exec "$P-${i}a" "$BIN/pwire-udpblast" send "10.233.$i.2" 9000 "$SECS" 18 >/dev/null
  wait "$rpid" || true
  awk 'NR == 2 { printf "%.1f\n", $3 / 1000 }' "$f"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for i in "${!PATHS[@]}"; do setup "$i" "${PATHS[$i]}"; done

declare -A T1 T4 PPS CPU FWD
for run in $(seq "$RUNS"); do
  for i in "${!PATHS[@]}"; do
    n=${PATHS[$i]}
    read -r g c f < <(tcp_run "$i" 1)
    T1[$n]+="$g "; CPU[$n]+="$c "; FWD[$n]+="$f "
    read -r g _ _ < <(tcp_run "$i" 4)
    T4[$n]+="$g "
    PPS[$n]+="$(pps_run "$i") "
    echo "run $run $n: 1stream ${T1[$n]##* } ... done" >/dev/null
  done
done

declare -A M1 M4 MP MC MF
for n in "${PATHS[@]}"; do
  M1[$n]=$(tr ' ' '\n' <<<"${T1[$n]}" | grep . | median)
  M4[$n]=$(tr ' ' '\n' <<<"${T4[$n]}" | grep . | median)
  MP[$n]=$(tr ' ' '\n' <<<"${PPS[$n]}" | grep . | median)
  MC[$n]=$(tr ' ' '\n' <<<"${CPU[$n]}" | grep . | median)
  MF[$n]=$(tr ' ' '\n' <<<"${FWD[$n]}" | grep . | median)
  printf '%s_tcp_1stream: %.2f Gbit/s\n' "$n" "${M1[$n]}"
  printf '%s_tcp_4stream: %.2f Gbit/s\n' "$n" "${M4[$n]}"
  printf '%s_pps_64b: %.1f kpps\n' "$n" "${MP[$n]}"
  printf '%s_cpu_per_gbit_1stream: %.3f cpu_s/Gbit\n' "$n" "${MC[$n]}"
  if [[ $n == userspace_* ]]; then
    printf '%s_forwarders_cpu_per_gbit_1stream: %.3f cpu_s/Gbit\n' "$n" "${MF[$n]}"
  fi
  printf '%s_runs_1stream: %s\n' "$n" "${T1[$n]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "nan" }'; }
for us in userspace_udp userspace_ip; do
  for ref in vxlan vxlan_nooffload veth; do
    echo "${us}_vs_${ref}_1stream: $(ratio "${M1[$us]}" "${M1[$ref]}") ratio"
    echo "${us}_vs_${ref}_4stream: $(ratio "${M4[$us]}" "${M4[$ref]}") ratio"
    echo "${us}_vs_${ref}_pps: $(ratio "${MP[$us]}" "${MP[$ref]}") ratio"
  done
done
# The issue's targets: eBPF over UDP at least 1.0 of VXLAN (TCP), 0.9 (packet rate).
for ref in vxlan vxlan_nooffload veth; do
  echo "ebpf_udp_vs_${ref}_1stream: $(ratio "${M1[ebpf_udp]}" "${M1[$ref]}") ratio"
  echo "ebpf_udp_vs_${ref}_4stream: $(ratio "${M4[ebpf_udp]}" "${M4[$ref]}") ratio"
  echo "ebpf_udp_vs_${ref}_pps: $(ratio "${MP[ebpf_udp]}" "${MP[$ref]}") ratio"
done
echo "ebpf_vs_userspace_1stream: $(ratio "${M1[ebpf_udp]}" "${M1[userspace_udp]}") ratio"
echo "ebpf_vs_userspace_4stream: $(ratio "${M4[ebpf_udp]}" "${M4[userspace_udp]}") ratio"
echo "ebpf_vs_userspace_pps: $(ratio "${MP[ebpf_udp]}" "${MP[userspace_udp]}") ratio"
PWIRE=(3 4 5)  # the paths with pwire-dptool
for i in "${PWIRE[@]}"; do
  for s in 1 2; do
    kill -USR1 "$(cat "$TMP/dp$i$s.pid")" 2>/dev/null || true
  done
done
wait_for 5 sh -c "[ \$(cat $TMP/dp[345][12].out | grep -c '\"event\":\"stats\"') -ge 6 ]" || true
for i in "${PWIRE[@]}"; do
  for s in 1 2; do
    grep '"event":"stats"' "$TMP/dp$i$s.out" | tail -n 1 |
      jq -r --arg n "${PATHS[$i]}_h$s" '"\($n)_tx_errors: \(.session.tx_errors + .global.tx_errors) packets\n\($n)_rx_drops: \(.session.rx_errors + .session.rx_malformed + .global.rx_malformed + .global.rx_unknown_session + .global.rx_errors) packets"'
  done
done
