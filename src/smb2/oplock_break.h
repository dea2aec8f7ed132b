// OPLOCK_BREAK acknowledgment (MS-SMB2 2.2.24.1); lease breaks (2.2.24.2) arrive with leases.
// Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.24.1
struct OplockBreakAcknowledgment {
  uint8_t oplock_level = 0;
  FileId file_id;
};
Result<OplockBreakAcknowledgment> decodeOplockBreakAcknowledgment(ByteView msg);

}  // namespace sd::smb2
