# Shared by the bench scripts.
# need_built FILE...: exits with how to build when one of the benchmark's binaries is missing.
need_built() {
  local f
  for f in "$@"; do
    [ -x "$f" ] || { echo "$f is not built: cmake --preset release && cmake --build --preset release"; exit 1; }
  done
}
# serve_share_for_bench: smbdirectd ($SMBDIRECTD) on free loopback ports with TCP and SMB Direct,
# through the interop tests' helpers (tests/interop/lib.sh: $WORK, $SHARE, $PORT, $RDMA_PORT,
# $SERVER_PID, stopped on exit); exits when either listener is missing.
serve_share_for_bench() {
  export SMBDIRECTD
  . "$(dirname "${BASH_SOURCE[0]}")/../tests/interop/lib.sh"
  start_server "" "" >/dev/null || { echo "smbdirectd did not start"; exit 1; }
  [ -n "$RDMA_PORT" ] || { echo "smbdirectd has no SMB Direct listener"; exit 1; }
}
# write_results OUT TABLE_FILE: prints the new table and makes it the head of the results file
# OUT, keeping the file's sections from its first "## " heading on (the recorded history).
write_results() {
  local out=$1 table=$2 notes=""
  [ -f "$out" ] && notes=$(sed -n '/^## /,$p' "$out")
  cat "$table"
  { cat "$table"; if [ -n "$notes" ]; then printf '\n%s\n' "$notes"; fi; } > "$out.tmp" && mv "$out.tmp" "$out"
}
