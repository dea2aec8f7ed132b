# Shared helpers for interop tests: start smbdirectd on a free port with a scratch share and users,
# stop it on exit, and small assertion helpers. Every wait is bounded.
set -uo pipefail
: "${SMBDIRECTD:?path to smbdirectd}"
WORK=$(mktemp -d /tmp/sdtest.XXXXXX)
SHARE=$WORK/share
mkdir -p "$SHARE" "$WORK/local"
PASS=0
FAIL=0
SERVER_PID=""

cleanup() {
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
$1
[share]
	path = $SHARE
	read only = no
	comment = test share
$2
[private]
	path = $SHARE
	valid users = alice
CONF
  printf 'Pass-1234\n' | "$SMBDIRECTD" user add smbtest -i "$WORK/users.db" >/dev/null || return 1
  printf 'Alice-987\n' | "$SMBDIRECTD" user add alice -i "$WORK/users.db" >/dev/null || return 1
  "$SMBDIRECTD" -n -c "$WORK/ksmbd.conf" -u "$WORK/users.db" -p 0 -P none -v >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tcp).*/\1/p' "$WORK/server.log" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; cat "$WORK/server.log"; return 1
}

finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
