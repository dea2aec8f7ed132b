#!/usr/bin/env bash
# What a short command costs from start to exit: `smbdirect ls` of a share (connect, negotiate,
# session setup, tree connect, one directory listing, logoff) against smbdirectd on loopback, over
# TCP and over SMB Direct on the built-in software iWARP provider, ROUNDS times each (the
# transports take turns going first). Prints and records the median, 10th and 90th percentile.
# Results go to bench/results/connect_latency.md with the command that produced them.
# Usage: bench/connect_latency.sh [build-dir]   (env: ROUNDS=30)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
SMBDIRECTD=$BUILD/src/tools/smbdirectd
CLIENT=$BUILD/src/tools/smbdirect
. "$HERE/lib.sh"
need_built "$SMBDIRECTD" "$CLIENT"
serve_share_for_bench
touch "$SHARE/a" "$SHARE/b"
export PASSWD=Pass-1234
ROUNDS=${ROUNDS:-30}
one() {  # transport -> prints milliseconds
  local args=(-q -U smbtest -p "$PORT") t0
  [ "$1" = rdma ] && args=(-q -U smbtest --rdma -p "$RDMA_PORT")
  t0=$(date +%s%N)
  "$CLIENT" "${args[@]}" ls //127.0.0.1/share >/dev/null 2>>"$WORK/client.err" || { echo "ls over $1 failed" >&2; return 1; }
  echo $((($(date +%s%N) - t0) / 1000))
}
for r in $(seq 1 "$ROUNDS"); do
  order="tcp rdma"
  [ $((r % 2)) = 0 ] && order="rdma tcp"
  for t in $order; do
    us=$(one "$t") || exit 1
    echo "$t $us" >>"$WORK/samples.txt"
  done
  [ $((r % 10)) = 0 ] && echo "round $r of $ROUNDS" >&2
done
stats() {  # transport -> "median p10 p90" in ms
  awk -v t="$1" '$1 == t { print $2 }' "$WORK/samples.txt" | sort -n |
    awk '{ v[NR] = $1 } END { printf "%.1f | %.1f | %.1f", v[int((NR + 1) / 2)] / 1000, v[int(NR * 0.1) + 1] / 1000, v[int(NR * 0.9)] / 1000 }'
}
{
  echo "# Start-to-exit time of a short command (loopback)"
  echo
  echo "Command: \`bench/connect_latency.sh $BUILD\` (ROUNDS=$ROUNDS), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build at $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null)."
  echo "\`smbdirect ls //127.0.0.1/share\` against smbdirectd: process start, connect, negotiate 3.1.1, NTLMSSP session setup, tree connect, one listing, logoff, exit."
  echo
  echo "| transport | median (ms) | p10 (ms) | p90 (ms) |"
  echo "|---|---|---|---|"
  echo "| TCP | $(stats tcp) |"
  echo "| SMB Direct (soft iWARP provider) | $(stats rdma) |"
} >"$WORK/table.md"
write_results "$HERE/results/connect_latency.md" "$WORK/table.md"
