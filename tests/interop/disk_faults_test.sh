#!/usr/bin/env bash
# Disk faults against smbdirectd: a share on a full file system (a 4 MiB tmpfs) answers WRITEs
# past its end with STATUS_DISK_FULL and keeps every byte it acknowledged before; a share on a
# read-only file system answers a write with STATUS_MEDIA_WRITE_PROTECTED and still serves
# reads; the other shares go on serving. Our CLI, and Samba's smbclient when it is installed.
# The tmpfs mounts live in a private mount namespace (unshare -m), which needs root.
if [ -z "${SD_IN_MOUNT_NS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
    echo "SKIPPED: needs root and unshare -m for its tmpfs shares"
    exit 77
  fi
  SD_IN_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
trap 'umount -l "$WORK/full" "$WORK/rofs" 2>/dev/null; cleanup' EXIT

mkdir -p "$WORK/full" "$WORK/rofs"
mount -t tmpfs -o size=4m,mode=0777 sdfull "$WORK/full" || { not_ok "mount tmpfs"; finish; exit 1; }
mount -t tmpfs -o size=1m,mode=0777 sdro "$WORK/rofs" || { not_ok "mount tmpfs"; finish; exit 1; }
echo "read me" > "$WORK/rofs/old.txt"
mount -o remount,ro "$WORK/rofs" || { not_ok "remount read-only"; finish; exit 1; }
if [ -n "${SD_DAEMON_USER:-}" ]; then chown "$SD_DAEMON_USER" "$WORK/full"; fi

start_server "" "[full]
	path = $WORK/full
	read only = no
	force user = root
[rofs]
	path = $WORK/rofs
	read only = no
	force user = root" || { not_ok "server start"; finish; exit 1; }

export PASSWD=Pass-1234
C=("$SMBDIRECT" -q -U smbtest)
F=//127.0.0.1:$PORT/full
sum() { sha256sum < "$1" | cut -d' ' -f1; }
head -c $((1024 * 1024)) /dev/urandom > "$WORK/local/kept.bin"
head -c $((8 * 1024 * 1024)) /dev/urandom > "$WORK/local/big.bin"
head -c $((2 * 1024 * 1024 + 17)) /dev/urandom > "$WORK/local/other.bin"

check "a file that fits is written" "${C[@]}" put "$WORK/local/kept.bin" "$F/kept.bin"
check_fails_with "writing past the end of the file system: disk full" "no space left on the server" \
  "${C[@]}" put "$WORK/local/big.bin" "$F/big.bin"
rm -f "$WORK/local/back.bin"
check "the file acknowledged before is read back" "${C[@]}" get "$F/kept.bin" "$WORK/local/back.bin"
check "... unchanged" test "$(sum "$WORK/local/back.bin")" = "$(sum "$WORK/local/kept.bin")"
check "... and unchanged on disk" test "$(sum "$WORK/full/kept.bin")" = "$(sum "$WORK/local/kept.bin")"
S=//127.0.0.1:$PORT/share
check "another share is served meanwhile" "${C[@]}" put "$WORK/local/other.bin" "$S/other.bin"
rm -f "$WORK/local/back.bin"
check "... read back" "${C[@]}" get "$S/other.bin" "$WORK/local/back.bin"
check "... unchanged" test "$(sum "$WORK/local/back.bin")" = "$(sum "$WORK/local/other.bin")"
check "the partial file can be deleted" "${C[@]}" rm "$F/big.bin"
check "with the space back, a write succeeds again" "${C[@]}" put "$WORK/local/other.bin" "$F/again.bin"
check "... and is whole on disk" test "$(sum "$WORK/full/again.bin")" = "$(sum "$WORK/local/other.bin")"
check "... the first file too" test "$(sum "$WORK/full/kept.bin")" = "$(sum "$WORK/local/kept.bin")"

R=//127.0.0.1:$PORT/rofs
check_fails_with "a new file on a read-only file system: write protected" "STATUS_MEDIA_WRITE_PROTECTED" \
  "${C[@]}" put "$WORK/local/kept.bin" "$R/new.bin"
rm -f "$WORK/local/back.txt"
check "the read-only file system is still read" "${C[@]}" get "$R/old.txt" "$WORK/local/back.txt"
check "... its content" grep -qx "read me" "$WORK/local/back.txt"

if command -v smbclient >/dev/null; then
  SMB=(smbclient -p "$PORT" -U "smbtest%Pass-1234" -m SMB3)
  check_fails_with "smbclient: put past the end of the file system: NT_STATUS_DISK_FULL" "NT_STATUS_DISK_FULL" \
    "${SMB[@]}" //127.0.0.1/full -c "put $WORK/local/big.bin big2.bin"
  check_fails_with "smbclient: put on a read-only file system: NT_STATUS_MEDIA_WRITE_PROTECTED" \
    "NT_STATUS_MEDIA_WRITE_PROTECTED" "${SMB[@]}" //127.0.0.1/rofs -c "put $WORK/local/kept.bin new.bin"
  check "smbclient: the first file is intact" bash -c "\"\$@\" -c 'get kept.bin $WORK/local/sc.bin' && \
    [ \"\$(sha256sum < $WORK/local/sc.bin | cut -d' ' -f1)\" = $(sum "$WORK/local/kept.bin") ]" _ "${SMB[@]}" //127.0.0.1/full
else
  echo "# smbclient is not installed: its part is left out (our CLI's part ran)"
fi
check "the server is still running" kill -0 "$SERVER_PID"
finish
