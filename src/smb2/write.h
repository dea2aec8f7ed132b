// WRITE (MS-SMB2 2.2.21, 2.2.22). Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.21
struct WriteRequest {
  uint64_t offset = 0;
  FileId file_id;
  uint32_t channel = 0;
  uint32_t remaining_bytes = 0;
  uint32_t flags = 0;
  ByteView data;
  ByteView write_channel_info;
  uint32_t length = 0;  // the Length field (equals data.size() unless an RDMA channel is used)
};
Result<WriteRequest> decodeWriteRequest(ByteView msg);
void encodeWriteRequest(const WriteRequest& q, ByteWriter& w);
// Zero-copy client form: fixed part only; the caller sends `data` as a separate buffer.
void encodeWriteRequestHeader(const WriteRequest& q, uint32_t data_length, ByteWriter& w);

// MS-SMB2 2.2.22
struct WriteResponse {
  uint32_t count = 0;
  uint32_t remaining = 0;
};
void encodeWriteResponse(const WriteResponse& p, ByteWriter& w);
Result<WriteResponse> decodeWriteResponse(ByteView msg);

}  // namespace sd::smb2
