// Compound chains (MS-SMB2 3.2.4.1.4, 3.3.5.2.7): splitting a received transport message into
// its SMB2 messages by NextCommand. Sans-I/O; any thread.
#pragma once
#include <vector>

#include "base/bytes.h"

namespace sd::smb2 {

// Each element starts at an SMB2 header; every NextCommand must be 8-byte aligned, leave room
// for a header and stay inside the message. At most `max_messages` elements.
Result<std::vector<ByteView>> splitCompound(ByteView frame, size_t max_messages = 256);

}  // namespace sd::smb2
