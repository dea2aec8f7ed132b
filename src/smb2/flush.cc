#include "smb2/flush.h"

#include "smb2/simple.h"

namespace sd::smb2 {

Result<FlushRequest> decodeFlushRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(24));
  SD_CHECK(r.skip(6));
  FlushRequest q;
  q.file_id = SD_TRY(readFileId(r));
  return q;
}
void encodeFlushRequest(const FlushRequest& q, ByteWriter& w) {
  w.u16(24);
  w.u16(0);
  w.u32(0);
  writeFileId(w, q.file_id);
}
void encodeFlushResponse(const FlushResponse&, ByteWriter& w) { encodeEmptyBody(w); }

}  // namespace sd::smb2
