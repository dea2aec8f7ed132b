#!/usr/bin/env bash
# Informational: the kernel's SMB client (cifs.ko in ../shared/kernel-lab's QEMU guest) writing and
# reading a file (dd bs=1M conv=fsync, then dd after drop_caches) on
#   - ksmbd in the same guest (//10.0.2.15), over SMB Direct (siw) and over TCP, and
#   - smbdirectd on this host (//10.0.2.2: QEMU's user network to 127.0.0.1), over SMB Direct
#     (siw in the guest, the soft provider here, port 5445) and over TCP.
# The guest runs under TCG emulation here (no usable KVM), and the two servers are reached by
# different paths, so these figures measure the emulator and QEMU's network more than the
# servers: they are recorded as informational, not as a comparison (bench/smbdirect_vs_tcp.sh is
# the benchmark). Results: bench/results/kernel_lab_cifs.md, with the command.
# Usage: bench/kernel_lab_cifs.sh [build-dir]   (env: SIZE_MB=64, LAB=<path to lab.sh>)
# Needs root (the lab) and a free 127.0.0.1:5445 (cifs.ko always dials 5445 for SMB Direct).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
SMBDIRECTD=$BUILD/src/tools/smbdirectd
LAB=${LAB:-$HERE/../../shared/kernel-lab/lab.sh}
MB=${SIZE_MB:-64}
. "$HERE/lib.sh"
need_built "$SMBDIRECTD"
[ -x "$LAB" ] || { echo "no kernel lab at $LAB (set LAB=)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "the kernel lab needs root"; exit 1; }
if ss -ltn 2>/dev/null | grep -q '127.0.0.1:5445 \|\*:5445 \|0.0.0.0:5445 '; then
  echo "port 5445 is taken (cifs.ko always dials 5445 for SMB Direct)"; exit 1
fi
export SMBDIRECTD
. "$HERE/../tests/interop/lib.sh"
start_server "	smb direct port = 5445
	smb direct provider = soft" "" >/dev/null || { echo "smbdirectd did not start"; exit 1; }
grep -q "listening on 127.0.0.1:5445 (SMB Direct" "$WORK/server.log" || { echo "smbdirectd has no SMB Direct listener on 5445"; exit 1; }

# lab NAME ARGS...: one lab run (about a minute under TCG), its log in $WORK/NAME.log.
lab() {
  local name=$1; shift
  echo "kernel lab: $name ..." >&2
  timeout 900 "$LAB" "$@" --size "$MB" >"$WORK/$name.log" 2>&1 || { echo "kernel lab run '$name' failed:" >&2; tail -20 "$WORK/$name.log" >&2; return 1; }
}
# rate LOG LABEL: the MiB/s of the lab's line "  io_LABEL: dd ...: 64 MiB in 3.36 s = 19.0 MiB/s (rc=0)"
rate() { sed -n "s/^ *io_$2: .* = \([0-9.]*\) MiB\/s (rc=0).*/\1/p" "$WORK/$1.log" | head -1; }

lab ksmbd --scenario ksmbd-rdma --transports siw,tcp || exit 1
lab smbdirectd-rdma --scenario cifs-client --rdma --user smbtest --pass Pass-1234 || exit 1
lab smbdirectd-tcp --scenario cifs-client --port "$PORT" --user smbtest --pass Pass-1234 || exit 1
accel=$(sed -n 's/^accel *: //p' "$WORK/ksmbd.log" | head -1)
[ -n "$accel" ] || accel="not reported by the lab"


cat > "$WORK/table.md" <<EOF
# cifs.ko in the kernel lab against ksmbd and against smbdirectd (informational)

Command: \`bench/kernel_lab_cifs.sh $BUILD\` (SIZE_MB=$MB), $(date -u +%Y-%m-%dT%H:%MZ), release build at $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null).
Guest: $accel. dd bs=1M of a $MB MiB file: write with conv=fsync, read after drop_caches; every file's sha256 checked by the lab.
ksmbd runs in the guest (cifs.ko reaches it at the guest's own address); smbdirectd runs on the host and is reached through QEMU's user network. Under emulation the figures measure the emulator and that network more than either server.

| server | transport | write (MiB/s) | read (MiB/s) |
|---|---|---|---|
| ksmbd (guest) | SMB Direct, siw | $(rate ksmbd siw_write) | $(rate ksmbd siw_read) |
| ksmbd (guest) | TCP | $(rate ksmbd tcp_write) | $(rate ksmbd tcp_read) |
| smbdirectd (host) | SMB Direct, siw to the soft provider | $(rate smbdirectd-rdma client_write) | $(rate smbdirectd-rdma client_read) |
| smbdirectd (host) | TCP | $(rate smbdirectd-tcp client_write) | $(rate smbdirectd-tcp client_read) |
EOF
write_results "$HERE/results/kernel_lab_cifs.md" "$WORK/table.md"
