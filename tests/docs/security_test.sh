#!/usr/bin/env bash
# docs/SECURITY.md names only tests that exist: every `Suite.Test`, `fuzz_replay.x` and
# `interop.x` in its table is a test of this build's ctest list (run from the build directory).
# The list is taken from a scratch directory that includes the build's tests: ctest -N in the
# build directory itself would overwrite the LastTest.log of the run that runs this test.
set -uo pipefail
DOC=$(cd "$(dirname "$0")/../.." && pwd)/docs/SECURITY.md
BUILD=$(pwd)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/sdsecurity.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
echo "subdirs(\"$BUILD\")" > "$SCRATCH/CTestTestfile.cmake"
LIST=$(cd "$SCRATCH" && ctest -N 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: //p')
[ -n "$LIST" ] || { echo "no ctest list"; exit 1; }
fail=0 n=0
for name in $(grep '^|' "$DOC" | grep -o '`[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z0-9_]*`' | tr -d '`' | sort -u); do
  n=$((n + 1))
  if ! grep -qxF "$name" <<<"$LIST"; then echo "not a test: $name"; fail=1; fi
done
echo "$n test names checked"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
