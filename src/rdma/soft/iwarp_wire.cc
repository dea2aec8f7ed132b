// iWARP codecs. Decoders read only through ByteReader; nothing casts structs onto buffers.
#include "rdma/soft/iwarp_wire.h"

#include <cstdio>
#include <cstring>

#include "rdma/soft/crc32c.h"

namespace sd::rdma::soft {
namespace {
constexpr char kKeyReq[] = "MPA ID Req Frame";
constexpr char kKeyRep[] = "MPA ID Rep Frame";

void putBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (24 - 8 * i));
}
void putBe64(uint8_t* p, uint64_t v) {
  putBe32(p, uint32_t(v >> 32));
  putBe32(p + 4, uint32_t(v));
}
}  // namespace

Result<size_t> mpaFrameLength(ByteView head, bool reply) {
  if (head.size() < kMpaHeaderLen) return malformed("short MPA frame");
  if (std::memcmp(head.data(), reply ? kKeyRep : kKeyReq, kMpaKeyLen) != 0)
    return malformed("bad MPA key");
  size_t pd_len = size_t(head[18]) << 8 | head[19];
  if (pd_len > kMpaMaxPrivateData) return malformed("MPA private data too long");
  return kMpaHeaderLen + pd_len;
}

Result<MpaFrame> decodeMpaFrame(ByteView frame, bool reply) {
  size_t total = SD_TRY(mpaFrameLength(frame, reply));
  if (frame.size() != total) return malformed("MPA frame length");
  ByteReader r(frame);
  SD_CHECK(r.skip(kMpaKeyLen));
  MpaFrame f;
  f.reply = reply;
  uint8_t flags = SD_TRY(r.u8());
  f.markers = flags & kMpaFlagMarkers;
  f.crc = flags & kMpaFlagCrc;
  f.reject = flags & kMpaFlagReject;
  f.revision = SD_TRY(r.u8());
  f.enhanced = (flags & kMpaFlagEnhanced) && f.revision >= 2;
  uint16_t pd_len = SD_TRY(r.be16());
  ByteView pd = SD_TRY(r.bytes(pd_len));
  if (f.enhanced) {
    ByteReader p(pd);
    auto ird = p.be16();
    auto ord = p.be16();
    if (!ird || !ord) return malformed("MPA v2 private data lacks IRD/ORD");
    f.ird = *ird & kMpaV2IrdOrdMask;
    f.ord = *ord & kMpaV2IrdOrdMask;
    f.peer_to_peer = *ird & kMpaV2PeerToPeer;
    f.rtr_zero_send = *ird & kMpaV2ZeroLenSendRtr;
    f.rtr_write = *ord & kMpaV2WriteRtr;
    f.rtr_read = *ord & kMpaV2ReadRtr;
    ByteView rest = p.rest();
    f.private_data.assign(rest.begin(), rest.end());
  } else {
    f.private_data.assign(pd.begin(), pd.end());
  }
  return f;
}

void encodeMpaFrame(const MpaFrame& f, ByteWriter& w) {
  w.bytes(asBytes(std::string_view(f.reply ? kKeyRep : kKeyReq, kMpaKeyLen)));
  uint8_t flags = 0;
  if (f.markers) flags |= kMpaFlagMarkers;
  if (f.crc) flags |= kMpaFlagCrc;
  if (f.reject) flags |= kMpaFlagReject;
  if (f.enhanced) flags |= kMpaFlagEnhanced;
  w.u8(flags);
  w.u8(f.revision);
  size_t pd = f.private_data.size() + (f.enhanced ? 4 : 0);
  w.be16(uint16_t(pd));
  if (f.enhanced) {
    uint16_t ird = f.ird & kMpaV2IrdOrdMask, ord = f.ord & kMpaV2IrdOrdMask;
    if (f.peer_to_peer) ird |= kMpaV2PeerToPeer;
    if (f.rtr_zero_send) ird |= kMpaV2ZeroLenSendRtr;
    if (f.rtr_write) ord |= kMpaV2WriteRtr;
    if (f.rtr_read) ord |= kMpaV2ReadRtr;
    w.be16(ird);
    w.be16(ord);
  }
  w.bytes(f.private_data);
}

const char* rdmapOpName(RdmapOp op) {
  switch (op) {
    case RdmapOp::kWrite: return "RDMA Write";
    case RdmapOp::kReadRequest: return "RDMA Read Request";
    case RdmapOp::kReadResponse: return "RDMA Read Response";
    case RdmapOp::kSend: return "Send";
    case RdmapOp::kSendInv: return "Send with Invalidate";
    case RdmapOp::kSendSe: return "Send with SE";
    case RdmapOp::kSendSeInv: return "Send with SE and Invalidate";
    case RdmapOp::kTerminate: return "Terminate";
  }
  return "?";
}

