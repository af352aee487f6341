#!/usr/bin/env bash
# pwire demo: a real pseudowire carrying a ping, on this one machine, in network namespaces.
#
#   customer A (pwdemoPID-ca)       site A (pwdemoPID-a)        site B (pwdemoPID-b)       customer B (pwdemoPID-cb)
#   192.168.50.1 --veth-- cust0 [pwire-agent site-a] 10.99.0.1 ==underlay== 10.99.0.2 [pwire-agent site-b] cust0 --veth-- 192.168.50.2
#
# pwire-server (SQLite, unix socket) runs in the root namespace; both agents dial it (a unix
# socket crosses network namespaces). `pwctl apply -f deploy/examples/demo.yaml` creates one
# Ethernet pseudowire; the agents negotiate it with RFC 3931 over UDP 1701 and carry frames
# through pwire's userspace data plane (TAP devices bridged with cust0). Customer A then pings
# customer B across it. Exit 0 only if the ping crossed the pseudowire.
#
#   deploy/demo.sh               run it, show status and counters, tear it down
#   deploy/demo.sh --keep        leave the lab running to explore (prints how)
#   deploy/demo.sh --down        remove what a --keep run left
#   deploy/demo.sh --pcap FILE   also capture the underlay (control and data) into FILE
# Environment: PWIRE_BUILD_DIR (default build/), PWIRE_DEMO_DIR (default /tmp/pwire-demo),
# PWIRE_DEMO_NO_BUILD=1 (use the binaries already built).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PWIRE_BUILD_DIR:-$ROOT/build}
STATE=${PWIRE_DEMO_DIR:-/tmp/pwire-demo}
PWCTL=$BUILD/bin/pwctl
SERVER=$BUILD/bin/pwire-server
AGENT=$BUILD/bin/pwire-agent
DEMO_FILE=$ROOT/deploy/examples/demo.yaml
export PWIRE_SERVER="unix://$STATE/pwire.sock"
# Namespace names are unique per run (pwdemo<pid>-a, ...), so that two demos, or a demo and
# the agent_demo test, never take each other's namespaces; $STATE/ns-prefix keeps the prefix
# for --down.
NS_PREFIX=pwdemo$$
NS_A=$NS_PREFIX-a NS_B=$NS_PREFIX-b NS_CA=$NS_PREFIX-ca NS_CB=$NS_PREFIX-cb
UNDERLAY_A=10.99.0.1 UNDERLAY_B=10.99.0.2
CUST_A=192.168.50.1 CUST_B=192.168.50.2

KEEP=0
PCAP=""
CURRENT_STEP=""

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# Runs one step; on failure says which, shows the relevant logs, tears down, exits 1.
step() {
  CURRENT_STEP=$1
  shift
  say "$CURRENT_STEP"
  if ! "$@"; then
    echo
    echo "demo: FAILED at step: $CURRENT_STEP"
    for log in server agent-a agent-b; do
      if [ -f "$STATE/$log.log" ]; then
        echo "--- last lines of $STATE/$log.log"
        tail -15 "$STATE/$log.log"
      fi
    done
    [ $KEEP -eq 1 ] || demo_down >/dev/null 2>&1
    exit 1
  fi
}

# Polls `$@` until it succeeds or `secs` pass.
wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out after ${secs}s waiting for: $what"
      return 1
    fi
    sleep 0.2
  done
}

install_deps() { bash "$ROOT/deploy/install-deps.sh"; }

build() {
  if [ -n "${PWIRE_DEMO_NO_BUILD:-}" ]; then
    echo "PWIRE_DEMO_NO_BUILD set: using $BUILD/bin as it is"
  else
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
      cmake --build "$BUILD" -j "$(nproc)" --target pwire-server pwctl pwire-agent || return 1
  fi
  for b in "$SERVER" "$PWCTL" "$AGENT"; do
    [ -x "$b" ] || { echo "missing $b"; return 1; }
  done
}

