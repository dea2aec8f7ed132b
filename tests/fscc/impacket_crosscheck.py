#!/usr/bin/python3
"""Cross-checks fscc encodings against impacket, an independent implementation.

Usage: impacket_crosscheck.py PATH/TO/fscc_vectors
Exits non-zero on any mismatch.
"""
import struct
import subprocess
import sys

from impacket import smb, smb3structs
from impacket.ldap import ldaptypes

vectors_bin = sys.argv[1]
lines = subprocess.run([vectors_bin], check=True, capture_output=True, text=True).stdout
vec = {}
for line in lines.splitlines():
    name, hexdata = line.split(' ', 1)
    vec[name] = bytes.fromhex(hexdata)

failures = []


def check(what, got, want):
    if got != want:
        failures.append(f'{what}: got {got!r}, want {want!r}')


U = smb.SMB.FLAGS2_UNICODE
dir_classes = {
    1: smb.SMBFindFileDirectoryInfo,
    2: smb.SMBFindFileFullDirectoryInfo,
    3: smb.SMBFindFileBothDirectoryInfo,
    12: smb.SMBFindFileNamesInfo,
    37: smb.SMBFindFileIdBothDirectoryInfo,
    38: smb.SMBFindFileIdFullDirectoryInfo,
}
names = ['first.txt', 'second file name', 'x']
for cls, parser in dir_classes.items():
    data = vec[f'dir{cls}']
    pos, i = 0, 0
    while True:
        e = parser(flags=U)
        e.fromString(data[pos:])
        check(f'dir{cls}[{i}].FileName', e['FileName'].decode('utf-16-le'), names[i])
        if cls != 12:
            check(f'dir{cls}[{i}].EndOfFile', e['EndOfFile'], 1000 + i + 1)
            check(f'dir{cls}[{i}].CreationTime', e['CreationTime'], 132000000000000000 + i + 1)
            check(f'dir{cls}[{i}].ExtFileAttributes', e['ExtFileAttributes'], 0x20)
        if cls in (37, 38):
            check(f'dir{cls}[{i}].FileID', e['FileID'], 0x1122334455667700 + i + 1)
        if cls in (3, 37):
            sn = e['ShortName'][:e['ShortNameLength']].decode('utf-16-le')
            check(f'dir{cls}[{i}].ShortName', sn, 'SHORT~1.TXT')
        nxt = e['NextEntryOffset']
        i += 1
        if nxt == 0:
            break
        check(f'dir{cls} alignment', nxt % 8, 0)
        pos += nxt
    check(f'dir{cls} count', i, 3)

b = smb3structs.FILE_BASIC_INFORMATION(vec['basic'])
check('basic.LastWriteTime', b['LastWriteTime'], 132000000000000200 + 9)
check('basic.FileAttributes', b['FileAttributes'], 0x20)
check('basic size', len(vec['basic']), 40)

s = smb3structs.FILE_STANDARD_INFORMATION(vec['standard'])
check('standard.EndOfFile', s['EndOfFile'], 1009)
check('standard.NumberOfLinks', s['NumberOfLinks'], 3)
check('standard.DeletePending', s['DeletePending'], 1)

# impacket's FILE_ALL_INFORMATION nests structures of fixed sizes; check the offsets directly.
a = vec['all']
check('all.ChangeTime', struct.unpack_from('<q', a, 24)[0], 132000000000000300 + 9)
check('all.EndOfFile', struct.unpack_from('<q', a, 48)[0], 1009)
check('all.IndexNumber', struct.unpack_from('<q', a, 64)[0], 0x1122334455667700 + 9)
check('all.AccessFlags', struct.unpack_from('<I', a, 76)[0], 0x001F01FF)
check('all.CurrentByteOffset', struct.unpack_from('<q', a, 80)[0], 77)
n = smb3structs.FILE_NAME_INFORMATION(a[96:])
check('all.FileName', n['FileName'].decode('utf-16-le'), '\\dir\\file.txt')
n = smb3structs.FILE_NAME_INFORMATION(vec['name'])
check('name.FileName', n['FileName'].decode('utf-16-le'), '\\dir\\file.txt')

r = smb3structs.FILE_RENAME_INFORMATION_TYPE_2(vec['rename'])
check('rename.ReplaceIfExists', r['ReplaceIfExists'], 1)
check('rename.FileName', r['FileName'].decode('utf-16-le'), 'new\\name.txt')

# impacket's FILE_FULL_EA_INFORMATION cannot parse (its EaValue length refers to itself), so
# the EA encoding is checked field by field against MS-FSCC 2.4.15 instead.
ea = vec['ea']
check('ea.header', struct.unpack_from('<IBBH', ea, 0), (0, 0, 6, 3))
check('ea.EaName', ea[8:8 + 6 + 1], b'user.a\x00')
check('ea.EaValue', ea[15:18], b'\x01\x02\x03')

fs = smb.SMBQueryFsSizeInfo(vec['fssize'])
check('fssize.TotalAllocationUnits', fs['TotalAllocationUnits'], 1000)
check('fssize.TotalFreeAllocationUnits', fs['TotalFreeAllocationUnits'], 400)
check('fssize.BytesPerSector', fs['BytesPerSector'], 512)
ff = smb.SMBFileFsFullSizeInformation(vec['fsfullsize'])
check('fsfullsize.ActualAvailableAllocationUnits', ff['ActualAvailableAllocationUnits'], 300)

sd = ldaptypes.SR_SECURITY_DESCRIPTOR(data=vec['sd'])
check('sd.owner', sd['OwnerSid'].formatCanonical(), 'S-1-22-1-1000')
check('sd.group', sd['GroupSid'].formatCanonical(), 'S-1-22-2-100')
aces = sd['Dacl'].aces
check('sd.ace count', len(aces), 3)
check('sd.ace0.sid', aces[0]['Ace']['Sid'].formatCanonical(), 'S-1-22-1-1000')
check('sd.ace0.mask', aces[0]['Ace']['Mask']['Mask'], 0x001F01FF)
check('sd.ace1.mask', aces[1]['Ace']['Mask']['Mask'], 0x00120089 | 0x001200A0)
check('sd.ace2.sid', aces[2]['Ace']['Sid'].formatCanonical(), 'S-1-1-0')
check('sd.ace2.mask', aces[2]['Ace']['Mask']['Mask'], 0x00120089)
# impacket re-serialises what it parsed; our decoder must accept impacket's output.
dump = subprocess.run([vectors_bin, 'decode-sd', sd.getData().hex()], check=True,
                      capture_output=True, text=True).stdout.splitlines()
check('impacket-sd.owner', dump[0], 'owner S-1-22-1-1000')
check('impacket-sd.group', dump[1], 'group S-1-22-2-100')
check('impacket-sd.aces', len([l for l in dump if l.startswith('ace ')]), 3)

if failures:
    print('\n'.join(failures))
    sys.exit(1)
print('impacket cross-check: all fields agree')
