#!/usr/bin/env bash
# Integration (real processes): the real pwctl binary against a real pwire-server on a temp
# SQLite database and unix socket. Proves: apply of the three-type sample file, then
# `pw list -o json` gives back the same specs; diff exits 0 (no change), 1 (changes) and >1
# (error); bad input is refused with a message naming the field; get/update/delete/status/
# watch work end to end.
# Usage: pwctl_server_test.sh PWCTL PWIRE_SERVER SOURCE_DIR
set -uo pipefail
PWCTL=$1
SERVER=$2
ROOT=$3
SAMPLE=$ROOT/deploy/examples/three-types.yaml

TMP_PREFIX=pwctl-it
# shellcheck source=tests/cli/server_lib.sh
source "$(dirname "$0")/server_lib.sh"

# run NAME EXPECTED_EXIT CMD...: runs pwctl, keeps stdout in $tmp/out and stderr in $tmp/err.
run() {
  local name=$1 want=$2
  shift 2
  "$PWCTL" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$name: exit $got, want $want (pwctl $*)"
    sed 's/^/    out: /' "$tmp/out" | head -20
    sed 's/^/    err: /' "$tmp/err" | head -20
    return 1
  fi
  pass "$name (exit $got)"
}

expect_in() {  # expect_in NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then pass "$1"; else
    fail "$1: '$3' not in $(basename "$2")"
    sed 's/^/    | /' "$2" | head -20
  fi
}

sock=$tmp/pwire.sock
start_server --listen "unix://$sock"
export PWIRE_SERVER="unix://$sock"
wait_answering "$PWCTL" --timeout 1 status
pass "pwire-server answers on $PWIRE_SERVER"

# --- apply, diff, round trip ---
run "diff before apply: changes" 1 diff -f "$SAMPLE"
expect_in "diff lists the new pseudowire" "$tmp/out" "+ pseudowires/demo-eth"
run "apply --dry-run" 0 apply -f "$SAMPLE" --dry-run
expect_in "dry run says nothing changed" "$tmp/out" "dry run, nothing changed: would create 4"
run "diff after dry run: still changes" 1 diff -f "$SAMPLE"
run "apply" 0 apply -f "$SAMPLE"
expect_in "apply created class and 3 pseudowires" "$tmp/out" "created 4, updated 0, unchanged 0"
run "diff after apply: no change" 0 diff -f "$SAMPLE"
run "apply again is idempotent" 0 apply -f "$SAMPLE" -o json
if [ "$(jq '[.changes[] | select(.action == "UNCHANGED")] | length' "$tmp/out")" = 4 ]; then
  pass "second apply: 4 unchanged"
else fail "second apply not all unchanged: $(cat "$tmp/out")"; fi

run "apply --local -o json (the file as the API request)" 0 apply -f "$SAMPLE" --local -o json
cp "$tmp/out" "$tmp/local.json"
run "pw list -o json" 0 pw list -o json
cp "$tmp/out" "$tmp/list.json"
filter='[.pseudowires[] | {name, spec}] | sort_by(.name)'
if diff <(jq -S "$filter" "$tmp/local.json") <(jq -S "$filter" "$tmp/list.json") >"$tmp/rt.diff"
then
  pass "round trip: pw list -o json gives back the specs of the file"
else
  fail "round trip: specs differ"; sed 's/^/    /' "$tmp/rt.diff" | head -40
fi
if [ "$(jq '[.pseudowires[].spec.type] | unique | length' "$tmp/list.json")" = 3 ]; then
  pass "three pseudowire types listed"
else fail "expected 3 distinct types"; fi

run "pw list (table)" 0 pw list
expect_in "table header" "$tmp/out" "NAME        TYPE            A-END                B-END                    STATE(A/B)"
expect_in "table row for demo-vlan" "$tmp/out" "site-a/veth-a2.100"
run "pw list -o wide" 0 pw list -o wide
expect_in "wide shows class" "$tmp/out" "gold"
run "pw get demo-eth -o yaml" 0 pw get demo-eth -o yaml
expect_in "get yaml names it" "$tmp/out" "name: pseudowires/demo-eth"
run "pw get demo-ppp (detail)" 0 pw get demo-ppp
expect_in "static allocation shown" "$tmp/out" "static:     session-id"
run "class list" 0 class list
expect_in "class gold" "$tmp/out" "gold   udp     1701   4"

# --- changes and diff exit 1 ---
sed 's/site A to site B, whole port/changed description/' "$SAMPLE" >"$tmp/changed.yaml"
run "diff of an edited file: changes" 1 diff -f "$tmp/changed.yaml"
expect_in "diff names the changed field" "$tmp/out" "~ pseudowires/demo-eth   spec.description"

