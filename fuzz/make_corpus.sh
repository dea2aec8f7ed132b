#!/usr/bin/env bash
# Regenerates the seed corpora of the SMB2, SPNEGO and config fuzz targets from a real session:
# smbdirectd on loopback, smbclient with each dialect (signed and sealed) and share listing,
# captured with tshark; requests and responses are cut out of the reassembled TCP streams.
# Usage: fuzz/make_corpus.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export SMBDIRECTD=${1:?build dir}/src/tools/smbdirectd
. "$HERE/../tests/interop/lib.sh"
start_server "" ""
echo data > "$WORK/local/f.txt"
tshark -i lo -f "tcp port $PORT" -w "$WORK/cap.pcap" -q >"$WORK/tshark.log" 2>&1 &
TPID=$!
for _ in $(seq 1 50); do grep -q "Capturing on" "$WORK/tshark.log" && break; sleep 0.1; done
sleep 0.3
for m in SMB3_00 SMB3_02 SMB3_11; do
  smbclient //127.0.0.1/share -p "$PORT" -U smbtest%Pass-1234 -m $m --client-protection=sign \
    -c "mkdir d$m; put $WORK/local/f.txt d$m/f.txt; ls d$m/*; allinfo d$m/f.txt; rename d$m/f.txt d$m/g.txt; get d$m/g.txt $WORK/local/g; rm d$m/g.txt; rmdir d$m" >/dev/null 2>&1 || true
done
smbclient //127.0.0.1/share -p "$PORT" -U smbtest%Pass-1234 -m SMB3_11 --client-protection=encrypt -c "ls" >/dev/null 2>&1 || true
smbclient -L 127.0.0.1 -p "$PORT" -U smbtest%Pass-1234 >/dev/null 2>&1 || true
sleep 0.5; kill -INT $TPID; wait $TPID 2>/dev/null || true
tshark -r "$WORK/cap.pcap" -T fields -e tcp.stream -e tcp.srcport -e tcp.payload > "$WORK/payloads.txt" 2>/dev/null
/usr/bin/python3 - "$WORK/payloads.txt" "$PORT" "$HERE/corpus" <<'PY'
import sys, os, hashlib, collections
rows, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
streams = collections.defaultdict(bytearray)
for line in open(rows):
    f = line.rstrip('\n').split('\t')
    if len(f) < 3 or not f[2]: continue
    key = (f[0], 'resp' if int(f[1]) == port else 'req')
    streams[key] += bytes.fromhex(f[2].replace(':', ''))
def save(d, b):
    os.makedirs(os.path.join(out, d), exist_ok=True)
    open(os.path.join(out, d, hashlib.sha1(b).hexdigest()[:16]), 'wb').write(b)
n = collections.Counter()
for (s, kind), data in streams.items():
    if kind == 'req' and n['frame'] < 6:
        save('smb2_frame', b'\x07' + bytes(data[:65536])); n['frame'] += 1
    i = 0
    while i + 4 <= len(data):
        ln = int.from_bytes(data[i+1:i+4], 'big'); msg = bytes(data[i+4:i+4+ln]); i += 4 + ln
        if len(msg) < 64 or msg[:4] != b'\xfeSMB' or len(msg) > 65536: continue
        cmd = int.from_bytes(msg[12:14], 'little')
        d = 'smb2_request' if kind == 'req' else 'smb2_response'
        if n[(d, cmd)] < 4:
            save(d, msg); n[(d, cmd)] += 1
        if kind == 'req' and cmd == 1 and n['spnego'] < 6:   # SESSION_SETUP security buffer
            off = int.from_bytes(msg[76:78], 'little'); l = int.from_bytes(msg[78:80], 'little')
            save('auth_spnego', b'\x01' + msg[off:off+l]); n['spnego'] += 1
print(dict(n))
PY
cp "$WORK/ksmbd.conf" "$HERE/corpus/config_parse/basic.conf"
finish
