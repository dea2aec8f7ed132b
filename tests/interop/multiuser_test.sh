#!/usr/bin/env bash
# Per-user identity (every user acts as their own Unix account), checked with smbclient:
# three Unix accounts and two groups made for the test (removed after), each user with its own
# session against one smbdirectd. Ownership of what each creates (stat on the server), Unix
# permissions between users, supplementary groups, force user, force group, guest -> nobody,
# admin users, valid users = @group, hosts allow / hosts deny (per share and [global]), write
# list on a read-only share, a user with no Unix account refused, owner SIDs (S-1-22-1-uid),
# owner and group set through SET_INFO, set-group-ID directories, default POSIX ACLs, create
# mask, and what guest account and fallback unix account make guests and account-less users.
# Needs root (accounts, identity switching); exits 77 (skipped) otherwise.
set -uo pipefail
if [ "$(id -u)" != 0 ]; then echo "SKIPPED: needs root to create Unix accounts"; exit 77; fi
source "$(dirname "$0")/lib.sh"
needs_root_daemon

TAG=sdmu$$
U1=${TAG}a U2=${TAG}b U3=${TAG}c G=${TAG}g G2=${TAG}h
PW1=Pw-one-1 PW2=Pw-two-2 PW3=Pw-three-3
remove_accounts() {
  for u in "$U1" "$U2" "$U3"; do userdel "$u" >/dev/null 2>&1; done
  for g in "$G" "$G2"; do groupdel "$g" >/dev/null 2>&1; done
}
trap 'remove_accounts; cleanup' EXIT
groupadd "$G" && groupadd "$G2" || { echo "groupadd failed"; exit 1; }
useradd -M -N -g "$G2" -G "$G" -s /usr/sbin/nologin "$U1" &&
  useradd -M -N -g "$G2" -G "$G" -s /usr/sbin/nologin "$U2" &&
  useradd -M -N -g "$G2" -s /usr/sbin/nologin "$U3" || { echo "useradd failed"; exit 1; }

chmod 755 "$WORK"
DATA=$WORK/data PUB=$WORK/pub RO=$WORK/ro ADM=$WORK/adm
mkdir -p "$DATA" "$PUB" "$RO" "$ADM"
chmod 1777 "$DATA" "$PUB"
chmod 0777 "$RO"
echo "root only" > "$ADM/secret"; chmod 600 "$ADM/secret"
cat > "$WORK/ksmbd.conf" <<CONF
[global]
	netbios name = SDMULTI
	bind interfaces only = yes
	interfaces = 127.0.0.1
	smb direct = no
	map to guest = bad user
[data]
	path = $DATA
	read only = no
[masked]
	path = $DATA
	read only = no
	create mask = 0640
[forced]
	path = $DATA
	read only = no
	force user = $U3
[forcedgroup]
	path = $DATA
	read only = no
	force group = $G
[pub]
	path = $PUB
	read only = no
	guest ok = yes
[adm]
	path = $ADM
	read only = no
	admin users = $U2
[grp]
	path = $DATA
	valid users = @$G
[ro]
	path = $RO
	read only = yes
	write list = $U1
[hdeny]
	path = $DATA
	hosts deny = 127.0.0.1
[hallow]
	path = $DATA
	hosts allow = 127.0.0.1
[hallow2]
	path = $DATA
	hosts allow = 127.0.0.2 10.0.0.0/8
CONF
rm -f "$WORK/users.db"
for pair in "$U1:$PW1" "$U2:$PW2" "$U3:$PW3" "ghost:Ghost-1"; do
  printf '%s\n' "${pair#*:}" | "$SMBDIRECTD" user add "${pair%%:*}" -i "$WORK/users.db" >/dev/null 2>&1 ||
    { echo "user add ${pair%%:*} failed"; exit 1; }
done
launch_server || exit 1
echo "data" > "$WORK/local/f"

smb() {  # smb USER%PW SHARE COMMANDS
  smbclient "//127.0.0.1/$2" -p "$PORT" -U "$1" -m SMB3 -c "$3"
}
owner() { stat -c %U "$1"; }
group_of() { stat -c %G "$1"; }

