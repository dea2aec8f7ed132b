# Shared helpers for interop tests: start smbdirectd on a free port with a scratch share and users,
# stop it on exit, and small assertion helpers. Every wait is bounded.
set -uo pipefail
: "${SMBDIRECTD:?path to smbdirectd}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdtest.XXXXXX")
SHARE=$WORK/share
mkdir -p "$SHARE" "$WORK/local"
PASS=0
FAIL=0
SERVER_PID=""

cleanup() {
  stop_samba
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  if [ "$FAIL" -ne 0 ]; then
    echo "--- server log (last 40 lines) ---"; tail -40 "$WORK/server.log" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() {  # check "description" command...
  local d=$1; shift
  if "$@" >"$WORK/last.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/    /' "$WORK/last.out" | tail -15; fi
}
check_fails_with() {  # check_fails_with "description" PATTERN command...
  local d=$1 pat=$2; shift 2
  "$@" >"$WORK/last.out" 2>&1
  if grep -q -- "$pat" "$WORK/last.out"; then ok "$d"; else not_ok "$d (expected $pat)"; sed 's/^/    /' "$WORK/last.out" | tail -15; fi
}

# start_server EXTRA_GLOBAL_LINES EXTRA_SHARE_LINES
start_server() {
  cat > "$WORK/ksmbd.conf" <<CONF
[global]
	netbios name = SDTEST
	server string = smbdirect test server
	workgroup = WORKGROUP
	bind interfaces only = yes
	interfaces = 127.0.0.1
	server multi channel support = yes
	smb direct port = 0
	# The suite's SMB users act as root, whether or not the system has accounts of their names
	# (start_samba creates smbtest): the tests create and check files as root.
	# tests/interop/multiuser_test.sh covers per-user identity.
	fallback unix account = root
$1
[share]
	path = $SHARE
	read only = no
	comment = test share
	force user = root
$2
[private]
	path = $SHARE
	valid users = alice
	force user = root
CONF
  rm -f "$WORK/users.db"
  printf 'Pass-1234\n' | "$SMBDIRECTD" user add smbtest -i "$WORK/users.db" >/dev/null || return 1
  printf 'Alice-987\n' | "$SMBDIRECTD" user add alice -i "$WORK/users.db" >/dev/null || return 1
  launch_server
}

# launch_server: starts smbdirectd on a free port with $WORK/ksmbd.conf and $WORK/users.db;
# sets SERVER_PID, PORT and RDMA_PORT.
launch_server() {
  "$SMBDIRECTD" -n -c "$WORK/ksmbd.conf" -u "$WORK/users.db" -p 0 -P none -v >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tcp).*/\1/p' "$WORK/server.log" | head -1)
    # SMB Direct port (RDMA_PORT), when the configuration leaves it on.
    RDMA_PORT=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) (SMB Direct.*/\1/p' "$WORK/server.log" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; cat "$WORK/server.log"; return 1
}

# restart_server: kills smbdirectd (SIGKILL, no goodbye) and starts it again with the same
# configuration on the same TCP port.
restart_server() {
  kill -KILL "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  # (fds 7-9 are closed: a test may hold files of a mount open on them)
  "$SMBDIRECTD" -n -c "$WORK/ksmbd.conf" -u "$WORK/users.db" -p "$PORT" -P none -v >>"$WORK/server.log" 2>&1 7<&- 8<&- 9<&- &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    [ "$(grep -c "listening on 127.0.0.1:$PORT (tcp)" "$WORK/server.log")" -ge 2 ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not restart"; return 1
}

finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}

# start_samba: Samba smbd on a free loopback port with a scratch share and user smbtest
# (peers.md). Sets SAMBA_PORT and SAMBA_SHARE. smbd signals its process group on exit, so it
# gets its own session.
start_samba() {
  chmod 755 "$WORK"
  local B=$WORK/samba
  mkdir -p "$B"/{private,lock,state,cache,pid,ncalrpc,binddns,log,share}
  id smbtest >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin smbtest
  chown smbtest "$B/share"
  SAMBA_SHARE=$B/share
  SAMBA_PORT=${SAMBA_PORT_WANT:-$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
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
  setsid smbd --foreground --no-process-group --debug-stdout -s "$B/smb.conf" > "$B/log/smbd.out" 2>&1 &
  SAMBA_PID=$!
  for _ in $(seq 1 100); do
    smbclient -L 127.0.0.1 -p "$SAMBA_PORT" -U smbtest%Pass-1234 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "smbd did not start"; tail -5 "$B/log/smbd.out"; return 1
}
# stop_samba: smbd, and the samba-dcerpcd / rpcd_* helpers it spawned for this smb.conf (they
# outlive smbd otherwise).
stop_samba() {
  [ -n "${SAMBA_PID:-}" ] && kill -TERM "$SAMBA_PID" 2>/dev/null
  SAMBA_PID=""
  pkill -TERM -f -- "--configfile=$WORK/samba/smb.conf" 2>/dev/null
  return 0
}
