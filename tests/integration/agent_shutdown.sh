#!/usr/bin/env bash
# Integration: an agent stopping with SIGTERM closes its control connections with a StopCCN
# (RFC 3931 §7.2: on local termination the originator MUST send one; §5.4.2 result 6,
# requester is being shut down), waits for its acknowledgement, then exits. Site a runs a
# serverless pwire-agent with an external peer entry towards the "router" at site b (another
# serverless pwire-agent, lab_start_router). tshark on the underlay bridge judges the wire:
# the StopCCN from a with result 6 follows the SIGTERM, b acknowledges it, nothing is
# malformed; the router clears its session at once (not after its keepalive gives up), and a
# exits well within its stop bound.
#   tests/integration/agent_shutdown.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_shutdown.sh BUILD_DIR}"

lab_site a 1
lab_site b 2
lab_customer a
lab_customer b
lab_capture_underlay
lab_start_router <<'YAML'
external_peers:
  - {name: to-a, peer_address: 10.77.0.1, hostname: a, remote_end_id: ext-1, role: responder,
     hello_interval_s: 30, interface: cust0, session_ifname: pw-dyn}
YAML
lab_start_serverless_agent a <<'YAML'
stop_timeout_ms: 3000
external_peers:
  - {name: to-b, peer_address: 10.77.0.2, hostname: router, remote_end_id: ext-1,
     role: initiator, hello_interval_s: 30, interface: cust0, session_ifname: pw-dyn}
YAML
lab_wait 10 "the router's session interface" ip -n "$P-b" link show pw-dyn ||
  lab_fail "the pseudowire did not come up"
lab_wait_ping a b 10 || lab_fail "no ping across the pseudowire"

t0=$(lab_now_ms)
lab_kill_agent a TERM
took=$(($(lab_now_ms) - t0))
lab_log "agent a exited $took ms after SIGTERM"
[ "$took" -lt 3000 ] || lab_fail "agent a took $took ms to exit (bound 3000 ms)"
# HELLO every 30 s: without the StopCCN the router would keep the session for a minute.
lab_wait 2 "the router's session gone" eval '! ip -n "$P-b" link show pw-dyn' ||
  lab_fail "the router kept its session after a's SIGTERM"

lab_wait_capture 5 'l2tp.avp.message_type == 4' ||
  lab_fail "no StopCCN in the capture"
lab_stop_capture
stops=$(lab_tshark -Y 'l2tp.avp.message_type == 4' -T fields -e ip.src -e l2tp.result_code)
lab_log "StopCCNs on the wire: ${stops:-none}"
# One StopCCN (a retransmission of it, §4.2, carries the same), from a, result 6.
[ -n "$stops" ] || lab_fail "no StopCCN on the wire"
[ "$(printf '%s\n' "$stops" | tr '\t' ' ' | sort -u)" = "10.77.0.1 6" ] ||
  lab_fail "expected StopCCN from 10.77.0.1 with result 6 only (RFC 3931 §5.4.2): $stops"
lab_tshark_clean || lab_fail "tshark found malformed packets"
grep -q "every StopCCN acknowledged" "$LAB_DIR/agent-a.log" ||
  lab_fail "agent a did not see its StopCCN acknowledged"
lab_pass "SIGTERM: StopCCN result 6 on the wire, acknowledged, the router cleared its session, exit in $took ms"
