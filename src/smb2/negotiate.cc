#include "smb2/negotiate.h"

#include "crypto/hash.h"
#include "smb2/constants.h"
#include "smb2/header.h"

namespace sd::smb2 {

namespace {
Result<std::vector<uint16_t>> readU16List(ByteReader& r, uint16_t count) {
  std::vector<uint16_t> v;
  v.reserve(count);
  for (uint16_t i = 0; i < count; i++) v.push_back(SD_TRY(r.u16()));
  return v;
}

Result<std::vector<NegotiateContext>> readContexts(ByteView msg, uint32_t offset, uint16_t count) {
  std::vector<NegotiateContext> out;
  ByteReader r(msg);
  if (count == 0) return out;
  SD_CHECK(r.seek(offset));
  for (uint16_t i = 0; i < count; i++) {
    // Each context starts 8-byte aligned (relative to the header).
    if (i > 0) {
      size_t pad = (8 - r.pos() % 8) % 8;
      SD_CHECK(r.skip(pad < r.remaining() ? pad : r.remaining()));
    }
    NegotiateContext c;
    c.context_type = SD_TRY(r.u16());
    uint16_t len = SD_TRY(r.u16());
    SD_CHECK(r.skip(4));
    c.data = SD_TRY(r.bytes(len));
    out.push_back(c);
  }
  return out;
}

void writeContexts(ByteWriter& w, const std::vector<std::pair<uint16_t, Bytes>>& ctxs) {
  for (size_t i = 0; i < ctxs.size(); i++) {
    w.align(8);
    w.u16(ctxs[i].first);
    w.u16(uint16_t(ctxs[i].second.size()));
    w.u32(0);
    w.bytes(ctxs[i].second);
  }
}
}  // namespace

Result<PreauthIntegrityCapabilities> decodePreauthIntegrityCapabilities(ByteView d) {
  ByteReader r(d);
  PreauthIntegrityCapabilities p;
  uint16_t n = SD_TRY(r.u16());
  uint16_t salt_len = SD_TRY(r.u16());
  if (n == 0) return malformed("no hash algorithms");
  p.hash_algorithms = SD_TRY(readU16List(r, n));
  p.salt = SD_TRY(r.bytes(salt_len));
  return p;
}
Result<EncryptionCapabilities> decodeEncryptionCapabilities(ByteView d) {
  ByteReader r(d);
  EncryptionCapabilities e;
  uint16_t n = SD_TRY(r.u16());
  if (n == 0) return malformed("no ciphers");
  e.ciphers = SD_TRY(readU16List(r, n));
  return e;
}
Result<SigningCapabilities> decodeSigningCapabilities(ByteView d) {
  ByteReader r(d);
  SigningCapabilities s;
  uint16_t n = SD_TRY(r.u16());
  if (n == 0) return malformed("no signing algorithms");
  s.signing_algorithms = SD_TRY(readU16List(r, n));
  return s;
}

Result<NegotiateRequest> decodeNegotiateRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(36));
  NegotiateRequest q;
  uint16_t count = SD_TRY(r.u16());
  q.security_mode = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  q.capabilities = SD_TRY(r.u32());
  auto g = SD_TRY(r.bytes(16));
  std::copy(g.begin(), g.end(), q.client_guid.begin());
  uint32_t ctx_offset = SD_TRY(r.u32());
  uint16_t ctx_count = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  if (count == 0) return malformed("DialectCount 0");
  q.dialects = SD_TRY(readU16List(r, count));
  bool has311 = false;
  for (uint16_t d : q.dialects) has311 |= d == kDialect311;
  if (has311 && ctx_count) q.negotiate_contexts = SD_TRY(readContexts(msg, ctx_offset, ctx_count));
  return q;
}

