// SET_INFO (MS-SMB2 2.2.39, 2.2.40). Sans-I/O.
#pragma once
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.39
struct SetInfoRequest {
  uint8_t info_type = 0;
  uint8_t file_info_class = 0;
  ByteView buffer;
  uint32_t additional_information = 0;
  FileId file_id;
};
struct SetInfoResponse {};
Result<SetInfoRequest> decodeSetInfoRequest(ByteView msg);
void encodeSetInfoRequest(const SetInfoRequest& q, ByteWriter& w);
void encodeSetInfoResponse(const SetInfoResponse&, ByteWriter& w);

}  // namespace sd::smb2
