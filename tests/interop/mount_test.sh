#!/usr/bin/env bash
# The FUSE mount against smbdirectd: /proc/mounts entry, POSIX behaviour (create, write, read
# back, rename over an existing file, unlink, readdir after changes, truncate up and down, mtime
# updates), a 64 MiB checksummed copy, statfs, concurrent writers/readers/directory workers,
# cache=strict coherence (a change made on the server outside SMB), cache=none reconnect,
# cache=loose writeback, umount. With leases on: directory workers, a directory renamed above a
# cached file, and the lease checks (caching, a second client's change seen after its lease
# break, written data seen by the second client after close) against smbdirectd over TCP and
# over SMB Direct, then against Samba smbd.
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
[ -e /dev/fuse ] || { echo "SKIPPED: no /dev/fuse"; exit 77; }
start_server "" "" || { not_ok "server start"; finish; exit 1; }
MNT=$WORK/mnt
mkdir -p "$MNT"
unmount() { mountpoint -q "$MNT" && umount "$MNT"; }
trap 'unmount; cleanup' EXIT
check "mount" env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$PORT,vers=3.1.1,actimeo=0,sign"
check "/proc/mounts shows source and type" grep -q "^//127.0.0.1/share $MNT fuse.smbdirect " /proc/mounts
check "create and write" bash -c "echo hello > $MNT/a.txt"
check "read back" bash -c "[ \"\$(cat $MNT/a.txt)\" = hello ]"
check "visible on the server" bash -c "[ \"\$(cat $SHARE/a.txt)\" = hello ]"
echo other > "$MNT/b.txt"
check "rename over an existing file" mv -f "$MNT/a.txt" "$MNT/b.txt"
check "renamed content" bash -c "[ \"\$(cat $MNT/b.txt)\" = hello ] && [ ! -e $MNT/a.txt ]"
check "readdir after changes" bash -c "ls $MNT | grep -qx b.txt && ! ls $MNT | grep -qx a.txt"
check "truncate up" truncate -s 10000 "$MNT/b.txt"
check "size after truncate up" bash -c "[ \$(stat -c %s $MNT/b.txt) = 10000 ]"
check "truncate down" truncate -s 3 "$MNT/b.txt"
check "content after truncate down" bash -c "[ \"\$(cat $MNT/b.txt)\" = hel ]"
before=$(stat -c %Y "$MNT/b.txt")
sleep 1.1
echo more >> "$MNT/b.txt"
check "mtime updates on write" bash -c "[ \$(stat -c %Y $MNT/b.txt) -gt $before ]"
check "touch sets mtime" bash -c "touch -d '2021-05-06 07:08:09' $MNT/b.txt && [ \"\$(date -u -r $SHARE/b.txt +%F)\" = 2021-05-06 ]"
exec 7<"$MNT/b.txt"
check "unlink of an open file" rm "$MNT/b.txt"
exec 7<&-
check "gone after unlink" test ! -e "$MNT/b.txt"
check "mkdir and rmdir" bash -c "mkdir $MNT/d && [ -d $SHARE/d ] && rmdir $MNT/d && [ ! -e $SHARE/d ]"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$WORK/local/big"
check "64 MiB copy in" cp "$WORK/local/big" "$MNT/big"
check "64 MiB checksum" bash -c "cmp $WORK/local/big $MNT/big && cmp $WORK/local/big $SHARE/big"
check "statfs" bash -c "df $MNT | tail -1 | grep -q '^//127.0.0.1/share'"
# Concurrency (the mount's workers share one connection): 8 writers at once, then 8 readers at
# once, each file checked against its source; 8 shells doing directory operations at once.
for i in 1 2 3 4 5 6 7 8; do head -c $(( (6 + i) * 1024 * 1024 + i * 4097 )) /dev/urandom > "$WORK/local/p$i"; done
check "8 concurrent writers" bash -c "for i in 1 2 3 4 5 6 7 8; do dd if=$WORK/local/p\$i of=$MNT/p\$i bs=\$((64 * 1024 * i)) 2>/dev/null & done; wait"
check "8 concurrent readers, checksums" bash -c "for i in 1 2 3 4 5 6 7 8; do (cmp $WORK/local/p\$i $MNT/p\$i && cmp $WORK/local/p\$i $SHARE/p\$i) > $WORK/local/cmp\$i 2>&1 & done; wait; ! grep -q . $WORK/local/cmp*"
check "concurrent reads of one file" bash -c "for i in 1 2 3 4; do (dd if=$MNT/big bs=1M skip=\$((i * 8)) count=16 2>/dev/null | cmp - <(dd if=$WORK/local/big bs=1M skip=\$((i * 8)) count=16 2>/dev/null)) > $WORK/local/one\$i 2>&1 & done; wait; ! grep -q . $WORK/local/one*"
dirops() {  # dirops N: a private tree made, renamed, filled, listed and removed 10 times
  local d=$MNT/dir$1
  for r in $(seq 1 10); do
    mkdir "$d" && echo "$1.$r" > "$d/f" && mv "$d/f" "$d/g" && mkdir "$d/sub" && [ "$(ls "$d" | wc -l)" = 2 ] &&
      [ "$(cat "$d/g")" = "$1.$r" ] && mv "$d" "$d.moved" && rm "$d.moved/g" && rmdir "$d.moved/sub" "$d.moved" || return 1
  done
  mkdir "$d" && echo "$1" > "$d/last"
}
export -f dirops; export MNT
check "8 concurrent directory workers" bash -c "for i in 1 2 3 4 5 6 7 8; do dirops \$i > $WORK/local/dirops\$i 2>&1 || echo failed >> $WORK/local/dirops\$i & done; wait; ! grep -q . $WORK/local/dirops*"
check "directory workers' results on the server" bash -c "for i in 1 2 3 4 5 6 7 8; do [ \"\$(cat $SHARE/dir\$i/last)\" = \$i ] && [ ! -e $SHARE/dir\$i.moved ] || exit 1; done"
# cache=strict (this mount): another client's change is seen at the next open, even at the same size.
echo AAAA > "$MNT/coherent"
cat "$MNT/coherent" > /dev/null
echo BBBB > "$SHARE/coherent"
# Run as root, smbdirectd grants leases (smb2 leases = auto) and breaks them when a local process
# writes: the break reaches the mount milliseconds after the write, so the read may retry for 2 s.
check "strict: a change made on the server outside SMB is read at the next open" \
  bash -c "for i in \$(seq 1 40); do [ \"\$(cat $MNT/coherent)\" = BBBB ] && exit 0; sleep 0.05; done; exit 1"
