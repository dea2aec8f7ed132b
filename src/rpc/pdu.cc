// C706 12.6 PDU codecs. Every decoder works on a reader bounded to frag_length, so a length field
// that lies can only make a decode fail, never read outside the PDU.
#include "rpc/pdu.h"

namespace sd::rpc {

namespace {

int hexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void writeUuid(ByteWriter& w, const Uuid& u) { w.bytes(u.bytes); }

Result<Uuid> readUuid(ByteReader& r) {
  auto b = SD_TRY(r.bytes(16));
  Uuid u;
  std::copy(b.begin(), b.end(), u.bytes.begin());
  return u;
}

void writeSyntax(ByteWriter& w, const SyntaxId& s) {
  writeUuid(w, s.uuid);
  w.u16(s.version_major);
  w.u16(s.version_minor);
}

Result<SyntaxId> readSyntax(ByteReader& r) {
  SyntaxId s;
  s.uuid = SD_TRY(readUuid(r));
  s.version_major = SD_TRY(r.u16());
  s.version_minor = SD_TRY(r.u16());
  return s;
}

// The PDU bounded to frag_length, its header checked against the expected type(s), and the end
// of the body (before any auth verifier: C706 12.6.3.1 auth_length, MS-RPCE 2.2.2.11 sec_trailer
// with auth_pad_length).
struct Framed {
  PduHeader header;
  ByteView pdu;
  size_t body_end = 0;
};

Result<Framed> frame(ByteView pdu, PType a, PType b) {
  Framed f;
  f.header = SD_TRY(decodeHeader(pdu));
  if (f.header.ptype != a && f.header.ptype != b) return malformed("unexpected PTYPE");
  if (!f.header.supportedDrep()) return malformed("unsupported data representation");
  if (f.header.frag_length > pdu.size()) return malformed("frag_length beyond data");
  f.pdu = pdu.first(f.header.frag_length);
  f.body_end = f.pdu.size();
  if (f.header.auth_length != 0) {
    size_t trailer = size_t(f.header.auth_length) + 8;
    if (trailer > f.body_end - kCommonHeaderSize) return malformed("auth_length beyond PDU");
    f.body_end -= trailer;
    uint8_t auth_pad_length = f.pdu[f.body_end + 2];
    if (auth_pad_length > f.body_end - kCommonHeaderSize) return malformed("auth_pad_length");
    f.body_end -= auth_pad_length;
  }
  return f;
}

ByteWriter startPdu(PType type, uint8_t flags, uint32_t call_id) {
  ByteWriter w;
  PduHeader h;
  h.ptype = type;
  h.pfc_flags = flags;
  h.call_id = call_id;
  encodeHeader(h, w);
  return w;
}

Bytes finishPdu(ByteWriter& w) {
  w.put16(8, uint16_t(w.size()));
  return w.take();
}

}  // namespace

std::optional<Uuid> Uuid::parse(std::string_view t) {
  // Field lengths in hex digits; the first three are stored little-endian on the wire.
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
    return std::nullopt;
  uint8_t be[16];
  size_t n = 0;
  for (size_t i = 0; i < t.size(); i++) {
    if (t[i] == '-') continue;
    int hi = hexNibble(t[i]);
    int lo = i + 1 < t.size() ? hexNibble(t[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n >= 16) return std::nullopt;
    be[n++] = uint8_t((hi << 4) | lo);
    i++;
  }
  if (n != 16) return std::nullopt;
  Uuid u;
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int i = 0; i < 16; i++) u.bytes[i] = be[order[i]];
  return u;
}

std::string Uuid::str() const {
  static const char* kHex = "0123456789abcdef";
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string s;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    uint8_t b = bytes[order[i]];
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

SyntaxId ndr20Syntax() { return {Uuid::of("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2, 0}; }
SyntaxId ndr64Syntax() { return {Uuid::of("71710533-beba-4937-8319-b5dbef9ccc36"), 1, 0}; }

bool isBindTimeFeatureSyntax(const SyntaxId& s, uint16_t* features) {
  static const Uuid kPrefix = Uuid::of("6cb71c2c-9812-4540-0000-000000000000");
  for (int i = 0; i < 8; i++)
    if (s.uuid.bytes[i] != kPrefix.bytes[i]) return false;
  if (features) *features = uint16_t(s.uuid.bytes[8] | (s.uuid.bytes[9] << 8));
  return true;
}

SyntaxId bindTimeFeatureSyntax(uint16_t features) {
  SyntaxId s{Uuid::of("6cb71c2c-9812-4540-0000-000000000000"), 1, 0};
  s.uuid.bytes[8] = uint8_t(features);
  s.uuid.bytes[9] = uint8_t(features >> 8);
  return s;
}

Result<PduHeader> decodeHeader(ByteView pdu) {
  ByteReader r(pdu);
  PduHeader h;
  h.rpc_vers = SD_TRY(r.u8());
  h.rpc_vers_minor = SD_TRY(r.u8());
  h.ptype = PType(SD_TRY(r.u8()));
  h.pfc_flags = SD_TRY(r.u8());
  auto drep = SD_TRY(r.bytes(4));
  std::copy(drep.begin(), drep.end(), h.packed_drep.begin());
  if (h.littleEndian()) {
    h.frag_length = SD_TRY(r.u16());
    h.auth_length = SD_TRY(r.u16());
    h.call_id = SD_TRY(r.u32());
  } else {
    h.frag_length = SD_TRY(r.be16());
    h.auth_length = SD_TRY(r.be16());
    h.call_id = SD_TRY(r.be32());
  }
  if (h.rpc_vers != 5) return malformed("rpc_vers");
  if (h.frag_length < kCommonHeaderSize) return malformed("frag_length below header");
  return h;
}

void encodeHeader(const PduHeader& h, ByteWriter& w) {
  w.u8(h.rpc_vers);
  w.u8(h.rpc_vers_minor);
  w.u8(uint8_t(h.ptype));
  w.u8(h.pfc_flags);
  w.bytes(h.packed_drep);
  w.u16(h.frag_length);
  w.u16(h.auth_length);
  w.u32(h.call_id);
}

std::optional<uint16_t> peekFragLength(ByteView pdu) {
  if (pdu.size() < 10) return std::nullopt;
  if ((pdu[4] & 0xF0) == 0x10) return uint16_t(pdu[8] | (pdu[9] << 8));
  return uint16_t((pdu[8] << 8) | pdu[9]);
}

Result<BindPdu> decodeBind(ByteView pdu) {
  auto f = SD_TRY(frame(pdu, PType::kBind, PType::kAlterContext));
  ByteReader r(f.pdu.first(f.body_end), kCommonHeaderSize);
  BindPdu b;
  b.max_xmit_frag = SD_TRY(r.u16());
  b.max_recv_frag = SD_TRY(r.u16());
  b.assoc_group_id = SD_TRY(r.u32());
  uint8_t n_context_elem = SD_TRY(r.u8());
  SD_CHECK(r.skip(3));
  for (unsigned i = 0; i < n_context_elem; i++) {
    PresentationContext c;
    c.context_id = SD_TRY(r.u16());
    uint8_t n_transfer_syn = SD_TRY(r.u8());
    SD_CHECK(r.skip(1));
    c.abstract_syntax = SD_TRY(readSyntax(r));
    for (unsigned j = 0; j < n_transfer_syn; j++)
      c.transfer_syntaxes.push_back(SD_TRY(readSyntax(r)));
    b.contexts.push_back(std::move(c));
  }
  return b;
}

Result<BindAckPdu> decodeBindAck(ByteView pdu) {
  auto f = SD_TRY(frame(pdu, PType::kBindAck, PType::kAlterContextResp));
  ByteReader r(f.pdu.first(f.body_end), kCommonHeaderSize);
  BindAckPdu b;
  b.max_xmit_frag = SD_TRY(r.u16());
  b.max_recv_frag = SD_TRY(r.u16());
  b.assoc_group_id = SD_TRY(r.u32());
  uint16_t sec_addr_length = SD_TRY(r.u16());
  auto port_spec = SD_TRY(r.bytes(sec_addr_length));
  if (!port_spec.empty()) {
    if (port_spec.back() != 0) return malformed("port_spec not NUL-terminated");
    b.secondary_address.assign(port_spec.begin(), port_spec.end() - 1);
  }
  SD_CHECK(r.skip((4 - r.pos() % 4) % 4));
  uint8_t n_results = SD_TRY(r.u8());
  SD_CHECK(r.skip(3));
  for (unsigned i = 0; i < n_results; i++) {
    ContextResult c;
    c.result = SD_TRY(r.u16());
    c.reason = SD_TRY(r.u16());
    c.transfer_syntax = SD_TRY(readSyntax(r));
    b.results.push_back(c);
  }
  return b;
}

Result<BindNakPdu> decodeBindNak(ByteView pdu) {
  auto f = SD_TRY(frame(pdu, PType::kBindNak, PType::kBindNak));
  ByteReader r(f.pdu.first(f.body_end), kCommonHeaderSize);
  BindNakPdu b;
  b.provider_reject_reason = SD_TRY(r.u16());
  b.versions.clear();
  // The version list is optional (C706 12.6.4.5 says present; old peers omit it).
  if (r.remaining() == 0) return b;
  uint8_t n_protocols = SD_TRY(r.u8());
  for (unsigned i = 0; i < n_protocols; i++) {
    uint8_t major = SD_TRY(r.u8());
    uint8_t minor = SD_TRY(r.u8());
    b.versions.emplace_back(major, minor);
  }
  return b;
}

Result<RequestPdu> decodeRequest(ByteView pdu) {
  auto f = SD_TRY(frame(pdu, PType::kRequest, PType::kRequest));
  ByteReader r(f.pdu.first(f.body_end), kCommonHeaderSize);
  RequestPdu q;
  q.alloc_hint = SD_TRY(r.u32());
  q.context_id = SD_TRY(r.u16());
  q.opnum = SD_TRY(r.u16());
  if (f.header.pfc_flags & kPfcObjectUuid) q.object = SD_TRY(readUuid(r));
  q.stub = r.rest();
  return q;
}

Result<ResponsePdu> decodeResponse(ByteView pdu) {
  auto f = SD_TRY(frame(pdu, PType::kResponse, PType::kResponse));
  ByteReader r(f.pdu.first(f.body_end), kCommonHeaderSize);
  ResponsePdu p;
  p.alloc_hint = SD_TRY(r.u32());
  p.context_id = SD_TRY(r.u16());
  p.cancel_count = SD_TRY(r.u8());
  SD_CHECK(r.skip(1));
  p.stub = r.rest();
  return p;
}

Result<FaultPdu> decodeFault(ByteView pdu) {
  auto f = SD_TRY(frame(pdu, PType::kFault, PType::kFault));
  ByteReader r(f.pdu.first(f.body_end), kCommonHeaderSize);
  FaultPdu p;
  p.alloc_hint = SD_TRY(r.u32());
  p.context_id = SD_TRY(r.u16());
  p.cancel_count = SD_TRY(r.u8());
  p.flags = SD_TRY(r.u8());
  p.status = SD_TRY(r.u32());
  return p;  // the 4 reserved bytes that follow are optional in practice
}

Bytes encodeBind(uint32_t call_id, const BindPdu& b, PType type) {
  ByteWriter w = startPdu(type, kPfcFirstFrag | kPfcLastFrag, call_id);
  w.u16(b.max_xmit_frag);
  w.u16(b.max_recv_frag);
  w.u32(b.assoc_group_id);
  w.u8(uint8_t(b.contexts.size()));
  w.zeros(3);
  for (const auto& c : b.contexts) {
    w.u16(c.context_id);
    w.u8(uint8_t(c.transfer_syntaxes.size()));
    w.u8(0);
    writeSyntax(w, c.abstract_syntax);
    for (const auto& t : c.transfer_syntaxes) writeSyntax(w, t);
  }
  return finishPdu(w);
}

Bytes encodeBindAck(uint32_t call_id, const BindAckPdu& b, PType type) {
  ByteWriter w = startPdu(type, kPfcFirstFrag | kPfcLastFrag, call_id);
  w.u16(b.max_xmit_frag);
  w.u16(b.max_recv_frag);
  w.u32(b.assoc_group_id);
  if (b.secondary_address.empty()) {
    w.u16(0);
  } else {
    w.u16(uint16_t(b.secondary_address.size() + 1));
    w.bytes(asBytes(b.secondary_address));
    w.u8(0);
  }
  w.align(4);
  w.u8(uint8_t(b.results.size()));
  w.zeros(3);
  for (const auto& c : b.results) {
    w.u16(c.result);
    w.u16(c.reason);
    writeSyntax(w, c.transfer_syntax);
  }
  return finishPdu(w);
}

Bytes encodeBindNak(uint32_t call_id, const BindNakPdu& b) {
  ByteWriter w = startPdu(PType::kBindNak, kPfcFirstFrag | kPfcLastFrag, call_id);
  w.u16(b.provider_reject_reason);
  w.u8(uint8_t(b.versions.size()));
  for (auto [major, minor] : b.versions) {
    w.u8(major);
    w.u8(minor);
  }
  w.align(4);
  return finishPdu(w);
}

Bytes encodeRequest(uint32_t call_id, uint8_t pfc_flags, const RequestPdu& q) {
  uint8_t flags = uint8_t(q.object ? (pfc_flags | kPfcObjectUuid) : (pfc_flags & ~kPfcObjectUuid));
  ByteWriter w = startPdu(PType::kRequest, flags, call_id);
  w.u32(q.alloc_hint);
  w.u16(q.context_id);
  w.u16(q.opnum);
  if (q.object) writeUuid(w, *q.object);
  w.bytes(q.stub);
  return finishPdu(w);
}

Bytes encodeResponse(uint32_t call_id, uint8_t pfc_flags, const ResponsePdu& p) {
  ByteWriter w = startPdu(PType::kResponse, pfc_flags, call_id);
  w.u32(p.alloc_hint);
  w.u16(p.context_id);
  w.u8(p.cancel_count);
  w.u8(0);
  w.bytes(p.stub);
  return finishPdu(w);
}

Bytes encodeFault(uint32_t call_id, uint8_t pfc_flags, const FaultPdu& p) {
  ByteWriter w = startPdu(PType::kFault, pfc_flags, call_id);
  w.u32(p.alloc_hint);
  w.u16(p.context_id);
  w.u8(p.cancel_count);
  w.u8(p.flags);
  w.u32(p.status);
  w.u32(0);
  return finishPdu(w);
}

}  // namespace sd::rpc
