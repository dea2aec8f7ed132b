#include "smb2/error.h"

#include "smb2/header.h"

namespace sd::smb2 {

void encodeErrorResponse(const ErrorResponse& e, ByteWriter& w) {
  w.u16(9);
  w.u8(e.error_context_count);
  w.u8(0);
  w.u32(uint32_t(e.error_data.size()));
  if (e.error_data.empty()) w.u8(0);
  else w.bytes(e.error_data);
}

Result<ErrorResponse> decodeErrorResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(9));
  ErrorResponse e;
  e.error_context_count = SD_TRY(r.u8());
  SD_CHECK(r.skip(1));
  uint32_t n = SD_TRY(r.u32());
  auto d = SD_TRY(r.bytes(n));
  e.error_data.assign(d.begin(), d.end());
  return e;
}

}  // namespace sd::smb2
