#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs the whole default test suite; ends with ctest's
# summary line. Usage: scripts/test.sh [preset]   (default: dev; also asan, tsan, ci)
# `ci` runs the dev suite; as root, the interop tests again with every smbdirectd running as
# the unprivileged account nobody (SD_DAEMON_USER, tests/interop/lib.sh); every test again
# under AddressSanitizer+UBSan (the interop transfers shortened to 64 MiB and the multi-user
# stress test to 100 files per user there); then the multi-user stress test with server and
# mount built with ThreadSanitizer (200 files per user). Each stage prints ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
bash scripts/setup.sh
t0=$SECONDS
stage() { echo "== $1 (at $((SECONDS - t0)) s)"; }
run() {
  stage "$1: build and tests"
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j"$(nproc)"
  ctest --preset "$1" -j"$(nproc)" --timeout 900
}
if [ "$preset" = ci ]; then
  run dev
  if [ "$(id -u)" = 0 ]; then
    stage "interop tests with smbdirectd as nobody"
    SD_DAEMON_USER=nobody ctest --preset dev -L interop -j"$(nproc)" --timeout 900
  fi
  SMBCLIENT_TEST_MB=64 SMBDIRECT_TEST_MB=64 SDMU_FILES=100 ASAN_OPTIONS=detect_leaks=0 run asan
  stage "tsan: build and the multi-user stress test"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j"$(nproc)" --target smbdirectd smbdirect
  SDMU_FILES=200 ctest --test-dir build/tsan -R '^interop[.]multiuser_stress$' --output-on-failure --timeout 1500
else
  run "$preset"
fi
