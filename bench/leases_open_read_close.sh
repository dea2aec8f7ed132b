#!/usr/bin/env bash
# Leases on vs off through our mount (cache=strict, actimeo=30), against smbdirectd and against
# Samba smbd: 1000 open-read-close cycles of 64 KiB files (100 files, 10 passes, one Python loop
# of open/read/close). Per run: wall time and the SMB requests the mount sent (CREATE, READ,
# CLOSE, from `smbdirect status`). Rounds alternate on/off/off/on (ABBA) per server; the table
# gives medians. Needs root (FUSE mount) and the interop tests' helpers.
# Usage: bench/leases_open_read_close.sh [ROUNDS]   (SMBDIRECTD: server binary; default the
# release build, else the dev build)   Output: bench/results/leases_open_read_close.md
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${1:-3}
. "$HERE/lib.sh"
if [ -z "${SMBDIRECTD:-}" ]; then
  SMBDIRECTD=$ROOT/build/release/src/tools/smbdirectd
  [ -x "$SMBDIRECTD" ] || SMBDIRECTD=$ROOT/build/dev/src/tools/smbdirectd
fi
SMBDIRECT=$(dirname "$SMBDIRECTD")/smbdirect
need_built "$SMBDIRECTD" "$SMBDIRECT"
[ "$(id -u)" = 0 ] && [ -e /dev/fuse ] || { echo "needs root and /dev/fuse"; exit 1; }
export SMBDIRECTD
. "$ROOT/tests/interop/lib.sh"
start_server "" "" >/dev/null || { echo "smbdirectd did not start"; exit 1; }
start_samba >/dev/null || { echo "smbd did not start"; exit 1; }
MNT=$WORK/mnt
mkdir -p "$MNT"
trap 'umount "$MNT" 2>/dev/null; cleanup' EXIT
for d in "$SHARE" "$SAMBA_SHARE"; do
  mkdir -p "$d/bench"
  for i in $(seq 0 99); do head -c 65536 /dev/urandom > "$d/bench/f$i"; done
  chown -R smbtest "$d/bench" 2>/dev/null
done

leases() {  # leases SERVER on|off: the server's smb2 leases, for the connections that follow
  local v=yes; [ "$2" = off ] && v=no
  if [ "$1" = smbdirectd ]; then
    sed -i '/^\tsmb2 leases = /d; s/^\[global\]$/[global]\n\tsmb2 leases = '"$v"'/' "$WORK/ksmbd.conf"
    restart_server >/dev/null || exit 1
  else
    sed -i '/^   smb2 leases = /d; s/^\[global\]$/[global]\n   smb2 leases = '"$v"'/' "$WORK/samba/smb.conf"
    kill -HUP "$SAMBA_PID"; sleep 1
  fi
}
counts() {  # CREATE READ CLOSE sent by the mount so far (its status, refreshed every second)
  sleep 2.2
  "$SMBDIRECT" status 2>/dev/null | awk -v m=" on $MNT " '/^Mount:/ { on = index($0, m) > 0 }
    on && ($1 == "CREATE" || $1 == "READ" || $1 == "CLOSE") && $2 ~ /^[0-9]+$/ { c[$1] = $2 }
    END { print c["CREATE"] + 0, c["READ"] + 0, c["CLOSE"] + 0 }'
}
run() {  # run SERVER on|off: appends "ms creates reads closes" to $WORK/res.SERVER.MODE
  # (not in a subshell: restart_server must update this shell's SERVER_PID)
  local port=$PORT
  [ "$1" = samba ] && port=$SAMBA_PORT
  leases "$1" "$2"
  PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$port,vers=3.1.1,actimeo=30" >/dev/null || exit 1
  /usr/bin/python3 - "$MNT/bench" 1 <<'PY' >/dev/null  # warm: every file read once
import os, sys
for i in range(100):
    with open(os.path.join(sys.argv[1], "f%d" % i), "rb") as f: f.read()
PY
  read -r c0 r0 k0 < <(counts)
  local ms
  ms=$(/usr/bin/python3 - "$MNT/bench" <<'PY'
import os, sys, time
t = time.monotonic()
for p in range(10):
    for i in range(100):
        with open(os.path.join(sys.argv[1], "f%d" % i), "rb") as f:
            assert len(f.read()) == 65536
print("%.0f" % ((time.monotonic() - t) * 1000))
PY
)
  read -r c1 r1 k1 < <(counts)
  umount "$MNT"
  echo "$ms $((c1 - c0)) $((r1 - r0)) $((k1 - k0))" | tee -a "$WORK/res.$1.$2" | sed "s/^/$1 leases $2: /" >&2
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for server in smbdirectd samba; do
  for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then order="on off"; else order="off on"; fi
    for mode in $order; do run "$server" "$mode"; done
  done
done

table=$WORK/table.md
{
  echo "# Leases on vs off: 1000 open-read-close cycles of 64 KiB files through the mount"
  echo
  echo "Command: \`bench/leases_open_read_close.sh $ROUNDS\` ($(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD),"
  echo "$(nproc)-core $(uname -m) VM, kernel $(uname -r), server $(basename "$(dirname "$(dirname "$(dirname "$SMBDIRECTD")")")") build)."
  echo "Our mount, cache=strict, actimeo=30, over TCP on loopback; $ROUNDS rounds per row, on/off"
  echo "alternated (ABBA); medians. Requests: what the mount sent during the 1000 cycles."
  echo
  echo "| server | leases | wall ms | CREATE | READ | CLOSE | on / off (wall) |"
  echo "|---|---|---|---|---|---|---|"
  for server in smbdirectd samba; do
    for mode in on off; do
      col() { awk -v k="$1" 'NF { print $k }' "$WORK/res.$server.$mode" | median; }
      w=$(col 1) c=$(col 2) rd=$(col 3) k=$(col 4)
      [ "$mode" = on ] && won=$w
      ratio=""
      [ "$mode" = off ] && ratio=$(awk -v a="$won" -v b="$w" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')
      echo "| $server | $mode | $w | $c | $rd | $k | $ratio |"
    done
  done
} > "$table"
write_results "$HERE/results/leases_open_read_close.md" "$table"
