#!/usr/bin/env bash
# pwire demo: installs what it needs, builds build/ (RelWithDebInfo), starts pwire-server on a
# temporary SQLite database and unix socket, drives it with pwctl (apply the sample file, list,
# JSON, a refused bad input), and tears everything down. Exits 0 only if every step worked;
# otherwise it names the step that failed and shows the server log.
#   deploy/demo.sh            run the demo and tear it down
#   deploy/demo.sh --keep     leave the server running (prints the PWIRE_SERVER to export)
#   deploy/demo.sh --down     stop what a --keep run left behind
# Environment: PWIRE_BUILD_DIR (default build/), PWIRE_DEMO_DIR (default /tmp/pwire-demo),
# PWIRE_DEMO_NO_BUILD=1 (skip the build, use the binaries already in the build dir).
# Structure: one function per step; main() lists the steps. Extend by adding steps (agents,
# network namespaces, traffic) and their teardown to demo_down().
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PWIRE_BUILD_DIR:-$ROOT/build}
STATE=${PWIRE_DEMO_DIR:-/tmp/pwire-demo}
PWCTL=$BUILD/bin/pwctl
SERVER=$BUILD/bin/pwire-server
SAMPLE=$ROOT/deploy/examples/three-types.yaml
export PWIRE_SERVER="unix://$STATE/pwire.sock"

KEEP=0
CURRENT_STEP=""

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# Runs one step; stops the demo with a clear message when it fails.
step() {
  CURRENT_STEP=$1
  shift
  say "$CURRENT_STEP"
  if ! "$@"; then
    echo
    echo "demo: FAILED at step: $CURRENT_STEP"
    if [ -f "$STATE/server.log" ]; then
      echo "demo: last lines of the server log ($STATE/server.log):"
      tail -20 "$STATE/server.log"
    fi
    demo_down
    exit 1
  fi
}

install_deps() { bash "$ROOT/deploy/install-deps.sh"; }

build() {
  if [ -n "${PWIRE_DEMO_NO_BUILD:-}" ]; then  # developers: use the binaries in $BUILD as they are
    echo "PWIRE_DEMO_NO_BUILD set: using $BUILD/bin as it is"
    return 0
  fi
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$BUILD" -j "$(nproc)" --target pwire-server pwctl
}

start_server() {
  demo_down >/dev/null 2>&1
  mkdir -p "$STATE"
  "$SERVER" --db "$STATE/pwire.db" --listen "$PWIRE_SERVER" >"$STATE/server.log" 2>&1 &
  echo $! >"$STATE/server.pid"
  echo "pwire-server pid $(cat "$STATE/server.pid"), database $STATE/pwire.db"
  wait_for_server
}

# Polls until the server answers, with a deadline.
wait_for_server() {
  local deadline=$((SECONDS + 30))
  until "$PWCTL" --timeout 1 status >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; then
      echo "pwire-server exited"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "pwire-server did not answer on $PWIRE_SERVER within 30 s"
      return 1
    fi
    sleep 0.2
  done
  echo "pwire-server answers on $PWIRE_SERVER"
}

apply_examples() {
  show "$PWCTL" apply -f "$SAMPLE" --dry-run &&
    show "$PWCTL" apply -f "$SAMPLE" &&
    show "$PWCTL" diff -f "$SAMPLE"
}

list_pseudowires() {
  show "$PWCTL" pw list &&
    show "$PWCTL" class list &&
    show "$PWCTL" pw get demo-eth
}

list_json() {
  local json
  json=$("$PWCTL" pw list -o json) || return 1
  echo "$ $PWCTL pw list -o json | jq '.pseudowires[] | {name, type: .spec.type}'"
  jq -c '.pseudowires[] | {name, type: .spec.type}' <<<"$json" || return 1
  [ "$(jq '.pseudowires | length' <<<"$json")" -eq 3 ] ||
    { echo "expected 3 pseudowires in the JSON"; return 1; }
}

# A bad request must be refused (exit 4 from the server, 3 for a bad file) with the field.
show_validation_error() {
  local rc
  echo "$ pwctl pw create bad-vlan --type ethernet-vlan" \
    "--a agent=site-a,interface=eth5,pre-provision=true --b peer=192.0.2.9   # no VLAN id"
  "$PWCTL" pw create bad-vlan --type ethernet-vlan \
    --a agent=site-a,interface=eth5,pre-provision=true --b peer=192.0.2.9 2>"$STATE/err"
  rc=$?
  cat "$STATE/err"
  [ $rc -eq 4 ] && grep -q vlan_id "$STATE/err" ||
    { echo "expected exit 4 and a message naming vlan_id, got exit $rc"; return 1; }
  printf 'pseudowires:\n- name: typo\n  spec: {type: ethernet, modee: static}\n' >"$STATE/bad.yaml"
  echo "$ pwctl apply -f $STATE/bad.yaml   # a misspelled field"
  "$PWCTL" apply -f "$STATE/bad.yaml" 2>"$STATE/err"
  rc=$?
  cat "$STATE/err"
  [ $rc -eq 3 ] && grep -q 'spec.modee' "$STATE/err" ||
    { echo "expected exit 3 and a message naming spec.modee, got exit $rc"; return 1; }
}

show_status() { show "$PWCTL" status; }

# Stops everything a demo started; safe to run when nothing is running.
demo_down() {
  if [ -f "$STATE/server.pid" ]; then
    local pid
    pid=$(cat "$STATE/server.pid")
    kill "$pid" 2>/dev/null && echo "stopped pwire-server (pid $pid)"
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  fi
  rm -rf "$STATE"
}

main() {
  case "${1:-}" in
    --down) demo_down; exit 0 ;;
    --keep) KEEP=1 ;;
    "") ;;
    *) echo "usage: deploy/demo.sh [--keep | --down]" >&2; exit 2 ;;
  esac
  step "installing dependencies (deploy/install-deps.sh)" install_deps
  step "building pwire-server and pwctl into build/ (RelWithDebInfo)" build
  step "starting pwire-server (SQLite in $STATE, socket $STATE/pwire.sock)" start_server
  step "applying deploy/examples/three-types.yaml (a class, three pseudowire types)" \
    apply_examples
  step "listing what the server holds" list_pseudowires
  step "the same as JSON for scripts" list_json
  step "bad input is refused with the field named" show_validation_error
  step "one screen of health" show_status
  if [ $KEEP -eq 1 ]; then
    say "left running; to use it:"
    echo "export PWIRE_SERVER=$PWIRE_SERVER"
    echo "deploy/demo.sh --down   # when done"
  else
    step "tearing down" demo_down
  fi
  say "demo: every step worked"
}

main "$@"