# Ownership: files and directories belong to their creator.
smb "$U1%$PW1" data "put $WORK/local/f f1; mkdir d1" >/dev/null 2>&1
check "a file created by $U1 belongs to $U1" test "$(owner "$DATA/f1")" = "$U1"
check "a directory created by $U1 belongs to $U1" test "$(owner "$DATA/d1")" = "$U1"
smb "$U2%$PW2" data "put $WORK/local/f f2" >/dev/null 2>&1
check "a file created by $U2 belongs to $U2" test "$(owner "$DATA/f2")" = "$U2"
# create mask: [masked] (0640) takes away the bit for others that [data] (the default, 0744)
# leaves.
smb "$U1%$PW1" masked "put $WORK/local/f m1" >/dev/null 2>&1
check "create mask = 0640 applies" test "$(stat -c %a "$DATA/m1" 2>/dev/null)" = 640

# A set-group-ID directory keeps its Linux meaning: what a user creates in it gets the
# directory's group (not the user's primary group $G2), and new directories inherit the bit.
mkdir "$DATA/sgid"; chown "root:$G" "$DATA/sgid"; chmod 2777 "$DATA/sgid"
smb "$U1%$PW1" data "put $WORK/local/f sgid/f; mkdir sgid/sub" >/dev/null 2>&1
check "a file created in a set-group-ID directory gets its group" test "$(group_of "$DATA/sgid/f")" = "$G"
check "a directory created there gets its group and the bit" \
  bash -c "[ \"\$(stat -c %G '$DATA/sgid/sub')\" = '$G' ] && [ -g '$DATA/sgid/sub' ]"
check "and still belongs to its creator" test "$(owner "$DATA/sgid/f")" = "$U1"

# Unix permissions between users.
chmod 600 "$DATA/f1"
check_fails_with "$U2 cannot read $U1's 0600 file" NT_STATUS_ACCESS_DENIED \
  smb "$U2%$PW2" data "get f1 $WORK/local/x"
check "$U1 reads their own 0600 file" smb "$U1%$PW1" data "get f1 $WORK/local/y"
check_fails_with "$U2 cannot delete $U1's file in a sticky directory" NT_STATUS_ACCESS_DENIED \
  smb "$U2%$PW2" data "del f1"
check "$U1's file is still there" test -f "$DATA/f1"

# Supplementary group: $U1 and $U2 are in $G, $U3 is not.
echo "group data" > "$DATA/g1"; chown "$U1:$G" "$DATA/g1"; chmod 640 "$DATA/g1"
check "$U2 reads a 0640 file through the supplementary group $G" \
  smb "$U2%$PW2" data "get g1 $WORK/local/g"
check_fails_with "$U3 (not in $G) cannot read it" NT_STATUS_ACCESS_DENIED \
  smb "$U3%$PW3" data "get g1 $WORK/local/g3"

# force user / force group.
smb "$U1%$PW1" forced "put $WORK/local/f forced1" >/dev/null 2>&1
check "force user: $U1's file belongs to $U3" test "$(owner "$DATA/forced1" 2>/dev/null)" = "$U3"
smb "$U3%$PW3" forcedgroup "put $WORK/local/f fg1" >/dev/null 2>&1
check "force group: $U3's file has group $G" test "$(group_of "$DATA/fg1" 2>/dev/null)" = "$G"
check "force group: the owner stays $U3" test "$(owner "$DATA/fg1" 2>/dev/null)" = "$U3"

# Guest (map to guest = bad user) acts as nobody.
smb "stranger%whatever" pub "put $WORK/local/f guest1" >/dev/null 2>&1
check "a guest's file belongs to nobody" test "$(owner "$PUB/guest1" 2>/dev/null)" = nobody

