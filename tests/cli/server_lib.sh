#!/usr/bin/env bash
# Shared by the pwctl integration scripts (sourced, not run): a temp dir $tmp removed on exit
# with every process in $pids, pass/fail counting, a free TCP port, and pwire-server started
# in the background and polled (with a deadline) until pwctl gets an answer.
# Needs $SERVER (the pwire-server binary) and TMP_PREFIX set before sourcing.

tmp=$(mktemp -d "/tmp/${TMP_PREFIX}.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok:   $*"; }

# free_port: a TCP port nothing listens on right now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server ARGS...: pwire-server on $tmp/pwire.db with ARGS, output in $tmp/server.log;
# sets server_pid.
start_server() {
  "$SERVER" --db "$tmp/pwire.db" "$@" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
}

# wait_answering CMD...: runs CMD (a pwctl call) every 0.1 s until it succeeds; exits the
# script with the server log if the server died or 30 s passed. CMD's stderr is in $tmp/err.
wait_answering() {
  local deadline=$((SECONDS + 30))
  until "$@" >"$tmp/out" 2>"$tmp/err"; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "FAIL: pwire-server exited at start:"; cat "$tmp/server.log"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL: pwire-server did not answer within 30 s:"
      cat "$tmp/err" "$tmp/server.log"; exit 1
    fi
    sleep 0.1
  done
}
