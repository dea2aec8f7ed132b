#!/usr/bin/env bash
# smbtorture (samba-testsuite) against smbdirectd: the tests of ../shared/smbtorture-ksmbd-ci.txt
# from the suites this issue covers, one smbtorture process per test. A test that fails must be on
# tests/interop/smbtorture-expected-failures.txt (with its reason); a listed test that passes is
# reported so the list can shrink. Prints the pass count and "N passed, N failed".
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
LIST=${SMBTORTURE_LIST:-$HERE/smbtorture-tests.txt}
XFAIL=$HERE/smbtorture-expected-failures.txt
PER_TEST_TIMEOUT=${SMBTORTURE_TIMEOUT:-120}
# SMBTORTURE_SERVER=samba runs the same list against Samba's smbd (lib.sh start_samba) for
# comparison: every test is reported and counted, none is expected to fail.
if [ "${SMBTORTURE_SERVER:-}" = samba ]; then
  start_samba || { not_ok "smbd start"; finish; exit 1; }
  passed=0; failed=0
  while read -r t; do
    case "$t" in ''|\#*) continue ;; esac
    out=$(timeout "$PER_TEST_TIMEOUT" smbtorture "//127.0.0.1/share" -p "$SAMBA_PORT" -U smbtest%Pass-1234 \
          --option=torture:sharedelay=0 --format=subunit "$t" 2>&1)
    if echo "$out" | grep -q '^failure:\|^error:' || ! echo "$out" | grep -q '^success:'; then
      failed=$((failed + 1)); echo "samba fails $t"
    else
      passed=$((passed + 1)); echo "samba passes $t"
    fi
  done < "$LIST"
  echo "smbtorture against Samba: $passed passed, $failed failed"
  exit 0
fi
# Leases are off by default (docs/CONFIG.md): on here, for smb2.lease.
start_server "	smb2 leases = yes" "" || { not_ok "server start"; finish; exit 1; }
passed=0; xfailed=0; unexpected=0; xpassed=0
while read -r t; do
  case "$t" in ''|\#*) continue ;; esac
  out=$(timeout "$PER_TEST_TIMEOUT" smbtorture "//127.0.0.1/share" -p "$PORT" -U smbtest%Pass-1234 \
        --option=torture:sharedelay=0 --format=subunit "$t" 2>&1)
  # A test passes only when smbtorture says success; one that skipped (or printed nothing) did
  # not show anything and counts as a failure.
  if echo "$out" | grep -q '^failure:\|^error:' || ! echo "$out" | grep -q '^success:'; then
    result=fail
    echo "$out" | grep -q '^skip:' && echo "# $t skipped: $(echo "$out" | grep -m1 '^skip:')"
  else
    result=pass
  fi
  if cut -f1 "$XFAIL" | grep -qxF "$t"; then
    if [ $result = pass ]; then xpassed=$((xpassed + 1)); echo "XPASS $t (remove it from the expected failures)"; ok "$t (xpass)";
    else xfailed=$((xfailed + 1)); ok "$t (expected failure)"; fi
  else
    if [ $result = pass ]; then passed=$((passed + 1)); ok "$t";
    else unexpected=$((unexpected + 1)); not_ok "$t"; echo "$out" | grep -E '^(failure|error):|Expected|expected|\.c:[0-9]+' | head -8 | sed 's/^/    /'; fi
  fi
done < "$LIST"
echo "smbtorture: $passed passed, $xfailed expected failures, $xpassed unexpectedly passed, $unexpected unexpected failures"
finish
