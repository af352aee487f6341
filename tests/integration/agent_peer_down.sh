#!/usr/bin/env bash
# Integration: a peer agent that goes down shows in status: the surviving end loses the
# control connection within a bounded time (HELLO then retransmission timeout, small class
# timers) and reports its session down; when the peer comes back, the pseudowire recovers.
#   tests/integration/agent_peer_down.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_peer_down.sh BUILD_DIR}"

lab_two_sites
lab_pw_up d1

# Class fast: HELLO after 1 s of silence, retransmitted 4 times (0.25 s, then 0.5 s): the
# tunnel is lost about 3 s after the peer went silent. Allow 8 s.
lab_log "kill -9 agent b (its tunnel sockets vanish with it: the peer sees silence)"
lab_kill_agent b KILL
t0=$(lab_now_ms)
tunnel_lost() {
  [ "$(lab_metric a 'pwire_agent_tunnels{state="established"}')" = 0 ] &&
    lab_pw_endpoint_is_not d1 a SESSION_ESTABLISHED
}
lab_wait 8 "agent a to lose the tunnel and report d1 down" tunnel_lost ||
  lab_fail "agent a still shows the session: $(lab_pw_endpoint_state d1 a); $(lab_metrics a | grep '^pwire_agent_tunnels')"
lost_ms=$(($(lab_now_ms) - t0))
lab_log "agent a lost the tunnel and reported d1 $(lab_pw_endpoint_state d1 a) after ${lost_ms} ms"
lab_pw_is d1 UP && lab_fail "d1 still UP"
# The unanswered HELLO was retransmitted before the tunnel was declared lost (§4.2).
rtx=$(lab_metric a pwire_agent_control_retransmissions_total)
[ "$rtx" -ge 1 ] 2>/dev/null || lab_fail "agent a counted $rtx control retransmissions"
lab_log "agent a counted $rtx control retransmissions"
[ -z "$(lab_tunnel_sockets a)" ] || lab_fail "agent a kept a tunnel socket: $(lab_tunnel_sockets a)"
ip -n "$P-a" link show pw-d1 >/dev/null 2>&1 && lab_fail "agent a kept pw-d1 with no session"
lab_agent_alive a || lab_fail "agent a died"

t0=$(lab_now_ms)
lab_start_agent b
lab_wait 20 "d1 UP again" lab_pw_is d1 UP || lab_fail "d1 not UP after b came back: $(lab_pwctl pw get d1)"
lab_wait_ping a b 10 || lab_fail "no ping across d1 after b came back"
lab_log "d1 recovered $(($(lab_now_ms) - t0)) ms after b came back"
lab_pass "peer down seen in ${lost_ms} ms, recovered"
