// ECHO (MS-SMB2 2.2.28, 2.2.29). Sans-I/O.
#pragma once
#include "smb2/simple.h"

namespace sd::smb2 {

struct EchoRequest {};
struct EchoResponse {};
inline Result<EchoRequest> decodeEchoRequest(ByteView msg) {
  SD_CHECK(decodeEmptyBody(msg));
  return EchoRequest{};
}
inline void encodeEchoRequest(const EchoRequest&, ByteWriter& w) { encodeEmptyBody(w); }
inline void encodeEchoResponse(const EchoResponse&, ByteWriter& w) { encodeEmptyBody(w); }

}  // namespace sd::smb2
