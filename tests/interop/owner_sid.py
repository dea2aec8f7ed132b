#!/usr/bin/env python3
"""Prints the owner SID of a file on an SMB share (QUERY_INFO, SMB2_0_INFO_SECURITY), with
impacket. Usage: owner_sid.py HOST PORT SHARE PATH USER PASSWORD"""
import sys

from impacket import smb3structs
from impacket.ldap import ldaptypes
from impacket.smbconnection import SMBConnection

host, port, share, path, user, password = sys.argv[1:7]
conn = SMBConnection(host, host, sess_port=int(port), preferredDialect=smb3structs.SMB2_DIALECT_30)
conn.login(user, password)
smb = conn.getSMBServer()
tid = smb.connectTree(share)
fid = smb.create(tid, path, desiredAccess=smb3structs.READ_CONTROL | smb3structs.FILE_READ_ATTRIBUTES,
                 shareMode=smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE,
                 creationOptions=0, creationDisposition=smb3structs.FILE_OPEN, fileAttributes=0)
OWNER_SECURITY_INFORMATION = 0x1
raw = smb.queryInfo(tid, fid, infoType=smb3structs.SMB2_0_INFO_SECURITY, fileInfoClass=0,
                    additionalInformation=OWNER_SECURITY_INFORMATION)
sd = ldaptypes.SR_SECURITY_DESCRIPTOR(data=raw)
print(sd['OwnerSid'].formatCanonical())
smb.close(tid, fid)
conn.logoff()
