#include "smb2/read.h"

#include "smb2/constants.h"

namespace sd::smb2 {

Result<std::vector<smbdirect::BufferDescriptorV1>> decodeChannelDescriptors(uint32_t channel, ByteView info,
                                                                             uint64_t length) {
  if (channel != 1 && channel != 2) return err(NtStatus::kInvalidParameter, "not an RDMA channel");
  auto d = SD_TRY(smbdirect::decodeBufferDescriptors(info));
  if (d.empty()) return err(NtStatus::kInvalidParameter, "no buffer descriptor");
  uint64_t total = 0;
  for (const auto& x : d) total += x.length;
  if (total < length) return err(NtStatus::kInvalidParameter, "buffer descriptors smaller than the transfer");
  return d;
}

Result<ReadRequest> decodeReadRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(49));
  ReadRequest q;
  q.padding = SD_TRY(r.u8());
  q.flags = SD_TRY(r.u8());
  q.length = SD_TRY(r.u32());
  q.offset = SD_TRY(r.u64());
  q.file_id = SD_TRY(readFileId(r));
  q.minimum_count = SD_TRY(r.u32());
  q.channel = SD_TRY(r.u32());
  q.remaining_bytes = SD_TRY(r.u32());
  uint16_t off = SD_TRY(r.u16());
  uint16_t len = SD_TRY(r.u16());
  if (isRdmaChannel(q.channel)) q.read_channel_info = SD_TRY(ByteReader(msg).slice(off, len));
  return q;
}

void encodeReadRequest(const ReadRequest& q, ByteWriter& w) {
  w.u16(49);
  w.u8(q.padding);
  w.u8(q.flags);
  w.u32(q.length);
  w.u64(q.offset);
  writeFileId(w, q.file_id);
  w.u32(q.minimum_count);
  w.u32(q.channel);
  w.u32(q.remaining_bytes);
  w.u16(q.read_channel_info.empty() ? 0 : uint16_t(kHeaderSize + 48));
  w.u16(uint16_t(q.read_channel_info.size()));
  if (q.read_channel_info.empty()) w.u8(0);
  else w.bytes(q.read_channel_info);
}

size_t encodeReadResponseHeader(ByteWriter& w) {
  w.u16(17);
  w.u8(uint8_t(kHeaderSize + 16));  // DataOffset
  w.u8(0);
  w.u32(0);  // DataLength, patched
  w.u32(0);  // DataRemaining
  w.u32(0);  // Flags (3.1.1) / Reserved2
  return w.size();
}

void finishReadResponseHeader(ByteWriter& w, uint32_t data_length, uint32_t data_remaining) {
  w.put32(kHeaderSize + 4, data_length);
  w.put32(kHeaderSize + 8, data_remaining);
}

void encodeReadResponse(const ReadResponse& p, ByteWriter& w) {
  encodeReadResponseHeader(w);
  finishReadResponseHeader(w, uint32_t(p.data.size()), p.data_remaining);
  w.put32(kHeaderSize + 12, p.flags);
  if (p.data.empty()) w.u8(0);
  else w.bytes(p.data);
}

Result<ReadResponse> decodeReadResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(17));
  ReadResponse p;
  uint8_t off = SD_TRY(r.u8());
  SD_CHECK(r.skip(1));
  uint32_t len = SD_TRY(r.u32());
  p.data_remaining = SD_TRY(r.u32());
  p.flags = SD_TRY(r.u32());
  p.data = SD_TRY(ByteReader(msg).slice(off, len));
  return p;
}

}  // namespace sd::smb2
