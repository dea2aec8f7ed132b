#include "smb2/query_info.h"

#include "smb2/query_directory.h"

namespace sd::smb2 {

Result<QueryInfoRequest> decodeQueryInfoRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(41));
  QueryInfoRequest q;
  q.info_type = SD_TRY(r.u8());
  q.file_info_class = SD_TRY(r.u8());
  q.output_buffer_length = SD_TRY(r.u32());
  uint16_t in_off = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  uint32_t in_len = SD_TRY(r.u32());
  q.additional_information = SD_TRY(r.u32());
  q.flags = SD_TRY(r.u32());
  q.file_id = SD_TRY(readFileId(r));
  q.input = SD_TRY(ByteReader(msg).slice(in_off, in_len));
  return q;
}

void encodeQueryInfoRequest(const QueryInfoRequest& q, ByteWriter& w) {
  w.u16(41);
  w.u8(q.info_type);
  w.u8(q.file_info_class);
  w.u32(q.output_buffer_length);
  w.u16(q.input.empty() ? 0 : uint16_t(kHeaderSize + 40));
  w.u16(0);
  w.u32(uint32_t(q.input.size()));
  w.u32(q.additional_information);
  w.u32(q.flags);
  writeFileId(w, q.file_id);
  if (q.input.empty()) w.u8(0);
  else w.bytes(q.input);
}

void encodeQueryInfoResponse(const QueryInfoResponse& p, ByteWriter& w) {
  encodeOutputBufferResponse(p.buffer, w);
}
Result<QueryInfoResponse> decodeQueryInfoResponse(ByteView msg) {
  QueryInfoResponse p;
  p.buffer = SD_TRY(decodeOutputBufferResponse(msg));
  return p;
}

}  // namespace sd::smb2
