#!/usr/bin/env bash
# Integration: a dynamic pseudowire to an external peer. Agent a is managed by pwire-server:
# pseudowire d1 (mode dynamic, HMAC-SHA1) goes from its customer port to an external endpoint
# at 10.77.0.2, host name "router", Remote End ID "ext-1". The "router" there is another
# pwire-agent with no server at all, configured only by its local file (external_peers, as
# deploy/examples/agent-external-peer.yaml), waiting for the SCCRQ and ICRQ of a peer named
# "a". Both ends come up through the control protocol, no digest fails, a ping crosses, and
# deleting d1 tears the session down on the router too (CDN, StopCCN).
#   tests/integration/agent_external_dynamic.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_external_dynamic.sh BUILD_DIR}"

lab_two_sites a

lab_start_router <<'YAML'
external_peers:
  - name: to-site-a
    peer_address: 10.77.0.1
    hostname: a
    remote_end_id: ext-1
    role: responder
    secret: "r0uter-s3cret"
    digest: sha1
    cookie_length: 8
    hello_interval_s: 1
    interface: cust0
    session_ifname: pw-dyn
YAML
lab_wait 10 "the router's metrics endpoint" lab_metrics b || lab_fail "the router did not start"

# The class secret is not the one used: the external peer's shared_secret overrides it.
lab_yaml_class "$LAB_DIR/pw.yaml" "control_auth: hmac-sha1" "control_secret: not-the-routers"
cat >>"$LAB_DIR/pw.yaml" <<'YAML'
  - name: pseudowires/d1
    spec:
      type: ethernet
      mode: dynamic
      pseudowire_class: classes/fast
      endpoints:
        - agent: {agent: agents/a, circuit: {interface: cust0, pw_interface_name: pw-d1}}
        - external: {address: 10.77.0.2, hostname: router, remote_end_id: ext-1, shared_secret: r0uter-s3cret}
YAML
lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
lab_wait 10 "d1 established on agent a" lab_pw_endpoint_is d1 a SESSION_ESTABLISHED ||
  lab_fail "d1 on a: $(lab_pw_endpoint_state d1 a): $(lab_pwctl pw get d1)"
lab_wait 10 "the router's session interface" ip -n "$P-b" link show pw-dyn ||
  lab_fail "the router did not program its dynamic session"
lab_wait_ping a b 10 || lab_fail "no ping across the dynamic pseudowire"
ip netns exec "$P-ca" ping -c 5 -i 0.2 -W 1 192.168.77.2 >/dev/null || lab_fail "ping lost packets"
rx=$(lab_metric b 'pwire_agent_session_packets_total{pseudowire="local/to-site-a",direction="rx"}')
[ "$rx" -ge 5 ] 2>/dev/null || lab_fail "the router counted $rx packets received on its session"
for s in a b; do
  n=$(lab_metric $s pwire_agent_control_auth_failures_total)
  [ "$n" = 0 ] || lab_fail "agent $s counted $n authentication failures"
done
lab_log "the router received $rx packets on its dynamic session"

lab_pwctl pw delete d1 >/dev/null || lab_fail "pwctl pw delete"
lab_wait 10 "the router's session gone" eval '! ip -n "$P-b" link show pw-dyn' ||
  lab_fail "the router kept its session interface"
lab_wait 10 "no tunnel socket left on a" eval '[ -z "$(lab_tunnel_sockets a)" ]' ||
  lab_fail "tunnel sockets left on a: $(lab_tunnel_sockets a)"
lab_pass "dynamic pseudowire from a managed agent to an external (file-configured) agent: up, authenticated, ping, torn down on both"
