#include "auth/der.h"

namespace sd::auth::der {

Result<Tlv> read(ByteReader& r) {
  size_t start = r.pos();
  Tlv t;
  t.tag = SD_TRY(r.u8());
  if ((t.tag & 0x1F) == 0x1F) return malformed("multi-byte DER tag");
  uint8_t l0 = SD_TRY(r.u8());
  size_t len = 0;
  if (l0 < 0x80) {
    len = l0;
  } else {
    int n = l0 & 0x7F;
    if (n == 0 || n > 4) return malformed("DER length form");
    for (int i = 0; i < n; i++) len = (len << 8) | SD_TRY(r.u8());
  }
  t.value = SD_TRY(r.bytes(len));
  t.whole = r.data().subspan(start, r.pos() - start);
  return t;
}

Result<Tlv> expect(ByteReader& r, uint8_t tag) {
  auto t = SD_TRY(read(r));
  if (t.tag != tag) return malformed("unexpected DER tag");
  return t;
}

Bytes tlv(uint8_t tag, ByteView value) {
  Bytes out;
  out.push_back(tag);
  size_t n = value.size();
  if (n < 0x80) {
    out.push_back(uint8_t(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(uint8_t(n));
  } else if (n < 0x10000) {
    out.push_back(0x82);
    out.push_back(uint8_t(n >> 8));
    out.push_back(uint8_t(n));
  } else {
    out.push_back(0x84);
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(n >> s));
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace sd::auth::der
