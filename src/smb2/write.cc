#include "smb2/write.h"

#include "smb2/constants.h"

namespace sd::smb2 {

Result<WriteRequest> decodeWriteRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(49));
  WriteRequest q;
  uint16_t data_off = SD_TRY(r.u16());
  q.length = SD_TRY(r.u32());
  q.offset = SD_TRY(r.u64());
  q.file_id = SD_TRY(readFileId(r));
  q.channel = SD_TRY(r.u32());
  q.remaining_bytes = SD_TRY(r.u32());
  uint16_t ci_off = SD_TRY(r.u16());
  uint16_t ci_len = SD_TRY(r.u16());
  q.flags = SD_TRY(r.u32());
  ByteReader whole(msg);
  if (isRdmaChannel(q.channel)) {
    q.write_channel_info = SD_TRY(whole.slice(ci_off, ci_len));
    if (q.length != 0 || data_off != 0) {
      // MS-SMB2 3.3.5.13: with an RDMA channel Length and DataOffset are 0.
      if (q.length) return malformed("RDMA write with inline Length");
    }
  } else {
    q.data = SD_TRY(whole.slice(data_off, q.length));
  }
  return q;
}

void encodeWriteRequestHeader(const WriteRequest& q, uint32_t data_length, ByteWriter& w) {
  w.u16(49);
  w.u16(data_length || q.write_channel_info.empty() ? uint16_t(kHeaderSize + 48) : 0);
  w.u32(data_length);
  w.u64(q.offset);
  writeFileId(w, q.file_id);
  w.u32(q.channel);
  w.u32(q.remaining_bytes);
  w.u16(q.write_channel_info.empty() ? 0 : uint16_t(kHeaderSize + 48));
  w.u16(uint16_t(q.write_channel_info.size()));
  w.u32(q.flags);
  w.bytes(q.write_channel_info);
}

void encodeWriteRequest(const WriteRequest& q, ByteWriter& w) {
  encodeWriteRequestHeader(q, uint32_t(q.data.size()), w);
  if (q.data.empty() && q.write_channel_info.empty()) w.u8(0);
  w.bytes(q.data);
}

void encodeWriteResponse(const WriteResponse& p, ByteWriter& w) {
  w.u16(17);
  w.u16(0);
  w.u32(p.count);
  w.u32(p.remaining);
  w.u16(0);
  w.u16(0);
}

Result<WriteResponse> decodeWriteResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(17));
  SD_CHECK(r.skip(2));
  WriteResponse p;
  p.count = SD_TRY(r.u32());
  p.remaining = SD_TRY(r.u32());
  return p;
}

}  // namespace sd::smb2
