#!/usr/bin/env python3
"""Reads or sets the owner and group SIDs of a file on an SMB share (QUERY_INFO / SET_INFO,
SMB2_0_INFO_SECURITY, MS-SMB2 3.3.5.20.3 and 3.3.5.21.3), with impacket.

Usage: owner_sid.py HOST PORT SHARE PATH USER PASSWORD                 prints the owner SID
       owner_sid.py HOST PORT SHARE PATH USER PASSWORD group           prints the group SID
       owner_sid.py HOST PORT SHARE PATH USER PASSWORD owner|group SID sets it
A refused request exits 1 with the NT status name (STATUS_...) on standard error."""
import sys

from impacket import smb3structs
from impacket.ldap import ldaptypes
from impacket.smbconnection import SMBConnection, SessionError

OWNER_SECURITY_INFORMATION = 0x1
GROUP_SECURITY_INFORMATION = 0x2
SE_SELF_RELATIVE = 0x8000


def main():
    host, port, share, path, user, password = sys.argv[1:7]
    part = sys.argv[7] if len(sys.argv) > 7 else "owner"
    new_sid = sys.argv[8] if len(sys.argv) > 8 else None
    if part not in ("owner", "group"):
        sys.exit("owner_sid.py: the part is owner or group")
    info = OWNER_SECURITY_INFORMATION if part == "owner" else GROUP_SECURITY_INFORMATION
    conn = SMBConnection(host, host, sess_port=int(port),
                         preferredDialect=smb3structs.SMB2_DIALECT_30)
    conn.login(user, password)
    smb = conn.getSMBServer()
    tid = smb.connectTree(share)
    access = smb3structs.READ_CONTROL | smb3structs.FILE_READ_ATTRIBUTES
    if new_sid:
        access |= smb3structs.WRITE_OWNER
    fid = smb.create(tid, path, desiredAccess=access,
                     shareMode=smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE,
                     creationOptions=0, creationDisposition=smb3structs.FILE_OPEN,
                     fileAttributes=0)
    try:
        if new_sid:
            sd = ldaptypes.SR_SECURITY_DESCRIPTOR()
            sd['Revision'] = b'\x01'
            sd['Sbz1'] = b'\x00'
            sd['Control'] = SE_SELF_RELATIVE
            sid = ldaptypes.LDAP_SID()
            sid.fromCanonical(new_sid)
            sd['OwnerSid'] = sid if part == "owner" else b''
            sd['GroupSid'] = sid if part == "group" else b''
            sd['Sacl'] = b''
            sd['Dacl'] = b''
            smb.setInfo(tid, fid, inputBlob=sd.getData(),
                        infoType=smb3structs.SMB2_0_INFO_SECURITY, fileInfoClass=0,
                        additionalInformation=info)
        else:
            raw = smb.queryInfo(tid, fid, infoType=smb3structs.SMB2_0_INFO_SECURITY,
                                fileInfoClass=0, additionalInformation=info)
            sd = ldaptypes.SR_SECURITY_DESCRIPTOR(data=raw)
            print(sd['OwnerSid' if part == "owner" else 'GroupSid'].formatCanonical())
    finally:
        smb.close(tid, fid)
        conn.logoff()


try:
    main()
except SessionError as e:
    sys.exit(e.getErrorString()[0] if e.getErrorString() else str(e))