make_namespaces() {
  demo_down >/dev/null 2>&1
  mkdir -p "$STATE"
  echo "$NS_PREFIX" >"$STATE/ns-prefix"
  local ns
  for ns in $NS_A $NS_B $NS_CA $NS_CB; do
    ip netns add $ns || return 1
    ip -n $ns link set lo up
  done
  # The underlay between the two sites.
  ip link add ul-a netns $NS_A type veth peer name ul-b netns $NS_B || return 1
  ip -n $NS_A addr add $UNDERLAY_A/24 dev ul-a && ip -n $NS_A link set ul-a up
  ip -n $NS_B addr add $UNDERLAY_B/24 dev ul-b && ip -n $NS_B link set ul-b up
  # Each customer behind its site: the site's side of the veth is the attachment circuit.
  ip link add cust0 netns $NS_A type veth peer name eth0 netns $NS_CA || return 1
  ip link add cust0 netns $NS_B type veth peer name eth0 netns $NS_CB || return 1
  ip -n $NS_A link set cust0 up && ip -n $NS_B link set cust0 up
  ip -n $NS_CA addr add $CUST_A/24 dev eth0 && ip -n $NS_CA link set eth0 up
  ip -n $NS_CB addr add $CUST_B/24 dev eth0 && ip -n $NS_CB link set eth0 up
  echo "namespaces: $NS_CA ($CUST_A) | $NS_A ($UNDERLAY_A) | $NS_B ($UNDERLAY_B) | $NS_CB ($CUST_B)"
  # Before the pseudowire exists, the customers cannot reach each other.
  if ip netns exec $NS_CA ping -c 1 -W 1 $CUST_B >/dev/null 2>&1; then
    echo "customer B answers before any pseudowire exists: the lab is wrong"
    return 1
  fi
  echo "customer A cannot reach customer B yet (no pseudowire)"
}

start_capture() {
  [ -n "$PCAP" ] || return 0
  ip netns exec $NS_A tcpdump -i ul-a -U -w "$PCAP" 'udp port 1701 or ip proto 115' \
    >"$STATE/tcpdump.log" 2>&1 &
  echo $! >"$STATE/tcpdump.pid"
  wait_for 10 "tcpdump to start" grep -q listening "$STATE/tcpdump.log" || return 1
  echo "capturing the underlay into $PCAP"
}

start_server() {
  "$SERVER" --db "$STATE/pwire.db" --listen "$PWIRE_SERVER" >"$STATE/server.log" 2>&1 &
  echo $! >"$STATE/server.pid"
  wait_for 30 "pwire-server to answer on $PWIRE_SERVER" "$PWCTL" --timeout 1 status || return 1
  echo "pwire-server pid $(cat "$STATE/server.pid"), database $STATE/pwire.db"
}

start_agent() {  # site namespace address logname
  local id=$1 ns=$2 addr=$3 log=$4
  ip netns exec "$ns" "$AGENT" --agent-id "$id" --server "$PWIRE_SERVER" --underlay "$addr" \
    --dataplane userspace --metrics-listen "$addr:9102" --state-dir "$STATE/$id" \
    --status-interval 2 >"$STATE/$log.log" 2>&1 &
  echo $! >"$STATE/$log.pid"
  echo "pwire-agent $id in $ns (pid $(cat "$STATE/$log.pid")), metrics http://$addr:9102/metrics"
}

agents_connected() {
  local json
  json=$("$PWCTL" agent list -o json 2>/dev/null) || return 1
  [ "$(jq '[.agents[]? | select(.connectionState == "CONNECTED" or .connection_state == "CONNECTED")] | length' <<<"$json")" -eq 2 ]
}

start_agents() {
  start_agent site-a $NS_A $UNDERLAY_A agent-a &&
    start_agent site-b $NS_B $UNDERLAY_B agent-b || return 1
  wait_for 20 "both agents to connect to the server" agents_connected || return 1
  show "$PWCTL" agent list
}

apply_pseudowire() {
  show cat "$DEMO_FILE" | sed -n '/^classes:/,$p'
  show "$PWCTL" apply -f "$DEMO_FILE"
}

pw_up() {
  local json
  json=$("$PWCTL" pw get demo-eth -o json 2>/dev/null) || return 1
  [ "$(jq -r '.status.state // empty' <<<"$json")" = UP ]
}

wait_up() {
  local t0=$SECONDS
  if ! wait_for 20 "the pseudowire to be UP on both ends" pw_up; then
    show "$PWCTL" pw get demo-eth
    return 1
  fi
  echo "pseudowire UP on both ends after $((SECONDS - t0)) s"
}

