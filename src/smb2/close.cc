#include "smb2/close.h"

namespace sd::smb2 {

Result<CloseRequest> decodeCloseRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(24));
  CloseRequest q;
  q.flags = SD_TRY(r.u16());
  SD_CHECK(r.skip(4));
  q.file_id = SD_TRY(readFileId(r));
  return q;
}

void encodeCloseRequest(const CloseRequest& q, ByteWriter& w) {
  w.u16(24);
  w.u16(q.flags);
  w.u32(0);
  writeFileId(w, q.file_id);
}

void encodeCloseResponse(const CloseResponse& p, ByteWriter& w) {
  w.u16(60);
  w.u16(p.flags);
  w.u32(0);
  w.u64(p.creation_time);
  w.u64(p.last_access_time);
  w.u64(p.last_write_time);
  w.u64(p.change_time);
  w.u64(p.allocation_size);
  w.u64(p.end_of_file);
  w.u32(p.file_attributes);
}

Result<CloseResponse> decodeCloseResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(60));
  CloseResponse p;
  p.flags = SD_TRY(r.u16());
  SD_CHECK(r.skip(4));
  p.creation_time = SD_TRY(r.u64());
  p.last_access_time = SD_TRY(r.u64());
  p.last_write_time = SD_TRY(r.u64());
  p.change_time = SD_TRY(r.u64());
  p.allocation_size = SD_TRY(r.u64());
  p.end_of_file = SD_TRY(r.u64());
  p.file_attributes = SD_TRY(r.u32());
  return p;
}

}  // namespace sd::smb2
