// Test driver: exposes one SrvsvcPipe on stdin/stdout so impacket
// (tests/rpc/impacket_crosscheck.py) can act as the RPC client. Framing, all integers
// little-endian:
//   'W' len data           -> status
//   'R' max                -> status more len data
//   'T' max len data       -> status more len data
// where status is the NTSTATUS of the pipe operation. argv[1] = number of extra disk shares
// (to make responses span several fragments).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "rpc/pipe.h"

namespace {

bool readExact(void* p, size_t n) { return n == 0 || std::fread(p, 1, n, stdin) == n; }

bool readU32(uint32_t& v) {
  uint8_t b[4];
  if (!readExact(b, 4)) return false;
  v = sd::le32(b);
  return true;
}

void writeU32(uint32_t v) {
  uint8_t b[4];
  sd::store32(b, v);
  std::fwrite(b, 1, 4, stdout);
}

}  // namespace

int main(int argc, char** argv) {
  long extra = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 0;
  if (extra < 0 || extra > 100000) extra = 0;
  auto pipe = sd::rpc::openPipe("srvsvc", [extra] {
    sd::rpc::ServerInfo info;
    info.name = "SMBDIRECT";
    info.comment = "smbdirect test server";
    std::vector<sd::rpc::ShareInfo> shares;
    shares.push_back({"IPC$", sd::rpc::kStypeIpcHidden, "IPC Service", "", 0, 0xFFFFFFFF, 0, 0});
    shares.push_back({"public", sd::rpc::kStypeDiskTree, "Public files", "C:\\srv\\public", 0,
                      0xFFFFFFFF, 1, 0});
    shares.push_back(
        {"donn\xc3\xa9"
         "es",
         sd::rpc::kStypeDiskTree, "", "C:\\srv\\data", 0, 10, 0, 0});
    for (long i = 0; i < extra; i++)
      shares.push_back({"share" + std::to_string(i), sd::rpc::kStypeDiskTree,
                        "generated share number " + std::to_string(i), "C:\\srv\\gen", 0,
                        0xFFFFFFFF, 0, 0});
    return std::make_pair(info, shares);
  });
  if (!pipe) return 2;
  // One command per round; ends at EOF. Bounded by the input the test feeds.
  while (true) {
    int cmd = std::fgetc(stdin);
    if (cmd == EOF) return 0;
    uint32_t max = 0, len = 0;
    if ((cmd == 'R' || cmd == 'T') && !readU32(max)) return 1;
    if (cmd == 'W' || cmd == 'T') {
      if (!readU32(len) || len > (1u << 24)) return 1;
    } else if (cmd != 'R') {
      return 1;
    }
    std::string data(len, '\0');
    if (!readExact(data.data(), len)) return 1;
    sd::ByteView in = sd::asBytes(data);
    if (cmd == 'W') {
      writeU32(sd::toWire(pipe->write(in).status()));
    } else {
      auto r = cmd == 'R' ? pipe->read(max) : pipe->transceive(in, max);
      // What the SMB layer answers: STATUS_BUFFER_OVERFLOW while the message continues.
      writeU32(r && r->more ? sd::toWire(sd::NtStatus::kBufferOverflow) : sd::toWire(r.status()));
      sd::Bytes out = r ? r->bytes : sd::Bytes{};
      std::fputc(r && r->more ? 1 : 0, stdout);
      writeU32(uint32_t(out.size()));
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
    std::fflush(stdout);
  }
}
