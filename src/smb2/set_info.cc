#include "smb2/set_info.h"

namespace sd::smb2 {

Result<SetInfoRequest> decodeSetInfoRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(33));
  SetInfoRequest q;
  q.info_type = SD_TRY(r.u8());
  q.file_info_class = SD_TRY(r.u8());
  uint32_t len = SD_TRY(r.u32());
  uint16_t off = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  q.additional_information = SD_TRY(r.u32());
  q.file_id = SD_TRY(readFileId(r));
  q.buffer = SD_TRY(ByteReader(msg).slice(off, len));
  return q;
}

void encodeSetInfoRequest(const SetInfoRequest& q, ByteWriter& w) {
  w.u16(33);
  w.u8(q.info_type);
  w.u8(q.file_info_class);
  w.u32(uint32_t(q.buffer.size()));
  w.u16(uint16_t(kHeaderSize + 32));
  w.u16(0);
  w.u32(q.additional_information);
  writeFileId(w, q.file_id);
  if (q.buffer.empty()) w.u8(0);
  else w.bytes(q.buffer);
}

void encodeSetInfoResponse(const SetInfoResponse&, ByteWriter& w) { w.u16(2); }

}  // namespace sd::smb2
