#!/usr/bin/env bash
# smbdirectd as a daemon: pid file, SIGHUP reloading shares and users while a connection stays
# up, SIGTERM, configuration diagnostics (unknown key warning with file:line, invalid value
# refusing to start), the user command, and the [global] keys that act on the daemon itself:
# tcp port / smb ports, max connections, restrict anonymous, hosts deny, smb direct (no, yes,
# auto) and smb direct provider. On a machine with an RDMA device the check that `smb direct
# provider = verbs` without one refuses to start cannot run: the test then ends as skipped (77)
# when everything else passed.
. "$(dirname "$0")/lib.sh"
# Further instances (instance below), stopped on exit as the main server is.
INSTANCES=()
trap 'for p in "${INSTANCES[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup' EXIT
start_server "	frobnicate = yes" "" || { not_ok "server start"; finish; exit 1; }
check "unknown key is a warning naming file and line" grep -q "ksmbd.conf:[0-9]*: unknown parameter 'frobnicate' ignored" "$WORK/server.log"
mkdir -p "$WORK/extra"
echo one > "$WORK/extra/one.txt"
# A session that stays connected across the reload: ls, (reload happens during the sleep), ls.
# (Commands come on stdin: smbclient's -c does not run "!sleep".)
( (echo ls; sleep 3; echo ls; echo "get one.txt $WORK/local/none") |
    smbclient //127.0.0.1/share -p "$PORT" -U smbtest%Pass-1234 -m SMB3 > "$WORK/long.out" 2>&1
  echo "rc=$?" >> "$WORK/long.out" ) &
LONG=$!
sleep 1
check_fails_with "share not there before reload" NT_STATUS_BAD_NETWORK_NAME \
  smbclient //127.0.0.1/extra -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c ls
printf '[extra]\n\tpath = %s\n\tread only = yes\n' "$WORK/extra" >> "$WORK/ksmbd.conf"
printf 'New-pass-1\n' | "$SMBDIRECTD" user add carol -i "$WORK/users.db" >/dev/null 2>&1
give_to_daemon "$WORK/users.db" "$WORK/extra"
kill -HUP "$SERVER_PID"
sleep 0.5
check "reload logged" grep -q "reloaded: 4 shares" "$WORK/server.log"
check "new share served after SIGHUP" smbclient //127.0.0.1/extra -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c "get one.txt $WORK/local/one.txt"
check "new user can log in after SIGHUP" smbclient //127.0.0.1/share -p "$PORT" -U carol%New-pass-1 -m SMB3 -c ls
check_fails_with "read only share refuses writes" NT_STATUS_ACCESS_DENIED \
  smbclient //127.0.0.1/extra -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c "put $WORK/local/one.txt two.txt"
wait $LONG
check "the connection open during the reload kept working" bash -c "grep -c 'blocks of size' $WORK/long.out | grep -q 2"
# pid file and SIGTERM with a separate instance
mkdir -p "$WORK/run"
give_to_daemon "$WORK/run"
sd_daemon -n -c "$WORK/ksmbd.conf" -u "$WORK/users.db" -p 0 -P "$WORK/run/sd.pid" > "$WORK/second.log" 2>&1 &
P2=$!
for _ in $(seq 1 50); do [ -s "$WORK/run/sd.pid" ] && break; sleep 0.1; done
check "pid file holds the pid" bash -c "[ \"\$(cat $WORK/run/sd.pid)\" = $P2 ]"
kill -TERM $P2; wait $P2; rc=$?
check "SIGTERM exits 0" test $rc -eq 0
check "pid file removed" test ! -e "$WORK/run/sd.pid"
# invalid configuration refuses to start
printf '[global]\n\ttcp port = 99999\n' > "$WORK/bad.conf"
"$SMBDIRECTD" -n -c "$WORK/bad.conf" -u "$WORK/users.db" -P none > "$WORK/bad.log" 2>&1; rc=$?
check "invalid value refuses to start" test $rc -ne 0
check "invalid value is explained" grep -q "bad.conf:2: invalid value '99999' for 'tcp port'" "$WORK/bad.log"
# map to guest = bad user: unknown users become guests (guest ok shares only); a known user with
# a wrong password is still refused.
chmod 755 "$WORK"  # the guest (nobody) must reach the share
printf '[global]\n\tmap to guest = bad user\n\tinterfaces = 127.0.0.1\n\tbind interfaces only = yes\n[pub]\n\tpath = %s\n\tguest ok = yes\n[share]\n\tpath = %s\n' "$SHARE" "$SHARE" > "$WORK/guest.conf"
sd_daemon -n -c "$WORK/guest.conf" -u "$WORK/users.db" -p 0 -P none > "$WORK/guest.log" 2>&1 &
P3=$!
for _ in $(seq 1 50); do GPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tcp).*/\1/p' "$WORK/guest.log" | head -1); [ -n "$GPORT" ] && break; sleep 0.1; done
check "unknown user mapped to guest reads a guest ok share" smbclient //127.0.0.1/pub -p "$GPORT" -U nobody%x -m SMB3 -c ls
check_fails_with "guest refused on a share without guest ok" NT_STATUS_ACCESS_DENIED \
  smbclient //127.0.0.1/share -p "$GPORT" -U nobody%x -m SMB3 -c ls
