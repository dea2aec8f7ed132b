#!/usr/bin/env bash
# smbdirectd as a daemon: pid file, SIGHUP reloading shares and users while a connection stays
# up, SIGTERM, configuration diagnostics (unknown key warning with file:line, invalid value
# refusing to start), and the user command.
. "$(dirname "$0")/lib.sh"
start_server "	frobnicate = yes" "" || { not_ok "server start"; finish; exit 1; }
check "unknown key is a warning naming file and line" grep -q "ksmbd.conf:[0-9]*: unknown parameter 'frobnicate' ignored" "$WORK/server.log"
mkdir -p "$WORK/extra"
echo one > "$WORK/extra/one.txt"
# A session that stays connected across the reload: ls, (reload happens during the sleep), ls.
( smbclient //127.0.0.1/share -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c "ls; !sleep 3; ls; get one.txt $WORK/local/none" > "$WORK/long.out" 2>&1; echo "rc=$?" >> "$WORK/long.out" ) &
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
finish