void encodeNegotiateRequest(const NegotiateRequest& q,
                            const std::vector<std::pair<uint16_t, Bytes>>& contexts, ByteWriter& w) {
  w.u16(36);
  w.u16(uint16_t(q.dialects.size()));
  w.u16(q.security_mode);
  w.u16(0);
  w.u32(q.capabilities);
  w.bytes(ByteView(q.client_guid.data(), 16));
  size_t off_at = w.reserve(4);
  w.u16(uint16_t(contexts.size()));
  w.u16(0);
  for (uint16_t d : q.dialects) w.u16(d);
  if (!contexts.empty()) {
    w.align(8);
    w.put32(off_at, uint32_t(w.size()));
    writeContexts(w, contexts);
  }
}

void encodeNegotiateResponse(const NegotiateResponse& p, ByteWriter& w) {
  std::vector<std::pair<uint16_t, Bytes>> ctxs;
  if (!p.preauth_salt.empty()) {
    ByteWriter c;
    c.u16(1);
    c.u16(uint16_t(p.preauth_salt.size()));
    c.u16(kHashSha512);
    c.bytes(p.preauth_salt);
    ctxs.emplace_back(kPreauthIntegrityCapabilities, c.take());
  }
  if (p.answer_encryption) {
    ByteWriter c;
    c.u16(1);
    c.u16(p.cipher);
    ctxs.emplace_back(kEncryptionCapabilities, c.take());
  }
  if (p.signing_algorithm >= 0) {
    ByteWriter c;
    c.u16(1);
    c.u16(uint16_t(p.signing_algorithm));
    ctxs.emplace_back(kSigningCapabilities, c.take());
  }
  for (const auto& e : p.extra_contexts) ctxs.push_back(e);
  bool v311 = p.dialect_revision == kDialect311;
  w.u16(65);
  w.u16(p.security_mode);
  w.u16(p.dialect_revision);
  w.u16(v311 ? uint16_t(ctxs.size()) : 0);
  w.bytes(ByteView(p.server_guid.data(), 16));
  w.u32(p.capabilities);
  w.u32(p.max_transact_size);
  w.u32(p.max_read_size);
  w.u32(p.max_write_size);
  w.u64(p.system_time);
  w.u64(p.server_start_time);
  w.u16(uint16_t(kHeaderSize + 64));  // SecurityBufferOffset: right after the fixed part
  w.u16(uint16_t(p.security_buffer.size()));
  size_t ctx_off_at = w.reserve(4);
  w.bytes(p.security_buffer);
  if (p.security_buffer.empty()) w.u8(0);  // Buffer is at least one byte
  if (v311 && !ctxs.empty()) {
    w.align(8);
    w.put32(ctx_off_at, uint32_t(w.size()));
    writeContexts(w, ctxs);
  }
}

Result<NegotiateResponse> decodeNegotiateResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(65));
  NegotiateResponse p;
  p.security_mode = SD_TRY(r.u16());
  p.dialect_revision = SD_TRY(r.u16());
  uint16_t ctx_count = SD_TRY(r.u16());
  auto g = SD_TRY(r.bytes(16));
  std::copy(g.begin(), g.end(), p.server_guid.begin());
  p.capabilities = SD_TRY(r.u32());
  p.max_transact_size = SD_TRY(r.u32());
  p.max_read_size = SD_TRY(r.u32());
  p.max_write_size = SD_TRY(r.u32());
  p.system_time = SD_TRY(r.u64());
  p.server_start_time = SD_TRY(r.u64());
  uint16_t sb_off = SD_TRY(r.u16());
  uint16_t sb_len = SD_TRY(r.u16());
  uint32_t ctx_off = SD_TRY(r.u32());
  p.security_buffer = SD_TRY(ByteReader(msg).slice(sb_off, sb_len));
  if (p.dialect_revision == kDialect311 && ctx_count)
    p.negotiate_contexts = SD_TRY(readContexts(msg, ctx_off, ctx_count));
  return p;
}

void PreauthHash::extend(std::array<uint8_t, 64>& h, ByteView message) {
  crypto::Sha512 s;
  s.update(ByteView(h.data(), h.size()));
  s.update(message);
  h = s.final();
}

}  // namespace sd::smb2
