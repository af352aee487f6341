#!/usr/bin/env bash
# API benchmark: a real pwire-server on a SQLite file on disk (durable creates: every answer
# comes after fsync), 10,000 creates kept 64 in flight, then one change fanned out to 1,000
# Watch subscribers. Prints api_creates_per_s, api_server_rss_mib, watch_fanout_1000_s.
# Run through tests/bench/run.sh api (which builds build/ first).
set -euo pipefail
cd "$(dirname "$0")/../.."
CREATES=${PWIRE_BENCH_CREATES:-10000}
CONCURRENCY=${PWIRE_BENCH_CONCURRENCY:-64}
WATCHERS=${PWIRE_BENCH_WATCHERS:-1000}
work=$(mktemp -d "$PWD/build/bench-api-XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
build/bin/pwire-server --db "$work/pwire.db" --listen "unix://$work/pwire.sock" \
  --log-level warn &
server_pid=$!
build/tests/api_bench "unix://$work/pwire.sock" "$CREATES" "$CONCURRENCY" "$WATCHERS" \
  > "$work/out.txt"
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
grep '^api_creates_per_s:' "$work/out.txt"
awk -v k="$rss_kib" 'BEGIN { printf "api_server_rss_mib: %.1f MiB\n", k / 1024 }'
grep '^watch_fanout_' "$work/out.txt"
