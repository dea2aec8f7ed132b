#!/usr/bin/env bash
# Throughput of get and put of a 1 GiB file against smbdirectd and against Samba's smbd, on
# loopback, in the same run, with Samba's smbclient and with our smbdirect CLI. Each case runs RUNS times (after one warm-up);
# the median is reported; the servers alternate run by run. Results go to bench/results/smbclient_vs_samba.md.
# Usage: bench/smbclient_vs_samba.sh [build-dir]   (env: SIZE_MB=1024 RUNS=5)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
SMBDIRECTD=$BUILD/src/tools/smbdirectd
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-5}
. "$HERE/lib.sh"
need_built "$SMBDIRECTD"
# Both servers come from the interop tests' helpers (tests/interop/lib.sh): smbdirectd and Samba
# smbd on free loopback ports, user smbtest.
export SMBDIRECTD
. "$HERE/../tests/interop/lib.sh"
start_server "" "" >/dev/null || { echo "smbdirectd did not start"; exit 1; }
start_samba || exit 1
SD_PORT=$PORT
B=$WORK
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$B/local/big.bin"
# Seed both shares so that get reads a warm file.
cp "$B/local/big.bin" "$SAMBA_SHARE/big.bin"; chown smbtest "$SAMBA_SHARE/big.bin"
cp "$B/local/big.bin" "$SHARE/big.bin"

# seconds for one smbclient command
timed() {
  local s e
  s=$(date +%s%N)
  smbclient //127.0.0.1/share -p "$1" -U smbtest%Pass-1234 -m SMB3_11 -c "$2" >"$B/last.out" 2>&1 || { echo "FAILED: $2 on port $1: $(tail -2 "$B/last.out")" >&2; echo 0; return; }
  e=$(date +%s%N)
  echo "scale=3; ($e - $s) / 1000000000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mibps() { echo "scale=1; $SIZE_MB / $1" | bc; }

# the same with our CLI (smbdirect get/put), to compare clients too
timed_cli() {
  local s e
  s=$(date +%s%N)
  PASSWD=Pass-1234 "$BUILD/src/tools/smbdirect" -q -U smbtest $2 >"$B/last.out" 2>&1 || { echo "FAILED: smbdirect $2: $(tail -2 "$B/last.out")" >&2; echo 0; return; }
  e=$(date +%s%N)
  echo "scale=3; ($e - $s) / 1000000000" | bc
}

# Runs alternate the servers (odd runs smbdirectd first, even runs Samba first): this VM returns
# freed memory to its host, so whichever server writes right after the other pays for touching
# fresh pages (bench/results/smbclient_vs_samba.md); alternating gives both the same conditions.
declare -A RES
for server in smbdirectd samba; do
  port=$([ $server = smbdirectd ] && echo "$SD_PORT" || echo "$SAMBA_PORT")
  timed "$port" "get big.bin /dev/null" >/dev/null   # warm-up
  for f in get put cli.get cli.put; do : > "$B/t.$server.$f"; done
done
for i in $(seq 1 "$RUNS"); do
  order="smbdirectd samba"; [ $((i % 2)) = 0 ] && order="samba smbdirectd"
  for op in get put; do
    for server in $order; do
      port=$([ $server = smbdirectd ] && echo "$SD_PORT" || echo "$SAMBA_PORT")
      if [ $op = get ]; then
        timed "$port" "get big.bin /dev/null" >> "$B/t.$server.get"
        timed_cli "$port" "get //127.0.0.1:$port/share/big.bin /dev/null" >> "$B/t.$server.cli.get"
      else
        timed "$port" "put $B/local/big.bin put.bin" >> "$B/t.$server.put"
        timed_cli "$port" "put $B/local/big.bin //127.0.0.1:$port/share/put2.bin" >> "$B/t.$server.cli.put"
      fi
    done
  done
done
for server in smbdirectd samba; do
  for op in get put; do
    RES[$server.$op]=$(median < "$B/t.$server.$op")
    RES[cli.$server.$op]=$(median < "$B/t.$server.cli.$op")
  done
done
OUT=$HERE/results/smbclient_vs_samba.md
{
  echo "# smbclient get/put of ${SIZE_MB} MiB: smbdirectd vs Samba smbd (loopback)"
  echo
  echo "Command: \`bench/smbclient_vs_samba.sh\` (SIZE_MB=$SIZE_MB RUNS=$RUNS, median of $RUNS runs after a warm-up, servers alternating run by run, SMB 3.1.1, signing as negotiated by default)"
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), smbclient $(smbclient --version | head -1)"
  echo
  echo "| client and operation | smbdirectd MiB/s | Samba smbd MiB/s | ratio |"
  echo "|---|---|---|---|"
  for op in get put; do
    sd=$(mibps "${RES[smbdirectd.$op]}"); sa=$(mibps "${RES[samba.$op]}")
    echo "| smbclient $op | $sd | $sa | $(echo "scale=2; $sd / $sa" | bc) |"
  done
  for op in get put; do
    sd=$(mibps "${RES[cli.smbdirectd.$op]}"); sa=$(mibps "${RES[cli.samba.$op]}")
    echo "| smbdirect CLI $op | $sd | $sa | $(echo "scale=2; $sd / $sa" | bc) |"
  done
} > "$B/table.md"
write_results "$OUT" "$B/table.md"
