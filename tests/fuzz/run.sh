#!/usr/bin/env bash
# Builds every libFuzzer target with clang into build-fuzz/ and runs each for a bounded
# time (FUZZ_SECONDS, default 60) on a copy of its seed corpus (corpus/<target>/). Fails on
# any crash, timeout or sanitizer report; the reproducer lands in build-fuzz/artifacts/.
#   tests/fuzz/run.sh                 all targets
#   FUZZ_SECONDS=10 tests/fuzz/run.sh l2tp_message_fuzz
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
BUILD=$ROOT/build-fuzz

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPWIRE_FUZZ=ON >/dev/null
mapfile -t all < <(cd tests/fuzz && ls -- *_fuzz.cc | sed 's/\.cc$//')
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
nice cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/artifacts"
failed=()
for t in "${targets[@]}"; do
  work=$BUILD/corpus/$t
  seeds=$ROOT/tests/fuzz/corpus/$t
  mkdir -p "$work" "$seeds"
  echo "==> $t for ${SECONDS_PER_TARGET}s (seeds: $(ls "$seeds" | wc -l))"
  if ! nice "$BUILD/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
       "$work" "$seeds" >"$BUILD/$t.log" 2>&1; then
    tail -40 "$BUILD/$t.log"
    failed+=("$t")
  else
    grep -E "stat::number_of_executed_units|cov:" "$BUILD/$t.log" | tail -2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (reproducers in $BUILD/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${SECONDS_PER_TARGET}s each without a finding"
