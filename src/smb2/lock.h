// LOCK (MS-SMB2 2.2.26, 2.2.27). Sans-I/O.
#pragma once
#include <vector>

#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.26.1
struct LockElement {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t flags = 0;
};
// MS-SMB2 2.2.26
struct LockRequest {
  uint32_t lock_sequence = 0;  // LockSequenceNumber (4 bits) + LockSequenceIndex (28 bits)
  FileId file_id;
  std::vector<LockElement> locks;
};
struct LockResponse {};
Result<LockRequest> decodeLockRequest(ByteView msg);
void encodeLockRequest(const LockRequest& q, ByteWriter& w);
void encodeLockResponse(const LockResponse&, ByteWriter& w);

}  // namespace sd::smb2
