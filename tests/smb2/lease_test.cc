// Lease codecs (MS-SMB2 2.2.13.2.8/.10, 2.2.14.2.10/.11, 2.2.23.2, 2.2.24.2, 2.2.25.2): golden
// bytes laid out by hand from the spec tables, round trips, truncation sweeps, and the create
// context chain carrying RqLs.
#include <gtest/gtest.h>

#include "base/text.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/lease.h"

namespace sd::smb2 {
namespace {

LeaseKey key(uint8_t first) {
  LeaseKey k;
  for (size_t i = 0; i < k.size(); i++) k[i] = uint8_t(first + i);
  return k;
}

ByteWriter withHeader(Command c, uint64_t message_id, uint32_t flags) {
  ByteWriter w;
  Header h;
  h.command = c;
  h.message_id = message_id;
  h.flags = flags;
  encodeHeader(h, w);
  return w;
}

template <class F>
void expectTruncationFails(const Bytes& msg, size_t from, F decode) {
  for (size_t n = from; n < msg.size(); n++)
    EXPECT_FALSE(decode(ByteView(msg).first(n)).has_value()) << "prefix of " << n << " bytes decoded";
}

TEST(Lease, RequestV1GoldenBytes) {
  LeaseContext c;
  c.lease_key = key(0x10);
  c.lease_state = kLeaseRead | kLeaseHandle | kLeaseWrite;
  Bytes b = encodeLeaseContext(c);
  // LeaseKey(16) LeaseState(4) LeaseFlags(4) LeaseDuration(8)
  EXPECT_EQ(toHex(b), "101112131415161718191a1b1c1d1e1f" "07000000" "00000000" "0000000000000000");
  auto d = decodeLeaseContext(b);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->v2);
  EXPECT_EQ(d->lease_key, c.lease_key);
  EXPECT_EQ(d->lease_state, 7u);
}

TEST(Lease, RequestV2GoldenBytesAndRoundTrip) {
  LeaseContext c;
  c.v2 = true;
  c.lease_key = key(0x20);
  c.lease_state = kLeaseRead | kLeaseHandle;
  c.lease_flags = kLeaseFlagParentLeaseKeySet;
  c.parent_lease_key = key(0x40);
  c.epoch = 0x0102;
  Bytes b = encodeLeaseContext(c);
  ASSERT_EQ(b.size(), 52u);
  // ... ParentLeaseKey(16) Epoch(2) Reserved(2)
  EXPECT_EQ(toHex(b), "202122232425262728292a2b2c2d2e2f" "03000000" "04000000" "0000000000000000"
                      "404142434445464748494a4b4c4d4e4f" "0201" "0000");
  auto d = decodeLeaseContext(b);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->v2);
  EXPECT_EQ(d->lease_state, c.lease_state);
  EXPECT_EQ(d->lease_flags, c.lease_flags);
  EXPECT_EQ(d->parent_lease_key, c.parent_lease_key);
  EXPECT_EQ(d->epoch, 0x0102);
}

TEST(Lease, ContextOfWrongLengthIsMalformed) {
  LeaseContext c;
  c.v2 = true;
  Bytes b = encodeLeaseContext(c);
  for (size_t n = 0; n <= b.size() + 8; n++) {
    Bytes v(n, 0);
    bool ok = decodeLeaseContext(v).has_value();
    EXPECT_EQ(ok, n == 32 || n == 52) << n;
  }
}

TEST(Lease, ResponseContextInCreateResponse) {
  // A CREATE response with OplockLevel 0xFF and an RqLs v2 context granting RH with epoch 3.
  ByteWriter w = withHeader(Command::kCreate, 9, kFlagServerToRedir);
  CreateResponse p;
  p.oplock_level = kOplockLevelLease;
  p.file_id = {5, 6};
  LeaseContext g;
  g.v2 = true;
  g.lease_key = key(1);
  g.lease_state = kLeaseRead | kLeaseHandle;
  g.epoch = 3;
  p.contexts.push_back({kCreateRequestLease, encodeLeaseContext(g)});
  encodeCreateResponse(p, w);
  auto r = decodeCreateResponse(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->oplock_level, kOplockLevelLease);
  ASSERT_EQ(r->decoded_contexts.size(), 1u);
  EXPECT_EQ(r->decoded_contexts[0].name, "RqLs");
  auto d = decodeLeaseContext(r->decoded_contexts[0].data);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->lease_key, g.lease_key);
  EXPECT_EQ(d->lease_state, g.lease_state);
  EXPECT_EQ(d->epoch, 3);
}

