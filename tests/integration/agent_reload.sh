#!/usr/bin/env bash
# Integration: SIGHUP makes a serverless agent read its file again and apply the difference.
# Site a's pwire-agent (no server) starts with external peer entry e1 towards the "router" at
# site b (a serverless pwire-agent that answers e1 and e2). Then, each time through SIGHUP:
# e2 is added (it comes up; e1's session is untouched: its interface and its session IDs stay,
# no CDN for it), then both are removed (a StopCCN, RFC 3931 §7.2, clears the control
# connection: tshark on the underlay sees it; the router's sessions go at once). A file that
# does not parse is refused and changes nothing.
#   tests/integration/agent_reload.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_reload.sh BUILD_DIR}"

lab_site a 1
lab_site b 2
lab_capture_underlay
lab_start_router <<'YAML'
external_peers:
  - {name: e1, peer_address: 10.77.0.1, remote_end_id: e1, role: responder, hello_interval_s: 30,
     session_ifname: pw-e1}
  - {name: e2, peer_address: 10.77.0.1, remote_end_id: e2, role: responder, hello_interval_s: 30,
     session_ifname: pw-e2}
YAML
entry() {  # NAME
  printf '  - {name: %s, peer_address: 10.77.0.2, remote_end_id: %s, role: initiator,\n' "$1" "$1"
  printf '     hello_interval_s: 30, session_ifname: pw-%s}\n' "$1"
}
lab_start_serverless_agent a < <(echo "external_peers:"; entry e1)
lab_wait 10 "e1 up on the router" ip -n "$P-b" link show pw-e1 || lab_fail "e1 did not come up"
ifindex() { ip -n "$P-$1" -o link show "$2" 2>/dev/null | cut -d: -f1; }
e1_index=$(ifindex b pw-e1)

reloads() { grep -c "reload: \|not reloaded" "$LAB_DIR/agent-a.log"; }
hup() {  # waits for the agent to log the reload (or its refusal)
  local n
  n=$(reloads)
  kill -HUP "${LAB_PID[a]}"
  lab_wait 5 "agent a reloaded" eval '[ "$(reloads)" -gt "$n" ]' ||
    lab_fail "agent a did not reload on SIGHUP"
}

{ sed -n '1,/^external_peers:/p' "$LAB_DIR/a.yaml"; entry e1; entry e2; } >"$LAB_DIR/a.new" &&
  mv "$LAB_DIR/a.new" "$LAB_DIR/a.yaml"
hup
lab_wait 10 "e2 up on the router" ip -n "$P-b" link show pw-e2 || lab_fail "e2 did not come up after SIGHUP"
[ "$(ifindex b pw-e1)" = "$e1_index" ] || lab_fail "e1's session interface was replaced"

echo "external_peers: [" >>"$LAB_DIR/a.yaml"  # not YAML any more
hup
grep -q "not reloaded" "$LAB_DIR/agent-a.log" || lab_fail "a bad file was not refused"
ip -n "$P-b" link show pw-e2 >/dev/null 2>&1 || lab_fail "a refused file changed something"

sed -i '/^external_peers:/,$d' "$LAB_DIR/a.yaml"
hup
lab_wait 3 "the router's sessions gone" eval '! ip -n "$P-b" link show pw-e1 && ! ip -n "$P-b" link show pw-e2' ||
  lab_fail "the router kept sessions after both entries were removed"
lab_agent_alive a || lab_fail "agent a exited"

lab_wait_capture 5 'l2tp.avp.message_type == 4' ||
  lab_fail "no StopCCN in the capture"
lab_stop_capture
cdns=$(lab_tshark -Y 'l2tp.avp.message_type == 14' -T fields -e ip.src | grep -c .)
stops=$(lab_tshark -Y 'l2tp.avp.message_type == 4' -T fields -e ip.src -e l2tp.result_code)
lab_log "on the wire: $cdns CDN, StopCCN: ${stops:-none}"
[ "$(printf '%s' "$stops" | tr '\t' ' ')" = "10.77.0.1 1" ] ||
  lab_fail "expected one StopCCN from 10.77.0.1 with result 1 (RFC 3931 §5.4.2): $stops"
[ "$cdns" -le 2 ] || lab_fail "$cdns CDNs: e1 was torn down while e2 was added"
lab_tshark_clean || lab_fail "tshark found malformed packets"
lab_pass "SIGHUP: e2 added (e1 untouched), a bad file refused, both removed with a StopCCN"
