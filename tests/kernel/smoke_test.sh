#!/bin/bash
# Kernel lab smoke test (runs inside the VM): the lab itself works. The "l2tp" generic netlink
# family exists, and a static L2TPv3 Ethernet pseudowire made with `ip l2tp` between two
# namespaces joined by veth carries a ping; a wrong peer cookie stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

lab_two_hosts 10.0.0.1 10.0.0.2
genl ctrl list | grep -q 'Name: l2tp' || fail "no l2tp generic netlink family"
check "iproute2 has l2tp" ip l2tp show tunnel

for h in a b; do
  if [ $h = a ]; then local_ip=10.0.0.1 peer_ip=10.0.0.2 tid=1 ptid=2 sid=10 psid=20
  else local_ip=10.0.0.2 peer_ip=10.0.0.1 tid=2 ptid=1 sid=20 psid=10; fi
  in_ns $h ip l2tp add tunnel tunnel_id $tid peer_tunnel_id $ptid encap udp \
    local $local_ip remote $peer_ip udp_sport $((1700 + tid)) udp_dport $((1700 + ptid))
  in_ns $h ip l2tp add session name l2tpeth0 tunnel_id $tid session_id $sid peer_session_id $psid
done
in_ns a ip addr add 192.168.9.1/24 dev l2tpeth0
in_ns b ip addr add 192.168.9.2/24 dev l2tpeth0
in_ns a ip link set l2tpeth0 up
in_ns b ip link set l2tpeth0 up
check "ping over a static UDP pseudowire" wait_ping a 192.168.9.2

in_ns b ip l2tp del session tunnel_id 2 session_id 20
in_ns b ip l2tp add session name l2tpeth0 tunnel_id 2 session_id 20 peer_session_id 10 \
  peer_cookie 0102030405060708
in_ns b ip addr add 192.168.9.2/24 dev l2tpeth0
in_ns b ip link set l2tpeth0 up
check_fails "a wrong peer cookie drops traffic" in_ns a ping -c 2 -W 1 192.168.9.2
summary
