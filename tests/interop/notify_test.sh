#!/usr/bin/env bash
# Change notification with Samba's smbclient (`notify DIR`: a WATCH_TREE CHANGE_NOTIFY for every
# change, printed as "ACTION NAME" one a line): changes made directly on the server's file system
# and changes made through SMB by another client both reach it, subdirectories included, with
# rename pairs and no bookkeeping noise; a vetoed name never shows. Then our CLI's
# `smbdirect watch -r` against smbdirectd and against Samba's smbd.
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
# (made before the server starts: with SD_DAEMON_USER the share is given to the daemon's account)
mkdir -p "$SHARE/watched/sub"
start_server "" "	veto files = /*.hidden/" || { not_ok "server start"; finish; exit 1; }
SMB=(smbclient "//127.0.0.1/share" -p "$PORT" -U "smbtest%Pass-1234" -m SMB3)

# smbclient prints each answer as it comes (line-buffered into a file) until it is stopped.
timeout 30 stdbuf -oL "${SMB[@]}" -c 'notify watched' > "$WORK/notify.out" 2>&1 &
NPID=$!
# Ready once a file made on disk shows (its first request is then pending).
for i in $(seq 1 50); do
  : > "$SHARE/watched/ready$i"
  sleep 0.1
  grep -q '^0001 ready' "$WORK/notify.out" 2>/dev/null && break
done
# seen LINE: wait (bounded) until smbclient printed LINE.
seen() { for _ in $(seq 1 50); do grep -qxF "$1" "$WORK/notify.out" && return 0; sleep 0.1; done; return 1; }

# Directly on disk, as another program on the server would.
echo local > "$SHARE/watched/fromdisk.txt"
check "a file created on disk is reported added" seen "0001 fromdisk.txt"
check "its write is reported modified" seen "0003 fromdisk.txt"
mv "$SHARE/watched/fromdisk.txt" "$SHARE/watched/renamed.txt"
check "a rename on disk is reported as old name" seen "0004 fromdisk.txt"
check "... and new name" seen "0005 renamed.txt"
echo deep > "$SHARE/watched/sub/inner.txt"
check "a file created on disk in a subdirectory is reported with its path" seen '0001 sub\inner.txt'
echo secret > "$SHARE/watched/x.hidden"
rm "$SHARE/watched/renamed.txt"
check "a deletion on disk is reported removed" seen "0002 renamed.txt"

# Through SMB, from another client.
echo smb > "$WORK/local/up.txt"
check "put through SMB" "${SMB[@]}" -c "put $WORK/local/up.txt watched\\viasmb.txt"
check "a file created through SMB is reported added" seen "0001 viasmb.txt"
check "mkdir through SMB" "${SMB[@]}" -c "mkdir watched\\smbdir"
check "a directory created through SMB is reported added" seen "0001 smbdir"
check "put into the new directory" "${SMB[@]}" -c "put $WORK/local/up.txt watched\\smbdir\\in.txt"
check "a file in a directory just made through SMB is reported" seen '0001 smbdir\in.txt'

kill "$NPID" 2>/dev/null
wait "$NPID" 2>/dev/null
check "the vetoed name never showed" bash -c "! grep -q 'x.hidden' '$WORK/notify.out'"
check "each creation was reported once" bash -c "[ \$(grep -cxF '0001 viasmb.txt' '$WORK/notify.out') = 1 ]"
check "no server bookkeeping: the SMB-created directory was not reported modified" \
  bash -c "! grep -qxF '0003 smbdir' '$WORK/notify.out'"
echo "--- what smbclient printed ---"; sed 's/^/    /' "$WORK/notify.out"

# watch_with TAG URL DIR SMBCLIENT_PORT: `smbdirect watch -r` on URL (whose files are in DIR).
# (Samba reports changes made on disk only in the watched directory itself: its inotify watch is
# not recursive; ours is.)
watch_with() {
  local tag=$1 url=$2 dir=$3 port=$4 out="$WORK/watch.$1"
  mkdir -p "$dir/w/sub"
  chmod -R 777 "$dir/w"
  # (no stdbuf: watch flushes each line itself, and stdbuf's LD_PRELOAD breaks sanitizer builds)
  timeout 30 "$SMBDIRECT" watch -r "$url/w" -U smbtest%Pass-1234 > "$out" 2>&1 &
  local wpid=$!
  for i in $(seq 1 50); do
    : > "$dir/w/ready$i"
    sleep 0.1
    grep -q "^added.ready" "$out" 2>/dev/null && break
  done
  seen_in() { for _ in $(seq 1 50); do grep -qxF "$1" "$out" && return 0; sleep 0.1; done; return 1; }
  echo x > "$dir/w/cli.txt"
  check "$tag: smbdirect watch sees a file made on disk" seen_in "added	cli.txt"
  mv "$dir/w/cli.txt" "$dir/w/cli2.txt"
  check "$tag: ... and its rename" seen_in "renamed-to	cli2.txt"
  smbclient //127.0.0.1/share -p "$port" -U smbtest%Pass-1234 -m SMB3 -c 'mkdir w\sub\clidir' >/dev/null 2>&1
  check "$tag: ... and, with -r, a directory made through SMB in a subdirectory" seen_in "added	sub\\clidir"
  kill "$wpid" 2>/dev/null
  wait "$wpid" 2>/dev/null
  sed 's/^/    /' "$out"
}
watch_with smbdirectd "//127.0.0.1:$PORT/share" "$SHARE" "$PORT"
if start_samba; then
  watch_with samba "//127.0.0.1:$SAMBA_PORT/share" "$SAMBA_SHARE" "$SAMBA_PORT"
else
  not_ok "smbd start"
fi
finish
