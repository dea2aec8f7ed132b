// Direct-TCP framing, SMB1 negotiate detection and transform-header handling on a byte stream
// fed in arbitrary pieces.
#include <cstddef>
#include <cstdint>

#include "smb2/compound.h"
#include "smb2/frame.h"
#include "smb2/security.h"

using namespace sd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = 1 + data[0] % 64;
  smb2::FrameDecoder dec(1 << 20);
  for (size_t off = 1; off < size; off += step) {
    dec.feed(ByteView(data + off, std::min(step, size - off)));
    for (int guard = 0; guard < 1000; guard++) {
      auto f = dec.next();
      if (!f || !*f) break;
      ByteView m(**f);
      (void)smb2::smb1NegotiateDialects(m);
      (void)smb2::splitCompound(m);
      if (smb2::isTransformHeader(m)) {
        uint8_t key[16] = {};
        (void)smb2::decryptMessage(2, ByteView(key, 16), m);
      }
    }
  }
  return 0;
}
