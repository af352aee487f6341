#!/bin/bash
# Interop: pwire's L2TPv2 engine (as LAC, via l2tp_interop_driver) against Debian's xl2tpd
# as LNS, run in the foreground on a unique 127.x.y.1 address and random port with all its
# files in a temp dir. Cases: no tunnel auth, Challenge/Response secret, wrong secret.
# xl2tpd here has no kernel L2TP/PPP support and runs pppd on a pty: the call reaches
# established at the L2TP level (ICRQ/ICRP/ICCN); we assert ICRP and our SessionUp, then
# tear down with CDN and StopCCN and assert xl2tpd acknowledges it.
# Usage: xl2tpd_test.sh PATH/TO/l2tp_interop_driver
set -u
DRIVER=${1:?usage: $0 DRIVER}
command -v xl2tpd >/dev/null || { echo "xl2tpd not installed"; exit 1; }
TMP=$(mktemp -d /tmp/pwire-interop-xl2tpd.XXXXXX)
ADDR="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).1"
PORT=$((20000 + RANDOM % 30000))
XPID=""
cleanup() {
  if [ -n "$XPID" ]; then kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# start_xl2tpd CHALLENGE(yes|no) SECRET: writes the config and waits until it listens.
start_xl2tpd() {
  local challenge=$1 secret=$2
  printf '*\t*\t%s\n' "$secret" >"$TMP/l2tp-secrets"
  chmod 600 "$TMP/l2tp-secrets"
  printf 'noauth\n' >"$TMP/options"
  cat >"$TMP/xl2tpd.conf" <<CONF
[global]
port = $PORT
listen-addr = $ADDR
auth file = $TMP/l2tp-secrets
access control = no

[lns default]
ip range = 10.213.0.2-10.213.0.20
local ip = 10.213.0.1
hostname = xl2tpd-lns
challenge = $challenge
require authentication = no
pppoptfile = $TMP/options
CONF
  rm -f "$TMP/control"
  xl2tpd -D -c "$TMP/xl2tpd.conf" -p "$TMP/pid" -C "$TMP/control" >"$TMP/xl2tpd.log" 2>&1 &
  XPID=$!
  local deadline=$((SECONDS + 10))
  until ss -Hlun "src $ADDR:$PORT" | grep -q .; do
    if ! kill -0 "$XPID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "xl2tpd did not start:"; cat "$TMP/xl2tpd.log"; exit 1
    fi
    "$DRIVER" --help >/dev/null 2>&1 || true  # a short, non-sleeping pause
  done
}
stop_xl2tpd() {
  kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null; XPID=""
}
# run_case NAME DRIVER-ARGS...: runs the driver, output in $TMP/NAME.out, rc in RC.
run_case() {
  local name=$1; shift
  "$DRIVER" --peer "$ADDR" --port "$PORT" --timeout-ms 5000 "$@" >"$TMP/$name.out" 2>&1
  RC=$?
  echo "--- $name (rc $RC)"; cat "$TMP/$name.out"
}
has() { grep -q -- "$2" "$TMP/$1.out"; }

# 1. No tunnel authentication: tunnel and call.
start_xl2tpd no unused
run_case plain --call
has plain '"type":"SCCRP"' || fail "plain: no SCCRP"
has plain '"dir":"tx","len":[0-9]*,"sent":true,"to":"[^"]*","type":"SCCCN"' || fail "plain: no SCCCN sent"
has plain '"event":"ControlConnectionUp"' || fail "plain: tunnel not up"
has plain '"type":"ICRP"' || fail "plain: ICRQ not answered with ICRP"
has plain '"event":"SessionUp"' || fail "plain: call not established at L2TP level"
has plain '"malformed":0' || fail "plain: malformed packets"
has plain '"stop_acked":true' || fail "plain: StopCCN not acknowledged"
[ $RC -eq 0 ] || fail "plain: driver rc $RC"
stop_xl2tpd

# 2. Challenge/Response with the right secret, then 3. with a wrong one.
start_xl2tpd yes interop-secret
run_case secret --secret interop-secret --call
has secret '"event":"ControlConnectionUp"' || fail "secret: tunnel not up"
has secret '"type":"ICRP"' || fail "secret: no ICRP"
has secret '"auth_failures":0' || fail "secret: auth failures"
[ $RC -eq 0 ] || fail "secret: driver rc $RC"
run_case wrong --secret not-the-secret
has wrong '"event":"ControlConnectionUp"' && fail "wrong: tunnel came up with a wrong secret"
# The LAC checks the LNS first: xl2tpd's Challenge Response in its SCCRP does not match our
# secret, so we refuse the SCCRP with StopCCN result 4 (RFC 2661 §5.1.1).
has wrong 'tunnel authentication failed' || fail "wrong: not refused for authentication"
[ $RC -ne 0 ] || fail "wrong: driver rc 0"
run_case nosecret
has nosecret '"event":"ControlConnectionUp"' && fail "nosecret: tunnel came up without a secret"
stop_xl2tpd

echo "--- xl2tpd log"; cat "$TMP/xl2tpd.log"
if [ $FAILS -ne 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
echo "PASS"
