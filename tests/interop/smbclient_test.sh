#!/usr/bin/env bash
# Samba's smbclient against smbdirectd on loopback: every dialect, signing and sealing, file and
# directory operations with a 1 GiB transfer (checksums), share listing, wrong password, a user
# outside `valid users`, and attempts to leave the share.
. "$(dirname "$0")/lib.sh"
SIZE_MB=${SMBCLIENT_TEST_MB:-1024}
start_server "" "" || { not_ok "server start"; finish; exit 1; }
SMB=(smbclient "//127.0.0.1/share" -p "$PORT" -U "smbtest%Pass-1234")

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/local/big.bin"
SUM=$(sha256sum < "$WORK/local/big.bin" | cut -d' ' -f1)

for mode in "SMB3_00 sign" "SMB3_02 sign" "SMB3_11 sign" "SMB3_11 encrypt" "SMB3_00 encrypt" "SMB3_11 off"; do
  set -- $mode
  dialect=$1 prot=$2
  opts=(-m "$dialect")
  [ "$prot" != off ] && opts+=(--client-protection="$prot")
  tag="$dialect/$prot"
  check "$tag: mkdir" "${SMB[@]}" "${opts[@]}" -c "mkdir d_$dialect$prot"
  check "$tag: put ${SIZE_MB} MiB" "${SMB[@]}" "${opts[@]}" -c "cd d_$dialect$prot; put $WORK/local/big.bin big.bin"
  check "$tag: ls shows the file" bash -c "\"\$@\" -c 'ls d_$dialect$prot/*' | grep -q big.bin" _ "${SMB[@]}" "${opts[@]}"
  rm -f "$WORK/local/back.bin"
  check "$tag: get" "${SMB[@]}" "${opts[@]}" -c "get d_$dialect$prot/big.bin $WORK/local/back.bin"
  check "$tag: checksum equal" bash -c "[ \"\$(sha256sum < $WORK/local/back.bin | cut -d' ' -f1)\" = $SUM ]"
  check "$tag: server copy equal" bash -c "[ \"\$(sha256sum < $SHARE/d_$dialect$prot/big.bin | cut -d' ' -f1)\" = $SUM ]"
  check "$tag: rename" "${SMB[@]}" "${opts[@]}" -c "rename d_$dialect$prot/big.bin d_$dialect$prot/renamed.bin"
  check "$tag: renamed on disk" test -f "$SHARE/d_$dialect$prot/renamed.bin"
  check "$tag: rm" "${SMB[@]}" "${opts[@]}" -c "rm d_$dialect$prot/renamed.bin"
  check "$tag: rmdir" "${SMB[@]}" "${opts[@]}" -c "rmdir d_$dialect$prot"
  check "$tag: gone on disk" test ! -e "$SHARE/d_$dialect$prot"
done
rm -f "$WORK/local/back.bin"

check "smbclient -L lists the share" bash -c "smbclient -L 127.0.0.1 -p $PORT -U smbtest%Pass-1234 -m SMB3 | grep -q 'share.*Disk.*test share'"
check_fails_with "wrong password is a logon failure" NT_STATUS_LOGON_FAILURE \
  smbclient //127.0.0.1/share -p "$PORT" -U smbtest%wrong -m SMB3 -c ls
check_fails_with "unknown user is a logon failure" NT_STATUS_LOGON_FAILURE \
  smbclient //127.0.0.1/share -p "$PORT" -U nobody%x -m SMB3 -c ls
check_fails_with "user outside valid users is refused" NT_STATUS_ACCESS_DENIED \
  smbclient //127.0.0.1/private -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c ls
check "user in valid users is admitted" smbclient //127.0.0.1/private -p "$PORT" -U alice%Alice-987 -m SMB3 -c ls
check_fails_with "no such share" NT_STATUS_BAD_NETWORK_NAME \
  smbclient //127.0.0.1/nosuch -p "$PORT" -U smbtest%Pass-1234 -m SMB3 -c ls

# Leaving the share: '..' and a symlink pointing at /etc must not reach outside.
ln -s /etc "$SHARE/etc_link"
echo secret > "$WORK/outside.txt"
check_fails_with "'..' cannot leave the share" NT_STATUS_ \
  "${SMB[@]}" -m SMB3 -c "get ../outside.txt $WORK/local/x"
check "'..' fetched nothing" test ! -e "$WORK/local/x"
check_fails_with "a symlink to /etc is refused" NT_STATUS_ \
  "${SMB[@]}" -m SMB3 -c "get etc_link/passwd $WORK/local/p"
check "the symlink fetched nothing" test ! -e "$WORK/local/p"
finish
