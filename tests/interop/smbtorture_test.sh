#!/usr/bin/env bash
# smbtorture (samba-testsuite) against smbdirectd, one smbtorture process per test of LIST:
# smbtorture-tests.txt (the tests of ../shared/smbtorture-ksmbd-ci.txt from the suites we cover)
# or smbtorture-notify-tests.txt (interop.smbtorture_notify). A test that fails must be on
# tests/interop/smbtorture-expected-failures.txt (with its reason); a listed test that passes is
# reported so the list can shrink. Then the tests of LIST whose names begin with COMPARE (default
# smb2.notify, which ksmbd's list does not cover) run against Samba's smbd in the same run: both
# counts are printed, and smbdirectd must pass at least as many. Prints "N passed, N failed".
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
LIST=${SMBTORTURE_LIST:-$HERE/smbtorture-tests.txt}
XFAIL=$HERE/smbtorture-expected-failures.txt
PER_TEST_TIMEOUT=${SMBTORTURE_TIMEOUT:-120}
COMPARE=${SMBTORTURE_COMPARE-smb2.notify}
# torture PORT TEST: runs one test; prints nothing, returns 0 when smbtorture said success (a
# test that skipped or printed nothing did not show anything and counts as a failure); its
# output is left in $out.
torture() {
  out=$(timeout "$PER_TEST_TIMEOUT" smbtorture "//127.0.0.1/share" -p "$1" -U smbtest%Pass-1234 \
        --option=torture:sharedelay=0 --format=subunit "$2" 2>&1)
  ! echo "$out" | grep -q '^failure:\|^error:' && echo "$out" | grep -q '^success:'
}
in_compare() { [ -n "$COMPARE" ] && case "$1" in "$COMPARE"*) return 0 ;; esac; return 1; }
declare -A ours=()
# Leases are off by default (docs/CONFIG.md): on here, for smb2.lease.
start_server "	smb2 leases = yes" "" || { not_ok "server start"; finish; exit 1; }
passed=0; xfailed=0; unexpected=0; xpassed=0
while read -r t; do
  case "$t" in ''|\#*) continue ;; esac
  if torture "$PORT" "$t"; then
    result=pass
  else
    result=fail
    echo "$out" | grep -q '^skip:' && echo "# $t skipped: $(echo "$out" | grep -m1 '^skip:')"
  fi
  in_compare "$t" && ours[$t]=$result
  if cut -f1 "$XFAIL" | grep -qxF "$t"; then
    if [ $result = pass ]; then xpassed=$((xpassed + 1)); echo "XPASS $t (remove it from the expected failures)"; ok "$t (xpass)";
    else xfailed=$((xfailed + 1)); ok "$t (expected failure)"; fi
  else
    if [ $result = pass ]; then passed=$((passed + 1)); ok "$t";
    else unexpected=$((unexpected + 1)); not_ok "$t"; echo "$out" | grep -E '^(failure|error):|Expected|expected|\.c:[0-9]+' | head -8 | sed 's/^/    /'; fi
  fi
done < "$LIST"
echo "smbtorture: $passed passed, $xfailed expected failures, $xpassed unexpectedly passed, $unexpected unexpected failures"
if [ ${#ours[@]} -gt 0 ]; then
  if start_samba; then
    n_ours=0; n_samba=0
    for t in $(printf '%s\n' "${!ours[@]}" | sort); do
      [ "${ours[$t]}" = pass ] && n_ours=$((n_ours + 1))
      if torture "$SAMBA_PORT" "$t"; then
        n_samba=$((n_samba + 1))
        [ "${ours[$t]}" = pass ] || echo "# $t: Samba passes, smbdirectd fails"
      else
        [ "${ours[$t]}" = pass ] && echo "# $t: smbdirectd passes, Samba fails"
      fi
    done
    echo "$COMPARE: smbdirectd passes $n_ours of ${#ours[@]}, Samba $(smbd --version | awk '{ print $2 }') passes $n_samba"
    check "$COMPARE: smbdirectd passes at least what Samba passes ($n_ours >= $n_samba)" test "$n_ours" -ge "$n_samba"
  else
    not_ok "smbd start (for the $COMPARE comparison)"
  fi
fi
finish
