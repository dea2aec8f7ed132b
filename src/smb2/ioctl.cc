#include "smb2/ioctl.h"

#include <sys/socket.h>

namespace sd::smb2 {

Result<IoctlRequest> decodeIoctlRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(57));
  SD_CHECK(r.skip(2));
  IoctlRequest q;
  q.ctl_code = SD_TRY(r.u32());
  q.file_id = SD_TRY(readFileId(r));
  uint32_t in_off = SD_TRY(r.u32());
  uint32_t in_len = SD_TRY(r.u32());
  q.max_input_response = SD_TRY(r.u32());
  SD_CHECK(r.skip(8));  // OutputOffset, OutputCount (must be 0 in requests)
  q.max_output_response = SD_TRY(r.u32());
  q.flags = SD_TRY(r.u32());
  SD_CHECK(r.skip(4));
  q.input = SD_TRY(ByteReader(msg).slice(in_off, in_len));
  return q;
}

void encodeIoctlRequest(const IoctlRequest& q, ByteWriter& w) {
  w.u16(57);
  w.u16(0);
  w.u32(q.ctl_code);
  writeFileId(w, q.file_id);
  w.u32(q.input.empty() ? 0 : uint32_t(kHeaderSize + 56));
  w.u32(uint32_t(q.input.size()));
  w.u32(q.max_input_response);
  w.u32(0);
  w.u32(0);
  w.u32(q.max_output_response);
  w.u32(q.flags);
  w.u32(0);
  if (q.input.empty()) w.u8(0);
  else w.bytes(q.input);
}

void encodeIoctlResponse(const IoctlResponse& p, ByteWriter& w) {
  w.u16(49);
  w.u16(0);
  w.u32(p.ctl_code);
  writeFileId(w, p.file_id);
  uint32_t base = uint32_t(kHeaderSize + 48);
  w.u32(base);
  w.u32(uint32_t(p.input.size()));
  uint32_t out_off = base + uint32_t((p.input.size() + 7) / 8 * 8);
  w.u32(p.output.empty() ? (p.input.empty() ? base : out_off) : out_off);
  w.u32(uint32_t(p.output.size()));
  w.u32(p.flags);
  w.u32(0);
  w.bytes(p.input);
  w.align(8);
  w.bytes(p.output);
}

Result<IoctlResponse> decodeIoctlResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(49));
  SD_CHECK(r.skip(2));
  IoctlResponse p;
  p.ctl_code = SD_TRY(r.u32());
  p.file_id = SD_TRY(readFileId(r));
  uint32_t in_off = SD_TRY(r.u32());
  uint32_t in_len = SD_TRY(r.u32());
  uint32_t out_off = SD_TRY(r.u32());
  uint32_t out_len = SD_TRY(r.u32());
  p.flags = SD_TRY(r.u32());
  ByteReader whole(msg);
  p.input = SD_TRY(whole.slice(in_off, in_len));
  p.output = SD_TRY(whole.slice(out_off, out_len));
  return p;
}

Result<ValidateNegotiateInfoRequest> decodeValidateNegotiateInfoRequest(ByteView in) {
  ByteReader r(in);
  ValidateNegotiateInfoRequest v;
  v.capabilities = SD_TRY(r.u32());
  auto g = SD_TRY(r.bytes(16));
  std::copy(g.begin(), g.end(), v.guid.begin());
  v.security_mode = SD_TRY(r.u16());
  uint16_t n = SD_TRY(r.u16());
  for (uint16_t i = 0; i < n; i++) v.dialects.push_back(SD_TRY(r.u16()));
  return v;
}

Bytes encodeValidateNegotiateInfoRequest(const ValidateNegotiateInfoRequest& v) {
  ByteWriter w;
  w.u32(v.capabilities);
  w.bytes(ByteView(v.guid.data(), 16));
  w.u16(v.security_mode);
  w.u16(uint16_t(v.dialects.size()));
  for (uint16_t d : v.dialects) w.u16(d);
  return w.take();
}

Bytes encodeValidateNegotiateInfoResponse(const ValidateNegotiateInfoResponse& v) {
  ByteWriter w;
  w.u32(v.capabilities);
  w.bytes(ByteView(v.guid.data(), 16));
  w.u16(v.security_mode);
  w.u16(v.dialect);
  return w.take();
}

Result<ValidateNegotiateInfoResponse> decodeValidateNegotiateInfoResponse(ByteView out) {
  ByteReader r(out);
  ValidateNegotiateInfoResponse v;
  v.capabilities = SD_TRY(r.u32());
  auto g = SD_TRY(r.bytes(16));
  std::copy(g.begin(), g.end(), v.guid.begin());
  v.security_mode = SD_TRY(r.u16());
  v.dialect = SD_TRY(r.u16());
  return v;
}