# admin users act as root on their share.
smb "$U2%$PW2" adm "put $WORK/local/f a1" >/dev/null 2>&1
check "admin users: $U2's file on [adm] belongs to root" test "$(owner "$ADM/a1" 2>/dev/null)" = root
check "admin users: $U2 reads root's 0600 file" smb "$U2%$PW2" adm "get secret $WORK/local/s"
check_fails_with "not an admin: $U1 cannot read root's 0600 file there" NT_STATUS_ACCESS_DENIED \
  smb "$U1%$PW1" adm "get secret $WORK/local/s1"

# valid users = @group uses the user's Unix groups.
check "valid users = @$G admits $U1" smb "$U1%$PW1" grp "ls"
check_fails_with "valid users = @$G refuses $U3" NT_STATUS_ACCESS_DENIED smb "$U3%$PW3" grp "ls"

# write list on a read-only share: listed users create, others cannot.
smb "$U1%$PW1" ro "put $WORK/local/f w1" >/dev/null 2>&1
check "write list: $U1 creates a file on a read-only share" test -f "$RO/w1"
check_fails_with "not in write list: $U2 cannot create there" NT_STATUS_ACCESS_DENIED \
  smb "$U2%$PW2" ro "put $WORK/local/f w2"
check "and nothing was created" test ! -e "$RO/w2"

# hosts allow / hosts deny per share (the client is 127.0.0.1).
check_fails_with "hosts deny = 127.0.0.1 refuses the share" NT_STATUS_ACCESS_DENIED \
  smb "$U1%$PW1" hdeny "ls"
check "hosts allow = 127.0.0.1 admits it" smb "$U1%$PW1" hallow "ls"
check_fails_with "hosts allow without 127.0.0.1 refuses it" NT_STATUS_ACCESS_DENIED \
  smb "$U1%$PW1" hallow2 "ls"

# A user with no Unix account is refused (no fallback unix account here).
check_fails_with "a user without a Unix account is refused" NT_STATUS_LOGON_FAILURE \
  smb "ghost%Ghost-1" data "ls"
check "the refusal says why in the log" grep -q "user 'ghost' has no Unix account" "$WORK/server.log"

# Owner SIDs: S-1-22-1-<uid> of the creator (QUERY_INFO security).
owner_sid() {  # owner_sid USER PW PATH: the owner SID QUERY_INFO returns
  /usr/bin/python3 "$(dirname "$0")/owner_sid.py" 127.0.0.1 "$PORT" data "$3" "$1" "$2"
}
check "QUERY_INFO: the owner of $U2's file is S-1-22-1-$(id -u "$U2")" \
  test "$(owner_sid "$U1" "$PW1" f2 2>&1)" = "S-1-22-1-$(id -u "$U2")"
check "QUERY_INFO: the owner of $U1's directory is S-1-22-1-$(id -u "$U1")" \
  test "$(owner_sid "$U1" "$PW1" d1 2>&1)" = "S-1-22-1-$(id -u "$U1")"

# SET_INFO of an owner or group that is a Unix account's SID changes the file's Unix owner or
# group, as the kernel allows it for the caller.
set_sid() {  # set_sid USER PW SHARE PATH owner|group SID
  /usr/bin/python3 "$(dirname "$0")/owner_sid.py" 127.0.0.1 "$PORT" "$3" "$4" "$1" "$2" "$5" "$6"
}
GID_G=$(getent group "$G" | cut -d: -f3)
smb "$U1%$PW1" data "put $WORK/local/f sid1" >/dev/null 2>&1
smb "$U3%$PW3" data "put $WORK/local/f sid3" >/dev/null 2>&1
check "SET_INFO group S-1-22-2-$GID_G: $U1 gives their file to their group $G" \
  set_sid "$U1" "$PW1" data sid1 group "S-1-22-2-$GID_G"
check "and its Unix group is now $G" test "$(group_of "$DATA/sid1")" = "$G"
check "and QUERY_INFO says so" \
  test "$(/usr/bin/python3 "$(dirname "$0")/owner_sid.py" 127.0.0.1 "$PORT" data sid1 "$U1" "$PW1" group 2>&1)" = "S-1-22-2-$GID_G"
