// CLOSE (MS-SMB2 2.2.15, 2.2.16). Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.15
struct CloseRequest {
  uint16_t flags = 0;
  FileId file_id;
};
Result<CloseRequest> decodeCloseRequest(ByteView msg);
void encodeCloseRequest(const CloseRequest& q, ByteWriter& w);

// MS-SMB2 2.2.16
struct CloseResponse {
  uint16_t flags = 0;
  uint64_t creation_time = 0, last_access_time = 0, last_write_time = 0, change_time = 0;
  uint64_t allocation_size = 0, end_of_file = 0;
  uint32_t file_attributes = 0;
};
void encodeCloseResponse(const CloseResponse& p, ByteWriter& w);
Result<CloseResponse> decodeCloseResponse(ByteView msg);

}  // namespace sd::smb2
