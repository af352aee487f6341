# Shared helpers for the agent integration tests (sourced, not run): a pwire-server and
# pwire-agents in network namespaces, the way deploy/demo.sh sets them up.
#
#   underlay namespace $P-ul: bridge br0; site N's namespace $P-<site> joins it with a veth
#   (ul0 in the site, 10.77.0.N/24). A customer namespace $P-c<site> behind a site (optional)
#   has eth0 192.168.77.N/24, whose peer is cust0 in the site.
#   The server runs in the root namespace on a unix socket (it crosses namespaces).
#
# Usage:
#   source tests/integration/lab_lib.sh; lab_init BUILD_DIR
#   lab_site a 1; lab_site b 2; lab_customer a; lab_customer b
#   lab_start_server; lab_start_agent a; lab_start_agent b; lab_wait_connected 2
#   lab_pwctl apply -f FILE; lab_wait 2 "pw up" lab_pw_is pw1 UP
# Every process started is killed by pid and every namespace deleted on exit; on failure the
# last lines of each log are printed. No fixed sleeps: lab_wait polls with a deadline.

P=pwl$$
LAB_DIR=""
LAB_BUILD=""
declare -A LAB_ADDR LAB_PID
LAB_NS=()
LAB_SERVER_PID=""
LAB_OK=0
LAB_AGENT_FLAGS=${LAB_AGENT_FLAGS:-}

lab_log() { printf '[%s %s] %s\n' "$(date +%T.%3N)" "${LAB_NAME:-lab}" "$*"; }

