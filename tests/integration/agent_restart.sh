#!/usr/bin/env bash
# Integration: kill -9 of an agent, then a restart: it rebuilds its state from the server and
# its peer, and the pseudowire converges again (UP on both ends, a ping crosses). Each agent
# in turn is the one killed, so both the initiator's and the responder's restart are covered.
# Then a clean stop (SIGTERM: StopCCN) and a restart.
#   tests/integration/agent_restart.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_restart.sh BUILD_DIR}"

lab_two_sites
lab_pw_up r1

for victim in a b; do
  lab_log "kill -9 agent $victim"
  lab_kill_agent $victim KILL
  lab_wait 10 "r1 not UP with agent $victim gone" eval '! lab_pw_is r1 UP' ||
    lab_fail "r1 still UP with agent $victim killed"
  t0=$(lab_now_ms)
  lab_start_agent $victim
  lab_wait 20 "r1 UP again" lab_pw_is r1 UP || lab_fail "r1 not UP after restarting $victim: $(lab_pwctl pw get r1)"
  lab_wait_ping a b 10 || lab_fail "no ping across r1 after restarting $victim"
  lab_log "agent $victim restarted: r1 UP and ping across after $(($(lab_now_ms) - t0)) ms"
  for s in a b; do
    lab_pw_endpoint_is r1 $s SESSION_ESTABLISHED || lab_fail "endpoint $s: $(lab_pw_endpoint_state r1 $s)"
    # One session interface and its bridge (the killed agent's bridge was reused).
    n=$(ip -n "$P-$s" -o link show | grep -cE '^[0-9]+: pw-r1b?[:@]')
    [ "$n" = 2 ] || lab_fail "site $s has $n pw-r1 interfaces: $(lab_extra_links $s)"
  done
done

# A clean stop (SIGTERM) tears down instead (StopCCN, RFC 3931 §7.2): b sees its session
# end at once, not after its HELLOs go unanswered; a restart converges the same way.
lab_log "SIGTERM agent a"
lab_kill_agent a TERM
lab_wait 2 "b's endpoint of r1 down after a's StopCCN" lab_pw_endpoint_is_not r1 b SESSION_ESTABLISHED ||
  lab_fail "b still established 2 s after a stopped cleanly: $(lab_pw_endpoint_state r1 b)"
grep -q "StopCCN received" "$LAB_DIR/agent-b.log" || lab_fail "b saw no StopCCN from a"
lab_start_agent a
lab_wait 20 "r1 UP again" lab_pw_is r1 UP || lab_fail "r1 not UP after a clean restart of a"
lab_wait_ping a b 10 || lab_fail "no ping across r1 after a clean restart of a"
lab_pass "both agents killed (-9) and restarted in turn, then one stopped cleanly (StopCCN) and restarted; r1 converged each time"
