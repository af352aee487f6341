#!/usr/bin/env bash
# Integration test of the userspace data plane in network namespaces (as root): two hosts and
# two customer sites joined by an L2TPv3 pseudowire made by pwire-dptool, over UDP and over IP.
# For each encapsulation: ping and an iperf3 transfer cross; 1500-byte frames cross unfragmented
# (ping -M do -s 1472) when the session MTU is what the data plane computes from an underlay
# sized for it; a cookie mismatch drops traffic and the receiver's counters show it; a wrong
# session id is counted as an unknown session.
#   tests/integration/dataplane_userspace.sh PATH/TO/pwire-dptool
set -euo pipefail
DPTOOL=${1:?usage: $0 PATH/TO/pwire-dptool}
OUT_DIR=$(mktemp -d)
P=pwdu$$
. "$(dirname "$0")/dataplane_lib.sh"
trap 'dp_cleanup; rm -rf "$OUT_DIR"' EXIT

fail() { echo "FAIL: $*"; for f in "$OUT_DIR"/*; do echo "--- $f"; tail -n 5 "$f"; done; exit 1; }
field() { jq -r "$1" <<<"$2"; }

# UDP over IPv4 with 4-byte cookies and the default sublayer: 20 + 8 + 8 + 4 + 4 = 44 bytes,
# plus the customer's 14-byte Ethernet header. IP: 20 + 4 + 4 + 4 = 32, plus 14.
declare -A UNDERLAY=([udp]=$((1500 + 44 + 14)) [ip]=$((1500 + 32 + 14)))
C1=(--cookie 11223344 --peer-cookie a1b2c3d4 --tunnel-id 10 --peer-tunnel-id 20
    --session-id 100 --peer-session-id 200)
C2=(--cookie a1b2c3d4 --peer-cookie 11223344 --tunnel-id 20 --peer-tunnel-id 10
    --session-id 200 --peer-session-id 100)

for encap in udp ip; do
  echo "== encap $encap"
  dp_topology "${UNDERLAY[$encap]}"
  dp_start 1 --encap "$encap" --workers 2 "${C1[@]}"
  dp_start 2 --encap "$encap" --workers 2 "${C2[@]}"
  mtu=$(field .mtu "$(tail -n 1 "$OUT_DIR/$P.dp1.out")")
  [ "$mtu" = 1500 ] || fail "computed session MTU is $mtu, expected 1500"

  wait_for 10 ip netns exec "$NS_C1" ping -c 1 -W 1 192.168.231.2 || fail "no ping over $encap"
  ip netns exec "$NS_C1" ping -c 3 -i 0.2 -W 2 -M do -s 1472 192.168.231.2 >/dev/null ||
    fail "1500-byte frames do not cross over $encap"

  ip netns exec "$NS_C2" iperf3 -s -1 -D -I "$OUT_DIR/iperf.pid"
  wait_for 10 sh -c "ip netns exec $NS_C2 ss -ltn | grep -q ':5201 '"
  ip netns exec "$NS_C1" iperf3 -c 192.168.231.2 -t 2 -J >"$OUT_DIR/iperf.json" ||
    fail "iperf3 over $encap failed"
  bps=$(jq '.end.sum_received.bits_per_second' "$OUT_DIR/iperf.json")
  echo "iperf3 over $encap: $bps bit/s"
  awk -v b="$bps" 'BEGIN { exit !(b > 1e6) }' || fail "iperf3 carried only $bps bit/s"
  stats=$(dp_stats 2)
  [ "$(field .session.rx_packets "$stats")" -gt 1000 ] || fail "receiver counted too few packets"
  [ "$(field .session.rx_cookie_discards "$stats")" = 0 ] || fail "cookie discards with good cookies"

  # Site 2 now expects another cookie: traffic from site 1 is dropped and counted.
  dp_stop 2 >/dev/null
  dp_start 2 --encap "$encap" --workers 2 "${C2[@]/a1b2c3d4/deadbeef}"
  if ip netns exec "$NS_C1" ping -c 3 -i 0.2 -W 1 192.168.231.2 >/dev/null; then
    fail "ping crossed with a wrong cookie"
  fi
  stats=$(dp_stats 2)
  discards=$(field .session.rx_cookie_discards "$stats")
  [ "$discards" -ge 3 ] || fail "cookie discards $discards, expected >= 3"
  [ "$(field .session.rx_packets "$stats")" = 0 ] || fail "packets accepted with a wrong cookie"
  echo "cookie mismatch over $encap: $discards discarded"

  # Site 1 sends to a session id site 2 does not have: counted as unknown.
  dp_stop 1 >/dev/null
  dp_start 1 --encap "$encap" --workers 2 "${C1[@]/%200/999}"
  ip netns exec "$NS_C1" ping -c 2 -i 0.2 -W 1 192.168.231.2 >/dev/null || true
  unknown=$(field .global.rx_unknown_session "$(dp_stats 2)")
  [ "$unknown" -ge 2 ] || fail "unknown-session count $unknown, expected >= 2"
  echo "unknown session over $encap: $unknown counted"
  dp_cleanup
done
echo "PASS"
