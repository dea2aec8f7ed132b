#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs the whole default test suite; ends with ctest's
# summary line. Usage: scripts/test.sh [preset]   (default: dev; also asan, tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
ctest --preset "$preset" -j"$(nproc)" --timeout 900
