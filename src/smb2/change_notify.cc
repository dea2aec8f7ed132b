#include "smb2/change_notify.h"

#include "smb2/query_directory.h"

namespace sd::smb2 {

Result<ChangeNotifyRequest> decodeChangeNotifyRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(32));
  ChangeNotifyRequest q;
  q.flags = SD_TRY(r.u16());
  q.output_buffer_length = SD_TRY(r.u32());
  q.file_id = SD_TRY(readFileId(r));
  q.completion_filter = SD_TRY(r.u32());
  SD_CHECK(r.skip(4));
  return q;
}

void encodeChangeNotifyRequest(const ChangeNotifyRequest& q, ByteWriter& w) {
  w.u16(32);
  w.u16(q.flags);
  w.u32(q.output_buffer_length);
  writeFileId(w, q.file_id);
  w.u32(q.completion_filter);
  w.u32(0);
}

void encodeChangeNotifyResponse(const ChangeNotifyResponse& p, ByteWriter& w) {
  encodeOutputBufferResponse(p.buffer, w);
}

Result<ChangeNotifyResponse> decodeChangeNotifyResponse(ByteView msg) {
  ChangeNotifyResponse p;
  p.buffer = SD_TRY(decodeOutputBufferResponse(msg));
  return p;
}

}  // namespace sd::smb2
