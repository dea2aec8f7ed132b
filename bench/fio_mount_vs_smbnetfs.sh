#!/usr/bin/env bash
# fio on our FUSE mount and on smbnetfs, both against the same Samba smbd share, in one run:
# sequential 1 MiB write and read, 4 KiB random read and write, writes verified with crc32c; then
# the same with 4 parallel jobs (numjobs=4, psync, group reporting) to show concurrency.
# Results: bench/results/fio_mount_vs_smbnetfs.md. Usage: bench/fio_mount_vs_smbnetfs.sh [build]
# (env: SIZE_MB=256 RUNTIME=15; FIO_EXTRA="..." is added to every fio job, e.g. --invalidate=0
# to keep the page cache fio drops by default at the start of each job)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
BUILD_NAME=${1:-build/release}
export SMBDIRECTD=$BUILD/src/tools/smbdirectd
SMBDIRECT=$BUILD/src/tools/smbdirect
SIZE_MB=${SIZE_MB:-256}
RUNTIME=${RUNTIME:-15}
FIO_EXTRA=${FIO_EXTRA:-}
. "$HERE/../tests/interop/lib.sh"
# smbnetfs (libsmbclient) always dials port 445: Samba listens there for this benchmark.
if ss -ltn 'sport = :445' | grep -q LISTEN; then echo "port 445 is busy: stop the SMB server there first"; exit 1; fi
SAMBA_PORT_WANT=445 start_samba || exit 1
M1=$WORK/m_smbdirect M2=$WORK/m_smbnetfs
mkdir -p "$M1" "$M2" "$WORK/home/.smb"
PASSWD=Pass-1234 "$SMBDIRECT" mount //127.0.0.1/share "$M1" -o "username=smbtest,port=$SAMBA_PORT,vers=3.1.1" || exit 1
printf '[global]\n\tclient min protocol = SMB2\n' > "$WORK/home/.smb/smb.conf"
printf 'auth "smbtest" "Pass-1234"\nhost 127.0.0.1 visible=true\nsmb_query_browsers false\n' > "$WORK/home/.smb/smbnetfs.conf"
chmod 600 "$WORK/home/.smb/smbnetfs.conf"
HOME=$WORK/home smbnetfs "$M2" -o "config=$WORK/home/.smb/smbnetfs.conf" || exit 1
D2=$M2/127.0.0.1/share
for _ in $(seq 1 50); do [ -d "$D2" ] && break; sleep 0.2; done
trap 'umount "$M1" 2>/dev/null; fusermount3 -u "$M2" 2>/dev/null; cleanup' EXIT
job() {  # job NAME DIR bw|iops FIO-ARGS...
  local name=$1 dir=$2 metric=$3; shift 3
  # shellcheck disable=SC2086
  fio --name="$name" --directory="$dir" --ioengine=psync --verify_state_save=0 --output-format=json "$@" $FIO_EXTRA > "$WORK/$name.json" 2>"$WORK/$name.err" ||
    { echo "fio $name failed: $(tail -2 "$WORK/$name.err")" >&2; echo 0; return; }
  /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1]))['jobs'][0]; r=j['read']; w=j['write']; print('%.1f' % ((r['bw']+w['bw'])/1024) if sys.argv[2]=='bw' else '%.0f' % (r['iops']+w['iops']))" "$WORK/$name.json" "$metric"
}
declare -A R
for fs in smbdirect smbnetfs; do
  dir=$([ $fs = smbdirect ] && echo "$M1" || echo "$D2")
  R[$fs.sw]=$(job "${fs}_seqwrite" "$dir" bw --rw=write --bs=1M --size=${SIZE_MB}M --verify=crc32c --verify_state_save=0 --do_verify=1 --end_fsync=1)
  R[$fs.sr]=$(job "${fs}_seqread" "$dir" bw --rw=read --bs=1M --size=${SIZE_MB}M --filename=${fs}_seqwrite.0.0)
  R[$fs.rr]=$(job "${fs}_randread" "$dir" iops --rw=randread --bs=4k --size=${SIZE_MB}M --filename=${fs}_seqwrite.0.0 --time_based --runtime=$RUNTIME)
  R[$fs.rw]=$(job "${fs}_randwrite" "$dir" iops --rw=randwrite --bs=4k --size=64M --verify=crc32c --verify_state_save=0 --do_verify=1 --time_based=0)
  P="--numjobs=4 --group_reporting"
  R[$fs.sw4]=$(job "${fs}_pseqwrite" "$dir" bw --rw=write --bs=1M --size=$((SIZE_MB / 4))M --end_fsync=1 $P)
  R[$fs.sr4]=$(job "${fs}_pseqwrite" "$dir" bw --rw=read --bs=1M --size=$((SIZE_MB / 4))M $P)
  R[$fs.rr4]=$(job "${fs}_prandread" "$dir" iops --rw=randread --bs=4k --size=${SIZE_MB}M --filename=${fs}_seqwrite.0.0 --time_based --runtime=$RUNTIME $P)
  R[$fs.rw4]=$(job "${fs}_prandwrite" "$dir" iops --rw=randwrite --bs=4k --size=16M --verify=crc32c --verify_state_save=0 --do_verify=1 $P)
