// SMB2 ERROR response (MS-SMB2 2.2.2) and its error contexts (2.2.2.1). Sans-I/O.
#pragma once
#include "base/bytes.h"

namespace sd::smb2 {

// MS-SMB2 2.2.2
struct ErrorResponse {
  uint8_t error_context_count = 0;
  Bytes error_data;  // empty: one zero byte is sent (MS-SMB2 2.2.2: ByteCount 0, 1 byte data)
  // STATUS_BUFFER_TOO_SMALL carries the required size as 4 bytes of ErrorData (3.3.5.20).
  static ErrorResponse bufferTooSmall(uint32_t needed) {
    ErrorResponse e;
    e.error_data = {uint8_t(needed), uint8_t(needed >> 8), uint8_t(needed >> 16), uint8_t(needed >> 24)};
    return e;
  }
};
void encodeErrorResponse(const ErrorResponse& e, ByteWriter& w);
Result<ErrorResponse> decodeErrorResponse(ByteView msg);

}  // namespace sd::smb2