# Reconnect: the server is killed and restarted under an open file; the mount reconnects,
# re-opens the file and the read continues.
umount "$MNT"
check "mount with cache=none" env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$PORT,vers=3.1.1,actimeo=0,cache=none"
exec 8<"$MNT/big"
dd bs=1M count=16 <&8 of="$WORK/local/part1" 2>/dev/null
check "server restarted" restart_server
dd bs=1M <&8 of="$WORK/local/part2" 2>/dev/null
exec 8<&-
check "read continues after the server restarted" bash -c "cat $WORK/local/part1 $WORK/local/part2 | cmp - $WORK/local/big"
check "the mount works after the reconnect" bash -c "ls $MNT | grep -qx big"
umount "$MNT"
# cache=loose: the kernel caches writes (writeback cache); close pushes them, fsync reports.
check "mount with cache=loose" env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$PORT,vers=3.1.1,cache=loose"
check "loose: written data is on the server after close" bash -c "cp $WORK/local/p3 $MNT/loose && cmp $WORK/local/p3 $SHARE/loose"
check "loose: concurrent writers with fsync" bash -c "for i in 1 2 3 4; do dd if=$WORK/local/p\$i of=$MNT/loose\$i bs=1M conv=fsync 2>/dev/null & done; wait; for i in 1 2 3 4; do cmp $WORK/local/p\$i $SHARE/loose\$i || exit 1; done"
check "loose: partial overwrite keeps the rest" bash -c "printf XYZ | dd of=$MNT/loose bs=1 seek=5000 conv=notrunc 2>/dev/null && sync $MNT/loose && [ \"\$(dd if=$SHARE/loose bs=1 skip=5000 count=3 2>/dev/null)\" = XYZ ] && cmp -n 5000 $WORK/local/p3 $SHARE/loose"
check "umount" umount "$MNT"
check "gone from /proc/mounts" bash -c "! grep -q ' $MNT ' /proc/mounts"
mstatus() {  # this mount's `smbdirect status` report, once it has been refreshed (every second;
  # two periods, so that a whole refresh began after the caller's last operation, even under load)
  sleep 2.2; "$SMBDIRECT" status 2>/dev/null | awk -v m=" on $MNT " '/^Mount:/ { on = index($0, m) > 0 } on'
}
reads() { mstatus | awk '$1 == "READ" && $2 ~ /^[0-9]+$/ { print $2 }'; }  # READ requests sent
# The lease checks: lease_checks LABEL SMB_PORT SHARE_DIR MOUNT_OPTIONS. cache=strict (the
# default) with actimeo=30, so that only a lease break can tell the mount of another client's
# change (attributes stay cached); the other client is smbclient (over TCP, on SMB_PORT).
# closetimeo=60: a closed file's handle (and so its lease) is kept through the checks' waits for
# the status report, however slow the machine; with the default 5 s a loaded machine lets it
# lapse and the next open rightly reads the file again.
lease_checks() {
  local L=$1 P=$2 DIR=$3
  SM="smbclient //127.0.0.1/share -p $P -U smbtest%Pass-1234 -m SMB3"
  check "$L: mount (cache=strict, actimeo=30)" env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,vers=3.1.1,actimeo=30,closetimeo=60,$4"
  printf 'AAAA-first-version\n' > "$WORK/local/v1"
  printf 'BBBB-other-client!\n' > "$WORK/local/v2"  # same size, so only the content differs
  cp "$WORK/local/v1" "$MNT/leased"
  check "$L leases: first read" bash -c "[ \"\$(cat $MNT/leased)\" = AAAA-first-version ]"
  mstatus > "$WORK/st"
  check "$L leases: a lease is held" grep -q 'Leases held: [1-9]' "$WORK/st"
  n1=$(reads)
  cat "$MNT/leased" > /dev/null; cat "$MNT/leased" > /dev/null
  n2=$(reads)
  # On a loaded machine, against Samba, one extra READ has been seen in this round (not
  # reproduced alone; Samba's late write-time update is the suspect): measured once more then.
  # A mount that does not cache across opens reads again in both rounds.
  if [ "${n1:-x}" != "${n2:-y}" ]; then
    echo "    (READs $n1 -> $n2 in the first round; once more)"
    n1=$n2
    cat "$MNT/leased" > /dev/null; cat "$MNT/leased" > /dev/null
    n2=$(reads)
  fi
  check "$L leases: later opens read from the page cache (READs $n1 -> $n2)" test "${n1:-x}" = "${n2:-y}"
  # A handle stays open (fd 7) so that the break must be acknowledged (a lease whose handles are
  # all closed ends with them); the server holds smbclient's open until then, up to 35 s.
  exec 7<"$MNT/leased"
  t0=$(date +%s%N)
  check "$L leases: smbclient overwrites the cached file" $SM -c "put $WORK/local/v2 leased"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check "$L leases: the break was acknowledged at once (smbclient took $ms ms)" test "$ms" -lt 10000
  check "$L leases: the mount reads the other client's data" bash -c "[ \"\$(cat $MNT/leased)\" = BBBB-other-client! ]"
  exec 7<&-
  mstatus > "$WORK/st"
  check "$L leases: breaks received and acknowledged" grep -q 'breaks received: [1-9][0-9]*  acknowledged: [1-9]' "$WORK/st"
  check "$L leases: the kernel's cache was invalidated" grep -q 'cache invalidations: [1-9]' "$WORK/st"
  check "$L leases: written data is visible to smbclient after close" bash -c "cp $WORK/local/p2 $MNT/wr && $SM -c 'get wr $WORK/local/wr.back' && cmp $WORK/local/p2 $WORK/local/wr.back"
  check "$L leases: smbclient deletes a file the mount just read (kept handle closed on the break)" bash -c "cat $MNT/wr > /dev/null && $SM -c 'rm wr' && [ ! -e $DIR/wr ]"
  check "$L leases: a change through the other client while the mount is idle" bash -c "cat $MNT/leased > /dev/null && sleep 1 && $SM -c 'put $WORK/local/v1 leased' && [ \"\$(cat $MNT/leased)\" = AAAA-first-version ]"
  notify_checks "$L" "$SM"
  if [ "$L" = smbdirectd ]; then
    # A file shorter than the kernel's read is read with one READ: the short answer is its end.
    head -c 1234 /dev/urandom > "$DIR/short"
    n1=$(reads)
    cat "$MNT/short" > /dev/null
    n2=$(reads)
    check "$L: a 1234-byte file is read with one READ ($n1 -> $n2)" test "$((n2 - n1))" = 1
  fi
  check "$L: umount" umount "$MNT"
}
# The mount follows change notifications: a directory it has listed and stat'ed (entries and
# attributes cached for actimeo=30) is changed by another client (create, rename, delete,
# overwrite with another size); within a second `ls -l` and stat through the mount show it.
notify_checks() {
  local L=$1 SM=$2
  mkdir "$MNT/nd" && echo keep > "$MNT/nd/keep" && echo gone > "$MNT/nd/gone" && echo old > "$MNT/nd/old"
  ls -l "$MNT/nd" > /dev/null; stat "$MNT/nd/keep" "$MNT/nd/gone" "$MNT/nd/old" > /dev/null
  head -c 3000 /dev/urandom > "$WORK/local/nd.big"
  check "$L notify: another client creates, renames, deletes and overwrites" \
    $SM -c "cd nd; put $WORK/local/nd.big new; rename old renamed; rm gone; put $WORK/local/nd.big keep"
  local t0 seen=0 want="keep:3000 new:3000 renamed:4"
  t0=$(date +%s%N)
  for _ in $(seq 1 20); do
    got=$(ls -l "$MNT/nd" 2>/dev/null | awk 'NR > 1 { printf "%s%s:%s", sep, $9, $5; sep = " " }')
    if [ "$got" = "$want" ] && ! stat "$MNT/nd/gone" > /dev/null 2>&1 && ! stat "$MNT/nd/old" > /dev/null 2>&1; then
      seen=1; break
    fi
    sleep 0.05
  done
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check "$L notify: ls -l and stat show the changes within a second ($ms ms; ls: $got)" test "$seen" = 1 -a "$ms" -lt 1000
  rm -r "$MNT/nd"
}
# Leases on smbdirectd (smb2 leases = yes): the mount keeps the handles of closed files while
# it caches them (Handle caching). Renaming a directory above such files works: the mount
# closes its own kept handles first, and the server breaks another client's Handle caching and
# waits for it before it looks for open files below.
sed -i 's/^\[global\]$/[global]\n\tsmb2 leases = yes/' "$WORK/ksmbd.conf"  # also when not root
check "server restarted with smb2 leases = yes" restart_server
check "leases on: mount (cache=strict, actimeo=30)" env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$PORT,vers=3.1.1,actimeo=30"
check "leases on: 8 concurrent directory workers" bash -c "for i in 11 12 13 14 15 16 17 18; do dirops \$i > $WORK/local/ldirops\$i 2>&1 || echo failed >> $WORK/local/ldirops\$i & done; wait; ! grep -q . $WORK/local/ldirops*"
mkdir -p "$MNT/ldir"; echo kept > "$MNT/ldir/f"; cat "$MNT/ldir/f" > /dev/null
mstatus > "$WORK/st"
check "leases on: the closed file's handle is kept" grep -q 'deferred closes pending: [1-9]' "$WORK/st"
breaks() { sed -n 's/.*breaks received: \([0-9]*\).*/\1/p' "$1"; }
closed() { sed -n 's/.*  closed: \([0-9]*\).*/\1/p' "$1"; }
b1=$(breaks "$WORK/st") c1=$(closed "$WORK/st")
check "leases on: another client renames the directory above it" \
  smbclient //127.0.0.1/share -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c "rename ldir ldir2"
check "leases on: renamed on the server" test -f "$SHARE/ldir2/f"
mstatus > "$WORK/st2"
check "leases on: the mount got the break ($b1 -> $(breaks "$WORK/st2") breaks)" test "$(breaks "$WORK/st2")" -gt "${b1:-999}"
check "leases on: and closed its kept handle ($c1 -> $(closed "$WORK/st2") closed)" test "$(closed "$WORK/st2")" -gt "${c1:-999}"
check "leases on: umount" umount "$MNT"
# The same lease checks as against Samba below, over TCP and over SMB Direct.
lease_checks smbdirectd "$PORT" "$SHARE" "port=$PORT"
if [ -n "${RDMA_PORT:-}" ]; then
  lease_checks "smbdirectd rdma" "$PORT" "$SHARE" "rdma,port=$RDMA_PORT"
else
  not_ok "smbdirectd listens for SMB Direct (no RDMA_PORT after the restart)"
fi
# Leases against Samba smbd.
if ! start_samba; then not_ok "samba start"; finish; exit 1; fi
lease_checks samba "$SAMBA_PORT" "$SAMBA_SHARE" "port=$SAMBA_PORT"
finish
