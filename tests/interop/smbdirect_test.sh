#!/usr/bin/env bash
# SMB Direct on the built-in software iWARP provider over loopback: our client against smbdirectd.
# CLI get/put with checksums for every dialect (RDMA reads/writes), signed (inline), sealed (3.1.1:
# encrypted RDMA reads/writes with the RDMA encryption transform; 3.0, or the transform turned
# off: inline), the FUSE mount with -o rdma under fio --verify=crc32c, and fault cases: the server
# vanishing mid-transfer, a client vanishing mid-transfer.
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
BIG_MB=${SMBDIRECT_TEST_MB:-1024}
SMALL_MB=32
start_server "" "" || { not_ok "server start"; finish; exit 1; }
check "server listens for SMB Direct" test -n "$RDMA_PORT"
export PASSWD=Pass-1234
A=//127.0.0.1/share
R=("$SMBDIRECT" -q -U smbtest --rdma -p "$RDMA_PORT")

# Server-side SMB Direct counters of the connections closed so far.
rdma_bytes() {  # rdma_bytes read|write
  sed -n "s/.*SMB Direct .* closed: .* RDMA $1s \([0-9]*\) bytes.*/\1/p" "$WORK/server.log" | awk '{s+=$1} END {print s+0}'
}

head -c $((BIG_MB * 1024 * 1024 + 12345)) /dev/urandom > "$WORK/local/big.bin"
BIG_SUM=$(sha256sum < "$WORK/local/big.bin" | cut -d' ' -f1)
head -c $((SMALL_MB * 1024 * 1024 + 777)) /dev/urandom > "$WORK/local/small.bin"
cp "$WORK/local/small.bin" "$SHARE/small.bin"
SMALL_SUM=$(sha256sum < "$WORK/local/small.bin" | cut -d' ' -f1)
sum_of() { sha256sum < "$1" | cut -d' ' -f1; }

# 1. The big file over SMB Direct with RDMA reads and writes (3.1.1).
r0=$(rdma_bytes read); w0=$(rdma_bytes write)
check "log says RDMA transport established" bash -c "\"\$@\" 2>&1 | grep -q 'RDMA transport established with 127.0.0.1:$RDMA_PORT (soft provider'" _ \
  "$SMBDIRECT" -U smbtest --rdma -p "$RDMA_PORT" ls "$A"
check "put ${BIG_MB} MiB over SMB Direct" "${R[@]}" put "$WORK/local/big.bin" "$A/big.bin"
check "server copy intact" test "$(sum_of "$SHARE/big.bin")" = "$BIG_SUM"
check "get ${BIG_MB} MiB over SMB Direct" "${R[@]}" get "$A/big.bin" "$WORK/local/big.back"
check "checksum after get" test "$(sum_of "$WORK/local/big.back")" = "$BIG_SUM"
rm -f "$WORK/local/big.back"
sleep 0.5
r1=$(rdma_bytes read); w1=$(rdma_bytes write)
check "put went by RDMA Read (server pulled $((r1 - r0)) bytes)" test $((r1 - r0)) -ge $((BIG_MB * 1024 * 1024))
check "get went by RDMA Write (server pushed $((w1 - w0)) bytes)" test $((w1 - w0)) -ge $((BIG_MB * 1024 * 1024))

# 1b. The big file sealed (3.1.1): encrypted by RDMA with the RDMA encryption transform.
r0=$(rdma_bytes read); w0=$(rdma_bytes write)
check "sealed put ${BIG_MB} MiB (RDMA encryption transform)" "${R[@]}" --seal put "$WORK/local/big.bin" "$A/sealed.bin"
check "sealed: server copy intact" test "$(sum_of "$SHARE/sealed.bin")" = "$BIG_SUM"
check "sealed get ${BIG_MB} MiB (RDMA encryption transform)" "${R[@]}" --seal get "$A/sealed.bin" "$WORK/local/big.back"
check "sealed: checksum after get" test "$(sum_of "$WORK/local/big.back")" = "$BIG_SUM"
rm -f "$WORK/local/big.back" "$SHARE/sealed.bin"
sleep 0.5
r1=$(rdma_bytes read); w1=$(rdma_bytes write)
check "sealed put went by RDMA Read (server pulled $((r1 - r0)) bytes)" test $((r1 - r0)) -ge $((BIG_MB * 1024 * 1024))
check "sealed get went by RDMA Write (server pushed $((w1 - w0)) bytes)" test $((w1 - w0)) -ge $((BIG_MB * 1024 * 1024))