check_fails_with "known user, wrong password: still a logon failure" NT_STATUS_LOGON_FAILURE \
  smbclient //127.0.0.1/pub -p "$GPORT" -U smbtest%wrong -m SMB3 -c ls
kill -TERM $P3; wait $P3
check "--help documents the flags" bash -c "\"$SMBDIRECTD\" --help | grep -q -- '--nodetach'"
check "user list" bash -c "\"$SMBDIRECTD\" user list -i $WORK/users.db | grep -qx carol"

# ---- [global] keys that act on the daemon itself, each on an instance of its own.
# instance NAME "GLOBAL LINES" [ARGS...]: smbdirectd in the foreground with $WORK/NAME.conf
# ([global]: the loopback interface only, then the lines; [share]) and ARGS (no -p unless given),
# logging to $WORK/NAME.log. Returns 0 once it has started (IPORT: its TCP port), 1 when it
# ended first; IPID is its pid either way.
instance() {
  local name=$1 lines=$2
  shift 2
  printf '[global]\n\tinterfaces = 127.0.0.1\n\tbind interfaces only = yes\n\tfallback unix account = root\n%s\n[share]\n\tpath = %s\n\tread only = no\n' \
    "$lines" "$SHARE" > "$WORK/$name.conf"
  give_to_daemon "$WORK/$name.conf"
  sd_daemon -n -c "$WORK/$name.conf" -u "$WORK/users.db" -P none "$@" > "$WORK/$name.log" 2>&1 &
  IPID=$!
  INSTANCES+=("$IPID")
  IPORT=""
  for _ in $(seq 1 100); do
    if grep -qs "smbdirectd started" "$WORK/$name.log"; then
      IPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tcp).*/\1/p' "$WORK/$name.log" | head -1)
      return 0
    fi
    kill -0 "$IPID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_instance() { kill -TERM "$IPID" 2>/dev/null; wait "$IPID" 2>/dev/null; }
# refuses_start NAME "GLOBAL LINES": the instance ends without serving, with a non-zero status.
refuses_start() {
  if instance "$1" "$2" -p 0; then
    stop_instance
    echo "it started:"; tail -5 "$WORK/$1.log"; return 1
  fi
  kill -0 "$IPID" 2>/dev/null && { stop_instance; echo "it did not start in time"; return 1; }
  wait "$IPID"; local rc=$?
  echo "exit status $rc"; tail -3 "$WORK/$1.log"
  [ "$rc" -ne 0 ]
}
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
U=(-U smbtest%Pass-1234 -m SMB3)

# tcp port / smb ports: the port served when no -p is given; of an smb ports list, the first.
P1=$(free_port)
if instance tport "	tcp port = $P1
	smb direct = no"; then
  check "tcp port = $P1: listening there without -p" test "$IPORT" = "$P1"
  check "tcp port = $P1: served" smbclient -L //127.0.0.1 -p "$P1" "${U[@]}"
  stop_instance
else
  not_ok "instance with tcp port = $P1 did not start"; tail -5 "$WORK/tport.log"
fi
P2=$(free_port)
P3=$(free_port)
while [ "$P3" = "$P2" ]; do P3=$(free_port); done
if instance sports "	smb ports = $P2 $P3
	smb direct = no"; then
  check "smb ports = $P2 $P3: listening on the first" test "$IPORT" = "$P2"
  check "smb ports: served on $P2" smbclient -L //127.0.0.1 -p "$P2" "${U[@]}"
  check "smb ports: not on $P3" bash -c "! grep -q ':$P3 (tcp)' '$WORK/sports.log'"
  stop_instance
else
  not_ok "instance with smb ports = $P2 $P3 did not start"; tail -5 "$WORK/sports.log"
fi

