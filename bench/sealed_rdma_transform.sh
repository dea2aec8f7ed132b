#!/usr/bin/env bash
# Sealed transfers through our CLI to smbdirectd on loopback, in one run: SMB Direct with the RDMA
# encryption transform (the data encrypted and moved by RDMA), SMB Direct with sealed data inline
# (--no-rdma-transform), and TCP sealed; SMB Direct in the clear for reference. get and put of a
# SIZE_MB file, RUNS times each after a warm-up, the modes taking turns going first (rotated run by
# run); medians, and the ratios against sealed inline and sealed TCP. Every get is checked against
# the file's checksum. Results go to bench/results/sealed_rdma_transform.md.
# Usage: bench/sealed_rdma_transform.sh [build-dir]   (env: SIZE_MB=1024 RUNS=3)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
SMBDIRECTD=$BUILD/src/tools/smbdirectd
SMBDIRECT=$BUILD/src/tools/smbdirect
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
. "$HERE/lib.sh"
need_built "$SMBDIRECTD" "$SMBDIRECT"
serve_share_for_bench
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/local/big.bin"
SUM=$(sha256sum < "$WORK/local/big.bin" | cut -d' ' -f1)
cp "$WORK/local/big.bin" "$SHARE/big.bin"

MODES=(transform inline tcp plain)
declare -A ARGS=(
  [transform]="--rdma -p $RDMA_PORT --seal"
  [inline]="--rdma -p $RDMA_PORT --seal --no-rdma-transform"
  [tcp]="-p $PORT --seal"
  [plain]="--rdma -p $RDMA_PORT"
)
declare -A NAME=(
  [transform]="SMB Direct, sealed, RDMA encryption transform"
  [inline]="SMB Direct, sealed inline (--no-rdma-transform)"
  [tcp]="TCP, sealed"
  [plain]="SMB Direct, not sealed (reference)"
)
# seconds for one CLI command (0 and a message on failure)
timed() {
  local s e
  s=$(date +%s%N)
  # shellcheck disable=SC2086
  PASSWD=Pass-1234 "$SMBDIRECT" -q -U smbtest --vers 3.1.1 $1 >"$WORK/last.out" 2>&1 ||
    { echo "FAILED: smbdirect $1: $(tail -2 "$WORK/last.out")" >&2; echo 0; return; }
  e=$(date +%s%N)
  echo "scale=3; ($e - $s) / 1000000000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mibps() { [ "$1" = 0 ] && echo 0 || echo "scale=1; $SIZE_MB / $1" | bc; }
bad=0
get() {  # get MODE: one timed get, checked
  rm -f "$WORK/local/back.bin"
  local t
  t=$(timed "${ARGS[$1]} get //127.0.0.1/share/big.bin $WORK/local/back.bin")
  [ "$(sha256sum < "$WORK/local/back.bin" 2>/dev/null | cut -d' ' -f1)" = "$SUM" ] || { echo "CHECKSUM MISMATCH: get $1" >&2; bad=1; }
  echo "$t"
}
put() { timed "${ARGS[$1]} put $WORK/local/big.bin //127.0.0.1/share/up.bin"; }

for m in "${MODES[@]}"; do get "$m" >/dev/null; : > "$WORK/t.get.$m"; : > "$WORK/t.put.$m"; done  # warm-up
for i in $(seq 1 "$RUNS"); do
  order=("${MODES[@]:$(( (i - 1) % ${#MODES[@]} ))}" "${MODES[@]:0:$(( (i - 1) % ${#MODES[@]} ))}")
  for op in get put; do
    for m in "${order[@]}"; do
      t=$($op "$m")
      echo "$t" >> "$WORK/t.$op.$m"
      echo "run $i $op $m: ${t}s ($(mibps "$t") MiB/s)" | tee -a "$WORK/runs.txt" >&2
    done
  done
done
[ "$(sha256sum < "$SHARE/up.bin" | cut -d' ' -f1)" = "$SUM" ] || { echo "CHECKSUM MISMATCH: last put" >&2; bad=1; }
declare -A MED
for m in "${MODES[@]}"; do for op in get put; do MED[$op.$m]=$(median < "$WORK/t.$op.$m"); done; done
ratio() { [ "$2" = 0 ] || [ "$1" = 0 ] && echo "-" || echo "scale=2; $2 / $1" | bc; }  # speed ratio from times
{
  echo "# Sealed SMB Direct: RDMA encryption transform vs sealed inline vs sealed TCP"
  echo
  echo "Command: \`bench/sealed_rdma_transform.sh $BUILD\` (SIZE_MB=$SIZE_MB RUNS=$RUNS), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build at $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null)."
  echo "Our CLI against smbdirectd on loopback, SMB 3.1.1, AES-128-GCM; SMB Direct on the built-in software iWARP provider. Medians of $RUNS runs; the modes take turns going first. Every get checked by sha256$([ $bad = 0 ] && echo ": all matched" || echo ": MISMATCH (see the runs)")."
  echo
  echo "| mode | get MiB/s | put MiB/s | get vs sealed inline | put vs sealed inline | get vs sealed TCP | put vs sealed TCP |"
  echo "|---|---|---|---|---|---|---|"
  for m in "${MODES[@]}"; do
    echo "| ${NAME[$m]} | $(mibps "${MED[get.$m]}") | $(mibps "${MED[put.$m]}") | $(ratio "${MED[get.$m]}" "${MED[get.inline]}") | $(ratio "${MED[put.$m]}" "${MED[put.inline]}") | $(ratio "${MED[get.$m]}" "${MED[get.tcp]}") | $(ratio "${MED[put.$m]}" "${MED[put.tcp]}") |"
  done
  echo
  echo "Each run:"
  echo
  sed 's/^/    /' "$WORK/runs.txt"
} > "$WORK/table.md"
write_results "$HERE/results/sealed_rdma_transform.md" "$WORK/table.md"
exit $bad
