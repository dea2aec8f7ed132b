#!/usr/bin/env bash
# impacket (python3-impacket, SMB 3.0) against smbdirectd: login, share enumeration, put, list,
# get with checksum, delete; and a failed login with a wrong password. The names it learns:
# netbios name and workgroup (NTLM challenge), srvsvc NetrServerGetInfo level 101's name and
# comment (server string).
. "$(dirname "$0")/lib.sh"
start_server "	workgroup = SDGROUP" "" || { not_ok "server start"; finish; exit 1; }
head -c $((8 * 1024 * 1024 + 123)) /dev/urandom > "$WORK/local/src.bin"
cat > "$WORK/imp.py" <<PY
import hashlib, sys
from impacket.smbconnection import SMBConnection, SessionError
port = int(sys.argv[1]); work = sys.argv[2]
c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port)
c.login('smbtest', 'Pass-1234')
print('dialect 0x%x' % c.getDialect())
# netbios name and workgroup, from the NTLM challenge.
print('server name', c.getServerName(), 'domain', c.getServerDomain())
assert c.getServerName() == 'SDTEST', c.getServerName()
assert c.getServerDomain() == 'SDGROUP', c.getServerDomain()
# srvsvc NetrServerGetInfo level 101: netbios name and server string.
from impacket.dcerpc.v5 import transport, srvs
t = transport.SMBTransport('127.0.0.1', port, r'\srvsvc', smb_connection=c)
dce = t.get_dce_rpc()
dce.connect()
dce.bind(srvs.MSRPC_UUID_SRVS)
info = srvs.hNetrServerGetInfo(dce, 101)['InfoStruct']['ServerInfo101']
print('NetrServerGetInfo 101', info['sv101_name'], info['sv101_comment'])
assert info['sv101_name'][:-1] == 'SDTEST', info['sv101_name']
assert info['sv101_comment'][:-1] == 'smbdirect test server', info['sv101_comment']
dce.disconnect()
shares = [s['shi1_netname'][:-1] for s in c.listShares()]
print('shares', shares)
assert 'share' in shares, shares
with open(work + '/local/src.bin', 'rb') as f:
    c.putFile('share', 'imp/src.bin' if False else 'src.bin', f.read)
names = [f.get_longname() for f in c.listPath('share', '*')]
print('list', names)
assert 'src.bin' in names
out = bytearray()
c.getFile('share', 'src.bin', out.extend)
assert hashlib.sha256(out).hexdigest() == hashlib.sha256(open(work + '/local/src.bin', 'rb').read()).hexdigest()
print('get ok', len(out))
c.createDirectory('share', 'impdir')
c.deleteDirectory('share', 'impdir')
c.deleteFile('share', 'src.bin')
assert 'src.bin' not in [f.get_longname() for f in c.listPath('share', '*')]
c.logoff()
try:
    d = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port)
    d.login('smbtest', 'wrong')
    print('wrong password accepted'); sys.exit(1)
except SessionError as e:
    print('wrong password refused:', e.getErrorString()[0])
print('IMPACKET OK')
PY
check "impacket login, netbios name and workgroup, NetrServerGetInfo 101, shares, put/list/get/delete, bad password" \
  bash -c "/usr/bin/python3 $WORK/imp.py $PORT $WORK | tee /dev/stderr | grep -q 'IMPACKET OK'"
finish
