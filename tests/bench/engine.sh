#!/usr/bin/env bash
# L2TP engine benchmark: session setups (ICRQ through ICCN, both engines, one control
# connection) per CPU-second, and engine memory per established session.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec build/bin/engine_bench "$@"
