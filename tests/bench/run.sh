#!/usr/bin/env bash
# Runs one benchmark and prints a "figure: value unit" line for each figure it measures.
#   tests/bench/run.sh NAME      NAME is one of the tests/bench/NAME.sh scripts
# Benchmarks use the optimized build in build/ (RelWithDebInfo), never the sanitizer build.
set -euo pipefail
cd "$(dirname "$0")/../.."
names=$(cd tests/bench && ls ./*.sh 2>/dev/null | sed 's|^\./||; s|\.sh$||' | grep -v '^run$' | tr '\n' ' ')
name=${1:-}
if [ -z "$name" ] || [ ! -f "tests/bench/$name.sh" ]; then
  echo "usage: tests/bench/run.sh NAME   (one of: ${names:-none yet})" >&2
  exit 2
fi
shift
bash deploy/install-deps.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
exec bash "tests/bench/$name.sh" "$@"
