// OPLOCK_BREAK: the server's notification (MS-SMB2 2.2.23.1), the client's acknowledgment
// (2.2.24.1) and the server's response (2.2.25.1), one layout; lease breaks (2.2.24.2) arrive
// with leases. Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.24.1
struct OplockBreakAcknowledgment {
  uint8_t oplock_level = 0;
  FileId file_id;
};
Result<OplockBreakAcknowledgment> decodeOplockBreakAcknowledgment(ByteView msg);
// MS-SMB2 2.2.23.1 / 2.2.25.1: the notification's and the response's body (after the header).
void encodeOplockBreak(uint8_t oplock_level, const FileId& file_id, ByteWriter& w);

}  // namespace sd::smb2
