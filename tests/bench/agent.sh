#!/usr/bin/env bash
# pwire-agent benchmark (run through tests/bench/run.sh agent, on the optimized build/):
#   agent_setups_per_s, agent_bytes_per_session: build/bin/agent_bench (two agents on
#     loopback in one process, fake data plane, 10,000 sessions on one control connection)
#   first_frame_after_iccn_drops: build/bin/first_frame_bench (a real agent, userspace data
#     plane, in its own network namespace; a bare engine as the peer opens 100 sessions and
#     sends one frame on each right after its ICCN; target 0)
#   apply_1000_to_up_s: a real pwire-server and two pwire-agents (userspace data plane) in
#     network namespaces; from `pwctl apply` of 1,000 pseudowires to all of them UP.
# Needs root (namespaces). PWIRE_BENCH_APPLY_N changes the 1,000.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${PWIRE_BUILD_DIR:-$ROOT/build}
N=${PWIRE_BENCH_APPLY_N:-1000}

# The setup rate varies by about 2x from run to run on this kind of machine: the median of
# PWIRE_BENCH_RUNS runs (default 5) is reported, with every run's figure.
RUNS=${PWIRE_BENCH_RUNS:-5}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rates=() bytes=() out=
for ((i = 0; i < RUNS; i++)); do
  out=$("$BUILD/bin/agent_bench" 10000) || exit 1
  rates+=("$(awk '/^agent_setups_per_s:/ { print $2 }' <<<"$out")")
  bytes+=("$(awk '/^agent_bytes_per_session:/ { print $2 }' <<<"$out")")
done
echo "agent_setups_per_s: $(median "${rates[@]}") setups/s (median of $RUNS runs: ${rates[*]};" \
  "10000 sessions on one control connection, two agents on loopback, fake data plane)"
echo "agent_bytes_per_session: $(median "${bytes[@]}") bytes (median of $RUNS runs: ${bytes[*]};" \
  "heap in use per established session end: agent, control plane, engine, fake data plane" \
  "records; no kernel state)"
grep '^agent_bench_tunnels:' <<<"$out"
"$BUILD/bin/first_frame_bench" 100 || exit 1

LAB_NAME=agent-bench
source "$ROOT/tests/integration/lab_lib.sh"
lab_init "$BUILD"
lab_site a 1
lab_site b 2
for s in a b; do
  # Every session interface joins one bridge per site; no IPv6 so nothing is ever sent.
  ip netns exec "$P-$s" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$P-$s" link add brs type bridge && ip -n "$P-$s" link set brs up
done
lab_start_server
lab_start_agent a
lab_start_agent b
lab_wait_connected 2
lab_yaml_class "$LAB_DIR/pw.yaml"
for i in $(seq 1 "$N"); do lab_yaml_pw "$LAB_DIR/pw.yaml" "k$i" a b br:brs; done
t0=$(lab_now_ms)
lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
all_up() { [ "$(lab_count_pw_state UP)" = "$N" ]; }
lab_wait 300 "$N pseudowires UP" all_up || lab_fail "$(lab_count_pw_state UP) of $N UP"
ms=$(($(lab_now_ms) - t0))
printf 'apply_%s_to_up_s: %d.%03d s (pwctl apply of %s pseudowires across 2 agents, userspace data plane, until all UP)\n' \
  "$N" $((ms / 1000)) $((ms % 1000)) "$N"
for s in a b; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/${LAB_PID[$s]}/status")
  echo "agent_${s}_rss_with_${N}_pw_kb: $rss kB"
done
lab_pass "bench done"
