// SESSION_SETUP (MS-SMB2 2.2.5, 2.2.6) and LOGOFF (2.2.7, 2.2.8). Sans-I/O.
#pragma once
#include "base/bytes.h"

namespace sd::smb2 {

// MS-SMB2 2.2.5
struct SessionSetupRequest {
  uint8_t flags = 0;
  uint8_t security_mode = 0;
  uint32_t capabilities = 0;
  uint32_t channel = 0;
  ByteView security_buffer;
  uint64_t previous_session_id = 0;
};
Result<SessionSetupRequest> decodeSessionSetupRequest(ByteView msg);
void encodeSessionSetupRequest(const SessionSetupRequest& q, ByteWriter& w);

// MS-SMB2 2.2.6
struct SessionSetupResponse {
  uint16_t session_flags = 0;
  ByteView security_buffer;
};
void encodeSessionSetupResponse(const SessionSetupResponse& p, ByteWriter& w);
Result<SessionSetupResponse> decodeSessionSetupResponse(ByteView msg);

// MS-SMB2 2.2.7 / 2.2.8
struct LogoffRequest {};
struct LogoffResponse {};
Result<LogoffRequest> decodeLogoffRequest(ByteView msg);
void encodeLogoffRequest(const LogoffRequest&, ByteWriter& w);
void encodeLogoffResponse(const LogoffResponse&, ByteWriter& w);
Result<LogoffResponse> decodeLogoffResponse(ByteView msg);

}  // namespace sd::smb2
