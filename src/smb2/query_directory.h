// QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34). Sans-I/O.
#pragma once
#include <string>

#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.33
struct QueryDirectoryRequest {
  uint8_t file_information_class = 0;
  uint8_t flags = 0;
  uint32_t file_index = 0;
  FileId file_id;
  std::string file_name;  // search pattern, UTF-8
  uint32_t output_buffer_length = 0;
};
Result<QueryDirectoryRequest> decodeQueryDirectoryRequest(ByteView msg);
void encodeQueryDirectoryRequest(const QueryDirectoryRequest& q, ByteWriter& w);

// MS-SMB2 2.2.34
struct QueryDirectoryResponse {
  ByteView buffer;
};
void encodeQueryDirectoryResponse(const QueryDirectoryResponse& p, ByteWriter& w);
Result<QueryDirectoryResponse> decodeQueryDirectoryResponse(ByteView msg);

// The 8-byte-offset, 4-byte-length output buffer shared by QUERY_DIRECTORY, QUERY_INFO and
// CHANGE_NOTIFY responses (StructureSize 9).
void encodeOutputBufferResponse(ByteView buffer, ByteWriter& w);
Result<ByteView> decodeOutputBufferResponse(ByteView msg);

}  // namespace sd::smb2
