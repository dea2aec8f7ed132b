#!/usr/bin/python3
"""Cross-checks our srvsvc pipe against impacket, an independent DCE/RPC implementation.

impacket builds every request (bind PDUs, NDR stubs) and decodes every reply with its own
structures; our code only sits behind a stdin/stdout driver (rpc_pipe_driver) that exposes the
pipe's write/read/transceive. Usage: impacket_crosscheck.py <path to rpc_pipe_driver>
"""
import struct
import subprocess
import sys

from impacket.dcerpc.v5 import rpcrt, srvs, transport
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin

DRIVER = sys.argv[1]
NDR = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
NDR64 = ('71710533-BEBA-4937-8319-B5DBEF9CCC36', '1.0')
FEATURES = ('6cb71c2c-9812-4540-0300-000000000000', '1.0')
STATUS_BUFFER_OVERFLOW = 0x80000005
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print('FAIL:', what)


class Driver:
    def __init__(self, extra=0):
        self.proc = subprocess.Popen([DRIVER, str(extra)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)

    def _reply(self):
        status, more, n = struct.unpack('<IBI', self.proc.stdout.read(9))
        return status, bool(more), self.proc.stdout.read(n)

    def write(self, data):
        self.proc.stdin.write(b'W' + struct.pack('<I', len(data)) + data)
        self.proc.stdin.flush()
        return struct.unpack('<I', self.proc.stdout.read(4))[0]

    def read(self, size):
        self.proc.stdin.write(b'R' + struct.pack('<I', size))
        self.proc.stdin.flush()
        return self._reply()

    def transceive(self, data, size):
        self.proc.stdin.write(b'T' + struct.pack('<II', size, len(data)) + data)
        self.proc.stdin.flush()
        return self._reply()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class DriverTransport(transport.DCERPCTransport):
    """A message-mode pipe: each recv returns one whole PDU, reading on while the pipe says
    STATUS_BUFFER_OVERFLOW (the way an SMB client reassembles an over-long message)."""

    def __init__(self, driver, read_size=4280):
        transport.DCERPCTransport.__init__(self, 'driver', 0)
        self.driver = driver
        self.read_size = read_size
        self.partial_reads = 0

    def connect(self):
        return 1

    def disconnect(self):
        self.driver.close()

    def send(self, data, forceWriteAndx=0, forceRecv=0):
        status = self.driver.write(data)
        check(status == 0, 'write status 0x%08x' % status)

    def recv(self, forceRecv=0, count=0):
        data = b''
        for _ in range(10000):
            status, more, chunk = self.driver.read(self.read_size)
            check(status in (0, STATUS_BUFFER_OVERFLOW) and (status != 0) == more,
                  'read status 0x%08x more=%s' % (status, more))
            data += chunk
            if not more:
                return data
            self.partial_reads += 1
        raise RuntimeError('message never ended')


def bind_pdu(contexts, call_id=1, max_frag=4280):
    bind = rpcrt.MSRPCBind()
    bind['max_tfrag'] = max_frag
    bind['max_rfrag'] = max_frag
    for ctx_id, (abstract, transfer) in enumerate(contexts):
        item = rpcrt.CtxItem()
        item['ContextID'] = ctx_id
        item['TransItems'] = 1
        item['AbstractSyntax'] = abstract
        item['TransferSyntax'] = uuidtup_to_bin(transfer)
        bind.addCtxItem(item)
    packet = rpcrt.MSRPCHeader()
    packet['type'] = rpcrt.MSRPC_BIND
    packet['pduData'] = bind.getData()
    packet['call_id'] = call_id
    return packet.get_packet()


def request_pdu(call_id, opnum, stub):
    packet = rpcrt.MSRPCRequestHeader()
    packet['type'] = rpcrt.MSRPC_REQUEST
    packet['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
    packet['call_id'] = call_id
    packet['ctx_id'] = 0
    packet['op_num'] = opnum
    packet['alloc_hint'] = len(stub)
    packet['pduData'] = stub
    return packet.get_packet()


def connect(extra=0, read_size=4280, user_frag=None):
    t = DriverTransport(Driver(extra), read_size)
    dce = t.get_dce_rpc()
    dce.connect()
    if user_frag:
        dce.set_max_fragment_size(user_frag)
    dce.bind(srvs.MSRPC_UUID_SRVS)
    return t, dce


def test_bind_ack():
    d = Driver()
    pdu = bind_pdu([(srvs.MSRPC_UUID_SRVS, NDR), (srvs.MSRPC_UUID_SRVS, NDR64),
                    (srvs.MSRPC_UUID_SRVS, FEATURES),
                    (uuidtup_to_bin(('12345778-1234-abcd-ef00-0123456789ab', '0.0')), NDR)])
    status, more, reply = d.transceive(pdu, 4280)
    check(status == 0 and not more, 'bind transceive status 0x%08x' % status)
    ack = rpcrt.MSRPCBindAck(reply)
    check(ack['type'] == rpcrt.MSRPC_BINDACK, 'bind_ack type %d' % ack['type'])
    check(ack['frag_len'] == len(reply), 'bind_ack frag_len')
    check(ack['call_id'] == 1, 'bind_ack call_id')
    sec = ack['SecondaryAddr']
    sec = sec.encode() if isinstance(sec, str) else sec
    check(sec.rstrip(b'\0') == b'\\PIPE\\srvsvc',
          'secondary address %r' % ack['SecondaryAddr'])
    check(ack['max_tfrag'] == 4280 and ack['max_rfrag'] == 4280, 'max frag sizes')
    check(ack['assoc_group'] != 0, 'assoc group allocated')
    check(ack['ctx_num'] == 4, 'ctx_num %d' % ack['ctx_num'])
    items = ack.getCtxItems()
    check(items[0]['Result'] == 0 and items[0]['TransferSyntax'] == uuidtup_to_bin(NDR),
          'NDR accepted')
    check(items[1]['Result'] == 2 and items[1]['Reason'] == 2, 'NDR64 provider rejection/2')
    check(items[2]['Result'] == 3 and items[2]['Reason'] == 0, 'negotiate_ack with no features')
    check(items[3]['Result'] == 2 and items[3]['Reason'] == 1, 'unknown interface rejection/1')
    # A second bind on the same association is refused.
    status, _, reply = d.transceive(bind_pdu([(srvs.MSRPC_UUID_SRVS, NDR)], call_id=2), 4280)
    check(rpcrt.MSRPCHeader(reply)['type'] == rpcrt.MSRPC_BINDNAK, 'second bind -> bind_nak')
    d.close()


def test_big_endian_bind_nak():
    d = Driver()
    pdu = bytearray(bind_pdu([(srvs.MSRPC_UUID_SRVS, NDR)]))
    pdu[4] = 0x00  # big-endian integers
    frag, auth, call = struct.unpack_from('<HHI', pdu, 8)
    struct.pack_into('>HHI', pdu, 8, frag, auth, call)
    status, _, reply = d.transceive(bytes(pdu), 4280)
    hdr = rpcrt.MSRPCHeader(reply)
    check(hdr['type'] == rpcrt.MSRPC_BINDNAK, 'big-endian bind -> bind_nak (%d)' % hdr['type'])
    nak = rpcrt.MSRPCBindNak(hdr['pduData'])
    check(nak['RejectedReason'] == 0, 'bind_nak reason')
    d.close()


def test_share_enum():
    t, dce = connect()
    resp = srvs.hNetrShareEnum(dce, 1)
    buf = resp['InfoStruct']['ShareInfo']['Level1']['Buffer']
    got = [(s['shi1_netname'][:-1], s['shi1_type'], s['shi1_remark'][:-1]) for s in buf]
    check(got == [('IPC$', 0x80000003, 'IPC Service'), ('public', 0, 'Public files'),
                  ('donn\u00e9es', 0, '')], 'level 1 shares %r' % got)
    check(resp['TotalEntries'] == 3, 'TotalEntries')
    check(resp['ErrorCode'] == 0, 'level 1 status')

    resp = srvs.hNetrShareEnum(dce, 2)
    buf = resp['InfoStruct']['ShareInfo']['Level2']['Buffer']
    check(buf[1]['shi2_path'][:-1] == 'C:\\srv\\public', 'level 2 path')
    check(buf[1]['shi2_current_uses'] == 1 and buf[2]['shi2_max_uses'] == 10, 'level 2 uses')
    check(buf[1]['shi2_passwd'] in (None, '', b'', NULL), 'level 2 passwd NULL %r' % buf[1]['shi2_passwd'])

    resp = srvs.hNetrShareEnum(dce, 0)
    names = [s['shi0_netname'][:-1] for s in resp['InfoStruct']['ShareInfo']['Level0']['Buffer']]
    check(names == ['IPC$', 'public', 'donn\u00e9es'], 'level 0 names %r' % names)

    try:
        srvs.hNetrShareEnum(dce, 502)
        check(False, 'level 502 should fail')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 0x7c, 'level 502 -> WERR_INVALID_LEVEL (0x%x)' % e.get_error_code())
    t.disconnect()


def test_get_info():
    t, dce = connect()
    resp = srvs.hNetrShareGetInfo(dce, 'PUBLIC\x00', 2)
    info = resp['InfoStruct']['ShareInfo2']
    check(info['shi2_netname'][:-1] == 'public' and info['shi2_remark'][:-1] == 'Public files',
          'share get info level 2')
    resp = srvs.hNetrShareGetInfo(dce, 'IPC$\x00', 1)
    check(resp['InfoStruct']['ShareInfo1']['shi1_type'] == 0x80000003, 'get info level 1 type')
    resp = srvs.hNetrShareGetInfo(dce, 'public\x00', 501)
    check(resp['InfoStruct']['ShareInfo501']['shi501_netname'][:-1] == 'public', 'level 501')
    resp = srvs.hNetrShareGetInfo(dce, 'public\x00', 1005)
    check(resp['InfoStruct']['ShareInfo1005']['shi1005_flags'] == 0, 'level 1005')
    resp = srvs.hNetrShareGetInfo(dce, 'public\x00', 0)
    check(resp['InfoStruct']['ShareInfo0']['shi0_netname'][:-1] == 'public', 'level 0')
    try:
        srvs.hNetrShareGetInfo(dce, 'nosuch\x00', 1)
        check(False, 'unknown share should fail')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 0x906, 'unknown share -> NERR_NetNameNotFound')

    resp = srvs.hNetrServerGetInfo(dce, 101)
    info = resp['InfoStruct']['ServerInfo101']
    check(info['sv101_name'][:-1] == 'SMBDIRECT', 'server name %r' % info['sv101_name'])
    check(info['sv101_comment'][:-1] == 'smbdirect test server', 'server comment')
    check(info['sv101_platform_id'] == 500, 'platform id')
    resp = srvs.hNetrServerGetInfo(dce, 100)
    check(resp['InfoStruct']['ServerInfo100']['sv100_name'][:-1] == 'SMBDIRECT', 'level 100')
    try:
        srvs.hNetrServerGetInfo(dce, 102)
        check(False, 'server level 102 should fail')
    except srvs.DCERPCSessionError as e:
        check(e.get_error_code() == 0x7c, 'server level 102 -> WERR_INVALID_LEVEL')

    # An opnum srvsvc does not implement here: fault nca_s_op_rng_error.
    try:
        dce.call(200, b'')
        dce.recv()
        check(False, 'opnum 200 should fault')
    except DCERPCException as e:
        check('nca_s_op_rng_error' in str(e), 'opnum 200 -> %s' % e)
    # And the association still works afterwards.
    resp = srvs.hNetrShareEnum(dce, 1)
    check(resp['InfoStruct']['ShareInfo']['Level1']['EntriesRead'] == 3, 'enum after fault')
    t.disconnect()