# max connections = 1, restrict anonymous = 2, smb direct = no (against the main server: SMB
# Direct listens there, anonymous listings are served).
check "by default SMB Direct listens (smb direct = auto)" grep -q "(SMB Direct, " "$WORK/server.log"
check "by default an anonymous session lists the shares" smbclient -N -L //127.0.0.1 -p "$PORT" -m SMB3
if instance limits "	max connections = 1
	restrict anonymous = 2
	smb direct = no
	smb direct port = 0" -p 0; then
  check "smb direct = no: no SMB Direct listener" bash -c "! grep -q '(SMB Direct' '$WORK/limits.log'"
  check_fails_with "restrict anonymous = 2: an anonymous session is refused" NT_STATUS_LOGON_FAILURE \
    smbclient -N -L //127.0.0.1 -p "$IPORT" -m SMB3
  check "restrict anonymous = 2: a named user lists the shares" smbclient -L //127.0.0.1 -p "$IPORT" "${U[@]}"
  # One connection held open for 3 s (from its session on); a second one meanwhile is refused.
  n0=$(grep -c ' session ' "$WORK/limits.log")
  ( (echo ls; sleep 3; echo ls) | smbclient //127.0.0.1/share -p "$IPORT" "${U[@]}" > "$WORK/held.out" 2>&1 ) &
  HELD=$!
  for _ in $(seq 1 50); do [ "$(grep -c ' session ' "$WORK/limits.log")" -gt "$n0" ] && break; sleep 0.1; done
  check_fails_with "max connections = 1: a second connection is refused" \
    "NT_STATUS_CONNECTION\|NT_STATUS_IO_TIMEOUT\|NT_STATUS_END_OF_FILE" \
    smbclient //127.0.0.1/share -p "$IPORT" "${U[@]}" -c ls
  check "max connections = 1: the refusal is logged" \
    grep -q "refusing connection from 127.0.0.1:[0-9]*: max connections (1) reached" "$WORK/limits.log"
  wait "$HELD"
  check "max connections = 1: the first connection was served throughout" \
    test "$(grep -c 'blocks of size' "$WORK/held.out")" -eq 2
  stop_instance
else
  not_ok "instance with max connections = 1 did not start"; tail -5 "$WORK/limits.log"
fi

# [global] hosts deny: the connection is closed before anything is read.
if instance hdeny "	hosts deny = 127.0.0.1
	smb direct = no" -p 0; then
  check_fails_with "[global] hosts deny = 127.0.0.1 refuses the connection" \
    "NT_STATUS_CONNECTION\|NT_STATUS_IO_TIMEOUT\|NT_STATUS_END_OF_FILE" \
    smbclient //127.0.0.1/share -p "$IPORT" "${U[@]}" -c ls
  check "the refusal is logged" grep -q "refusing connection from 127.0.0.1" "$WORK/hdeny.log"
  stop_instance
else
  not_ok "instance with hosts deny did not start"; tail -5 "$WORK/hdeny.log"
fi

# smb direct = yes fails start-up without an SMB Direct listener (its port is the main server's);
# auto starts, says SMB Direct is unavailable and serves TCP.
check "the main server's SMB Direct port is known" test -n "$RDMA_PORT"
check "smb direct = yes with its port taken refuses to start" refuses_start dyes "	smb direct = yes
	smb direct port = $RDMA_PORT"
check "and says why" grep -q "cannot listen for SMB Direct on 127.0.0.1 port $RDMA_PORT" "$WORK/dyes.log"
if instance dauto "	smb direct = auto
	smb direct port = $RDMA_PORT" -p 0; then
  check "smb direct = auto with its port taken: SMB Direct unavailable, logged" \
    grep -q "SMB Direct is not available on 127.0.0.1; serving TCP only" "$WORK/dauto.log"
  check "smb direct = auto with its port taken: TCP served" smbclient -L //127.0.0.1 -p "$IPORT" "${U[@]}"
  stop_instance
else
  not_ok "smb direct = auto with its port taken did not start"; tail -5 "$WORK/dauto.log"
fi

# smb direct provider = verbs with smb direct = yes and no RDMA device: start-up fails.
if [ -n "$(ls -A /sys/class/infiniband 2>/dev/null)" ]; then
  VERBS_SKIPPED=1
  echo "SKIPPED part: this machine has an RDMA device (/sys/class/infiniband)"
else
  check "smb direct provider = verbs without an RDMA device refuses to start" refuses_start verbs \
    "	smb direct = yes
	smb direct provider = verbs
	smb direct port = 0"
  check "and says why" grep -q "smb direct provider = verbs: \(no RDMA device\|not built\)" "$WORK/verbs.log"
fi
finish || exit 1
# Everything else passed, but part of what this test shows did not run: ctest reports a skip.
[ -z "${VERBS_SKIPPED:-}" ] || exit 77
