#!/usr/bin/env bash
# The smbdirect CLI against smbdirectd and against Samba smbd: every dialect, signed and sealed,
# put/get with checksums, ls, stat, mkdir, mv, rm, rmdir, shares, and the error exit codes.
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
SIZE_MB=${CLIENT_TEST_MB:-64}
start_server "" "" || { not_ok "server start"; finish; exit 1; }
start_samba || { not_ok "samba start"; finish; exit 1; }
head -c $((SIZE_MB * 1024 * 1024 + 4097)) /dev/urandom > "$WORK/local/src.bin"
SUM=$(sha256sum < "$WORK/local/src.bin" | cut -d' ' -f1)
export PASSWD=Pass-1234
for target in "smbdirectd $PORT" "samba $SAMBA_PORT"; do
  set -- $target
  name=$1 port=$2
  for mode in "3.1.1 --sign" "3.0.2 --sign" "3.0 --sign" "3.1.1 --seal" "3.0 --seal"; do
    set -- $mode
    v=$1 prot=$2
    C=("$SMBDIRECT" -q -U smbtest --vers "$v" $prot)
    A=//127.0.0.1:$port/share
    tag="$name $v $prot"
    d=d_${v}_${prot#--}
    check "$tag: mkdir" "${C[@]}" mkdir "$A/$d"
    check "$tag: put" "${C[@]}" put "$WORK/local/src.bin" "$A/$d/f.bin"
    check "$tag: ls shows it" bash -c "\"\$@\" | grep -q 'f.bin'" _ "${C[@]}" ls "$A/$d"
    check "$tag: stat size" bash -c "\"\$@\" | grep -q \"size: $((SIZE_MB * 1024 * 1024 + 4097))\"" _ "${C[@]}" stat "$A/$d/f.bin"
    rm -f "$WORK/local/back.bin"
    check "$tag: get" "${C[@]}" get "$A/$d/f.bin" "$WORK/local/back.bin"
    check "$tag: checksum" bash -c "[ \"\$(sha256sum < $WORK/local/back.bin | cut -d' ' -f1)\" = $SUM ]"
    check "$tag: mv" "${C[@]}" mv "$A/$d/f.bin" "$d/g.bin"
    check "$tag: rm" "${C[@]}" rm "$A/$d/g.bin"
    check "$tag: rmdir" "${C[@]}" rmdir "$A/$d"
  done
  # Directory trees (hundreds of entries) with -r, and server-side copy.
  T=$WORK/local/tree
  rm -rf "$T" "$WORK/local/tree.back"
  mkdir -p "$T/sub/deeper" "$T/other"
  for i in $(seq 1 300); do echo "entry $i" > "$T/sub/f$i.txt"; done
  head -c 2000000 /dev/urandom > "$T/other/blob.bin"
  echo deep > "$T/sub/deeper/x"
  C=("$SMBDIRECT" -q -U smbtest)
  check "$name: put -r a tree of 303 files" "${C[@]}" put -r "$T" "//127.0.0.1:$port/share/"
  check "$name: ls shows 300 entries" bash -c "[ \$(\"\$@\" | grep -c 'f[0-9]*.txt') -eq 300 ]" _ "${C[@]}" ls "//127.0.0.1:$port/share/tree/sub"
  check "$name: get -r the tree back" "${C[@]}" get -r "//127.0.0.1:$port/share/tree" "$WORK/local/tree.back"
  check "$name: trees identical" diff -r "$T" "$WORK/local/tree.back"
  check "$name: cp (server-side copy)" "${C[@]}" cp "//127.0.0.1:$port/share/tree/other/blob.bin" tree/other/copy.bin
  rm -f "$WORK/local/copy.bin"
  check "$name: copy read back" "${C[@]}" get "//127.0.0.1:$port/share/tree/other/copy.bin" "$WORK/local/copy.bin"
  check "$name: copy identical" cmp "$T/other/blob.bin" "$WORK/local/copy.bin"
  check "$name: put of a directory without -r is refused" bash -c "! \"\$@\" put '$T' '//127.0.0.1:$port/share/' 2>/dev/null" _ "${C[@]}"
  # The interactive shell, driven from stdin as smbclient's is.
  printf 'mkdir sh\ncd sh\nput %s one.bin\ncp one.bin two.bin\nmv two.bin three.bin\nls\nget three.bin %s\nrm one.bin\nrm three.bin\ncd ..\nrmdir sh\npwd\nexit\n' \
    "$T/other/blob.bin" "$WORK/local/three.bin" | "${C[@]}" shell "//127.0.0.1:$port/share" >"$WORK/shell.out" 2>&1
  check "$name: shell session succeeds" test $? -eq 0
  check "$name: shell ls shows the copy" grep -q "three.bin" "$WORK/shell.out"
  check "$name: shell get is intact" cmp "$T/other/blob.bin" "$WORK/local/three.bin"
  printf 'cd nosuchdir\n' | "${C[@]}" shell "//127.0.0.1:$port/share" >/dev/null 2>&1
  check "$name: shell reports a failed command in its exit code" test $? -eq 6
  check "$name: shares" bash -c "\"$SMBDIRECT\" shares //127.0.0.1:$port -U smbtest | grep -q '^share'"
  "$SMBDIRECT" -q -U smbtest get "//127.0.0.1:$port/share/missing" "$WORK/local/m" >/dev/null 2>&1; rc=$?
  check "$name: missing file exits 6" test $rc -eq 6
  check "$name: no partial file left" test ! -e "$WORK/local/m" -a ! -e "$WORK/local/m.part"
  PASSWD=wrong "$SMBDIRECT" -q -U smbtest ls "//127.0.0.1:$port/share" >/dev/null 2>&1; rc=$?
  check "$name: wrong password exits 3" test $rc -eq 3
  "$SMBDIRECT" -q -U smbtest ls "//127.0.0.1:$port/nosuchshare" >/dev/null 2>&1; rc=$?
  check "$name: missing share exits 5" test $rc -eq 5
done
"$SMBDIRECT" -q -U smbtest ls "//127.0.0.1:1/share" >/dev/null 2>&1; rc=$?
check "connection refused exits 7" test $rc -eq 7
check "--help lists the commands" bash -c "\"$SMBDIRECT\" --help | grep -q 'shares //host'"
finish
