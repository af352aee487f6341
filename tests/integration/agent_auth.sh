#!/usr/bin/env bash
# Integration: control message authentication (RFC 3931 §4.3, §5.4.1) between two agents
# with a class using HMAC-SHA1 and a shared secret: the responder answers with the class's
# secret, the pseudowire comes up and carries a ping, no message fails its digest check, and
# each end reports the peer's circuit status (Circuit Status AVP) as active.
#   tests/integration/agent_auth.sh BUILD_DIR
set -uo pipefail
source "$(dirname "$0")/lab_lib.sh"
lab_init "${1:?usage: agent_auth.sh BUILD_DIR}"

lab_two_sites
# Capture the underlay to show the messages really carry an HMAC-SHA1 Message Digest.
ip netns exec "$P-a" tcpdump -i ul0 --immediate-mode -U -w "$LAB_DIR/ul.pcap" udp port 1701 >"$LAB_DIR/tcpdump.log" 2>&1 &
LAB_PID[tcpdump]=$!
lab_wait 10 "tcpdump to start" grep -q listening "$LAB_DIR/tcpdump.log" || lab_fail "tcpdump"
lab_yaml_class "$LAB_DIR/pw.yaml" "control_auth: hmac-sha1" "control_secret: s3cret-for-the-lab"
lab_yaml_pw "$LAB_DIR/pw.yaml" h1 a b cust0
lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
lab_wait 10 "h1 UP" lab_pw_is h1 UP || lab_fail "h1 not UP: $(lab_pwctl pw get h1)"
lab_wait_ping a b 10 || lab_fail "no ping across h1"
for s in a b; do
  n=$(lab_metric $s pwire_agent_control_auth_failures_total)
  [ "$n" = 0 ] || lab_fail "agent $s counted $n authentication failures"
  active=$(lab_pwctl pw get h1 -o json | jq -r --arg a "agents/$s" \
    '.status.endpoints[] | select(.agent == $a) | (.remote_circuit.active // .remoteCircuit.active // false)')
  [ "$active" = true ] || lab_fail "agent $s does not report the peer's circuit active: $(lab_pwctl pw get h1 -o json)"
done
# Control packets from both ends carry a Message Digest AVP (type 59, vendor 0) with digest
# type 1 (HMAC-SHA-1, RFC 3931 §5.4.1).
lab_kill_agent tcpdump INT
signed=$(python3 - "$LAB_DIR/ul.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, srcs = 24, set()
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if b"\x00\x00\x00\x3b\x01" in pkt[42:]:  # after Ethernet, IPv4 and UDP headers
        srcs.add(pkt[26:30])
print(len(srcs))
PY
)
[ "$signed" = 2 ] || lab_fail "HMAC-SHA1 digests seen from $signed of the 2 agents"
lab_pwctl pw delete h1 >/dev/null || lab_fail "pwctl pw delete"
lab_wait 10 "h1 gone on both sites" eval '[ -z "$(lab_tunnel_sockets a)$(lab_tunnel_sockets b)" ]' ||
  lab_fail "tunnel sockets left"
lab_pass "HMAC-SHA1 authenticated pseudowire up, ping crossed, no digest failures, remote circuit active"
