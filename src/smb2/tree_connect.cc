#include "smb2/tree_connect.h"

#include "base/text.h"
#include "smb2/header.h"

namespace sd::smb2 {

Result<TreeConnectRequest> decodeTreeConnectRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(9));
  TreeConnectRequest q;
  q.flags = SD_TRY(r.u16());
  uint16_t off = SD_TRY(r.u16());
  uint16_t len = SD_TRY(r.u16());
  if (q.flags & kTreeConnectFlagExtensionPresent) {
    // MS-SMB2 2.2.9.1: the Buffer holds the extension; its PathOffset is relative to the
    // extension start.
    ByteReader x(msg, off);
    uint32_t ext_off = off;
    SD_CHECK(x.skip(4));  // TreeConnectContextOffset
    SD_CHECK(x.skip(2));  // TreeConnectContextCount
    SD_CHECK(x.skip(10));
    uint16_t poff = SD_TRY(x.u16());
    uint16_t plen = SD_TRY(x.u16());
    auto p = SD_TRY(ByteReader(msg).slice(uint64_t(ext_off) + poff, plen));
    q.path = SD_TRY(utf16leToUtf8(p));
    return q;
  }
  auto p = SD_TRY(ByteReader(msg).slice(off, len));
  q.path = SD_TRY(utf16leToUtf8(p));
  return q;
}

void encodeTreeConnectRequest(const TreeConnectRequest& q, ByteWriter& w) {
  Bytes p = utf16le(q.path);
  w.u16(9);
  w.u16(0);
  w.u16(uint16_t(kHeaderSize + 8));
  w.u16(uint16_t(p.size()));
  w.bytes(p);
}

void encodeTreeConnectResponse(const TreeConnectResponse& p, ByteWriter& w) {
  w.u16(16);
  w.u8(p.share_type);
  w.u8(0);
  w.u32(p.share_flags);
  w.u32(p.capabilities);
  w.u32(p.maximal_access);
}

Result<TreeConnectResponse> decodeTreeConnectResponse(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(16));
  TreeConnectResponse p;
  p.share_type = SD_TRY(r.u8());
  SD_CHECK(r.skip(1));
  p.share_flags = SD_TRY(r.u32());
  p.capabilities = SD_TRY(r.u32());
  p.maximal_access = SD_TRY(r.u32());
  return p;
}

}  // namespace sd::smb2
