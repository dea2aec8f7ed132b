#!/usr/bin/env bash
# The FUSE mount against smbdirectd: /proc/mounts entry, POSIX behaviour (create, write, read
# back, rename over an existing file, unlink, readdir after changes, truncate up and down, mtime
# updates), a 64 MiB checksummed copy, statfs, and umount.
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; echo "0 passed, 0 failed"; exit 0; }
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
check "umount" umount "$MNT"
check "gone from /proc/mounts" bash -c "! grep -q ' $MNT ' /proc/mounts"
finish