# 2. Every dialect; signing and sealing without the RDMA transform fall back to inline sends (no
# RDMA for the data); sealed 3.1.1 with the transform moves its data by RDMA.
for mode in "3.0" "3.0.2" "3.1.1" "3.1.1 --sign" "3.0 --sign" "3.1.1 --seal" "3.0 --seal" \
            "3.1.1 --seal --no-rdma-transform"; do
  set -- $mode
  v=$1
  shift
  prot="$*"
  tag="SMB Direct $v ${prot:-plain}"
  d=d_${v}_$(echo "${prot}" | tr -d ' -')
  C=("${R[@]}" --vers "$v" "$@")
  r0=$(rdma_bytes read); w0=$(rdma_bytes write)
  check "$tag: mkdir" "${C[@]}" mkdir "$A/$d"
  check "$tag: put" "${C[@]}" put "$WORK/local/small.bin" "$A/$d/f.bin"
  rm -f "$WORK/local/back.bin"
  check "$tag: get" "${C[@]}" get "$A/$d/f.bin" "$WORK/local/back.bin"
  check "$tag: checksum" test "$(sum_of "$WORK/local/back.bin")" = "$SMALL_SUM"
  check "$tag: ls" bash -c "\"\$@\" | grep -q f.bin" _ "${C[@]}" ls "$A/$d"
  check "$tag: mv" "${C[@]}" mv "$A/$d/f.bin" "$d/g.bin"
  check "$tag: rm" "${C[@]}" rm "$A/$d/g.bin"
  check "$tag: rmdir" "${C[@]}" rmdir "$A/$d"
  sleep 0.3
  r1=$(rdma_bytes read); w1=$(rdma_bytes write)
  if [ -n "$prot" ] && [ "$v $prot" != "3.1.1 --seal" ]; then
    check "$tag: data went inline (no RDMA transfer)" test $((r1 - r0 + w1 - w0)) -eq 0
  else
    check "$tag: data went by RDMA" test $((r1 - r0)) -gt 0 -a $((w1 - w0)) -gt 0
  fi
done
check "shares over SMB Direct" bash -c "\"\$@\" | grep -q '^share'" _ "${R[@]}" shares //127.0.0.1
PASSWD=wrong "${R[@]}" ls "$A" >/dev/null 2>&1; rc=$?
check "wrong password over SMB Direct exits 3" test $rc -eq 3
"$SMBDIRECT" -q -U smbtest --rdma -p 1 ls "$A" >/dev/null 2>&1; rc=$?
check "nothing listening: connection refused (exit 7)" test $rc -eq 7

