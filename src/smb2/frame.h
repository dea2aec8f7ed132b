// Direct TCP transport framing (MS-SMB2 2.1: a zero byte and a 24-bit big-endian length before
// each message), detection of the other message kinds a transport can carry (SMB1 negotiate,
// transform and compression headers). Sans-I/O; any thread.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace sd::smb2 {

// Accumulates stream bytes and yields whole frames. A length above `max_frame` is a
// connection-fatal error.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame = 16 * 1024 * 1024 + 4096) : max_(max_frame) {}
  void feed(ByteView data) { buf_.insert(buf_.end(), data.begin(), data.end()); }
  Result<std::optional<Bytes>> next();

 private:
  Bytes buf_;
  size_t start_ = 0;
  uint32_t max_;
};
void encodeFrameHeader(uint8_t out[4], uint32_t length);

bool isSmb1Negotiate(ByteView msg);
// The dialect strings of an SMB1 NEGOTIATE (MS-CIFS 2.2.4.52.1), e.g. "SMB 2.002", "SMB 2.???".
Result<std::vector<std::string>> smb1NegotiateDialects(ByteView msg);
bool isTransformHeader(ByteView msg);    // 0xFD 'S' 'M' 'B'
bool isCompressionHeader(ByteView msg);  // 0xFC 'S' 'M' 'B'

}  // namespace sd::smb2
