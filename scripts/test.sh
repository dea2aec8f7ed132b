#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs the whole default test suite; ends with ctest's
# summary line. Usage: scripts/test.sh [preset]   (default: dev; also asan, tsan, ci)
# `ci` runs the dev suite, then every test again under AddressSanitizer+UBSan (the interop
# transfers shortened to 64 MiB and the multi-user stress test to 100 files per user there),
# and prints both summaries.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash scripts/setup.sh
run() {
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j"$(nproc)"
  ctest --preset "$1" -j"$(nproc)" --timeout 900
}
if [ "$preset" = ci ]; then
  run dev
  SMBCLIENT_TEST_MB=64 SMBDIRECT_TEST_MB=64 SDMU_FILES=100 ASAN_OPTIONS=detect_leaks=0 run asan
else
  run "$preset"
fi
