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
# Under ThreadSanitizer every process the test starts (server, client, mount) reports to
# $WORK/sanitizer/tsan.PID, which finish counts as a failure. The directory is 1777: a server
# thread acting as a user's account writes its report there as that account.
mkdir -p "$WORK/sanitizer"
chmod 1777 "$WORK/sanitizer"
export TSAN_OPTIONS="log_path=$WORK/sanitizer/tsan ${TSAN_OPTIONS:-}"

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

# sd_daemon ARGS...: execs smbdirectd with ARGS (run it as `sd_daemon ... &`, so that $! is the
# daemon). With SD_DAEMON_USER=account, when the suite runs as root, the daemon runs as that
# unprivileged account (setpriv): how the suite shows that smbdirectd works without root (every
# SMB user then acts as that account). launch_server gives it $WORK first (give_to_daemon).
sd_daemon() {
  if [ -n "${SD_DAEMON_USER:-}" ] && [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid="$SD_DAEMON_USER" --regid="$(id -g "$SD_DAEMON_USER")" --init-groups \
      -- "$SMBDIRECTD" "$@"
  fi
  exec "$SMBDIRECTD" "$@"
}
# give_to_daemon PATH...: in SD_DAEMON_USER mode, PATH (recursively) belongs to the daemon's
# account; otherwise nothing. $WORK itself stays root's (mode 755): dumpcap, root without
# CAP_DAC_OVERRIDE, writes its capture there. Mounts and Samba's directory are left alone.
give_to_daemon() {
  [ -n "${SD_DAEMON_USER:-}" ] && [ "$(id -u)" = 0 ] || return 0
  chmod 755 "$WORK"
  find "$@" -xdev -path "$WORK/samba" -prune -o ! -path "$WORK" -exec chown "$SD_DAEMON_USER" {} +
}
# needs_root_daemon: exits 77 (skipped) in SD_DAEMON_USER mode, for tests of per-user identity.
needs_root_daemon() {
  if [ -n "${SD_DAEMON_USER:-}" ]; then
    echo "SKIPPED: the daemon runs as $SD_DAEMON_USER; this test needs it as root"; exit 77
  fi
}

# launch_server: starts smbdirectd on a free port with $WORK/ksmbd.conf and $WORK/users.db;
# sets SERVER_PID, PORT and RDMA_PORT.
launch_server() {
  give_to_daemon "$WORK"
  sd_daemon -n -c "$WORK/ksmbd.conf" -u "$WORK/users.db" -p 0 -P none -v >"$WORK/server.log" 2>&1 &
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
# configuration on the same TCP port; RDMA_PORT becomes the new server's SMB Direct port.
restart_server() {
  kill -KILL "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  local before
  before=$(grep -c "listening on 127.0.0.1:$PORT (tcp)" "$WORK/server.log")
  # (fds 7-9 are closed: a test may hold files of a mount open on them)
  sd_daemon -n -c "$WORK/ksmbd.conf" -u "$WORK/users.db" -p "$PORT" -P none -v >>"$WORK/server.log" 2>&1 7<&- 8<&- 9<&- &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if [ "$(grep -c "listening on 127.0.0.1:$PORT (tcp)" "$WORK/server.log")" -gt "$before" ]; then
      # The SMB Direct port may be a new one (smb direct port = 0): the restarted server's.
      RDMA_PORT=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) (SMB Direct.*/\1/p' "$WORK/server.log" | tail -1)
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not restart"; return 1
}

finish() {
  if compgen -G "$WORK/sanitizer/tsan.*" >/dev/null; then
    not_ok "ThreadSanitizer reported $(cat "$WORK"/sanitizer/tsan.* | grep -c '^WARNING: ThreadSanitizer') problems"
    head -40 "$WORK"/sanitizer/tsan.* | sed 's/^/    /'
  fi
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
