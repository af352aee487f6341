#!/usr/bin/env bash
# Integration (real processes): mutual TLS over TCP. A development CA from
# deploy/make-dev-ca.sh, pwire-server on 127.0.0.1 (a free port) requiring client
# certificates; pwctl with a valid client certificate succeeds, pwctl without one or with a
# certificate from another CA fails with a clear error; if a pwire-agent binary is given, the
# agent connects with its certificate and `pwctl agent list` shows it connected.
# Usage: pwctl_mtls_test.sh PWCTL PWIRE_SERVER SOURCE_DIR [PWIRE_AGENT]
set -uo pipefail
PWCTL=$1
SERVER=$2
ROOT=$3
AGENT=${4:-}

TMP_PREFIX=pwctl-mtls
# shellcheck source=tests/cli/server_lib.sh
source "$(dirname "$0")/server_lib.sh"

bash "$ROOT/deploy/make-dev-ca.sh" "$tmp/pki" --client admin --client mtls-agent >/dev/null ||
  { echo "FAIL: make-dev-ca.sh"; exit 1; }
bash "$ROOT/deploy/make-dev-ca.sh" "$tmp/other" --client admin >/dev/null ||
  { echo "FAIL: make-dev-ca.sh (second CA)"; exit 1; }
pki=$tmp/pki

port=$(free_port)
start_server --listen "unix://$tmp/pwire.sock" --listen "127.0.0.1:$port" \
  --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-ca "$pki/ca.pem"

good=(--server "127.0.0.1:$port" --tls-ca "$pki/ca.pem" --tls-cert "$pki/admin.pem"
      --tls-key "$pki/admin.key" --timeout 2)
wait_answering "$PWCTL" "${good[@]}" status
pass "pwctl with a client certificate from the server's CA: status answers"
if "$PWCTL" "${good[@]}" class create mtls-gold >"$tmp/out" 2>"$tmp/err"; then
  pass "a write over mutual TLS"
else
  fail "class create over mutual TLS"; cat "$tmp/err"
fi

# expect_refused NAME ARGS...: pwctl must fail, and say why in a way an operator can act on.
expect_refused() {
  local name=$1
  shift
  if "$PWCTL" --server "127.0.0.1:$port" --timeout 3 "$@" status >"$tmp/out" 2>"$tmp/err"; then
    fail "$name: pwctl succeeded"
    return
  fi
  if grep -qE "$grpc_log_line" "$tmp/err"; then
    fail "$name: gRPC's own log lines reached the user:"; sed 's/^/    err: /' "$tmp/err"
  elif grep -qE 'UNAVAILABLE|UNAUTHENTICATED|PERMISSION_DENIED' "$tmp/err" &&
       grep -q -- '^  hint: .*--tls' "$tmp/err"; then
    pass "$name: refused ($(head -1 "$tmp/err" | cut -c1-100))"
  else
    fail "$name: unclear error:"; sed 's/^/    err: /' "$tmp/err"
  fi
}
# A gRPC core log line: severity, MMDD, time, thread id, file:line], e.g.
# "E1125 08:49:22.123456789   4242 ssl_transport_security.cc:1420] Handshake failed ...".
grpc_log_line='^[DIWE][0-9]{4} [0-9:.]+ +[0-9]+ [^ ]+:[0-9]+\]'

expect_refused "no client certificate" --tls-ca "$pki/ca.pem"
expect_refused "client certificate from another CA" --tls-ca "$pki/ca.pem" \
  --tls-cert "$tmp/other/admin.pem" --tls-key "$tmp/other/admin.key"
expect_refused "server not trusted (other CA as --tls-ca)" --tls-ca "$tmp/other/ca.pem" \
  --tls-cert "$pki/admin.pem" --tls-key "$pki/admin.key"
# gRPC's log lines come back when the user asks for them (here pwctl's own side of the
# handshake fails: it does not trust the server's certificate).
GRPC_VERBOSITY=ERROR "$PWCTL" --server "127.0.0.1:$port" --timeout 3 \
  --tls-ca "$tmp/other/ca.pem" --tls-cert "$pki/admin.pem" --tls-key "$pki/admin.key" \
  status >"$tmp/out" 2>"$tmp/err"
if grep -qE "$grpc_log_line" "$tmp/err"; then
  pass "GRPC_VERBOSITY=ERROR shows gRPC's own log lines"
else
  fail "GRPC_VERBOSITY=ERROR: no gRPC log line:"; sed 's/^/    err: /' "$tmp/err"
fi
if "$PWCTL" --server "127.0.0.1:$port" --timeout 3 status >"$tmp/out" 2>"$tmp/err"; then
  fail "plaintext pwctl to the TLS port succeeded"
else
  pass "plaintext pwctl to the TLS port refused"
fi

if [ -n "$AGENT" ] && [ -x "$AGENT" ]; then
  "$AGENT" --server "127.0.0.1:$port" --agent-id mtls-agent --tls-ca "$pki/ca.pem" \
    --tls-cert "$pki/mtls-agent.pem" --tls-key "$pki/mtls-agent.key" --underlay 127.0.0.1 \
    --l2tp-port "$(free_port)" --dataplane userspace --metrics-listen "" \
    --state-dir "$tmp/agent-state" >"$tmp/agent.log" 2>&1 &
  pids+=($!)
  deadline=$((SECONDS + 30))
  until "$PWCTL" "${good[@]}" agent list -o json 2>/dev/null |
      jq -e '.agents[] | select(.name == "agents/mtls-agent" and (.connection_state // .connectionState) == "CONNECTED")' \
      >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      fail "the agent did not show up connected within 30 s"
      "$PWCTL" "${good[@]}" agent list -o json; sed 's/^/    agent: /' "$tmp/agent.log" | tail -20
      break
    fi
    sleep 0.2
  done
  [ $SECONDS -lt $deadline ] && pass "pwire-agent connected over mutual TLS (pwctl agent list)"
else
  echo "skip: no pwire-agent binary given; the agent part was not run"
fi

if [ "$failures" -ne 0 ]; then
  echo "server log:"; sed 's/^/    /' "$tmp/server.log" | tail -30
  echo "$failures failure(s)"
  exit 1
fi
echo "all mutual TLS checks passed"
