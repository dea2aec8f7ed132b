#include "smb2/frame.h"

namespace sd::smb2 {

Result<std::optional<Bytes>> FrameDecoder::next() {
  if (buf_.size() - start_ < 4) return std::optional<Bytes>();
  const uint8_t* p = buf_.data() + start_;
  if (p[0] != 0) return fatal(NtStatus::kInvalidParameter, "bad frame type");
  uint32_t len = (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
  if (len > max_) return fatal(NtStatus::kInvalidParameter, "frame too large");
  if (buf_.size() - start_ - 4 < len) return std::optional<Bytes>();
  Bytes msg(p + 4, p + 4 + len);
  start_ += 4 + len;
  if (start_ == buf_.size()) {
    buf_.clear();
    start_ = 0;
  } else if (start_ > (1u << 20)) {
    buf_.erase(buf_.begin(), buf_.begin() + long(start_));
    start_ = 0;
  }
  return std::optional<Bytes>(std::move(msg));
}

void encodeFrameHeader(uint8_t out[4], uint32_t length) {
  out[0] = 0;
  out[1] = uint8_t(length >> 16);
  out[2] = uint8_t(length >> 8);
  out[3] = uint8_t(length);
}

bool isSmb1Negotiate(ByteView m) {
  return m.size() >= 32 + 3 && m[0] == 0xFF && m[1] == 'S' && m[2] == 'M' && m[3] == 'B' &&
         m[4] == 0x72;
}

Result<std::vector<std::string>> smb1NegotiateDialects(ByteView m) {
  if (!isSmb1Negotiate(m)) return malformed("not SMB1 negotiate");
  ByteReader r(m, 32);
  uint8_t wct = SD_TRY(r.u8());
  SD_CHECK(r.skip(size_t(wct) * 2));
  uint16_t bcc = SD_TRY(r.u16());
  auto data = SD_TRY(r.bytes(bcc));
  std::vector<std::string> out;
  size_t i = 0;
  while (i < data.size() && out.size() < 64) {
    if (data[i] != 0x02) return malformed("dialect buffer format");
    size_t j = i + 1;
    while (j < data.size() && data[j] != 0) j++;
    if (j >= data.size()) return malformed("unterminated dialect");
    out.emplace_back(reinterpret_cast<const char*>(data.data() + i + 1), j - i - 1);
    i = j + 1;
  }
  return out;
}

bool isTransformHeader(ByteView m) {
  return m.size() >= 4 && m[0] == 0xFD && m[1] == 'S' && m[2] == 'M' && m[3] == 'B';
}
bool isCompressionHeader(ByteView m) {
  return m.size() >= 4 && m[0] == 0xFC && m[1] == 'S' && m[2] == 'M' && m[3] == 'B';
}

}  // namespace sd::smb2
