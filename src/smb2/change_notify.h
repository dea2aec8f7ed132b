// CHANGE_NOTIFY (MS-SMB2 2.2.35, 2.2.36). Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.35
struct ChangeNotifyRequest {
  uint16_t flags = 0;
  uint32_t output_buffer_length = 0;
  FileId file_id;
  uint32_t completion_filter = 0;
};
Result<ChangeNotifyRequest> decodeChangeNotifyRequest(ByteView msg);
void encodeChangeNotifyRequest(const ChangeNotifyRequest& q, ByteWriter& w);

// MS-SMB2 2.2.36: the FILE_NOTIFY_INFORMATION records (fscc/notify_info.h).
struct ChangeNotifyResponse {
  ByteView buffer;
};
void encodeChangeNotifyResponse(const ChangeNotifyResponse& p, ByteWriter& w);
Result<ChangeNotifyResponse> decodeChangeNotifyResponse(ByteView msg);

}  // namespace sd::smb2
