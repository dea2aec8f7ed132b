#!/usr/bin/env bash
# The main job: builds smbdirectd and smbdirect, serves a scratch share on 127.0.0.1 over TCP and
# SMB Direct (the built-in software iWARP provider: no RDMA hardware needed), uses it from Samba's
# smbclient over TCP (share listing, put, get), then mounts it with the smbdirect FUSE mount over
# SMB Direct (-o vers=3.1.1,rdma) and copies a file through it.
# Usage: scripts/demo.sh [tcp-port]   (SMB Direct on a free port; DEMO_RDMA_PORT=5445 to pin it)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target smbdirectd smbdirect >/dev/null
D=$(mktemp -d /tmp/smbdirect-demo.XXXXXX)
trap 'mountpoint -q $D/mnt && umount $D/mnt; kill $(cat $D/pid 2>/dev/null) 2>/dev/null; rm -rf $D' EXIT
mkdir -p "$D/share"
cat > "$D/ksmbd.conf" <<CONF
[global]
	netbios name = SMBDIRECT-DEMO
	interfaces = 127.0.0.1
	bind interfaces only = yes
	server multi channel support = yes
	smb direct = yes
	smb direct port = ${DEMO_RDMA_PORT:-0}
	# The demo user has no Unix account: it acts as root (the share is the demo's own).
	fallback unix account = root
[share]
	path = $D/share
	read only = no
	comment = smbdirect demo share
CONF
printf 'demo-pass\n' | build/release/src/tools/smbdirectd user add demo -i "$D/users.db"
build/release/src/tools/smbdirectd -n -c "$D/ksmbd.conf" -u "$D/users.db" -p "${1:-0}" -P "$D/pid" 2>"$D/log" &
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tcp).*/\1/p' "$D/log" | head -1)
  RDMA_PORT=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) (SMB Direct.*/\1/p' "$D/log" | head -1)
  [ -n "$PORT" ] && [ -n "$RDMA_PORT" ] && break; sleep 0.1
done
grep "listening on" "$D/log"
echo "smbdirectd serves //127.0.0.1/share: TCP port $PORT, SMB Direct port $RDMA_PORT (user demo, password demo-pass)"
head -c 64M /dev/urandom > "$D/file.bin"
smbclient -L 127.0.0.1 -p "$PORT" -U demo%demo-pass -m SMB3
smbclient //127.0.0.1/share -p "$PORT" -U demo%demo-pass -m SMB3_11 --client-protection=sign \
  -c "put $D/file.bin file.bin; ls; get file.bin $D/back.bin"
cmp "$D/file.bin" "$D/back.bin" && echo "demo: 64 MiB round trip over SMB 3.1.1 verified"
mkdir -p "$D/mnt"
PASSWD=demo-pass build/release/src/tools/smbdirect mount //127.0.0.1/share "$D/mnt" -o "username=demo,port=$RDMA_PORT,vers=3.1.1,rdma"
grep " $D/mnt " /proc/mounts
findmnt --mtab "$D/mnt"
cp "$D/file.bin" "$D/mnt/copy.bin"
cmp "$D/file.bin" "$D/share/copy.bin" && echo "demo: 64 MiB copied through the FUSE mount over SMB Direct verified on the server"
grep "SMB Direct connection from" "$D/log" | tail -1
ls -l "$D/mnt"
umount "$D/mnt"
