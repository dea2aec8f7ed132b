// TREE_DISCONNECT (MS-SMB2 2.2.11, 2.2.12), ECHO (2.2.28, 2.2.29), CANCEL (2.2.30): fixed
// 4-byte bodies. Sans-I/O.
#pragma once
#include "smb2/simple.h"

namespace sd::smb2 {

struct TreeDisconnectRequest {};
struct TreeDisconnectResponse {};
inline Result<TreeDisconnectRequest> decodeTreeDisconnectRequest(ByteView msg) {
  SD_CHECK(decodeEmptyBody(msg));
  return TreeDisconnectRequest{};
}
inline void encodeTreeDisconnectRequest(const TreeDisconnectRequest&, ByteWriter& w) { encodeEmptyBody(w); }
inline void encodeTreeDisconnectResponse(const TreeDisconnectResponse&, ByteWriter& w) { encodeEmptyBody(w); }

}  // namespace sd::smb2
