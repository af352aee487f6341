#!/usr/bin/env bash
# Integration: a pseudowire created through pwctl is up on both ends within 2 s and carries a
# ping; deleting it removes it on both sides: no session interface, no tunnel socket, nothing
# left in pwctl's view or the agents' metrics. Real pwire-server and two pwire-agents
# (userspace data plane, or LAB_DATAPLANE) in network namespaces; needs root.
#   tests/integration/agent_pw_lifecycle.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_pw_lifecycle.sh BUILD_DIR}"

lab_site a 1
lab_site b 2
lab_customer a
lab_customer b
lab_ping a b && lab_fail "customer b answers before any pseudowire exists"
lab_start_server
lab_start_agent a
lab_start_agent b
lab_wait_connected 2

lab_yaml_class "$LAB_DIR/pw.yaml"
lab_yaml_pw "$LAB_DIR/pw.yaml" t1 a b cust0
t0=$(lab_now_ms)
lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
lab_wait 10 "pseudowire t1 UP" lab_pw_is t1 UP || lab_fail "t1 not UP: $(lab_pwctl pw get t1)"
up_ms=$(($(lab_now_ms) - t0))
lab_log "t1 UP on both ends ${up_ms} ms after pwctl apply"
[ "$up_ms" -le 2000 ] || lab_fail "t1 took ${up_ms} ms to come up (limit 2000 ms)"
for s in a b; do
  lab_pw_endpoint_is t1 $s SESSION_ESTABLISHED || lab_fail "endpoint $s: $(lab_pw_endpoint_state t1 $s)"
  ip -n "$P-$s" link show pw-t1 >/dev/null 2>&1 || lab_fail "no pw-t1 interface in site $s"
  [ -n "$(lab_tunnel_sockets $s)" ] || lab_fail "no tunnel socket in site $s"
done
lab_wait_ping a b 10 || lab_fail "no ping across t1"
ip netns exec "$P-ca" ping -c 5 -i 0.2 -W 1 192.168.77.2 >/dev/null || lab_fail "ping across t1 lost packets"
lab_log "ping crossed t1"

lab_pwctl pw delete t1 >/dev/null || lab_fail "pwctl pw delete"
nothing_left() {
  local s
  for s in a b; do
    [ -z "$(lab_extra_links $s)" ] && [ -z "$(lab_tunnel_sockets $s)" ] || return 1
  done
}
lab_wait 10 "no interface or tunnel socket left on either site" nothing_left ||
  lab_fail "left behind: a: $(lab_extra_links a) $(lab_tunnel_sockets a); b: $(lab_extra_links b) $(lab_tunnel_sockets b)"
lab_pwctl pw get t1 >/dev/null 2>&1 && lab_fail "pwctl still shows t1"
[ "$(lab_pwctl pw list -o json | jq '.pseudowires // [] | length')" = 0 ] || lab_fail "pw list not empty"
for s in a b; do
  [ "$(lab_metric $s pwire_agent_sessions)" = 0 ] ||
    lab_fail "site $s still counts sessions: $(lab_metrics $s | grep -E '^pwire_agent_(sessions|tunnels)')"
  [ "$(lab_metric $s pwire_agent_tunnels)" = 0 ] ||
    lab_fail "site $s still counts tunnels: $(lab_metrics $s | grep -E '^pwire_agent_tunnels')"
  lab_agent_alive $s || lab_fail "agent $s died"
done
lab_ping a b && lab_fail "customer b still answers after the deletion"
lab_pass "created, up in ${up_ms} ms, ping crossed, deleted on both sides"
