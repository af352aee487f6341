#!/usr/bin/env bash
# Integration: pwire-server goes away (kill -9) and comes back. Traffic keeps flowing while it
# is away, nothing is lost (the pseudowire is still listed, UP), and both agents reconnect.
#   tests/integration/agent_server_restart.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_server_restart.sh BUILD_DIR}"

lab_two_sites
lab_pw_up s1

lab_log "kill -9 pwire-server"
lab_stop_server KILL
lab_pwctl status >/dev/null 2>&1 && lab_fail "server still answers"
for s in a b; do
  lab_wait 10 "agent $s to see the server gone" eval "[ \"\$(lab_metric $s pwire_agent_server_connected)\" = 0 ]" ||
    lab_fail "agent $s still reports the server connected"
done
# Traffic keeps flowing while the server is away.
ip netns exec "$P-ca" ping -c 10 -i 0.2 -W 1 192.168.77.2 >/dev/null ||
  lab_fail "ping across s1 lost packets while the server was away"
lab_log "ping crossed s1 with the server away"
for s in a b; do lab_agent_alive $s || lab_fail "agent $s died without the server"; done

t0=$(lab_now_ms)
lab_start_server
lab_wait_connected 2 30
lab_log "both agents reconnected $(($(lab_now_ms) - t0)) ms after the server restart"
lab_pwctl pw get s1 >/dev/null || lab_fail "s1 lost by the server restart"
lab_wait 10 "s1 UP after the server restart" lab_pw_is s1 UP ||
  lab_fail "s1 not UP after the server restart: $(lab_pwctl pw get s1)"
for s in a b; do
  lab_pw_endpoint_is s1 $s SESSION_ESTABLISHED || lab_fail "endpoint $s: $(lab_pw_endpoint_state s1 $s)"
  [ "$(lab_metric $s pwire_agent_server_connected)" = 1 ] || lab_fail "agent $s metric says disconnected"
done
lab_wait_ping a b 5 || lab_fail "no ping across s1 after the server restart"
lab_pass "server restarted: s1 kept, traffic flowed meanwhile, agents reconnected"
