// TREE_CONNECT (MS-SMB2 2.2.9, 2.2.10). Sans-I/O.
#pragma once
#include <string>

#include "base/bytes.h"

namespace sd::smb2 {

constexpr uint16_t kTreeConnectFlagExtensionPresent = 0x0004;

// MS-SMB2 2.2.9 (and 2.2.9.1 extension when flagged)
struct TreeConnectRequest {
  uint16_t flags = 0;
  std::string path;  // "\\server\share", UTF-8
};
Result<TreeConnectRequest> decodeTreeConnectRequest(ByteView msg);
void encodeTreeConnectRequest(const TreeConnectRequest& q, ByteWriter& w);

// MS-SMB2 2.2.10
struct TreeConnectResponse {
  uint8_t share_type = 0;
  uint32_t share_flags = 0;
  uint32_t capabilities = 0;
  uint32_t maximal_access = 0;
};
void encodeTreeConnectResponse(const TreeConnectResponse& p, ByteWriter& w);
Result<TreeConnectResponse> decodeTreeConnectResponse(ByteView msg);

}  // namespace sd::smb2