check_fails_with "$U3 (not in $G) cannot give their file to $G" STATUS_ACCESS_DENIED \
  set_sid "$U3" "$PW3" data sid3 group "S-1-22-2-$GID_G"
check "and its group is unchanged" test "$(group_of "$DATA/sid3")" = "$G2"
check_fails_with "$U1 cannot give their file to $U2" STATUS_INVALID_OWNER \
  set_sid "$U1" "$PW1" data sid1 owner "S-1-22-1-$(id -u "$U2")"
check "and it still belongs to $U1" test "$(owner "$DATA/sid1")" = "$U1"
check "an admin user gives root's file to $U1 (SET_INFO owner)" \
  set_sid "$U2" "$PW2" adm a1 owner "S-1-22-1-$(id -u "$U1")"
check "and its Unix owner is now $U1" test "$(owner "$ADM/a1")" = "$U1"

# A default POSIX ACL keeps its Linux meaning: what a user creates below it carries its entries
# (here: $U3 may read, group and others nothing), whatever the share's create mask says.
mkdir "$DATA/dacl"; chmod 777 "$DATA/dacl"
setfacl -d -m "u::rwx,g::---,o::---,u:$U3:rwx,m::rwx" "$DATA/dacl"
smb "$U1%$PW1" data "put $WORK/local/f dacl/f; mkdir dacl/sub" >/dev/null 2>&1
check "a file created under a default ACL carries its entry for $U3" \
  bash -c "getfacl -cp '$DATA/dacl/f' 2>/dev/null | grep -q '^user:$U3:'"
check "$U3 reads it through that entry" smb "$U3%$PW3" data "get dacl/f $WORK/local/acl3"
check_fails_with "$U2 (no entry, others ---) cannot read it" NT_STATUS_ACCESS_DENIED \
  smb "$U2%$PW2" data "get dacl/f $WORK/local/acl2"
check "a directory created there inherits the default ACL" \
  bash -c "getfacl -cpd '$DATA/dacl/sub' 2>/dev/null | grep -q '^user:$U3:rwx'"

# guest account and fallback unix account: guests act as the one, users without a Unix account
# as the other.
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
sed -i "s/^\tmap to guest = bad user\$/\tmap to guest = bad user\n\tguest account = $U3\n\tfallback unix account = $U2/" "$WORK/ksmbd.conf"
launch_server || exit 1
# owned_by FILE ACCOUNT CLIENT_OUTPUT: on failure, what the client and the server said.
owned_by() {
  [ "$(owner "$1" 2>/dev/null)" = "$2" ] && return 0
  echo "owner of $1: $(owner "$1" 2>&1)"; cat "$3"; tail -8 "$WORK/server.log"; return 1
}
smb "stranger%whatever" pub "put $WORK/local/f guest2" > "$WORK/guest.out" 2>&1
check "guest account = $U3: a guest's file belongs to $U3" owned_by "$PUB/guest2" "$U3" "$WORK/guest.out"
smb "ghost%Ghost-1" data "put $WORK/local/f ghost1" > "$WORK/ghost.out" 2>&1
check "fallback unix account = $U2: ghost (no Unix account) logs in, their file belongs to $U2" \
  owned_by "$DATA/ghost1" "$U2" "$WORK/ghost.out"

# [global] hosts deny: the connection is refused before any session exists.
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
sed -i 's/^\tmap to guest = bad user$/\tmap to guest = bad user\n\thosts allow = 127.0.0.0\/8 EXCEPT 127.0.0.1/' "$WORK/ksmbd.conf"
launch_server || exit 1
check_fails_with "[global] hosts allow (127.0.0.0/8 EXCEPT 127.0.0.1) refuses the connection" \
  "NT_STATUS_CONNECTION\|NT_STATUS_IO_TIMEOUT\|NT_STATUS_END_OF_FILE" smb "$U1%$PW1" data "ls"
check "the refusal is logged" grep -q "refusing connection from 127.0.0.1" "$WORK/server.log"
finish
