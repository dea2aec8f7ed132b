#include "smbdirect/smbd_wire.h"

namespace sd::smbdirect {

void encodeNegotiateRequest(const NegotiateRequest& q, ByteWriter& w) {
  w.u16(q.min_version);
  w.u16(q.max_version);
  w.u16(0);  // Reserved
  w.u16(q.credits_requested);
  w.u32(q.preferred_send_size);
  w.u32(q.max_receive_size);
  w.u32(q.max_fragmented_size);
}

Result<NegotiateRequest> decodeNegotiateRequest(ByteView b) {
  if (b.size() < kNegotiateRequestSize) return malformed("short SMBD negotiate request");
  ByteReader r(b);
  NegotiateRequest q;
  q.min_version = SD_TRY(r.u16());
  q.max_version = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  q.credits_requested = SD_TRY(r.u16());
  q.preferred_send_size = SD_TRY(r.u32());
  q.max_receive_size = SD_TRY(r.u32());
  q.max_fragmented_size = SD_TRY(r.u32());
  if (q.max_version < q.min_version) return malformed("SMBD MaxVersion below MinVersion");
  return q;
}

void encodeNegotiateResponse(const NegotiateResponse& p, ByteWriter& w) {
  w.u16(p.min_version);
  w.u16(p.max_version);
  w.u16(p.negotiated_version);
  w.u16(0);  // Reserved
  w.u16(p.credits_requested);
  w.u16(p.credits_granted);
  w.u32(p.status);
  w.u32(p.max_read_write_size);
  w.u32(p.preferred_send_size);
  w.u32(p.max_receive_size);
  w.u32(p.max_fragmented_size);
}

Result<NegotiateResponse> decodeNegotiateResponse(ByteView b) {
  if (b.size() < kNegotiateResponseSize) return malformed("short SMBD negotiate response");
  ByteReader r(b);
  NegotiateResponse p;
  p.min_version = SD_TRY(r.u16());
  p.max_version = SD_TRY(r.u16());
  p.negotiated_version = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  p.credits_requested = SD_TRY(r.u16());
  p.credits_granted = SD_TRY(r.u16());
  p.status = SD_TRY(r.u32());
  p.max_read_write_size = SD_TRY(r.u32());
  p.preferred_send_size = SD_TRY(r.u32());
  p.max_receive_size = SD_TRY(r.u32());
  p.max_fragmented_size = SD_TRY(r.u32());
  return p;
}

void encodeDataHeader(const DataHeader& h, uint8_t* out) {
  store16(out + 0, h.credits_requested);
  store16(out + 2, h.credits_granted);
  store16(out + 4, h.flags);
  store16(out + 6, 0);
  store32(out + 8, h.remaining_data_length);
  store32(out + 12, h.data_length ? h.data_offset : 0);
  store32(out + 16, h.data_length);
  store32(out + 20, 0);  // Padding
}

Result<DataHeader> decodeDataMessage(ByteView packet, ByteView* payload) {
  if (packet.size() < kDataHeaderSize) return malformed("short SMBD data transfer message");
  ByteReader r(packet);
  DataHeader h;
  h.credits_requested = SD_TRY(r.u16());
  h.credits_granted = SD_TRY(r.u16());
  h.flags = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  h.remaining_data_length = SD_TRY(r.u32());
  h.data_offset = SD_TRY(r.u32());
  h.data_length = SD_TRY(r.u32());
  // MS-SMBD 3.1.5.7: CreditsRequested MUST be nonzero; DataOffset 8-byte aligned and past the
  // header; the data inside the message.
  if (h.credits_requested == 0) return malformed("SMBD CreditsRequested is 0");
  *payload = {};
  if (h.data_length == 0) {
    if (h.remaining_data_length != 0) return malformed("SMBD empty message with RemainingDataLength");
    return h;
  }
  if (h.data_offset % 8 || h.data_offset < kDataHeaderSize) return malformed("SMBD DataOffset");
  if (uint64_t(h.data_offset) + h.data_length > packet.size()) return malformed("SMBD DataLength");
  *payload = packet.subspan(h.data_offset, h.data_length);
  return h;
}

Result<std::vector<BufferDescriptorV1>> decodeBufferDescriptors(ByteView b) {
  if (b.size() % kBufferDescriptorV1Size) return malformed("buffer descriptor list length");
  std::vector<BufferDescriptorV1> v;
  ByteReader r(b);
  while (r.remaining()) {
    BufferDescriptorV1 d;
    d.offset = SD_TRY(r.u64());
    d.token = SD_TRY(r.u32());
    d.length = SD_TRY(r.u32());
    v.push_back(d);
  }
  return v;
}

void encodeBufferDescriptors(std::span<const BufferDescriptorV1> v, ByteWriter& w) {
  for (const auto& d : v) {
    w.u64(d.offset);
    w.u32(d.token);
    w.u32(d.length);
  }
}

}  // namespace sd::smbdirect
