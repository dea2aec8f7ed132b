#include "smb2/create.h"

#include "base/text.h"

namespace sd::smb2 {

Result<std::vector<CreateContext>> decodeCreateContexts(ByteView chain) {
  std::vector<CreateContext> out;
  size_t pos = 0;
  for (int guard = 0; guard < 64; guard++) {
    ByteReader r(chain, pos);
    uint32_t next = SD_TRY(r.u32());
    uint16_t name_off = SD_TRY(r.u16());
    uint16_t name_len = SD_TRY(r.u16());
    SD_CHECK(r.skip(2));
    uint16_t data_off = SD_TRY(r.u16());
    uint32_t data_len = SD_TRY(r.u32());
    ByteView elem = next ? chain.subspan(pos, std::min<size_t>(next, chain.size() - pos)) : chain.subspan(pos);
    if (next && (next % 8 || next > chain.size() - pos || next < 16)) return malformed("create context Next");
    ByteReader er(elem);
    auto name = SD_TRY(er.slice(name_off, name_len));
    if (name_len < 4) return malformed("create context name");
    CreateContext c;
    if (name_len == 16) {
      c.name = toHex(name);
    } else {
      c.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
    }
    c.data = SD_TRY(er.slice(data_off, data_len));
    out.push_back(c);
    if (!next) return out;
    pos += next;
  }
  return malformed("too many create contexts");
}

Bytes encodeCreateContexts(const std::vector<CreateContextOut>& ctxs) {
  ByteWriter w;
  for (size_t i = 0; i < ctxs.size(); i++) {
    size_t start = w.size();
    const auto& c = ctxs[i];
    Bytes name = c.name.size() == 32 ? fromHex(c.name) : Bytes(c.name.begin(), c.name.end());
    size_t next_at = w.reserve(4);
    w.u16(16);
    w.u16(uint16_t(name.size()));
    w.u16(0);
    size_t doff_at = w.reserve(2);
    w.u32(uint32_t(c.data.size()));
    w.bytes(name);
    if (!c.data.empty()) {
      w.align(8);
      w.put16(doff_at, uint16_t(w.size() - start));
      w.bytes(c.data);
    }
    if (i + 1 < ctxs.size()) {
      w.align(8);
      w.put32(next_at, uint32_t(w.size() - start));
    }
  }
  return w.take();
}

Result<CreateRequest> decodeCreateRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(57));
  CreateRequest q;
  q.security_flags = SD_TRY(r.u8());
  q.requested_oplock_level = SD_TRY(r.u8());
  q.impersonation_level = SD_TRY(r.u32());
  q.smb_create_flags = SD_TRY(r.u64());
  SD_CHECK(r.skip(8));
  q.desired_access = SD_TRY(r.u32());
  q.file_attributes = SD_TRY(r.u32());
  q.share_access = SD_TRY(r.u32());
  q.create_disposition = SD_TRY(r.u32());
  q.create_options = SD_TRY(r.u32());
  uint16_t name_off = SD_TRY(r.u16());
  uint16_t name_len = SD_TRY(r.u16());
  uint32_t ctx_off = SD_TRY(r.u32());
  uint32_t ctx_len = SD_TRY(r.u32());
  ByteReader whole(msg);
  auto name = SD_TRY(whole.slice(name_off, name_len));
  q.name = SD_TRY(utf16leToUtf8(name));
  if (ctx_len) {
    if (ctx_off % 8) return malformed("create contexts misaligned");
    auto chain = SD_TRY(whole.slice(ctx_off, ctx_len));
    q.create_contexts = SD_TRY(decodeCreateContexts(chain));
  }
  return q;
}

void encodeCreateRequest(const CreateRequest& q, const std::vector<CreateContextOut>& ctxs,
                         ByteWriter& w) {
  Bytes name = utf16le(q.name);
  w.u16(57);
  w.u8(q.security_flags);
  w.u8(q.requested_oplock_level);
  w.u32(q.impersonation_level);
  w.u64(q.smb_create_flags);
  w.u64(0);
  w.u32(q.desired_access);
  w.u32(q.file_attributes);
  w.u32(q.share_access);
  w.u32(q.create_disposition);
  w.u32(q.create_options);
  w.u16(uint16_t(kHeaderSize + 56));
  w.u16(uint16_t(name.size()));
  size_t coff_at = w.reserve(4);
  size_t clen_at = w.reserve(4);
  w.bytes(name);
  if (name.empty()) w.u8(0);
  if (!ctxs.empty()) {
    w.align(8);
    Bytes chain = encodeCreateContexts(ctxs);
    w.put32(coff_at, uint32_t(w.size()));
    w.put32(clen_at, uint32_t(chain.size()));
    w.bytes(chain);
  }
}

void encodeCreateResponse(const CreateResponse& p, ByteWriter& w) {
  w.u16(89);
  w.u8(p.oplock_level);
  w.u8(p.flags);
  w.u32(p.create_action);
  w.u64(p.creation_time);
  w.u64(p.last_access_time);
  w.u64(p.last_write_time);
  w.u64(p.change_time);
  w.u64(p.allocation_size);
  w.u64(p.end_of_file);
  w.u32(p.file_attributes);
  w.u32(0);
  writeFileId(w, p.file_id);
  size_t coff_at = w.reserve(4);
  size_t clen_at = w.reserve(4);
  if (p.contexts.empty()) {
    w.u8(0);  // Buffer is at least one byte
    return;
  }
  w.align(8);
  Bytes chain = encodeCreateContexts(p.contexts);
  w.put32(coff_at, uint32_t(w.size()));
  w.put32(clen_at, uint32_t(chain.size()));
  w.bytes(chain);
}

Result<CreateResponse> decodeCreateResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(89));
  CreateResponse p;
  p.oplock_level = SD_TRY(r.u8());
  p.flags = SD_TRY(r.u8());
  p.create_action = SD_TRY(r.u32());
  p.creation_time = SD_TRY(r.u64());
  p.last_access_time = SD_TRY(r.u64());
  p.last_write_time = SD_TRY(r.u64());
  p.change_time = SD_TRY(r.u64());
  p.allocation_size = SD_TRY(r.u64());
  p.end_of_file = SD_TRY(r.u64());
  p.file_attributes = SD_TRY(r.u32());
  SD_CHECK(r.skip(4));
  p.file_id = SD_TRY(readFileId(r));
  uint32_t coff = SD_TRY(r.u32());
  uint32_t clen = SD_TRY(r.u32());
  if (clen) {
    auto chain = SD_TRY(ByteReader(msg).slice(coff, clen));
    p.decoded_contexts = SD_TRY(decodeCreateContexts(chain));
  }
  return p;
}

CreateContextOut makeMaximalAccessResponse(NtStatus query_status, uint32_t maximal_access) {
  ByteWriter w;
  w.u32(toWire(query_status));
  w.u32(maximal_access);
  return {"MxAc", w.take()};
}

CreateContextOut makeQueryOnDiskIdResponse(uint64_t file_id, uint64_t volume_id) {
  ByteWriter w;
  w.u64(file_id);
  w.u64(volume_id);
  w.zeros(16);
  return {"QFid", w.take()};
}

Result<uint64_t> decodeAllocationSize(ByteView data) {
  ByteReader r(data);
  return r.u64();
}

}  // namespace sd::smb2