Result<DdpHeader> decodeDdpHeader(ByteReader& r) {
  DdpHeader h;
  uint8_t ddp = SD_TRY(r.u8());
  uint8_t rdmap = SD_TRY(r.u8());
  h.tagged = ddp & 0x80;
  h.last = ddp & 0x40;
  h.ddp_version = ddp & 0x03;
  h.rdmap_version = rdmap >> 6;
  h.op = RdmapOp(rdmap & 0x0F);
  if (h.tagged) {
    h.stag = SD_TRY(r.be32());
    h.to = SD_TRY(r.be64());
  } else {
    h.stag = SD_TRY(r.be32());
    h.qn = SD_TRY(r.be32());
    h.msn = SD_TRY(r.be32());
    h.mo = SD_TRY(r.be32());
  }
  return h;
}

size_t encodeDdpHeader(const DdpHeader& h, uint8_t* out) {
  out[0] = uint8_t((h.tagged ? 0x80 : 0) | (h.last ? 0x40 : 0) | (h.ddp_version & 3));
  out[1] = uint8_t((h.rdmap_version & 3) << 6 | (uint8_t(h.op) & 0x0F));
  putBe32(out + 2, h.stag);
  if (h.tagged) {
    putBe64(out + 6, h.to);
    return kDdpTaggedHeaderLen;
  }
  putBe32(out + 6, h.qn);
  putBe32(out + 10, h.msn);
  putBe32(out + 14, h.mo);
  return kDdpUntaggedHeaderLen;
}

Result<ReadRequest> decodeReadRequest(ByteReader& r) {
  ReadRequest q;
  q.sink_stag = SD_TRY(r.be32());
  q.sink_to = SD_TRY(r.be64());
  q.size = SD_TRY(r.be32());
  q.src_stag = SD_TRY(r.be32());
  q.src_to = SD_TRY(r.be64());
  return q;
}

void encodeReadRequest(const ReadRequest& q, uint8_t* out) {
  putBe32(out, q.sink_stag);
  putBe64(out + 4, q.sink_to);
  putBe32(out + 12, q.size);
  putBe32(out + 16, q.src_stag);
  putBe64(out + 20, q.src_to);
}

Result<Terminate> decodeTerminate(ByteView payload) {
  ByteReader r(payload);
  Terminate t;
  uint8_t b0 = SD_TRY(r.u8());
  t.layer = TermLayer(b0 >> 4);
  if (b0 >> 4 > 2) return malformed("terminate layer");
  t.etype = b0 & 0x0F;
  t.code = SD_TRY(r.u8());
  uint16_t hc = SD_TRY(r.be16());
  t.hdr_m = hc & 0x8000;
  t.hdr_d = hc & 0x4000;
  t.hdr_r = hc & 0x2000;
  if (t.hdr_d) {
    t.ddp_seg_len = SD_TRY(r.be16());
    bool tagged_hdr = t.layer == TermLayer::kDdp && t.etype == term::kDdpTagged;
    ByteView h = SD_TRY(r.bytes(tagged_hdr ? kDdpTaggedHeaderLen : kDdpUntaggedHeaderLen));
    t.ddp_header.assign(h.begin(), h.end());
  }
  if (t.hdr_r) {
    ByteView h = SD_TRY(r.bytes(kReadRequestLen));
    t.rdmap_header.assign(h.begin(), h.end());
  }
  return t;
}

void encodeTerminate(const Terminate& t, ByteWriter& w) {
  w.u8(uint8_t(uint8_t(t.layer) << 4 | (t.etype & 0x0F)));
  w.u8(t.code);
  uint16_t hc = 0;
  bool d = t.hdr_d && !t.ddp_header.empty();
  bool rr = t.hdr_r && t.rdmap_header.size() == kReadRequestLen;
  if (t.hdr_m) hc |= 0x8000;
  if (d) hc |= 0x4000;
  if (rr) hc |= 0x2000;
  w.be16(hc);
  if (d) {
    w.be16(t.ddp_seg_len);
    w.bytes(t.ddp_header);
  }
  if (rr) w.bytes(t.rdmap_header);
}

std::string describeTerminate(const Terminate& t) {
  static const char* kLayers[] = {"RDMAP", "DDP", "LLP"};
  char buf[96];
  std::snprintf(buf, sizeof buf, "terminate %s etype %u code 0x%02x",
                kLayers[uint8_t(t.layer) % 3], t.etype, t.code);
  return buf;
}

Bytes encodeFpdu(const DdpHeader& h, ByteView payload, bool crc) {
  Bytes out;
  size_t ulpdu = h.length() + payload.size();
  out.resize(mpaFpduLen(ulpdu));
  out[0] = uint8_t(ulpdu >> 8);
  out[1] = uint8_t(ulpdu);
  encodeDdpHeader(h, out.data() + 2);
  if (!payload.empty()) std::memcpy(out.data() + 2 + h.length(), payload.data(), payload.size());
  size_t body = out.size() - kMpaCrcLen;
  uint32_t c = crc ? crc32c(out.data(), body) : 0;
  store32(out.data() + body, c);  // CRC32c goes out least-significant byte first (as siw does)
  return out;
}

}  // namespace sd::rdma::soft
