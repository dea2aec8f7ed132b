#include "smb2/lease.h"

#include <string>

namespace sd::smb2 {

namespace {
constexpr size_t kLeaseV1Size = 32, kLeaseV2Size = 52;

Result<LeaseKey> readKey(ByteReader& r) {
  auto b = SD_TRY(r.bytes(16));
  LeaseKey k;
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}
}  // namespace

Bytes encodeLeaseContext(const LeaseContext& c) {
  ByteWriter w;
  w.bytes(c.lease_key);
  w.u32(c.lease_state);
  w.u32(c.lease_flags);
  w.u64(c.lease_duration);
  if (c.v2) {
    w.bytes(c.parent_lease_key);
    w.u16(c.epoch);
    w.u16(0);  // Reserved
  }
  return w.take();
}

Result<LeaseContext> decodeLeaseContext(ByteView data) {
  if (data.size() != kLeaseV1Size && data.size() != kLeaseV2Size) return malformed("lease context length");
  ByteReader r(data);
  LeaseContext c;
  c.v2 = data.size() == kLeaseV2Size;
  c.lease_key = SD_TRY(readKey(r));
  c.lease_state = SD_TRY(r.u32());
  c.lease_flags = SD_TRY(r.u32());
  c.lease_duration = SD_TRY(r.u64());
  if (c.v2) {
    c.parent_lease_key = SD_TRY(readKey(r));
    c.epoch = SD_TRY(r.u16());
    SD_CHECK(r.skip(2));
  }
  return c;
}

void encodeLeaseBreakNotification(const LeaseBreakNotification& n, ByteWriter& w) {
  w.u16(kLeaseBreakNotificationSize);
  w.u16(n.new_epoch);
  w.u32(n.flags);
  w.bytes(n.lease_key);
  w.u32(n.current_lease_state);
  w.u32(n.new_lease_state);
  w.u32(n.break_reason);
  w.u32(n.access_mask_hint);
  w.u32(n.share_mask_hint);
}

Result<LeaseBreakNotification> decodeLeaseBreakNotification(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(kLeaseBreakNotificationSize));
  LeaseBreakNotification n;
  n.new_epoch = SD_TRY(r.u16());
  n.flags = SD_TRY(r.u32());
  n.lease_key = SD_TRY(readKey(r));
  n.current_lease_state = SD_TRY(r.u32());
  n.new_lease_state = SD_TRY(r.u32());
  n.break_reason = SD_TRY(r.u32());
  n.access_mask_hint = SD_TRY(r.u32());
  n.share_mask_hint = SD_TRY(r.u32());
  return n;
}

void encodeLeaseBreakAck(const LeaseBreakAck& a, ByteWriter& w) {
  w.u16(kLeaseBreakAckSize);
  w.u16(0);  // Reserved
  w.u32(a.flags);
  w.bytes(a.lease_key);
  w.u32(a.lease_state);
  w.u64(a.lease_duration);
}

Result<LeaseBreakAck> decodeLeaseBreakAck(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(kLeaseBreakAckSize));
  SD_CHECK(r.skip(2));
  LeaseBreakAck a;
  a.flags = SD_TRY(r.u32());
  a.lease_key = SD_TRY(readKey(r));
  a.lease_state = SD_TRY(r.u32());
  a.lease_duration = SD_TRY(r.u64());
  return a;
}

Result<uint16_t> oplockBreakStructureSize(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  return r.u16();
}

std::string leaseStateText(uint32_t state) {
  std::string s;
  if (state & kLeaseRead) s += 'R';
  if (state & kLeaseWrite) s += 'W';
  if (state & kLeaseHandle) s += 'H';
  return s.empty() ? "none" : s;
}

}  // namespace sd::smb2
