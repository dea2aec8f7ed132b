// CANCEL (MS-SMB2 2.2.30). Sans-I/O. The server never answers it.
#pragma once
#include "smb2/simple.h"

namespace sd::smb2 {

struct CancelRequest {};
inline Result<CancelRequest> decodeCancelRequest(ByteView msg) {
  SD_CHECK(decodeEmptyBody(msg));
  return CancelRequest{};
}
inline void encodeCancelRequest(const CancelRequest&, ByteWriter& w) { encodeEmptyBody(w); }

}  // namespace sd::smb2