Bytes encodeNetworkInterfaceInfo(const std::vector<NetworkInterfaceInfo>& list) {
  ByteWriter w;
  for (size_t i = 0; i < list.size(); i++) {
    const auto& n = list[i];
    w.u32(i + 1 < list.size() ? 152 : 0);  // Next
    w.u32(n.if_index);
    w.u32(n.capability);
    w.u32(0);
    w.u64(n.link_speed);
    // SOCKADDR_STORAGE (128 bytes), MS-SMB2 2.2.32.5.1
    size_t start = w.size();
    if (n.family == AF_INET) {
      w.u16(0x0002);
      w.be16(n.port);
      w.bytes(ByteView(n.address.data(), 4));
    } else {
      w.u16(0x0017);
      w.be16(n.port);
      w.u32(0);  // FlowInfo
      w.bytes(ByteView(n.address.data(), 16));
      w.u32(0);  // ScopeId
    }
    w.zeros(128 - (w.size() - start));
  }
  return w.take();
}

Result<std::vector<NetworkInterfaceInfo>> decodeNetworkInterfaceInfo(ByteView out) {
  std::vector<NetworkInterfaceInfo> v;
  size_t pos = 0;
  for (int guard = 0; guard < 1024; guard++) {
    ByteReader r(out, pos);
    NetworkInterfaceInfo n;
    uint32_t next = SD_TRY(r.u32());
    n.if_index = SD_TRY(r.u32());
    n.capability = SD_TRY(r.u32());
    SD_CHECK(r.skip(4));
    n.link_speed = SD_TRY(r.u64());
    uint16_t fam = SD_TRY(r.u16());
    n.port = SD_TRY(r.be16());
    if (fam == 0x0002) {
      n.family = AF_INET;
      auto a = SD_TRY(r.bytes(4));
      std::copy(a.begin(), a.end(), n.address.begin());
    } else if (fam == 0x0017) {
      n.family = AF_INET6;
      SD_CHECK(r.skip(4));
      auto a = SD_TRY(r.bytes(16));
      std::copy(a.begin(), a.end(), n.address.begin());
    } else {
      return malformed("sockaddr family");
    }
    v.push_back(n);
    if (!next) return v;
    if (next < 152 || next > out.size() - pos) return malformed("interface Next");
    pos += next;
  }
  return malformed("too many interfaces");
}

Result<SrvCopychunkCopy> decodeSrvCopychunkCopy(ByteView in) {
  ByteReader r(in);
  SrvCopychunkCopy c;
  auto k = SD_TRY(r.bytes(24));
  std::copy(k.begin(), k.end(), c.source_key.begin());
  uint32_t n = SD_TRY(r.u32());
  SD_CHECK(r.skip(4));
  if (uint64_t(n) * 24 > r.remaining()) return malformed("chunk count");
  for (uint32_t i = 0; i < n; i++) {
    SrvCopychunk ch;
    ch.source_offset = SD_TRY(r.u64());
    ch.target_offset = SD_TRY(r.u64());
    ch.length = SD_TRY(r.u32());
    SD_CHECK(r.skip(4));
    c.chunks.push_back(ch);
  }
  return c;
}

Bytes encodeSrvCopychunkCopy(const SrvCopychunkCopy& c) {
  ByteWriter w;
  w.bytes(ByteView(c.source_key.data(), 24));
  w.u32(uint32_t(c.chunks.size()));
  w.u32(0);
  for (const auto& ch : c.chunks) {
    w.u64(ch.source_offset);
    w.u64(ch.target_offset);
    w.u32(ch.length);
    w.u32(0);
  }
  return w.take();
}

Bytes encodeSrvCopychunkResponse(const SrvCopychunkResponse& r) {
  ByteWriter w;
  w.u32(r.chunks_written);
  w.u32(r.chunk_bytes_written);
  w.u32(r.total_bytes_written);
  return w.take();
}

Result<SrvCopychunkResponse> decodeSrvCopychunkResponse(ByteView out) {
  ByteReader r(out);
  SrvCopychunkResponse c;
  c.chunks_written = SD_TRY(r.u32());
  c.chunk_bytes_written = SD_TRY(r.u32());
  c.total_bytes_written = SD_TRY(r.u32());
  return c;
}

Bytes encodeSrvRequestResumeKeyResponse(const std::array<uint8_t, 24>& key) {
  ByteWriter w;
  w.bytes(ByteView(key.data(), 24));
  w.u32(0);  // ContextLength
  w.u32(0);  // Context (4 bytes, MS-SMB2 2.2.32.3)
  return w.take();
}

Result<std::array<uint8_t, 24>> decodeSrvRequestResumeKeyResponse(ByteView out) {
  ByteReader r(out);
  std::array<uint8_t, 24> k{};
  auto b = SD_TRY(r.bytes(24));
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

Result<FileZeroDataInformation> decodeFileZeroDataInformation(ByteView in) {
  ByteReader r(in);
  FileZeroDataInformation z;
  z.file_offset = SD_TRY(r.u64());
  z.beyond_final_zero = SD_TRY(r.u64());
  return z;
}

Result<FileAllocatedRangeBuffer> decodeFileAllocatedRangeBuffer(ByteView in) {
  ByteReader r(in);
  FileAllocatedRangeBuffer b;
  b.file_offset = SD_TRY(r.u64());
  b.length = SD_TRY(r.u64());
  return b;
}

Bytes encodeFileAllocatedRanges(const std::vector<FileAllocatedRangeBuffer>& v) {
  ByteWriter w;
  for (const auto& b : v) {
    w.u64(b.file_offset);
    w.u64(b.length);
  }
  return w.take();
}

}  // namespace sd::smb2
