#!/usr/bin/env bash
# A/B of one fio row through the mount: two smbdirect binaries alternate on one Samba share (4 jobs,
# 4 KiB random read of a 256 MiB file, 10 s each, three rounds), so that machine drift hits both.
# Usage: bench/ab_mount_randread.sh SMBDIRECT_A SMBDIRECT_B   (run under flock -x /tmp/quiet.lock)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A=${1:?smbdirect binary A} B=${2:?smbdirect binary B}
export SMBDIRECTD=${SMBDIRECTD:-$(dirname "$B")/smbdirectd}
. "$HERE/../tests/interop/lib.sh"
start_samba || exit 1
MNT=$WORK/mnt
mkdir -p "$MNT"
trap 'umount "$MNT" 2>/dev/null; cleanup' EXIT
run() {  # run BINARY LABEL
  PASSWD=Pass-1234 "$1" mount //127.0.0.1/share "$MNT" -o "username=smbtest,port=$SAMBA_PORT,vers=3.1.1" || return 1
  [ -e "$MNT/f.0.0" ] || fio --name=lay --directory="$MNT" --filename=f.0.0 --rw=write --bs=1M --size=256M --ioengine=psync >/dev/null 2>&1
  fio --name=r --directory="$MNT" --filename=f.0.0 --rw=randread --bs=4k --size=256M --ioengine=psync --time_based \
    --runtime=10 --numjobs=4 --group_reporting --output-format=json > "$WORK/r.json" 2>/dev/null
  echo "$2 $(/usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(open(sys.argv[1]))['jobs'][0]['read']['iops'])" "$WORK/r.json") IOPS"
  umount "$MNT"
}
for _ in 1 2 3; do run "$A" A; run "$B" B; done
