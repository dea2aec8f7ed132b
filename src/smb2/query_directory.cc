#include "smb2/query_directory.h"

#include "base/text.h"

namespace sd::smb2 {

Result<QueryDirectoryRequest> decodeQueryDirectoryRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(33));
  QueryDirectoryRequest q;
  q.file_information_class = SD_TRY(r.u8());
  q.flags = SD_TRY(r.u8());
  q.file_index = SD_TRY(r.u32());
  q.file_id = SD_TRY(readFileId(r));
  uint16_t off = SD_TRY(r.u16());
  uint16_t len = SD_TRY(r.u16());
  q.output_buffer_length = SD_TRY(r.u32());
  auto name = SD_TRY(ByteReader(msg).slice(off, len));
  q.file_name = SD_TRY(utf16leToUtf8(name));
  return q;
}

void encodeQueryDirectoryRequest(const QueryDirectoryRequest& q, ByteWriter& w) {
  Bytes name = utf16le(q.file_name);
  w.u16(33);
  w.u8(q.file_information_class);
  w.u8(q.flags);
  w.u32(q.file_index);
  writeFileId(w, q.file_id);
  w.u16(uint16_t(kHeaderSize + 32));
  w.u16(uint16_t(name.size()));
  w.u32(q.output_buffer_length);
  w.bytes(name);
  if (name.empty()) w.u8(0);
}

void encodeOutputBufferResponse(ByteView buffer, ByteWriter& w) {
  w.u16(9);
  w.u16(uint16_t(kHeaderSize + 8));
  w.u32(uint32_t(buffer.size()));
  if (buffer.empty()) w.u8(0);
  else w.bytes(buffer);
}

Result<ByteView> decodeOutputBufferResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(9));
  uint16_t off = SD_TRY(r.u16());
  uint32_t len = SD_TRY(r.u32());
  return ByteReader(msg).slice(off, len);
}

void encodeQueryDirectoryResponse(const QueryDirectoryResponse& p, ByteWriter& w) {
  encodeOutputBufferResponse(p.buffer, w);
}
Result<QueryDirectoryResponse> decodeQueryDirectoryResponse(ByteView msg) {
  QueryDirectoryResponse p;
  p.buffer = SD_TRY(decodeOutputBufferResponse(msg));
  return p;
}

}  // namespace sd::smb2