done
OUT=${OUT:-$HERE/results/fio_mount_vs_smbnetfs.md}
ratio() { /usr/bin/python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.1f' % (a/b) if b else 'n/a')" "$1" "$2"; }
{
  echo "# fio through the smbdirect FUSE mount vs smbnetfs, same Samba share (loopback)"
  echo
  echo "Command: \`${FIO_EXTRA:+FIO_EXTRA=\"$FIO_EXTRA\" }bench/fio_mount_vs_smbnetfs.sh $BUILD_NAME\` (SIZE_MB=$SIZE_MB RUNTIME=$RUNTIME, fio psync, writes verified with crc32c; \"4 jobs\": numjobs=4 group_reporting)"
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), Samba $(smbd --version)"
  echo
  echo "| job | smbdirect mount | smbnetfs | ratio |"
  echo "|---|---|---|---|"
  echo "| seq write 1 MiB (MiB/s) | ${R[smbdirect.sw]} | ${R[smbnetfs.sw]} | $(ratio ${R[smbdirect.sw]} ${R[smbnetfs.sw]}) |"
  echo "| seq read 1 MiB (MiB/s) | ${R[smbdirect.sr]} | ${R[smbnetfs.sr]} | $(ratio ${R[smbdirect.sr]} ${R[smbnetfs.sr]}) |"
  echo "| rand read 4 KiB (IOPS) | ${R[smbdirect.rr]} | ${R[smbnetfs.rr]} | $(ratio ${R[smbdirect.rr]} ${R[smbnetfs.rr]}) |"
  echo "| rand write 4 KiB, verified (IOPS) | ${R[smbdirect.rw]} | ${R[smbnetfs.rw]} | $(ratio ${R[smbdirect.rw]} ${R[smbnetfs.rw]}) |"
  echo "| 4 jobs: seq write 1 MiB (MiB/s) | ${R[smbdirect.sw4]} | ${R[smbnetfs.sw4]} | $(ratio ${R[smbdirect.sw4]} ${R[smbnetfs.sw4]}) |"
  echo "| 4 jobs: seq read 1 MiB (MiB/s) | ${R[smbdirect.sr4]} | ${R[smbnetfs.sr4]} | $(ratio ${R[smbdirect.sr4]} ${R[smbnetfs.sr4]}) |"
  echo "| 4 jobs: rand read 4 KiB (IOPS) | ${R[smbdirect.rr4]} | ${R[smbnetfs.rr4]} | $(ratio ${R[smbdirect.rr4]} ${R[smbnetfs.rr4]}) |"
  echo "| 4 jobs: rand write 4 KiB, verified (IOPS) | ${R[smbdirect.rw4]} | ${R[smbnetfs.rw4]} | $(ratio ${R[smbdirect.rw4]} ${R[smbnetfs.rw4]}) |"
} | tee "$OUT"
