#!/usr/bin/env bash
# Throughput of get and put of a 1 GiB file against smbdirectd and against Samba's smbd, on
# loopback, in the same run, with Samba's smbclient and with our smbdirect CLI. Each case runs RUNS times (after one warm-up);
# the median is reported. Results go to bench/results/smbclient_vs_samba.md.
# Usage: bench/smbclient_vs_samba.sh [build-dir]   (env: SIZE_MB=1024 RUNS=5)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build/release}
SMBDIRECTD=$BUILD/src/tools/smbdirectd
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-5}
[ -x "$SMBDIRECTD" ] || { echo "build first: cmake --preset release && cmake --build --preset release"; exit 1; }
B=$(mktemp -d /tmp/sdbench.XXXXXX)
cleanup() {
  [ -f "$B/smbd.pid" ] && kill -TERM "$(cat "$B/smbd.pid")" 2>/dev/null || true
  [ -n "${SD_PID:-}" ] && kill -TERM "$SD_PID" 2>/dev/null || true
  sleep 0.5; rm -rf "$B"
}
trap cleanup EXIT
chmod 755 "$B"
mkdir -p "$B"/{private,lock,state,cache,pid,ncalrpc,binddns,log,share,sdshare,local}
id smbtest >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin smbtest
chown smbtest "$B/share"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SAMBA_PORT=$(free_port)
cat > "$B/smb.conf" <<CONF
[global]
   server role = standalone server
   smb ports = $SAMBA_PORT
   interfaces = 127.0.0.1
   bind interfaces only = yes
   disable netbios = yes
   private dir = $B/private
   lock directory = $B/lock
   state directory = $B/state
   cache directory = $B/cache
   pid directory = $B/pid
   ncalrpc dir = $B/ncalrpc
   binddns dir = $B/binddns
   passdb backend = tdbsam:$B/private/passdb.tdb
   log file = $B/log/log.%m
   load printers = no
   disable spoolss = yes
   server min protocol = SMB2_02
   map to guest = never
[share]
   path = $B/share
   read only = no
CONF
(echo Pass-1234; echo Pass-1234) | smbpasswd -c "$B/smb.conf" -s -a smbtest >/dev/null
# smbd signals its whole process group on exit: give it its own session.
setsid smbd --foreground --no-process-group --debug-stdout -s "$B/smb.conf" > "$B/log/smbd.out" 2>&1 &
echo $! > "$B/smbd.pid"

cat > "$B/ksmbd.conf" <<CONF
[global]
	bind interfaces only = yes
	interfaces = 127.0.0.1
[share]
	path = $B/sdshare
	read only = no
CONF
printf 'Pass-1234\n' | "$SMBDIRECTD" user add smbtest -i "$B/users.db" 2>/dev/null
setsid "$SMBDIRECTD" -n -c "$B/ksmbd.conf" -u "$B/users.db" -p 0 -P none > "$B/sd.log" 2>&1 &
SD_PID=$!
for _ in $(seq 1 100); do
  SD_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tcp).*/\1/p' "$B/sd.log" | head -1)
  [ -n "$SD_PORT" ] && break; sleep 0.1
done
for _ in $(seq 1 100); do smbclient -L 127.0.0.1 -p "$SAMBA_PORT" -U smbtest%Pass-1234 >/dev/null 2>&1 && break; sleep 0.2; done

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$B/local/big.bin"
# Seed both shares so that get reads a warm file.
cp "$B/local/big.bin" "$B/share/big.bin"; chown smbtest "$B/share/big.bin"
cp "$B/local/big.bin" "$B/sdshare/big.bin"

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

declare -A RES
for server in smbdirectd samba; do
  port=$([ $server = smbdirectd ] && echo "$SD_PORT" || echo "$SAMBA_PORT")
  timed "$port" "get big.bin /dev/null" >/dev/null   # warm-up
  for op in get put; do
    : > "$B/times"
    for _ in $(seq 1 "$RUNS"); do
      if [ $op = get ]; then timed "$port" "get big.bin /dev/null" >> "$B/times"
      else timed "$port" "put $B/local/big.bin put.bin" >> "$B/times"; fi
    done
    RES[$server.$op]=$(median < "$B/times")
    : > "$B/times"
    for _ in $(seq 1 "$RUNS"); do
      if [ $op = get ]; then timed_cli "$port" "get //127.0.0.1:$port/share/big.bin /dev/null" >> "$B/times"
      else timed_cli "$port" "put $B/local/big.bin //127.0.0.1:$port/share/put2.bin" >> "$B/times"; fi
    done
    RES[cli.$server.$op]=$(median < "$B/times")
  done
done
OUT=$HERE/results/smbclient_vs_samba.md
{
  echo "# smbclient get/put of ${SIZE_MB} MiB: smbdirectd vs Samba smbd (loopback)"
  echo
  echo "Command: \`bench/smbclient_vs_samba.sh\` (SIZE_MB=$SIZE_MB RUNS=$RUNS, median of $RUNS runs after a warm-up, SMB 3.1.1, signing as negotiated by default)"
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
} | tee "$OUT"
