#!/usr/bin/env bash
# Kernel lab, host side of kernel_lab_two_agents: the two-agent scenario with the kernel data
# plane. pwire-server (SQLite) runs on this host, on a unix socket and on 127.0.0.1:PORT with
# mutual TLS (a development CA from deploy/make-dev-ca.sh whose server certificate names
# 10.0.2.2). lab.sh --net boots the VM, in which two_agents_vmtest.sh runs two agents with the
# kernel data plane that reach this server at 10.0.2.2:PORT (qemu's user-mode network).
# pwctl runs here, natively, when the VM's console asks for it ("KLAB-HOST:apply": apply an
# Ethernet pseudowire t1 between agents a and b and wait until the server shows it UP with both
# endpoints established; "KLAB-HOST:delete": delete it, and the server must forget it).
#   tests/kernel/two_agents_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
SRC=$(realpath "${1:?usage: two_agents_test.sh SOURCE_DIR BUILD_DIR}")
BUILD=$(realpath "${2:?usage: two_agents_test.sh SOURCE_DIR BUILD_DIR}")
LAB_NAME=kernel_lab_two_agents/host
# As tests/run.sh sets them, when run by hand.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}
# lab_lib.sh's helpers for pwctl, YAML and polling (no lab_init: no namespaces on this host).
# shellcheck source=tests/integration/lab_lib.sh
source "$SRC/tests/integration/lab_lib.sh"
LAB_BUILD=$BUILD
for b in pwire-server pwire-agent pwctl; do
  [ -x "$BUILD/bin/$b" ] || { echo "FAIL: missing $BUILD/bin/$b"; exit 1; }
done

tmp=$(mktemp -d /tmp/pwire-klab-2a.XXXXXX)
export PWIRE_SERVER=unix://$tmp/pwire.sock
server_pid=""
lab_pid=""
ok=0
host_failures=()
cleanup() {
  local p
  for p in $lab_pid $server_pid; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ "$ok" != 1 ] && [ -f "$tmp/server.log" ]; then
    echo "--- last lines of the host's server.log"
    tail -30 "$tmp/server.log"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  lab_log "FAIL: $*"
  exit 1
}
host_fail() {  # a failed host step: recorded; the VM then times out waiting for its effect
  lab_log "FAIL: $*"
  host_failures+=("$*")
}

bash "$SRC/deploy/make-dev-ca.sh" "$tmp/pki" 10.0.2.2 --client a --client b >/dev/null ||
  fail "make-dev-ca.sh"

# A free port (the kernel picks it); retried if another process takes it before the server.
for attempt in 1 2 3; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BUILD/bin/pwire-server" --db "$tmp/pwire.db" --listen "$PWIRE_SERVER" \
    --listen "127.0.0.1:$port" --tls-cert "$tmp/pki/server.pem" --tls-key "$tmp/pki/server.key" \
    --tls-ca "$tmp/pki/ca.pem" >>"$tmp/server.log" 2>&1 &
  server_pid=$!
  if lab_wait 30 "pwire-server to answer" lab_pwctl status &&
     kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
  lab_log "pwire-server did not start on port $port (attempt $attempt)"
done
[ -n "$server_pid" ] || fail "pwire-server did not start"

# The host's waits end early once the VM is gone (it failed: its output says why).
vm_gone() { ! kill -0 "$lab_pid" 2>/dev/null; }
connected_or_vm_gone() { lab_connected_is 2 || vm_gone; }
up_or_vm_gone() { lab_pw_is t1 UP || vm_gone; }
step_apply() {
  if ! lab_wait 30 "the server to list agents a and b connected" connected_or_vm_gone || vm_gone
  then
    host_fail "the server lists $(lab_connected_count) agents connected, not 2"
    return
  fi
  lab_yaml_class "$tmp/pw.yaml"
  lab_yaml_pw "$tmp/pw.yaml" t1 a b cust0
  local t0
  t0=$(lab_now_ms)
  lab_pwctl apply -f "$tmp/pw.yaml" >/dev/null || { host_fail "pwctl apply"; return; }
  if ! lab_wait 90 "pseudowire t1 UP" up_or_vm_gone || vm_gone; then
    host_fail "t1 not UP: $(lab_pwctl pw get t1)"
    return
  fi
  lab_log "t1 UP on both ends $(($(lab_now_ms) - t0)) ms after pwctl apply"
  local s
  for s in a b; do
    lab_pw_endpoint_is t1 $s SESSION_ESTABLISHED ||
      host_fail "endpoint $s of t1: $(lab_pw_endpoint_state t1 $s)"
  done
}
step_delete() {
  lab_pwctl pw delete t1 >/dev/null || { host_fail "pwctl pw delete t1"; return; }
  lab_pwctl pw get t1 >/dev/null 2>&1 && host_fail "pwctl still shows t1 after its deletion"
  lab_log "t1 deleted"
}
# Echoes the VM's console and runs the steps it asks for (a kernel message may share the line).
drive_vm() {
  local line
  while IFS= read -r line; do
    line=${line%$'\r'}
    printf '%s\n' "$line"
    case "$line" in
      *KLAB-HOST:apply*) step_apply ;;
      *KLAB-HOST:delete*) step_delete ;;
    esac
  done
}

mkfifo "$tmp/console"
"$SRC/tests/kernel/lab.sh" --net --share "$SRC/tests" --share "$BUILD" --share "$tmp/pki" \
  --bin "$BUILD/bin/pwire-agent" --bin "$(command -v jq)" --bin "$(command -v ss)" \
  --bin "$(command -v date)" \
  "$SRC/tests/kernel/two_agents_vmtest.sh" "$SRC" "$BUILD" "$port" "$tmp/pki" \
  >"$tmp/console" 2>&1 &
lab_pid=$!
drive_vm <"$tmp/console"
wait "$lab_pid"
vm_rc=$?
lab_pid=""
[ ${#host_failures[@]} -eq 0 ] || fail "host steps failed: ${host_failures[*]}"
[ "$vm_rc" = 0 ] || fail "the scenario inside the VM failed (its output is above)"

agents=$(lab_pwctl agent list -o json | jq -r '[.agents[]?.name] | sort | join(" ")')
[ "$agents" = "agents/a agents/b" ] || fail "the server lists agents '$agents', not a and b"
pws=$(lab_pwctl pw list -o json | jq '.pseudowires // [] | length')
[ "$pws" = 0 ] || fail "the server still holds $pws pseudowire(s)"
# The server's own exit: clean, and no sanitizer report (one printed at exit leaves the exit
# status 0).
kill "$server_pid"
wait "$server_pid"
server_rc=$?
server_pid=""
[ "$server_rc" = 0 ] || fail "pwire-server exited with status $server_rc after SIGTERM"
if grep -q "Sanitizer\|runtime error" "$tmp/server.log"; then
  grep -A60 "Sanitizer\|runtime error" "$tmp/server.log"
  fail "sanitizer report in the host's server.log (above)"
fi
ok=1
lab_log "PASS: server on the host (127.0.0.1:$port), agents with the kernel data plane in the VM"
