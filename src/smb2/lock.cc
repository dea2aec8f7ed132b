#include "smb2/lock.h"

#include "smb2/simple.h"

namespace sd::smb2 {

Result<LockRequest> decodeLockRequest(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(48));
  uint16_t count = SD_TRY(r.u16());
  LockRequest q;
  q.lock_sequence = SD_TRY(r.u32());
  q.file_id = SD_TRY(readFileId(r));
  if (count == 0) return malformed("LockCount 0");
  if (size_t(count) * 24 > r.remaining()) return malformed("lock elements past end");
  for (uint16_t i = 0; i < count; i++) {
    LockElement e;
    e.offset = SD_TRY(r.u64());
    e.length = SD_TRY(r.u64());
    e.flags = SD_TRY(r.u32());
    SD_CHECK(r.skip(4));
    q.locks.push_back(e);
  }
  return q;
}

void encodeLockRequest(const LockRequest& q, ByteWriter& w) {
  w.u16(48);
  w.u16(uint16_t(q.locks.size()));
  w.u32(q.lock_sequence);
  writeFileId(w, q.file_id);
  for (const auto& e : q.locks) {
    w.u64(e.offset);
    w.u64(e.length);
    w.u32(e.flags);
    w.u32(0);
  }
}

void encodeLockResponse(const LockResponse&, ByteWriter& w) { encodeEmptyBody(w); }

}  // namespace sd::smb2