def test_fragments():
    # Requests split by impacket into 16-byte fragments; replies read 50 bytes at a time.
    t, dce = connect(read_size=50, user_frag=16)
    resp = srvs.hNetrShareGetInfo(dce, 'public\x00', 1)
    check(resp['InfoStruct']['ShareInfo1']['shi1_remark'][:-1] == 'Public files',
          'fragmented request')
    check(t.partial_reads > 0, 'partial reads exercised')
    t.disconnect()

    # A big enumeration spans several response fragments, reassembled by impacket.
    t, dce = connect(extra=300)
    resp = srvs.hNetrShareEnum(dce, 1)
    buf = resp['InfoStruct']['ShareInfo']['Level1']['Buffer']
    check(len(buf) == 303 and buf[302]['shi1_netname'][:-1] == 'share299', 'big enumeration')
    t.disconnect()

    # With a small max_recv_frag every fragment must fit it; stub sizes are multiples of 8
    # except in the last one.
    d = Driver(extra=100)
    status, _, reply = d.transceive(bind_pdu([(srvs.MSRPC_UUID_SRVS, NDR)], max_frag=1500), 4280)
    ack = rpcrt.MSRPCBindAck(reply)
    check(ack['max_tfrag'] == 1500, 'server honours max_rfrag 1500 (%d)' % ack['max_tfrag'])
    req = srvs.NetrShareEnum()
    req['ServerName'] = '\\\\server\x00'
    req['PreferedMaximumLength'] = 0xffffffff
    req['ResumeHandle'] = 0
    req['InfoStruct']['Level'] = 1
    req['InfoStruct']['ShareInfo']['tag'] = 1
    req['InfoStruct']['ShareInfo']['Level1']['Buffer'] = NULL
    status, more, first = d.transceive(request_pdu(2, 15, req.getData()), 1500)
    frags = [first]
    for _ in range(1000):
        hdr = rpcrt.MSRPCRespHeader(frags[-1])
        if hdr['flags'] & rpcrt.PFC_LAST_FRAG:
            break
        status, more, data = d.read(1500)
        frags.append(data)
    stub = b''
    for i, f in enumerate(frags):
        hdr = rpcrt.MSRPCRespHeader(f)
        check(hdr['frag_len'] == len(f) <= 1500, 'fragment %d size %d' % (i, len(f)))
        check(bool(hdr['flags'] & rpcrt.PFC_FIRST_FRAG) == (i == 0), 'first flag %d' % i)
        body = f[24:]
        if i + 1 < len(frags):
            check(len(body) % 8 == 0, 'fragment %d stub multiple of 8' % i)
        stub += body
    check(len(frags) > 3, 'several fragments (%d)' % len(frags))
    resp = srvs.NetrShareEnumResponse(stub)
    check(resp['InfoStruct']['ShareInfo']['Level1']['EntriesRead'] == 103, 'reassembled enum')
    check(resp['ResumeHandle'] == 0, 'resume handle')
    d.close()


for test in (test_bind_ack, test_big_endian_bind_nak, test_share_enum, test_get_info,
             test_fragments):
    try:
        test()
    except Exception as e:  # a crash in one scenario must not hide the others
        check(False, '%s raised %r' % (test.__name__, e))
    print('ran', test.__name__)

if failures:
    print('%d failure(s)' % len(failures))
    sys.exit(1)
print('all impacket cross-checks passed')
