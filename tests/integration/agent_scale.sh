#!/usr/bin/env bash
# Integration: 100 pseudowires among 3 agents (a-b, b-c, a-c in turn), applied by one
# `pwctl apply`, all converge to UP; prints how long it took. Each pair of agents multiplexes
# its sessions on one control connection (one per peer and class, RFC 3931 §3.1).
#   tests/integration/agent_scale.sh BUILD_DIR [COUNT]
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_scale.sh BUILD_DIR [COUNT]}"
COUNT=${2:-100}

lab_site a 1
lab_site b 2
lab_site c 3
# Every session interface of a site joins one bridge: no IPv6 (nor any address) in the sites,
# so nothing sends the frames that would loop around a-b-c.
for s in a b c; do
  ip netns exec "$P-$s" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$P-$s" link add brs type bridge && ip -n "$P-$s" link set brs up
done
lab_start_server
lab_start_agent a
lab_start_agent b
lab_start_agent c
lab_wait_connected 3
lab_yaml_class "$LAB_DIR/pw.yaml"
pairs=("a b" "b c" "a c")
for i in $(seq 1 "$COUNT"); do
  # shellcheck disable=SC2086
  lab_yaml_pw "$LAB_DIR/pw.yaml" "m$i" ${pairs[$((i % 3))]} br:brs
done
t0=$(lab_now_ms)
lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
all_up() { [ "$(lab_count_pw_state UP)" = "$COUNT" ]; }
lab_wait 45 "$COUNT pseudowires UP" all_up ||
  lab_fail "$(lab_count_pw_state UP) of $COUNT UP: $(lab_pwctl pw list | grep -v UP | head -5)"
took=$(($(lab_now_ms) - t0))
echo "agent_scale_${COUNT}_pw_3_agents_to_up_ms: $took ms"
for s in a b c; do
  est=$(lab_metric $s 'pwire_agent_sessions{state="established"}')
  want=$((COUNT * 2 / 3))
  [ "$est" -ge $((want - 1)) ] || lab_fail "agent $s has $est established sessions, expected about $want"
  tun=$(lab_metric $s 'pwire_agent_tunnels{state="established"}')
  [ "$tun" = 2 ] || lab_fail "agent $s has $tun established tunnels, expected 2 (one per peer)"
done
lab_pass "$COUNT pseudowires among 3 agents UP in $took ms"
