#!/bin/bash
# Runs inside the kernel lab's VM, started by two_agents_test.sh on the host: the two-agent
# scenario of tests/integration/agent_pw_lifecycle.sh with the kernel data plane. Sites a and b
# (namespaces on a veth underlay, a customer namespace behind each, from lab_lib.sh) run
# pwire-agent --dataplane kernel; each site also has a macvlan of eth0 on qemu's user-mode
# network to reach pwire-server on the host at 10.0.2.2:PORT over mutual TLS.
# pwctl runs on the host (natively: an ASan pwctl takes seconds per call under emulation): this
# script asks for a step by printing "KLAB-HOST:apply" or "KLAB-HOST:delete" on the console,
# which the host reads, and sees the result through the agents (their metrics and the kernel).
# Once applied, the pseudowire's interface must be the kernel's l2tpeth with an L2TP session
# and tunnel behind it, a ping from customer a to customer b must cross it and the kernel's
# counters must grow; once deleted, no L2TP tunnel, session, interface or tunnel socket may be
# left on either site.
#   two_agents_vmtest.sh SOURCE_DIR BUILD_DIR PORT PKI_DIR
set -uo pipefail
SRC=$1
PORT=$3
PKI=$4
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$SRC/tests/lsan.supp:print_suppressions=0
export LAB_DATAPLANE=kernel LAB_NAME=kernel_lab_two_agents
# shellcheck source=tests/integration/lab_lib.sh
source "$SRC/tests/integration/lab_lib.sh"
lab_init "$2"
# The server runs on the host, not on lab_init's unix socket.
export PWIRE_SERVER=10.0.2.2:$PORT
# Asks the host for a step: it reads the console (see two_agents_test.sh).
host_step() { echo "KLAB-HOST:$1"; }

# The VM's side of the user-mode network, and a macvlan of it in site SITE at 10.0.2.N.
ip link set eth0 up || lab_fail "no eth0 (lab.sh --net)"
ip addr add 10.0.2.15/24 dev eth0
mgmt_link() {  # SITE N
  ip link add link eth0 name "mg-$1" type macvlan mode bridge || lab_fail "macvlan for $1"
  ip link set "mg-$1" netns "$P-$1" name mg0
  ip -n "$P-$1" addr add "10.0.2.$2/24" dev mg0
  ip -n "$P-$1" link set mg0 up
}

lab_site a 1
lab_site b 2
lab_customer a
lab_customer b
mgmt_link a 21
mgmt_link b 22
lab_ping a b && lab_fail "customer b answers before any pseudowire exists"
# Server reachable (one TCP connect from site a), then the agents; progress is polled through
# the agents' metrics (cheap) rather than pwctl (a large ASan process per call under emulation).
server_port_open() {
  ip netns exec "$P-a" bash -c "exec 3<>/dev/tcp/10.0.2.2/$PORT" 2>/dev/null
}
lab_wait 30 "10.0.2.2:$PORT (the host's pwire-server) to accept from site a" server_port_open ||
  lab_fail "the host's pwire-server is unreachable from the VM at 10.0.2.2:$PORT"
for s in a b; do
  lab_start_agent $s --tls-ca "$PKI/ca.pem" --tls-cert "$PKI/$s.pem" --tls-key "$PKI/$s.key"
done
metric_is() { [ "$(lab_metric "$1" "$2")" = "$3" ]; }
both_are() { metric_is a "$1" "$2" && metric_is b "$1" "$2"; }
lab_wait 90 "both agents connected (pwire_agent_server_connected)" \
  both_are pwire_agent_server_connected 1 || lab_fail "agents not connected to the host's server"
for s in a b; do
  grep -q "dataplane: kernel" "$LAB_DIR/agent-$s.log" || lab_fail "agent $s: no kernel data plane"
done
lab_log "both agents connected to the host's server with the kernel data plane"

t0=$(lab_now_ms)
host_step apply
lab_wait 90 "the session of pseudowire t1 established on both agents" \
  both_are 'pwire_agent_sessions{state="established"}' 1 || lab_fail "t1 not established"
lab_log "t1 established on both agents $(($(lab_now_ms) - t0)) ms after asking the host"

# Kernel objects of site SITE (the site's namespace).
l2tp_show() { ip -n "$P-$1" l2tp show "$2"; }
dev_type() { ip netns exec "$P-$1" sed -n 's/^DEVTYPE=//p' "/sys/class/net/$2/uevent"; }
rx_packets() { ip -n "$P-$1" -j -s link show pw-t1 | jq -r '.[0].stats64.rx.packets'; }
# The kernel's L2TP objects: the interface is l2tp_eth's, a session names it, one tunnel.
pw_links() { ip -n "$P-a" link show pw-t1 && ip -n "$P-b" link show pw-t1; }
lab_wait 30 "interface pw-t1 in both sites" pw_links ||
  lab_fail "no pw-t1: a: $(lab_extra_links a); b: $(lab_extra_links b)"
for s in a b; do
  type=$(dev_type $s pw-t1)
  [ "$type" = l2tpeth ] || lab_fail "site $s: pw-t1 has device type '$type', not the kernel's l2tpeth"
  l2tp_show $s session | grep -q "interface name: pw-t1" ||
    lab_fail "site $s: no kernel L2TP session for pw-t1: $(l2tp_show $s session)"
  [ "$(l2tp_show $s tunnel | grep -c '^Tunnel')" = 1 ] ||
    lab_fail "site $s: expected one kernel L2TP tunnel: $(l2tp_show $s tunnel)"
done
lab_wait_ping a b 30 || lab_fail "no ping across t1"
before=$(rx_packets b)
ip netns exec "$P-ca" ping -c 5 -i 0.2 -W 2 192.168.77.2 >/dev/null || lab_fail "ping across t1 lost packets"
after=$(rx_packets b)
[ $((after - before)) -ge 5 ] ||
  lab_fail "site b's l2tp_eth pw-t1 received $((after - before)) packets for 5 pings"
lab_log "ping crossed t1: site b's kernel pw-t1 received $((after - before)) packets"

host_step delete
leftovers() {  # SITE: L2TP tunnels/sessions, extra interfaces and tunnel sockets of the site
  l2tp_show "$1" tunnel
  l2tp_show "$1" session
  lab_extra_links "$1" | grep -vx mg0
  lab_tunnel_sockets "$1"
}
nothing_left() { [ -z "$(leftovers a)$(leftovers b)" ]; }
lab_wait 60 "no L2TP tunnel, session, interface or tunnel socket left" nothing_left ||
  lab_fail "left behind: a: $(leftovers a); b: $(leftovers b)"
for s in a b; do
  [ "$(lab_metric $s pwire_agent_sessions)" = 0 ] ||
    lab_fail "site $s still counts sessions: $(lab_metrics $s | grep -E '^pwire_agent_sessions')"
  lab_agent_alive $s || lab_fail "agent $s died"
done
lab_ping a b && lab_fail "customer b still answers after the deletion"
lab_pass "kernel data plane: up, ping crossed l2tp_eth, deleted with nothing left"
