#!/usr/bin/python3
"""Seeds the server_connection fuzz target (fuzz/server_connection_fuzz.cc) from the captured
requests of fuzz/corpus/smb2_request: each request of a command that names a file handle gets
the FileId marker in its FileId field, and goes into a seed after a CREATE of a scratch file,
with a CLOSE after it; CREATE, QUERY_DIRECTORY and compound requests go in as they are. Every
record asks for the session, tree and message-id fixups. The committed corpus is these seeds
merged (libFuzzer -merge=1) with what a campaign found (bench/results/fuzz_server_connection.md).
Usage: fuzz/make_connection_corpus.py"""
import hashlib, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "corpus", "smb2_request")
OUT = os.path.join(HERE, "corpus", "server_connection")
MARK = b"FID!FID!FID!FID!"
# Offset of the FileId in each command's body (MS-SMB2 2.2.x), after the 64-byte header.
FILE_ID_AT = {6: 8, 7: 8, 8: 16, 9: 16, 10: 8, 11: 8, 14: 8, 15: 8, 16: 24, 17: 16, 18: 8}
FIX = 1 | 2 | 4


def header(cmd, flags=0):
    return b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 1, 0, cmd, 64, flags, 0, 0, 0xFEFF, 0, 0, b"\0" * 16)


def create(name, disposition=5, options=0x40, access=0x12019F):
    n = name.encode("utf-16le")
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, 7, disposition, options, 120, len(n), 0, 0)
    return header(5) + body + n


def close():
    return header(6) + struct.pack("<HHI", 24, 0, 0) + MARK


def unsigned(msg):
    """The chain with SMB2_FLAGS_SIGNED cleared and no signature: the harness does not sign."""
    msg, at = bytearray(msg), 0
    while at + 64 <= len(msg):
        flags = struct.unpack_from("<I", msg, at + 16)[0] & ~0x8
        struct.pack_into("<I", msg, at + 16, flags)
        msg[at + 48:at + 64] = b"\0" * 16
        nxt = struct.unpack_from("<I", msg, at + 20)[0]
        if not nxt:
            break
        at += nxt
    return bytes(msg)


def record(msg, fix):
    return struct.pack("<HB", len(msg), fix) + msg


def save(data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def main():
    n = 0
    for name in sorted(os.listdir(SRC)):
        msg = bytearray(unsigned(open(os.path.join(SRC, name), "rb").read()))
        if len(msg) < 64 or msg[:4] != b"\xfeSMB":
            continue
        cmd = struct.unpack_from("<H", msg, 12)[0]
        next_cmd = struct.unpack_from("<I", msg, 20)[0]
        if cmd in (0, 1, 3):  # negotiate, session setup, tree connect: the harness did those
            continue
        if cmd in FILE_ID_AT and not next_cmd and len(msg) >= 64 + FILE_ID_AT[cmd] + 16:
            at = 64 + FILE_ID_AT[cmd]
            msg[at:at + 16] = MARK
            seed = record(create("fuzz.dat"), FIX) + record(bytes(msg), FIX | 8) + record(close(), FIX | 8)
        else:
            seed = record(create("fuzz.dat"), FIX) + record(bytes(msg), FIX) + record(close(), FIX | 8)
        save(seed)
        n += 1
    # A directory created and closed.
    save(record(create("d", 3, 0x1), FIX) + record(close(), FIX | 8))
    print(f"{n + 1} seeds in {OUT}")


main()
