#include "smb2/session_setup.h"

#include "smb2/header.h"
#include "smb2/simple.h"

namespace sd::smb2 {

Result<SessionSetupRequest> decodeSessionSetupRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(25));
  SessionSetupRequest q;
  q.flags = SD_TRY(r.u8());
  q.security_mode = SD_TRY(r.u8());
  q.capabilities = SD_TRY(r.u32());
  q.channel = SD_TRY(r.u32());
  uint16_t off = SD_TRY(r.u16());
  uint16_t len = SD_TRY(r.u16());
  q.previous_session_id = SD_TRY(r.u64());
  q.security_buffer = SD_TRY(ByteReader(msg).slice(off, len));
  return q;
}

void encodeSessionSetupRequest(const SessionSetupRequest& q, ByteWriter& w) {
  w.u16(25);
  w.u8(q.flags);
  w.u8(q.security_mode);
  w.u32(q.capabilities);
  w.u32(q.channel);
  w.u16(uint16_t(kHeaderSize + 24));
  w.u16(uint16_t(q.security_buffer.size()));
  w.u64(q.previous_session_id);
  w.bytes(q.security_buffer);
  if (q.security_buffer.empty()) w.u8(0);
}

void encodeSessionSetupResponse(const SessionSetupResponse& p, ByteWriter& w) {
  w.u16(9);
  w.u16(p.session_flags);
  w.u16(p.security_buffer.empty() ? 0 : uint16_t(kHeaderSize + 8));
  w.u16(uint16_t(p.security_buffer.size()));
  w.bytes(p.security_buffer);
  if (p.security_buffer.empty()) w.u8(0);
}

Result<SessionSetupResponse> decodeSessionSetupResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(9));
  SessionSetupResponse p;
  p.session_flags = SD_TRY(r.u16());
  uint16_t off = SD_TRY(r.u16());
  uint16_t len = SD_TRY(r.u16());
  p.security_buffer = SD_TRY(ByteReader(msg).slice(off, len));
  return p;
}

Result<LogoffRequest> decodeLogoffRequest(ByteView msg) {
  SD_CHECK(decodeEmptyBody(msg));
  return LogoffRequest{};
}
void encodeLogoffRequest(const LogoffRequest&, ByteWriter& w) { encodeEmptyBody(w); }
void encodeLogoffResponse(const LogoffResponse&, ByteWriter& w) { encodeEmptyBody(w); }
Result<LogoffResponse> decodeLogoffResponse(ByteView msg) {
  SD_CHECK(decodeEmptyBody(msg));
  return LogoffResponse{};
}

}  // namespace sd::smb2
