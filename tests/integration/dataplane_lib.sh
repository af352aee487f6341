# Shared helpers for the data plane integration tests and benchmark (sourced, not run).
# Topology: customer site c1 -- host h1 ==underlay== host h2 -- customer site c2, each in its
# own network namespace named "$P-<role>", where P is a unique prefix per run.
#   underlay: 10.231.0.1/24 and fd00:231::1/64 (h1) <-> 10.231.0.2/24 and fd00:231::2/64 (h2)
#             on a veth pair; dp_start uses UNDERLAY_PREFIX (default 10.231.0.) + host number
#   customer: 192.168.231.1/24 (c1) and 192.168.231.2/24 (c2); in each host the customer veth
#             end joins bridge br0, where the data plane's session interface joins too.

P=${P:-pwdp$$}
NS_H1=$P-h1 NS_H2=$P-h2 NS_C1=$P-c1 NS_C2=$P-c2
DPTOOL=${DPTOOL:-}
PIDS=()

dp_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
  for ns in "$NS_H1" "$NS_H2" "$NS_C1" "$NS_C2"; do ip netns del "$ns" 2>/dev/null || true; done
}

# Waits until "$@" succeeds, up to $1 seconds (polling, no fixed sleeps).
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# Builds the four namespaces; $1 = underlay MTU (default 1500).
dp_topology() {
  local umtu=${1:-1500}
  for ns in "$NS_H1" "$NS_H2" "$NS_C1" "$NS_C2"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add u1 netns "$NS_H1" type veth peer name u2 netns "$NS_H2"
  ip -n "$NS_H1" link set u1 mtu "$umtu" up
  ip -n "$NS_H2" link set u2 mtu "$umtu" up
  ip -n "$NS_H1" addr add 10.231.0.1/24 dev u1
  ip -n "$NS_H2" addr add 10.231.0.2/24 dev u2
  ip -n "$NS_H1" addr add fd00:231::1/64 dev u1 nodad
  ip -n "$NS_H2" addr add fd00:231::2/64 dev u2 nodad
  local i
  for i in 1 2; do
    local h c; h=$P-h$i; c=$P-c$i
    ip link add cust netns "$h" type veth peer name eth0 netns "$c"
    ip -n "$h" link add br0 type bridge
    ip -n "$h" link set cust master br0
    ip -n "$h" link set cust up
    ip -n "$h" link set br0 up
    ip -n "$c" link set eth0 up
    ip -n "$c" addr add "192.168.231.$i/24" dev eth0
  done
}

# Starts pwire-dptool in host $1 (1 or 2) with extra flags; its JSON lines go to $P.dp$1.out.
dp_start() {
  local i=$1; shift
  local other=$((3 - i))
  local pre=${UNDERLAY_PREFIX:-10.231.0.}
  ip netns exec "$P-h$i" "$DPTOOL" --local "$pre$i" --peer "$pre$other" \
    --bridge br0 --ifname pw0 "$@" >"$OUT_DIR/$P.dp$i.out" 2>"$OUT_DIR/$P.dp$i.err" &
  PIDS+=($!)
  eval "DP_PID_$i=$!"
  wait_for 20 grep -q '"event":"ready"' "$OUT_DIR/$P.dp$i.out" || {
    echo "data plane in h$i did not start:"; cat "$OUT_DIR/$P.dp$i.err"; return 1; }
}

# Stops the data plane of host $1 and prints its statistics at exit. (Link events may come
# in between, so lines are picked by their event.)
dp_stop() {
  local pid; eval "pid=\$DP_PID_$1"
  kill -TERM "$pid"
  wait "$pid" || true
  grep '"event":"exit"' "$OUT_DIR/$P.dp$1.out" | tail -n 1
}

# Prints the current statistics JSON of host $1's data plane (SIGUSR1, then wait for the line).
dp_stats() {
  local pid f n; eval "pid=\$DP_PID_$1"; f="$OUT_DIR/$P.dp$1.out"
  n=$(grep -c '"event":"stats"' "$f" || true)
  kill -USR1 "$pid"
  wait_for 30 sh -c "[ \$(grep -c '\"event\":\"stats\"' '$f') -gt $n ]" ||
    { echo "no statistics from h$1" >&2; return 1; }
  grep '"event":"stats"' "$f" | tail -n 1
}
