#include "smb2/compound.h"

#include "smb2/header.h"

namespace sd::smb2 {

Result<std::vector<ByteView>> splitCompound(ByteView frame, size_t max_messages) {
  std::vector<ByteView> out;
  size_t pos = 0;
  while (true) {
    if (frame.size() - pos < kHeaderSize) return malformed("short SMB2 message");
    if (out.size() == max_messages) return malformed("too many compounded messages");
    uint32_t next = le32(frame.data() + pos + kOffNextCommand);
    if (next == 0) {
      out.push_back(frame.subspan(pos));
      return out;
    }
    if (next % 8 != 0 || next < kHeaderSize || next > frame.size() - pos)
      return malformed("bad NextCommand");
    out.push_back(frame.subspan(pos, next));
    pos += next;
  }
}

}  // namespace sd::smb2
