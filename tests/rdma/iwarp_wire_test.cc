// Codec tests for the iWARP wire formats: round trips, golden bytes, truncation sweeps.
#include "rdma/soft/iwarp_wire.h"

#include <gtest/gtest.h>

#include "rdma/soft/crc32c.h"

namespace sd::rdma::soft {
namespace {

TEST(IwarpWire, MpaReplyRoundTripAndGolden) {
  MpaFrame f;
  f.reply = true;
  f.crc = true;
  f.enhanced = true;
  f.revision = 2;
  f.ird = 5;
  f.ord = 3;
  f.peer_to_peer = true;
  f.rtr_write = true;
  f.private_data = {0xAA, 0xBB};
  ByteWriter w;
  encodeMpaFrame(f, w);
  // "MPA ID Rep Frame", flags C|E = 0x50, rev 2, PD_Length 6, IRD 0x8005 (P2P), ORD 0x8003 (write RTR).
  EXPECT_EQ(toHex(w.buf()), "4d504120494420526570204672616d65" "50020006" "80058003" "aabb");
  auto d = decodeMpaFrame(w.buf(), true);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->crc);
  EXPECT_TRUE(d->enhanced);
  EXPECT_TRUE(d->peer_to_peer);
  EXPECT_TRUE(d->rtr_write);
  EXPECT_FALSE(d->rtr_read);
  EXPECT_EQ(d->ird, 5);
  EXPECT_EQ(d->ord, 3);
  EXPECT_EQ(d->private_data, Bytes({0xAA, 0xBB}));
  EXPECT_FALSE(decodeMpaFrame(w.buf(), false)) << "a reply is not a request";
  for (size_t n = 0; n < w.size(); n++)
    EXPECT_FALSE(decodeMpaFrame(ByteView(w.buf()).first(n), true)) << n;
}

TEST(IwarpWire, MpaRejectsOversizedPrivateData) {
  Bytes b = fromHex("4d504120494420526571204672616d65 0001 0201");  // PD_Length 513
  b.resize(b.size() + 513);
  EXPECT_FALSE(mpaFrameLength(b, false));
  EXPECT_FALSE(decodeMpaFrame(b, false));
}

TEST(IwarpWire, EnhancedFrameNeedsIrdOrd) {
  Bytes b = fromHex("4d504120494420526571204672616d65 1002 0002 0001");
  EXPECT_FALSE(decodeMpaFrame(b, false));
}

TEST(IwarpWire, DdpHeadersRoundTrip) {
  DdpHeader t;
  t.tagged = true;
  t.last = false;
  t.op = RdmapOp::kReadResponse;
  t.stag = 0x12345678;
  t.to = 0x1122334455667788ULL;
  uint8_t buf[32];
  ASSERT_EQ(encodeDdpHeader(t, buf), kDdpTaggedHeaderLen);
  EXPECT_EQ(toHex(ByteView(buf, 14)), "8142123456781122334455667788");
  ByteReader r(ByteView(buf, 14));
  auto d = decodeDdpHeader(r);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->tagged);
  EXPECT_FALSE(d->last);
  EXPECT_EQ(d->op, RdmapOp::kReadResponse);
  EXPECT_EQ(d->stag, t.stag);
  EXPECT_EQ(d->to, t.to);
  DdpHeader u;
  u.op = RdmapOp::kSendSeInv;
  u.stag = 0xABCD;
  u.qn = 0;
  u.msn = 7;
  u.mo = 4096;
  ASSERT_EQ(encodeDdpHeader(u, buf), kDdpUntaggedHeaderLen);
  EXPECT_EQ(toHex(ByteView(buf, 18)), "41460000abcd000000000000000700001000");
  for (size_t n = 0; n < 18; n++) {
    ByteReader rr(ByteView(buf, n));
    EXPECT_FALSE(decodeDdpHeader(rr)) << n;
  }
}

TEST(IwarpWire, ReadRequestAndTerminate) {
  ReadRequest q{0x100, 0x2000, 65536, 0x300, 0x4000};
  uint8_t b[kReadRequestLen];
  encodeReadRequest(q, b);
  ByteReader r(ByteView(b, sizeof b));
  auto d = decodeReadRequest(r);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sink_stag, 0x100u);
  EXPECT_EQ(d->size, 65536u);
  EXPECT_EQ(d->src_to, 0x4000u);
  Terminate t;
  t.layer = TermLayer::kRdmap;
  t.etype = term::kRdmapRemoteProtection;
  t.code = term::kBaseBounds;
  t.hdr_m = true;
  t.hdr_d = true;
  t.hdr_r = true;
  t.ddp_seg_len = 46;
  t.ddp_header.assign(18, 0x41);
  t.rdmap_header.assign(b, b + sizeof b);
  ByteWriter w;
  encodeTerminate(t, w);
  EXPECT_EQ(w.size(), 4u + 2 + 18 + 28);
  EXPECT_EQ(toHex(ByteView(w.buf()).first(4)), "0101e000");
  auto dt = decodeTerminate(w.buf());
  ASSERT_TRUE(dt);
  EXPECT_EQ(dt->layer, TermLayer::kRdmap);
  EXPECT_EQ(dt->code, term::kBaseBounds);
  EXPECT_EQ(dt->rdmap_header, t.rdmap_header);
  EXPECT_EQ(dt->vendorCode(), 0x0101u);
  for (size_t n = 0; n < w.size(); n++)
    EXPECT_FALSE(decodeTerminate(ByteView(w.buf()).first(n))) << n;
}

TEST(IwarpWire, FpduFramingPadAndCrc) {
  DdpHeader h;
  h.op = RdmapOp::kSend;
  h.msn = 1;
  Bytes payload = {'a', 'b', 'c'};
  Bytes f = encodeFpdu(h, payload, true);
  // ULPDU 21 bytes: 2 + 21 = 23 -> 1 pad byte, then 4 CRC bytes.
  ASSERT_EQ(f.size(), 2u + 21 + 1 + 4);
  EXPECT_EQ(f[0], 0);
  EXPECT_EQ(f[1], 21);
  EXPECT_EQ(le32(f.data() + 24), crc32c(f.data(), 24));
  EXPECT_EQ(mpaPadLen(0), 2u);
  EXPECT_EQ(mpaPadLen(2), 0u);
  Bytes nocrc = encodeFpdu(h, payload, false);
  EXPECT_EQ(le32(nocrc.data() + 24), 0u);
}

}  // namespace
}  // namespace sd::rdma::soft
