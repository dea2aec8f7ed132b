#!/usr/bin/env bash
# Durable handles through the FUSE mount: the connection between the mount and smbdirectd is cut
# (a proxy between them resets it; the server stays up) while 8 fio writers verify their data
# and another process holds a byte-range lock (fcntl) through the mount; the mount reconnects,
# gives every durable handle back (DH2C) instead of opening the files again by name, fio
# finishes with no verify error, and the lock is still held (a second mount cannot take it
# until the holder lets go). The server's log shows the reconnects; the mount's status shows
# no file re-opened by name. The same cut with -o nodurable re-opens the files by name (the
# check that tells the two apart).
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
[ -e /dev/fuse ] || { echo "SKIPPED: no /dev/fuse"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIPPED: mounting needs root"; exit 77; }
command -v fio >/dev/null || { echo "SKIPPED: no fio"; exit 77; }
# Durable handles ride on leases, which smbdirectd offers when it runs as root (fanotify).
needs_root_daemon
start_server "" "" || { not_ok "server start"; finish; exit 1; }
MNT=$WORK/mnt
mkdir -p "$MNT"
PROXY_PID=""
unmount() { mountpoint -q "$MNT" && umount "$MNT"; }
stop_proxy() { [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null; PROXY_PID=""; }
trap 'unmount; stop_proxy; cleanup' EXIT
/usr/bin/python3 "$(dirname "$0")/cut_proxy.py" "$PORT" "$WORK/proxy.port" &
PROXY_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
PPORT=$(cat "$WORK/proxy.port")

mstatus() {  # this mount's `smbdirect status` report, refreshed every second
  sleep 2.2; "$SMBDIRECT" status 2>/dev/null | awk -v m=" on $MNT " '/^Mount:/ { on = index($0, m) > 0 } on'
}
# cut_under_fio OPTIONS: mounts through the proxy with OPTIONS, starts 8 fio writers with
# verification, cuts the connection once each has written some data, and waits for fio.
cut_under_fio() {
  if ! mountpoint -q "$MNT"; then
    env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" \
      -o "username=smbtest,port=$PPORT,vers=3.1.1,sign,$1" || return 1
  fi
  fio --name=writers --directory="$MNT" --numjobs=8 --size=8M --bs=64k --rw=write --ioengine=psync \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --rate=2m --output="$WORK/fio.txt" >/dev/null 2>&1 &
  local fio_pid=$! cut=0
  for _ in $(seq 1 200); do  # up to 20 s for the writers to start writing
    if [ "$(find "$SHARE" -name 'writers.*' -size +256k 2>/dev/null | wc -l)" -ge 8 ]; then
      kill -USR1 "$PROXY_PID"; cut=1; break
    fi
    sleep 0.1
  done
  wait "$fio_pid"
  local rc=$?
  [ "$cut" = 1 ] || { echo "the writers never started"; return 1; }
  return $rc
}

# A second mount, straight to the server, probes the byte-range lock that a process holds
# through the first one (fcntl record locks are SMB byte-range locks on the server).
MNT2=$WORK/mnt2
mkdir -p "$MNT2"
check "second mount" env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT2" \
  -o "username=smbtest,port=$PORT,vers=3.1.1,actimeo=0"
trap 'unmount; umount "$MNT2" 2>/dev/null; stop_proxy; cleanup' EXIT
probe_lock() {  # exits 0 when [0,100) of locked.dat can be locked through the second mount
  /usr/bin/python3 -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
except OSError:
    sys.exit(1)
fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)' "$MNT2/locked.dat"
}
export -f probe_lock
export MNT2
# hold_lock: through the first mount, locks [0,100) of locked.dat, says so, and keeps it (and
# the file open) until $WORK/release appears (at most 120 s); then writes through the same
# descriptor and unlocks.
hold_lock() {
  /usr/bin/python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"x" * 200)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
open(sys.argv[2] + "/locked", "w").close()
for _ in range(1200):
    if os.path.exists(sys.argv[2] + "/release"):
        break
    time.sleep(0.1)
os.pwrite(fd, b"after", 0)
fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
os.close(fd)' "$MNT/locked.dat" "$WORK"
}

before=$(grep -c "durable open .* reconnected" "$WORK/server.log")
env PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$PPORT,vers=3.1.1,sign,actimeo=1"
hold_lock > "$WORK/holder.log" 2>&1 &
HOLDER=$!
for _ in $(seq 1 100); do [ -e "$WORK/locked" ] && break; sleep 0.1; done
check "a process holds a byte-range lock through the mount" test -e "$WORK/locked"
# (No probe from the other mount before the cut: a byte-range lock by another client breaks
# the holder's lease to none, MS-FSA 2.1.4.12, and an open without Handle caching is not kept.)
check "8 fio writers with --verify survive a cut connection" cut_under_fio "actimeo=1"
check "fio saw no verify error" bash -c "! grep -qi 'verify.*fail\|bad magic\|crc32c' $WORK/fio.txt && grep -q 'err= 0' $WORK/fio.txt"
check "the connection was cut" bash -c "[ \"\$(cat $WORK/proxy.port.cuts)\" -ge 1 ]"
after=$(grep -c "durable open .* reconnected" "$WORK/server.log")
check "the server reconnected the durable handles (8 or more: $before -> $after)" test $((after - before)) -ge 8
mstatus > "$WORK/st"
check "the mount gave its handles back and re-opened none by name" \
  bash -c "grep -q 'Durable handles: .* reconnected: [1-9]' $WORK/st && grep -q 're-opened by name: 0' $WORK/st"
sed 's/^/    /' "$WORK/st" | grep -i "durable\|reconnect"
check "the lock holder's handle was given back too" grep -q "durable open .* (locked.dat) reconnected" "$WORK/server.log"
check "the lock is still held after the reconnect: another client cannot take it" bash -c "! probe_lock"
touch "$WORK/release"
wait "$HOLDER"
holder_rc=$?
check "the holder wrote through its descriptor and unlocked after the reconnect" \
  bash -c "[ $holder_rc = 0 ] && [ \"\$(head -c 5 $SHARE/locked.dat)\" = after ]"
check "released: another client gets the lock" probe_lock
unmount
rm -f "$SHARE"/writers.*

# Without durable handles the same cut re-opens the files by name.
check "with nodurable fio survives too" cut_under_fio "nodurable,actimeo=1"
mstatus > "$WORK/st2"
check "with nodurable the files are opened again by name" \
  bash -c "grep -q 'Durable handles: off' $WORK/st2 && [ \$(grep -c 'durable open .* reconnected' $WORK/server.log) = $after ]"
unmount
finish
