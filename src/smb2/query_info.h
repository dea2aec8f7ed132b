// QUERY_INFO (MS-SMB2 2.2.37, 2.2.38). Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.37
struct QueryInfoRequest {
  uint8_t info_type = 0;
  uint8_t file_info_class = 0;
  uint32_t output_buffer_length = 0;
  ByteView input;
  uint32_t additional_information = 0;
  uint32_t flags = 0;
  FileId file_id;
};
Result<QueryInfoRequest> decodeQueryInfoRequest(ByteView msg);
void encodeQueryInfoRequest(const QueryInfoRequest& q, ByteWriter& w);

// MS-SMB2 2.2.38
struct QueryInfoResponse {
  ByteView buffer;
};
void encodeQueryInfoResponse(const QueryInfoResponse& p, ByteWriter& w);
Result<QueryInfoResponse> decodeQueryInfoResponse(ByteView msg);

}  // namespace sd::smb2