# 3. The mount with -o rdma, fio with data verification.
if [ -e /dev/fuse ] && [ "$(id -u)" -eq 0 ] && command -v fio >/dev/null; then
  MNT=$WORK/mnt
  mkdir -p "$MNT"
  if "$SMBDIRECT" mount "//127.0.0.1/share" "$MNT" -o "vers=3.1.1,rdma,port=$RDMA_PORT,username=smbtest,password=Pass-1234" \
      >"$WORK/mount.log" 2>&1; then
    ok "mount -o rdma"
    check "mount log says RDMA transport established" grep -q "RDMA transport established" "$WORK/mount.log"
    check "/proc/mounts shows the share" grep -q "^//127.0.0.1/share $MNT fuse.smbdirect" /proc/mounts
    # Write jobs lay down crc32c-headed blocks (and verify them); the read jobs then read and
    # verify the very files the writes produced, with the same block size.
    FIO=(fio --directory="$MNT" --size=32M --ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1
         --verify_state_save=0 --numjobs=1)
    check "fio seqwrite 1M --verify=crc32c" "${FIO[@]}" --name=seqwrite --rw=write --bs=1M --output="$WORK/fio-sw.txt"
    check "fio seqread 1M --verify=crc32c" "${FIO[@]}" --name=seqread --rw=read --bs=1M --filename=seqwrite.0.0 --output="$WORK/fio-sr.txt"
    check "fio randwrite 4k --verify=crc32c" "${FIO[@]}" --name=randwrite --rw=randwrite --bs=4k --output="$WORK/fio-rw.txt"
    check "fio randread 4k --verify=crc32c" "${FIO[@]}" --name=randread --rw=randread --bs=4k --filename=randwrite.0.0 --output="$WORK/fio-rr.txt"
    check "copy through the mount" cp "$WORK/local/small.bin" "$MNT/m.bin"
    check "read back through the mount" test "$(sum_of "$MNT/m.bin")" = "$SMALL_SUM"
    "$SMBDIRECT" status >"$WORK/status.txt" 2>&1
    check "smbdirect status shows the SMB Direct mount" grep -q "Transport: SMB Direct (soft provider" "$WORK/status.txt"
    check "smbdirect status counts RDMA reads and writes" grep -q "READ by RDMA: [1-9][0-9]* ([1-9][0-9]* bytes)  WRITE by RDMA: [1-9]" "$WORK/status.txt"
    check "smbdirect status shows SMBD credits" grep -q "SMBD send credits: [0-9]" "$WORK/status.txt"
    check "findmnt --mtab shows rdma" bash -c "findmnt --mtab -n -o OPTIONS '$MNT' | grep -q rdma"
    fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT"
  else
    not_ok "mount -o rdma"; tail -5 "$WORK/mount.log"
  fi
  # multichannel: a TCP mount binds an SMB Direct channel to its session (the server lists its
  # interface as RDMA capable) and moves reads and writes to it.
  r0=$(rdma_bytes read); w0=$(rdma_bytes write)
  if "$SMBDIRECT" mount "//127.0.0.1/share" "$MNT" \
      -o "vers=3.1.1,port=$PORT,multichannel,max_channels=2,rdma_port=$RDMA_PORT,username=smbtest,password=Pass-1234" \
      >"$WORK/mount-mc.log" 2>&1; then
    ok "mount -o multichannel (TCP)"
    check "an SMB Direct channel was bound" grep -q "SMB Direct channel bound" "$WORK/mount-mc.log"
    check "copy in through the multichannel mount" cp "$WORK/local/small.bin" "$MNT/mc.bin"
    check "server copy intact" test "$(sum_of "$SHARE/mc.bin")" = "$SMALL_SUM"
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
    check "read back through the multichannel mount" test "$(sum_of "$MNT/mc.bin")" = "$SMALL_SUM"
    "$SMBDIRECT" status >"$WORK/status-mc.txt" 2>&1
    check "status shows both channels" bash -c "grep -q 'Transport: TCP' $WORK/status-mc.txt && grep -q 'Channel 2' $WORK/status-mc.txt"
    fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT"
    sleep 0.5
    r1=$(rdma_bytes read); w1=$(rdma_bytes write)
    check "multichannel data went by RDMA" test $((r1 - r0)) -gt 0 -a $((w1 - w0)) -gt 0
    check "the server bound the channel to the session" grep -q "bound as a new channel (rdma)" "$WORK/server.log"
  else
    not_ok "mount -o multichannel"; tail -5 "$WORK/mount-mc.log"
  fi
else
  MOUNT_SKIPPED=1
  echo "SKIPPED part: the mount checks (need root, /dev/fuse and fio)"
fi

# 4. Faults: the server vanishes mid-transfer; a client vanishes mid-transfer.
truncate -s 8G "$SHARE/huge.bin"   # sparse: the server streams zeros as fast as it can
"${R[@]}" get "$A/huge.bin" "$WORK/local/cut.bin" >/dev/null 2>&1 &
CPID=$!
# Kill the server once data is flowing (the download is landing in cut.bin.part).
for _ in $(seq 1 200); do
  [ "$(stat -c %s "$WORK/local/cut.bin.part" 2>/dev/null || echo 0)" -gt 4194304 ] && break
  sleep 0.05
done
check "download under way before the server vanishes" test "$(stat -c %s "$WORK/local/cut.bin.part" 2>/dev/null || echo 0)" -gt 0
kill -STOP "$SERVER_PID"
sleep 1
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
for _ in $(seq 1 300); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$CPID" 2>/dev/null; then not_ok "client ends when the server vanishes"; kill -KILL "$CPID"; else
  wait "$CPID"; rc=$?
  check "client fails when the server vanishes (exit $rc)" test $rc -ne 0
fi
check "no partial download left behind" test ! -e "$WORK/local/cut.bin" -a ! -e "$WORK/local/cut.bin.part"
rm -f "$SHARE/huge.bin"
start_server "" "" || { not_ok "server restart"; finish; exit 1; }
R=("$SMBDIRECT" -q -U smbtest --rdma -p "$RDMA_PORT")
"${R[@]}" put "$WORK/local/big.bin" "$A/cut.bin" >/dev/null 2>&1 &
CPID=$!
sleep 0.3
kill -KILL "$CPID"; wait "$CPID" 2>/dev/null
rm -f "$WORK/local/after.bin"
check "server keeps serving after a client vanished" "${R[@]}" get "$A/small.bin" "$WORK/local/after.bin"
check "server still alive" kill -0 "$SERVER_PID"
finish || exit 1
# Everything else passed, but part of what this test shows did not run: ctest reports a skip.
[ -z "${MOUNT_SKIPPED:-}" ] || exit 77