lab_cleanup() {
  local pid
  # tshark first, with SIGINT: killed with -9 it would leave its dumpcap running.
  [ -n "${LAB_CAPTURE_PID:-}" ] && lab_stop_capture
  for pid in "${LAB_PID[@]}" $LAB_SERVER_PID; do
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  done
  for pid in "${LAB_PID[@]}" $LAB_SERVER_PID; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
  if [ "$LAB_OK" != 1 ] && [ -n "$LAB_DIR" ]; then
    local f
    for f in "$LAB_DIR"/*.log; do
      [ -f "$f" ] || continue
      if grep -q "ERROR: AddressSanitizer\|runtime error" "$f"; then
        echo "--- sanitizer report in $f"
        grep -m1 -A30 "ERROR: AddressSanitizer\|runtime error" "$f"
      fi
      echo "--- last lines of $f"
      tail -40 "$f"
    done
  fi
  local ns
  for ns in "${LAB_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "$LAB_DIR" ] && rm -rf "$LAB_DIR"
  return 0
}

# Prints the failure and exits 1 (the EXIT trap cleans up).
lab_fail() {
  lab_log "FAIL: $*"
  exit 1
}

lab_init() {
  LAB_BUILD=$(realpath "${1:?lab_init BUILD_DIR}")
  LAB_NAME=${LAB_NAME:-$(basename "$0" .sh)}
  [ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)"; exit 1; }
  for b in pwire-server pwire-agent pwctl; do
    [ -x "$LAB_BUILD/bin/$b" ] || { echo "missing $LAB_BUILD/bin/$b"; exit 1; }
  done
  LAB_DIR=$(mktemp -d "/tmp/$P.XXXXXX")
  export PWIRE_SERVER="unix://$LAB_DIR/pwire.sock"
  trap lab_cleanup EXIT
  trap 'exit 1' INT TERM
  ip netns add "$P-ul" || exit 1
  LAB_NS+=("$P-ul")
  ip -n "$P-ul" link add br0 type bridge
  ip -n "$P-ul" link set br0 up
}

# lab_site NAME N: a site namespace on the underlay with address 10.77.0.N.
lab_site() {
  local name=$1 n=$2 ns=$P-$1
  ip netns add "$ns" || lab_fail "netns add $ns"
  LAB_NS+=("$ns")
  ip -n "$ns" link set lo up
  ip link add ul0 netns "$ns" type veth peer name "p-$name" netns "$P-ul" || lab_fail "veth $name"
  ip -n "$P-ul" link set "p-$name" master br0 up
  ip -n "$ns" addr add "10.77.0.$n/24" dev ul0
  ip -n "$ns" link set ul0 up
  LAB_ADDR[$name]=10.77.0.$n
}

# lab_customer SITE: a customer namespace behind SITE (192.168.77.<site's N>).
lab_customer() {
  local site=$1 ns=$P-c$1 n=${LAB_ADDR[$1]##*.}
  ip netns add "$ns" || lab_fail "netns add $ns"
  LAB_NS+=("$ns")
  ip -n "$ns" link set lo up
  ip link add cust0 netns "$P-$site" type veth peer name eth0 netns "$ns" || lab_fail "veth c$site"
  ip -n "$P-$site" link set cust0 up
  ip -n "$ns" addr add "192.168.77.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
}

lab_pwctl() { "$LAB_BUILD/bin/pwctl" --timeout 5 "$@"; }

# Polls "$@" until it succeeds, up to SECS seconds. lab_wait SECS WHAT CMD...
lab_wait() {
  local secs=$1 what=$2
  shift 2
  local deadline=$(($(date +%s%N) / 1000000 + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    if [ $(($(date +%s%N) / 1000000)) -ge $deadline ]; then
      lab_log "timed out after ${secs}s waiting for: $what"
      return 1
    fi
    sleep 0.1
  done
}

# Milliseconds since the epoch (for measuring how long something took).
lab_now_ms() { echo $(($(date +%s%N) / 1000000)); }

lab_start_server() {
  "$LAB_BUILD/bin/pwire-server" --db "$LAB_DIR/pwire.db" --listen "$PWIRE_SERVER" \
    >>"$LAB_DIR/server.log" 2>&1 &
  LAB_SERVER_PID=$!
  lab_wait 30 "pwire-server to answer" lab_pwctl status || lab_fail "server did not start"
}

lab_stop_server() {  # [SIGNAL]
  [ -n "$LAB_SERVER_PID" ] || return 0
  kill "-${1:-TERM}" "$LAB_SERVER_PID" 2>/dev/null
  wait "$LAB_SERVER_PID" 2>/dev/null
  LAB_SERVER_PID=""
}

# lab_start_agent SITE [extra flags...]: agent "SITE" in the site's namespace.
lab_start_agent() {
  local site=$1
  shift
  local addr=${LAB_ADDR[$site]}
  # shellcheck disable=SC2086
  ip netns exec "$P-$site" "$LAB_BUILD/bin/pwire-agent" --agent-id "$site" \
    --server "$PWIRE_SERVER" --underlay "$addr" --dataplane "${LAB_DATAPLANE:-userspace}" \
    --metrics-listen "$addr:9102" --state-dir "$LAB_DIR/state-$site" --status-interval 1 \
    $LAB_AGENT_FLAGS "$@" >>"$LAB_DIR/agent-$site.log" 2>&1 &
  LAB_PID[$site]=$!
}

lab_kill_agent() {  # SITE [SIGNAL]
  local pid=${LAB_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  LAB_PID[$1]=""
}

lab_agent_alive() { kill -0 "${LAB_PID[$1]}" 2>/dev/null; }

# How many agents the server lists as connected.
lab_connected_count() {
  lab_pwctl agent list -o json 2>/dev/null |
    jq '[.agents[]? | select(.connectionState == "CONNECTED" or .connection_state == "CONNECTED")] | length'
}
lab_connected_is() { [ "$(lab_connected_count)" = "$1" ]; }
lab_wait_connected() {  # N [SECS]
  lab_wait "${2:-20}" "$1 agents connected" lab_connected_is "$1" || lab_fail "agents not connected"
}

# The server's state of a pseudowire (UP, DOWN, PENDING, ...), or "" if unknown.
lab_pw_state() {
  lab_pwctl pw get "$1" -o json 2>/dev/null | jq -r '.status.state // empty'
}
lab_pw_is() { [ "$(lab_pw_state "$1")" = "$2" ]; }

# Session state of one endpoint (agent SITE) of a pseudowire as the server shows it.
lab_pw_endpoint_state() {  # PW SITE
  lab_pwctl pw get "$1" -o json 2>/dev/null |
    jq -r --arg a "agents/$2" \
      '.status.endpoints[]? | select(.agent == $a) | (.sessionState // .session_state // empty)'
}
lab_pw_endpoint_is() { [ "$(lab_pw_endpoint_state "$1" "$2")" = "$3" ]; }
lab_pw_endpoint_is_not() { [ "$(lab_pw_endpoint_state "$1" "$2")" != "$3" ]; }

# Pseudowires listed by the server in state STATE.
lab_count_pw_state() {
  lab_pwctl pw list -o json 2>/dev/null |
    jq --arg s "$1" '[.pseudowires[]? | select(.status.state == $s)] | length'
}

# One ping from customer FROM to customer TO (192.168.77.x).
lab_ping() {  # FROM TO
  ip netns exec "$P-c$1" ping -c 1 -W 1 "192.168.77.${LAB_ADDR[$2]##*.}" >/dev/null 2>&1
}
lab_wait_ping() {  # FROM TO SECS
  lab_wait "${3:-10}" "a ping from customer $1 to customer $2" lab_ping "$1" "$2"
}

# The site's interfaces other than lo, the underlay and the customer port.
lab_extra_links() {
  ip -n "$P-$1" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' |
    grep -vxE 'lo|ul0|cust0' || true
}
# UDP sockets in the site connected to a peer (tunnel sockets; the listener is not).
lab_tunnel_sockets() {
  ip netns exec "$P-$1" ss -uanpH 2>/dev/null | awk '$5 != "*:*" && $5 !~ /:\*$/' || true
}

# The agent's Prometheus text (from inside its namespace).
lab_metrics() {
  local addr=${LAB_ADDR[$1]}
  ip netns exec "$P-$1" bash -c \
    "exec 3<>/dev/tcp/$addr/9102 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" \
    2>/dev/null
}
lab_metric() {  # SITE NAME_PREFIX: the sum of the samples whose line starts with it
  lab_metrics "$1" | awk -v p="$2" 'index($0, p) == 1 {s += $NF} END {print s + 0}'
}

# Call last: marks success (logs are not dumped).
lab_pass() {
  LAB_OK=1
  lab_log "PASS: $*"
}

# Apply files. lab_yaml_class FILE [YAML LINES...]: starts FILE with class "classes/fast"
# (small HELLO and retransmission timers, so a lost peer shows within a few seconds; extra
# lines are added to the class), then the pseudowires section.
lab_yaml_class() {
  local f=$1
  shift
  {
    echo "classes:"
    echo "  - name: classes/fast"
    echo "    encapsulation: udp"
    echo "    cookie_length: 8"
    echo "    l2_sublayer: default-sublayer"
    echo "    hello_interval: 1s"
    echo "    retransmit_timeout: 0.25s"
    echo "    retransmit_timeout_max: 0.5s"
    echo "    retransmit_retries: 4"
    local l
    for l in "$@"; do echo "    $l"; done
    echo "pseudowires:"
  } >"$f"
}
# lab_yaml_pw FILE NAME SITE1 SITE2 CIRCUIT: a dynamic Ethernet pseudowire of class fast;
# both ends join interface CIRCUIT ("br:NAME": join bridge NAME) and the session interface
# is pw-NAME.
lab_yaml_pw() {
  local f=$1 name=$2 s1=$3 s2=$4 circ=${5:-}
  local c1="" c2=""
  if [ "${circ#br:}" != "$circ" ]; then  # br:NAME: the session interface joins bridge NAME
    c1=", circuit: {bridge: ${circ#br:}, pw_interface_name: pw-$name}"
    c2=$c1
  elif [ -n "$circ" ]; then
    c1=", circuit: {interface: $circ, pw_interface_name: pw-$name}"
    c2=$c1
  fi
  cat >>"$f" <<YAML
  - name: pseudowires/$name
    spec:
      type: ethernet
      mode: dynamic
      pseudowire_class: classes/fast
      endpoints:
        - agent: {agent: agents/$s1$c1}
        - agent: {agent: agents/$s2$c2}
YAML
}

# The two-site lab most scenarios start from: sites a and b with a customer behind each, the
# server, and the agents named (default: both) started and connected.
lab_two_sites() {  # [SITE...]
  local sites=("$@") s
  [ $# -gt 0 ] || sites=(a b)
  lab_site a 1
  lab_site b 2
  lab_customer a
  lab_customer b
  lab_start_server
  for s in "${sites[@]}"; do lab_start_agent "$s"; done
  lab_wait_connected "${#sites[@]}"
}

# Starts site b's "router": a pwire-agent with no server, configured only by its file:
# the fixed part here, then its pseudowires (local_pseudowires or external_peers) from stdin.
lab_start_router() {  # < YAML
  {
    cat <<'YAML'
agent_id: router
server: none
underlay: [10.77.0.2]
dataplane: userspace
metrics_listen: "10.77.0.2:9102"
YAML
    cat
  } >"$LAB_DIR/router.yaml"
  ip netns exec "$P-b" "$LAB_BUILD/bin/pwire-agent" --config "$LAB_DIR/router.yaml" \
    --state-dir "$LAB_DIR/state-b" >>"$LAB_DIR/agent-b.log" 2>&1 &
  LAB_PID[b]=$!
}

# lab_start_serverless_agent SITE < YAML: a pwire-agent with no server at SITE, its fixed part
# here (agent_id SITE), its pseudowires and other fields from stdin (kept in SITE.yaml, so
# that a scenario may change it and send SIGHUP).
lab_start_serverless_agent() {
  local site=$1 addr=${LAB_ADDR[$1]}
  {
    printf 'agent_id: %s\nserver: none\nunderlay: [%s]\ndataplane: %s\nmetrics_listen: "%s:9102"\n' \
      "$site" "$addr" "${LAB_DATAPLANE:-userspace}" "$addr"
    cat
  } >"$LAB_DIR/$site.yaml"
  ip netns exec "$P-$site" "$LAB_BUILD/bin/pwire-agent" --config "$LAB_DIR/$site.yaml" \
    --state-dir "$LAB_DIR/state-$site" >>"$LAB_DIR/agent-$site.log" 2>&1 &
  LAB_PID[$site]=$!
}

# tshark on the underlay bridge (L2TP's UDP port) into $LAB_DIR/underlay.pcap, until
# lab_stop_capture; lab_tshark reads it (with the arguments given), lab_tshark_clean checks
# that tshark found nothing malformed in it.
LAB_CAPTURE_PID=""
lab_capture_underlay() {
  command -v tshark >/dev/null || lab_fail "tshark is not installed"
  ip netns exec "$P-ul" tshark -q -n -i br0 -f "udp port 1701" -w "$LAB_DIR/underlay.pcap" \
    >>"$LAB_DIR/tshark.log" 2>&1 &
  LAB_CAPTURE_PID=$!
  LAB_PID[tshark]=$LAB_CAPTURE_PID
  lab_wait 10 "tshark capturing" grep -q "Capturing on" "$LAB_DIR/tshark.log" ||
    lab_fail "tshark did not start"
}
lab_stop_capture() {
  [ -n "$LAB_CAPTURE_PID" ] || return 0
  kill -INT "$LAB_CAPTURE_PID" 2>/dev/null
  wait "$LAB_CAPTURE_PID" 2>/dev/null
  LAB_CAPTURE_PID=""
  LAB_PID[tshark]=""
}
lab_tshark() { tshark -n -r "$LAB_DIR/underlay.pcap" "$@" 2>/dev/null; }
# Waits until the capture (as written so far) holds a packet matching FILTER: dumpcap writes
# behind the wire, so a scenario waits for what it will judge before lab_stop_capture.
lab_capture_has() { [ -n "$(lab_tshark -Y "$1" -c 100000 | head -1)" ]; }
lab_wait_capture() {  # SECS FILTER
  lab_wait "$1" "a packet matching '$2' in the capture" lab_capture_has "$2"
}
lab_tshark_clean() {
  local bad
  bad=$(lab_tshark -Y '_ws.malformed || _ws.expert.severity >= "error"' | grep -c .)
  [ "$bad" = 0 ] || { lab_tshark -Y '_ws.malformed || _ws.expert.severity >= "error"' | head; return 1; }
}

# Applies one Ethernet pseudowire NAME between a and b on customer port cust0 (class lines as
# lab_yaml_class takes them), then waits for it to be UP and for a ping to cross it.
lab_pw_up() {  # NAME [CLASS_LINE...]
  local name=$1
  shift
  lab_yaml_class "$LAB_DIR/pw.yaml" "$@"
  lab_yaml_pw "$LAB_DIR/pw.yaml" "$name" a b cust0
  lab_pwctl apply -f "$LAB_DIR/pw.yaml" >/dev/null || lab_fail "pwctl apply"
  lab_wait 10 "$name UP" lab_pw_is "$name" UP || lab_fail "$name not UP: $(lab_pwctl pw get "$name")"
  lab_wait_ping a b 10 || lab_fail "no ping across $name"
}
