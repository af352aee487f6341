#!/usr/bin/env bash
# Lint: clang-format (Google base, .clang-format) must leave every source unchanged, and
# clang-tidy (.clang-tidy) must pass on every translation unit of pwire's own code.
#   tests/lint.sh BUILD_DIR     BUILD_DIR holds compile_commands.json
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
mapfile -t sources < <(git ls-files -- '*.cc' '*.h' | grep -E '^(proto|server|agent|cli|tests)/')
[ ${#sources[@]} -gt 0 ] || { echo "lint: no sources"; exit 0; }

status=0
echo "lint: clang-format on ${#sources[@]} files"
if ! clang-format --dry-run -Werror "${sources[@]}"; then
  echo "lint: clang-format found differences; fix with: clang-format -i \$(git ls-files '*.cc' '*.h')"
  status=1
fi

if [ ! -f "$build/compile_commands.json" ]; then
  echo "lint: $build/compile_commands.json missing; build first (tests/run.sh does)"; exit 1
fi
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep '\.cc$' | grep -v '^tests/fuzz/')
echo "lint: clang-tidy on ${#units[@]} translation units"
if ! printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 4 \
     clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option 2>/dev/null; then
  echo "lint: clang-tidy reported problems (above)"
  status=1
fi
[ $status -eq 0 ] && echo "lint: clean"
exit $status
