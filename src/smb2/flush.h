// FLUSH (MS-SMB2 2.2.17, 2.2.18). Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.17
struct FlushRequest {
  FileId file_id;
};
struct FlushResponse {};
Result<FlushRequest> decodeFlushRequest(ByteView msg);
void encodeFlushRequest(const FlushRequest& q, ByteWriter& w);
void encodeFlushResponse(const FlushResponse&, ByteWriter& w);

}  // namespace sd::smb2
