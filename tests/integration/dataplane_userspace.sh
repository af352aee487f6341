#!/usr/bin/env bash
# Integration test of the userspace data plane in network namespaces (as root): two hosts and
# two customer sites joined by an L2TPv3 pseudowire made by pwire-dptool, over UDP and over IP.
# For each encapsulation: ping and an iperf3 transfer cross; 1500-byte frames cross unfragmented
# (ping -M do -s 1472) when the session MTU is what the data plane computes from an underlay
# sized for it; a cookie mismatch drops traffic and the receiver's counters show it; a wrong
# session id is counted as an unknown session; taking the session interface down and up is
# reported as link events.
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
# udp6: UDP over IPv6 with 8-byte cookies, the sublayer and sequencing: 40 + 8 + 8 + 8 + 4 = 68.
declare -A UNDERLAY=([udp]=$((1500 + 44 + 14)) [ip]=$((1500 + 32 + 14)) [udp6]=$((1500 + 68 + 14)))
for variant in udp ip udp6; do
  echo "== $variant"
  encap=${variant%6}
  UNDERLAY_PREFIX=10.231.0.
  C1=(--cookie 11223344 --peer-cookie a1b2c3d4 --tunnel-id 10 --peer-tunnel-id 20
      --session-id 100 --peer-session-id 200)
  C2=(--cookie a1b2c3d4 --peer-cookie 11223344 --tunnel-id 20 --peer-tunnel-id 10
      --session-id 200 --peer-session-id 100)
  if [ "$variant" = udp6 ]; then
    UNDERLAY_PREFIX=fd00:231::
    C1=("${C1[@]/11223344/1122334455667788}") C1=("${C1[@]/a1b2c3d4/a1b2c3d4e5f60718}") C1+=(--seq)
    C2=("${C2[@]/11223344/1122334455667788}") C2=("${C2[@]/a1b2c3d4/a1b2c3d4e5f60718}") C2+=(--seq)
  fi
  dp_topology "${UNDERLAY[$variant]}"
  dp_start 1 --encap "$encap" --workers 2 "${C1[@]}"
  dp_start 2 --encap "$encap" --workers 2 "${C2[@]}"
  mtu=$(field .mtu "$(grep '"event":"ready"' "$OUT_DIR/$P.dp1.out" | tail -n 1)")
  [ "$mtu" = 1500 ] || fail "computed session MTU is $mtu, expected 1500"

  wait_for 30 ip netns exec "$NS_C1" ping -c 1 -W 1 192.168.231.2 || fail "no ping over $variant"
  ip netns exec "$NS_C1" ping -c 3 -i 0.2 -W 2 -M do -s 1472 192.168.231.2 >/dev/null ||
    fail "1500-byte frames do not cross over $encap"

  ip netns exec "$NS_C2" iperf3 -s -1 -D -I "$OUT_DIR/iperf.pid"
  wait_for 10 sh -c "ip netns exec $NS_C2 ss -ltn | grep -q ':5201 '"
  ip netns exec "$NS_C1" iperf3 -c 192.168.231.2 -t 2 -J >"$OUT_DIR/iperf.json" ||
    fail "iperf3 over $encap failed"
  bps=$(jq '.end.sum_received.bits_per_second' "$OUT_DIR/iperf.json")
  echo "iperf3 over $encap: $bps bit/s"
  awk -v b="$bps" 'BEGIN { exit !(b > 1e6) }' || fail "iperf3 carried only $bps bit/s"
  stats=$(dp_stats 2) || fail "no statistics"
  [ "$(field .session.rx_packets "$stats")" -gt 1000 ] || fail "receiver counted too few packets"
  [ "$(field .session.rx_cookie_discards "$stats")" = 0 ] || fail "cookie discards with good cookies"
  echo "receiver over $variant: $(field .session.rx_packets "$stats") packets, $(field .session.rx_seq_discards "$stats") out of sequence"

  # Someone takes the session interface down: the data plane reports it as an event.
  ip -n "$NS_H1" link set pw0 down
  wait_for 30 grep -q '"event":"link_down"' "$OUT_DIR/$P.dp1.out" || fail "no link_down event"
  ip -n "$NS_H1" link set pw0 up
  wait_for 30 grep -q '"event":"link_up"' "$OUT_DIR/$P.dp1.out" || fail "no link_up event"

  # Site 2 now expects another cookie: traffic from site 1 is dropped and counted.
  dp_stop 2 >/dev/null
  dp_start 2 --encap "$encap" --workers 2 "${C2[@]/a1b2c3d4/deadbeef}"  # a wrong cookie of the same length
  if ip netns exec "$NS_C1" ping -c 3 -i 0.2 -W 1 192.168.231.2 >/dev/null; then
    fail "ping crossed with a wrong cookie"
  fi
  stats=$(dp_stats 2) || fail "no statistics"
  discards=$(field .session.rx_cookie_discards "$stats")
  [ "$discards" -ge 3 ] || fail "cookie discards $discards, expected >= 3"
  [ "$(field .session.rx_packets "$stats")" = 0 ] || fail "packets accepted with a wrong cookie"
  echo "cookie mismatch over $encap: $discards discarded"

  # Site 1 sends to a session id site 2 does not have: counted as unknown.
  dp_stop 1 >/dev/null
  dp_start 1 --encap "$encap" --workers 2 "${C1[@]/%200/999}"
  ip netns exec "$NS_C1" ping -c 2 -i 0.2 -W 1 192.168.231.2 >/dev/null || true
  stats=$(dp_stats 2) || fail "no statistics"
  unknown=$(field .global.rx_unknown_session "$stats")
  [ "$unknown" -ge 2 ] || fail "unknown-session count $unknown, expected >= 2"
  echo "unknown session over $encap: $unknown counted"
  dp_cleanup
done
echo "PASS"