TEST(Lease, BreakNotificationGoldenRoundTripAndTruncation) {
  ByteWriter w = withHeader(Command::kOplockBreak, kUnsolicitedMessageId, kFlagServerToRedir);
  LeaseBreakNotification n;
  n.new_epoch = 2;
  n.flags = kNotifyBreakLeaseFlagAckRequired;
  n.lease_key = key(0x30);
  n.current_lease_state = kLeaseRead | kLeaseWrite | kLeaseHandle;
  n.new_lease_state = kLeaseRead | kLeaseHandle;
  encodeLeaseBreakNotification(n, w);
  Bytes m = w.take();
  ASSERT_EQ(m.size(), kHeaderSize + 44);
  // StructureSize(2)=44 NewEpoch(2) Flags(4) LeaseKey(16) Current(4) New(4) BreakReason(4)
  // AccessMaskHint(4) ShareMaskHint(4)
  EXPECT_EQ(toHex(ByteView(m).subspan(kHeaderSize)),
            "2c00" "0200" "01000000" "303132333435363738393a3b3c3d3e3f" "07000000" "03000000"
            "00000000" "00000000" "00000000");
  EXPECT_EQ(*oplockBreakStructureSize(m), kLeaseBreakNotificationSize);
  auto d = decodeLeaseBreakNotification(m);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->new_epoch, 2);
  EXPECT_EQ(d->flags, kNotifyBreakLeaseFlagAckRequired);
  EXPECT_EQ(d->lease_key, n.lease_key);
  EXPECT_EQ(d->current_lease_state, 7u);
  EXPECT_EQ(d->new_lease_state, 3u);
  expectTruncationFails(m, 0, [](ByteView v) { return decodeLeaseBreakNotification(v); });
  // The 36-byte acknowledgment is not a notification.
  Bytes bad = m;
  store16(bad.data() + kHeaderSize, kLeaseBreakAckSize);
  EXPECT_FALSE(decodeLeaseBreakNotification(bad));
}

TEST(Lease, AckAndResponseGoldenRoundTripAndTruncation) {
  ByteWriter w = withHeader(Command::kOplockBreak, 12, 0);
  LeaseBreakAck a;
  a.lease_key = key(0x50);
  a.lease_state = kLeaseRead;
  encodeLeaseBreakAck(a, w);
  Bytes m = w.take();
  ASSERT_EQ(m.size(), kHeaderSize + 36);
  // StructureSize(2)=36 Reserved(2) Flags(4) LeaseKey(16) LeaseState(4) LeaseDuration(8)
  EXPECT_EQ(toHex(ByteView(m).subspan(kHeaderSize)),
            "2400" "0000" "00000000" "505152535455565758595a5b5c5d5e5f" "01000000" "0000000000000000");
  auto d = decodeLeaseBreakAck(m);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->lease_key, a.lease_key);
  EXPECT_EQ(d->lease_state, kLeaseRead);
  expectTruncationFails(m, 0, [](ByteView v) { return decodeLeaseBreakAck(v); });
  Bytes bad = m;
  store16(bad.data() + kHeaderSize, kOplockBreakSize);
  EXPECT_FALSE(decodeLeaseBreakAck(bad));
  EXPECT_FALSE(oplockBreakStructureSize(ByteView(m).first(kHeaderSize + 1)));
}

TEST(Lease, StateText) {
  EXPECT_EQ(leaseStateText(0), "none");
  EXPECT_EQ(leaseStateText(kLeaseRead | kLeaseHandle | kLeaseWrite), "RWH");
  EXPECT_EQ(leaseStateText(kLeaseRead | kLeaseHandle), "RH");
}

}  // namespace
}  // namespace sd::smb2
