#!/usr/bin/env bash
# Integration: the two-site demo as a test, on the binaries of the build under test. A
# pseudowire created through pwctl comes up on both agents, a ping crosses it, and deletion
# removes its interfaces on both sites (deploy/demo.sh asserts each of these and exits 1 with
# the failing step otherwise). Real processes in network namespaces; needs root.
#   tests/integration/agent_demo.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "${1:?usage: agent_demo.sh BUILD_DIR}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=$(mktemp -d /tmp/pwire-agent-demo-test.XXXXXX)
trap 'PWIRE_DEMO_DIR=$STATE bash "$ROOT/deploy/demo.sh" --down >/dev/null 2>&1 || true' EXIT
PWIRE_BUILD_DIR=$BUILD PWIRE_DEMO_NO_BUILD=1 PWIRE_DEMO_DIR=$STATE \
  bash "$ROOT/deploy/demo.sh"