ping_across() {
  # The first frames may race the bridge's learning: allow a few seconds, then demand a clean run.
  wait_for 10 "a first reply from customer B" \
    ip netns exec $NS_CA ping -c 1 -W 1 $CUST_B || return 1
  show ip netns exec $NS_CA ping -c 5 -i 0.2 -W 1 $CUST_B || return 1
  echo "customer A ($CUST_A) reached customer B ($CUST_B) across the pseudowire"
}

show_status() {
  show "$PWCTL" pw list
  show "$PWCTL" pw get demo-eth
  echo "$ curl -s http://$UNDERLAY_A:9102/metrics | grep pwire_agent_session  (site A)"
  ip netns exec $NS_A bash -c "exec 3<>/dev/tcp/$UNDERLAY_A/9102 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null |
    grep -E '^pwire_agent_(sessions|tunnels|session_packets)' || true
}

delete_pseudowire() {
  show "$PWCTL" pw delete demo-eth || return 1
  gone() {
    ! ip -n $NS_A link show pw-demo >/dev/null 2>&1 && ! ip -n $NS_B link show pw-demo >/dev/null 2>&1
  }
  wait_for 10 "the pseudowire interfaces to disappear on both sites" gone || return 1
  echo "pseudowire removed on both sites (interfaces gone)"
  if ip netns exec $NS_CA ping -c 1 -W 1 $CUST_B >/dev/null 2>&1; then
    echo "customer B still answers after the deletion"
    return 1
  fi
  echo "customer A can no longer reach customer B"
}

stop_pid() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  if kill "$pid" 2>/dev/null; then
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

# Stops everything a demo started; safe to run when nothing is running.
demo_down() {
  stop_pid "$STATE/tcpdump.pid"
  stop_pid "$STATE/agent-a.pid"
  stop_pid "$STATE/agent-b.pid"
  stop_pid "$STATE/server.pid"
  local ns prefix=""
  [ -f "$STATE/ns-prefix" ] && prefix=$(cat "$STATE/ns-prefix")
  if [ -n "$prefix" ]; then
    for ns in "$prefix-a" "$prefix-b" "$prefix-ca" "$prefix-cb"; do ip netns del "$ns" 2>/dev/null; done
  fi
  rm -rf "$STATE"
  echo "demo lab removed"
}

usage() { echo "usage: deploy/demo.sh [--keep | --down] [--pcap FILE]" >&2; exit 2; }

main() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --down) demo_down; exit 0 ;;
      --keep) KEEP=1 ;;
      --pcap) [ $# -ge 2 ] || usage; PCAP=$(realpath -m "$2"); shift ;;
      *) usage ;;
    esac
    shift
  done
  [ "$(id -u)" -eq 0 ] || { echo "deploy/demo.sh needs root (network namespaces)"; exit 1; }
  step "installing dependencies (deploy/install-deps.sh)" install_deps
  step "building pwire-server, pwire-agent and pwctl into build/ (RelWithDebInfo)" build
  step "making the lab: two sites, an underlay, a customer behind each site" make_namespaces
  step "capturing the underlay" start_capture
  step "starting pwire-server (SQLite in $STATE)" start_server
  step "starting the two site agents (userspace data plane)" start_agents
  step "creating the pseudowire: pwctl apply -f deploy/examples/demo.yaml" apply_pseudowire
  step "waiting for the pseudowire to come up on both ends" wait_up
  step "pinging customer B from customer A across the pseudowire" ping_across
  step "status and counters" show_status
  if [ $KEEP -eq 1 ]; then
    say "left running; explore with:"
    echo "export PWIRE_SERVER=$PWIRE_SERVER"
    echo "$PWCTL pw list; $PWCTL watch"
    echo "ip netns exec $NS_CA ping $CUST_B"
    echo "ip netns exec $NS_A bash   # site A: ip link, bridge link, curl $UNDERLAY_A:9102/metrics"
    echo "logs: $STATE/*.log"
    echo "deploy/demo.sh --down   # when done"
    say "demo: the ping crossed the pseudowire"
    exit 0
  fi
  step "deleting the pseudowire: gone on both ends" delete_pseudowire
  step "tearing down" demo_down
  [ -z "$PCAP" ] || echo "capture saved: $PCAP (open it in Wireshark: l2tp)"
  say "demo: the ping crossed the pseudowire"
}

main "$@"
