#!/usr/bin/env bash
# Runs pwire's tests. Installs what they need, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/, then runs ctest.
#   tests/run.sh              every label: lint, unit, integration, fuzz, kernel
#   tests/run.sh LABEL        one of: unit integration kernel fuzz lint
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
labels=("$@")
[ ${#labels[@]} -gt 0 ] || labels=(lint unit integration fuzz kernel)
for l in "${labels[@]}"; do
  case "$l" in unit|integration|kernel|fuzz|lint) ;;
    *) echo "tests/run.sh: unknown label '$l' (use unit, integration, kernel, fuzz or lint)" >&2
       exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies (deploy/install-deps.sh)"
bash deploy/install-deps.sh

JOBS=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

need_asan_build() {
  for l in "${labels[@]}"; do
    case "$l" in unit|integration|kernel) return 0 ;; esac
  done
  return 1
}

if need_asan_build || [[ " ${labels[*]} " == *" lint "* ]]; then
  step "building with ASan+UBSan into build-asan/"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPWIRE_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$JOBS"
fi

failed=()
for l in "${labels[@]}"; do
  case "$l" in
    lint)
      step "lint: clang-format and clang-tidy"
      bash tests/lint.sh build-asan || failed+=(lint) ;;
    fuzz)
      step "fuzz: every libFuzzer target for a bounded time"
      bash tests/fuzz/run.sh || failed+=(fuzz) ;;
    *)
      step "ctest -L $l"
      if ! ctest --test-dir build-asan -L "^$l\$" --output-on-failure -j "$JOBS" --timeout 600 \
           --no-tests=error; then
        failed+=("$l")
      fi ;;
  esac
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "tests/run.sh: FAILED labels: ${failed[*]} (rerun one with: tests/run.sh LABEL)"
  exit 1
fi
echo "tests/run.sh: all labels passed: ${labels[*]}"