# --- errors: diff > 1, bad input names the field ---
printf 'pseudowires:\n- name: p\n  spec:\n    type: ethernet\n    endpoints: [{agent: {agent: x, circuit: {vlan_id: big}}}]\n' \
  >"$tmp/bad.yaml"
run "apply of a bad file refused locally" 3 apply -f "$tmp/bad.yaml"
expect_in "local error names file, line and field" "$tmp/err" \
  "bad.yaml:5:55: pseudowires[0].spec.endpoints[0].agent.circuit.vlan_id: expects an integer"
run "diff of a bad file: exit > 1" 3 diff -f "$tmp/bad.yaml"
printf 'pseudowires:\n- name: vlan-without-id\n  spec:\n    type: ethernet-vlan\n    endpoints:\n    - agent: {agent: site-a, pre_provision: true, circuit: {interface: eth5}}\n    - external: {address: 192.0.2.99}\n' \
  >"$tmp/invalid.yaml"
run "diff of a file the server refuses: exit > 1" 4 diff -f "$tmp/invalid.yaml"
expect_in "server error names the field" "$tmp/err" "pseudowires[0].spec.endpoints[0].agent.circuit.vlan_id"
run "pw create with a missing VLAN id refused by the server" 4 \
  pw create bad-vlan --type ethernet-vlan --a agent=site-a,interface=eth6,pre-provision=true \
  --b peer=192.0.2.98
expect_in "create error names the field" "$tmp/err" "vlan_id"
expect_in "create error says what to do" "$tmp/err" "hint:"
run "pw create with a bad flag value refused locally" 3 \
  pw create bad-type --type ethernet-qinq --a site-a:eth7 --b site-b:eth7
expect_in "flag error names the field" "$tmp/err" "spec.type: unknown value \"ethernet-qinq\""
run "pw get of an unknown pseudowire" 4 pw get nope
expect_in "not found explained" "$tmp/err" "NOT_FOUND"

# --- create, update, delete ---
run "pw create from flags" 0 pw create extra --type ethernet \
  --a agent=site-a,interface=veth-a9,pre-provision=true --b peer=198.51.100.7,vc-id=7 \
  --label team=noc
run "pw update --description" 0 pw update extra --description "moved to rack 4" --label env=lab
run "pw get after update" 0 pw get extra -o json
if [ "$(jq -r '.spec.description + " " + .spec.labels.team + " " + .spec.labels.env' "$tmp/out")" \
   = "moved to rack 4 noc lab" ]; then pass "update changed the description, merged labels"
else fail "update not visible: $(cat "$tmp/out")"; fi
run "pw update --b keeps the A end" 0 pw update extra --b peer=198.51.100.8,vc-id=8 -o json
if [ "$(jq -r '.spec.endpoints[0].agent.circuit.interface + " " + .spec.endpoints[1].external.address' "$tmp/out")" \
   = "veth-a9 198.51.100.8" ]; then pass "endpoint update replaced only B"
else fail "endpoint update wrong: $(cat "$tmp/out")"; fi
run "pw update with a stale etag" 4 pw update extra --description x --etag stale-etag
run "class create" 0 class create silver --cookie-length 8 --l2-sublayer no-sublayer
run "class update" 0 class update silver --udp-port 1702 -o json
if [ "$(jq -r '.udp_port' "$tmp/out")" = 1702 ]; then pass "class update applied"
else fail "class update: $(cat "$tmp/out")"; fi
run "class delete of a class in use" 4 class delete gold
run "pw delete" 0 pw delete extra
run "pw get after delete" 4 pw get extra
run "class delete" 0 class delete silver

# --- status, agents, watch ---
run "status" 0 status
expect_in "status counts pseudowires" "$tmp/out" "Pseudowires:  3 total"
run "status -o json" 0 status -o json
if jq -e '.server.pseudowire_count == 3' "$tmp/out" >/dev/null; then pass "status json"
else fail "status json: $(head -c 400 "$tmp/out")"; fi
run "agent list" 0 agent list
run "watch --until-sync -o json" 0 watch --until-sync -o json
if [ "$(jq -s 'map(select(.type == "ADDED" and .kind == "PSEUDOWIRE")) | length' "$tmp/out")" = 3 ] &&
   [ "$(jq -s -r 'last | .type' "$tmp/out")" = SYNC ]; then
  pass "watch: snapshot of 3 pseudowires, then SYNC"
else fail "watch output: $(cat "$tmp/out")"; fi

echo
if [ "$failures" -gt 0 ]; then
  echo "pwctl_server_test: $failures check(s) failed; server log:"
  tail -30 "$tmp/server.log"
  exit 1
fi
echo "pwctl_server_test: all checks passed"
