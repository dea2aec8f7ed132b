#!/usr/bin/env bash
# SMB Direct (built-in soft iWARP provider) vs TCP through our client to smbdirectd on loopback, in
# one run: 1 MiB pipelined read/write throughput and 4 KiB read/write latency (medians of RUNS; the transports take turns going first),
# and the CPU time client and server spend per MiB (on one machine the throughput follows it).
# Results go to bench/results/smbdirect_vs_tcp.md with the command that produced them.
# Usage: bench/smbdirect_vs_tcp.sh [build-dir]   (env: SIZE_MB=512 OPS=2000 RUNS=3 OVERWRITE=0)
# OVERWRITE=1: the 1 MiB writes go over the previous run's file instead of a new one (no page-cache
# allocation in the timed runs: on this VM a run that gets fresh memory is up to 2x slower).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
SMBDIRECTD=$BUILD/src/tools/smbdirectd
BENCH=$BUILD/bench/smbdirect_io_bench
. "$HERE/lib.sh"
need_built "$SMBDIRECTD" "$BENCH"
serve_share_for_bench
OUT=$HERE/results/smbdirect_vs_tcp.md
# Each run's line goes to stderr as it ends (progress) and into the results below the table.
"$BENCH" --tcp-port "$PORT" --rdma-port "$RDMA_PORT" --size-mb "${SIZE_MB:-512}" --ops "${OPS:-2000}" \
  --runs "${RUNS:-3}" --server-pid "$SERVER_PID" $([ "${OVERWRITE:-0}" = 1 ] && echo --overwrite) >"$WORK/table.out" 2>"$WORK/runs.txt" &
BENCH_PID=$!
tail --pid="$BENCH_PID" -n +1 -f "$WORK/runs.txt" >&2
wait "$BENCH_PID" || { echo "benchmark failed"; exit 1; }
TABLE=$(cat "$WORK/table.out")
{
  echo "# SMB Direct vs TCP through the smbdirect client (loopback)"
  echo
  echo "Command: \`bench/smbdirect_vs_tcp.sh $BUILD\` (SIZE_MB=${SIZE_MB:-512} OPS=${OPS:-2000} RUNS=${RUNS:-3} OVERWRITE=${OVERWRITE:-0}), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build at $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null)."
  echo "Same smbdirectd, same client library, same run; SMB Direct on the built-in software iWARP provider."
  echo
  echo "$TABLE"
  echo
  echo "Each run (the median of these is above):"
  echo
  grep '^run ' "$WORK/runs.txt" | sed 's/^/    /'
} > "$WORK/table.md"
write_results "$OUT" "$WORK/table.md"
