#!/usr/bin/env bash
# Integration: a static pseudowire to an external peer. Agent a is managed by pwire-server:
# pseudowire x1 (mode static) goes from its customer port to an external endpoint at
# 10.77.0.2. The "router" there is another pwire-agent with no server at all, configured only
# by its local file (local_pseudowires, as deploy/examples/agent-static-peer.yaml): session
# IDs and cookies given on both sides, no control connection. A ping crosses.
#   tests/integration/agent_external_static.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_external_static.sh BUILD_DIR}"

lab_two_sites a

# The router: server none, one local static pseudowire (what a sends to: 300, cookie
# 8899aabbccddeeff; what it sends to a: 200, cookie 0011223344556677).
lab_start_router <<'YAML'
local_pseudowires:
  - name: to-site-a
    peer_address: 10.77.0.1
    udp_port: 1701
    local_session_id: 300
    remote_session_id: 200
    local_cookie: "8899aabbccddeeff"
    remote_cookie: "0011223344556677"
    default_sublayer: true
    interface: cust0
    session_ifname: pw-static
YAML
lab_wait 10 "the router's static session interface" ip -n "$P-b" link show pw-static ||
  lab_fail "the router did not program its static pseudowire"

# Site a through the server. Cookies are bytes: base64 in the apply file
# (ABEiM0RVZnc= is 0011223344556677, iJmqu8zd7v8= is 8899aabbccddeeff).
cat >"$LAB_DIR/pw.yaml" <<'YAML'
classes:
  - name: classes/static
    encapsulation: udp
    udp_port: 1701
    cookie_length: 8
    l2_sublayer: default-sublayer
pseudowires:
  - name: pseudowires/x1
    spec:
      type: ethernet
      mode: static
      pseudowire_class: classes/static
      endpoints:
        - agent: {agent: agents/a, circuit: {interface: cust0, pw_interface_name: pw-x1}}
        - external: {address: 10.77.0.2}
      static_params:
        endpoints:
          - {session_id: 200, cookie: "ABEiM0RVZnc="}
          - {session_id: 300, cookie: "iJmqu8zd7v8="}
YAML
lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
lab_wait 10 "x1 static on agent a" lab_pw_endpoint_is x1 a SESSION_STATIC ||
  lab_fail "x1 on a: $(lab_pw_endpoint_state x1 a): $(lab_pwctl pw get x1)"
lab_wait_ping a b 10 || lab_fail "no ping across the static pseudowire"
ip netns exec "$P-ca" ping -c 5 -i 0.2 -W 1 192.168.77.2 >/dev/null || lab_fail "ping lost packets"
rx=$(lab_metric b 'pwire_agent_session_packets_total{pseudowire="local/to-site-a",direction="rx"}')
[ "$rx" -ge 5 ] 2>/dev/null || lab_fail "the router counted $rx packets received on its session"
lab_log "the router received $rx packets on its static session"
lab_pass "static pseudowire from a managed agent to an external (file-configured) agent carries a ping"
