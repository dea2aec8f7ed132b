// C706 PDU codecs: golden bytes from impacket (an independent implementation), round trips and
// truncation sweeps.
#include "rpc/pdu.h"

#include <gtest/gtest.h>

#include "rpc/srvsvc.h"

namespace sd::rpc {
namespace {

// impacket MSRPCBind for srvsvc v3.0 / NDR 2.0, call_id 1.
const char* kImpacketBind =
    "05000b03100000004800000001000000b810b810000000000100000000000100c84f324b7016d30112785a47bf6ee1"
    "8803000000045d888aeb1cc9119fe808002b10486002000000";

// bind_ack as C706 12.6.4.4 lays it out: max frags 4280, assoc group 0x53f0, "\PIPE\srvsvc\0"
// (13 bytes) padded to 4, one result: acceptance of NDR 2.0.
const char* kBindAck =
    "05000c03100000004400000001000000b810b810f05300000d005c504950455c73727673766300"
    "000100000000000000045d888aeb1cc9119fe808002b10486002000000";

TEST(RpcUuid, ParseFormatAndWireOrder) {
  auto u = Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee188");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(toHex(u->bytes), "c84f324b7016d30112785a47bf6ee188");
  EXPECT_EQ(u->str(), "4b324fc8-1670-01d3-1278-5a47bf6ee188");
  EXPECT_FALSE(Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee18").has_value());
  EXPECT_FALSE(Uuid::parse("4b324fc8x1670-01d3-1278-5a47bf6ee188").has_value());
  EXPECT_FALSE(Uuid::parse("zb324fc8-1670-01d3-1278-5a47bf6ee188").has_value());
}

TEST(RpcUuid, BindTimeFeatureSyntax) {
  uint16_t f = 0;
  SyntaxId s = bindTimeFeatureSyntax(3);
  EXPECT_EQ(s.uuid.str(), "6cb71c2c-9812-4540-0300-000000000000");
  EXPECT_TRUE(isBindTimeFeatureSyntax(s, &f));
  EXPECT_EQ(f, 3);
  EXPECT_FALSE(isBindTimeFeatureSyntax(ndr20Syntax(), &f));
}

TEST(RpcPdu, ImpacketBindGolden) {
  Bytes golden = fromHex(kImpacketBind);
  auto b = decodeBind(golden);
  ASSERT_TRUE(b) << b.error().what;
  EXPECT_EQ(b->max_xmit_frag, 4280);
  EXPECT_EQ(b->max_recv_frag, 4280);
  ASSERT_EQ(b->contexts.size(), 1u);
  EXPECT_EQ(b->contexts[0].abstract_syntax, srvsvcSyntax());
  ASSERT_EQ(b->contexts[0].transfer_syntaxes.size(), 1u);
  EXPECT_EQ(b->contexts[0].transfer_syntaxes[0], ndr20Syntax());
  EXPECT_EQ(toHex(encodeBind(1, *b)), toHex(golden));
}

TEST(RpcPdu, BindAckGoldenAndRoundTrip) {
  BindAckPdu a;
  a.assoc_group_id = 0x53f0;
  a.secondary_address = "\\PIPE\\srvsvc";
  a.results.push_back({kResultAcceptance, 0, ndr20Syntax()});
  Bytes pdu = encodeBindAck(1, a);
  EXPECT_EQ(toHex(pdu), toHex(fromHex(kBindAck)));
  auto d = decodeBindAck(pdu);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->secondary_address, "\\PIPE\\srvsvc");
  EXPECT_EQ(d->assoc_group_id, 0x53f0u);
  ASSERT_EQ(d->results.size(), 1u);
  EXPECT_EQ(d->results[0].transfer_syntax, ndr20Syntax());
  // alter_context_resp: empty secondary address.
  a.secondary_address.clear();
  Bytes alt = encodeBindAck(2, a, PType::kAlterContextResp);
  EXPECT_EQ(alt.size(), 16u + 8 + 4 + 4 + 24);
  auto da = decodeBindAck(alt);
  ASSERT_TRUE(da);
  EXPECT_TRUE(da->secondary_address.empty());
}

// Every proper prefix of a PDU must fail to decode, never crash.
template <class F>
void truncationSweep(const Bytes& pdu, F decode) {
  for (size_t n = 0; n < pdu.size(); n++) {
    ByteView v(pdu.data(), n);
    EXPECT_FALSE(decode(v)) << "prefix " << n;
  }
  EXPECT_TRUE(decode(ByteView(pdu)));
}

TEST(RpcPdu, RoundTripsAndTruncation) {
  BindPdu b;
  b.assoc_group_id = 7;
  b.contexts.push_back({0, srvsvcSyntax(), {ndr20Syntax(), ndr64Syntax()}});
  b.contexts.push_back({1, srvsvcSyntax(), {bindTimeFeatureSyntax(3)}});
  Bytes bind = encodeBind(3, b, PType::kAlterContext);
  auto db = decodeBind(bind);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->assoc_group_id, 7u);
  ASSERT_EQ(db->contexts.size(), 2u);
  EXPECT_EQ(db->contexts[0].transfer_syntaxes[1], ndr64Syntax());
  truncationSweep(bind, [](ByteView v) { return bool(decodeBind(v)); });

  BindNakPdu nak;
  nak.provider_reject_reason = kNakProtocolVersionNotSupported;
  Bytes nb = encodeBindNak(4, nak);
  EXPECT_EQ(nb.size() % 4, 0u);
  auto dn = decodeBindNak(nb);
  ASSERT_TRUE(dn);
  EXPECT_EQ(dn->provider_reject_reason, kNakProtocolVersionNotSupported);
  ASSERT_EQ(dn->versions.size(), 1u);
  EXPECT_EQ(dn->versions[0], std::make_pair(uint8_t(5), uint8_t(0)));

  Bytes stub = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  RequestPdu q;
  q.alloc_hint = 9;
  q.context_id = 2;
  q.opnum = 15;
  q.object = Uuid::of("01234567-89ab-cdef-0123-456789abcdef");
  q.stub = stub;
  Bytes req = encodeRequest(5, kPfcFirstFrag, q);
  EXPECT_EQ(req[3], kPfcFirstFrag | kPfcObjectUuid);
  auto dq = decodeRequest(req);
  ASSERT_TRUE(dq);
  EXPECT_EQ(dq->opnum, 15);
  EXPECT_EQ(dq->context_id, 2);
  EXPECT_EQ(dq->object, q.object);
  EXPECT_EQ(Bytes(dq->stub.begin(), dq->stub.end()), stub);
  truncationSweep(req, [](ByteView v) { return bool(decodeRequest(v)); });

  ResponsePdu p;
  p.alloc_hint = 9;
  p.context_id = 1;
  p.stub = stub;
  Bytes resp = encodeResponse(6, kPfcLastFrag, p);
  auto dp = decodeResponse(resp);
  ASSERT_TRUE(dp);
  EXPECT_EQ(Bytes(dp->stub.begin(), dp->stub.end()), stub);
  EXPECT_EQ(decodeHeader(resp)->call_id, 6u);
  truncationSweep(resp, [](ByteView v) { return bool(decodeResponse(v)); });

  FaultPdu f;
  f.status = kNcaOpRngError;
  Bytes fault = encodeFault(7, kPfcFirstFrag | kPfcLastFrag | kPfcDidNotExecute, f);
  EXPECT_EQ(fault.size(), kFaultPduSize);
  auto df = decodeFault(fault);
  ASSERT_TRUE(df);
  EXPECT_EQ(df->status, kNcaOpRngError);
  truncationSweep(fault, [](ByteView v) { return bool(decodeFault(v)); });

  // Wrong PTYPE is refused by each decoder.
  EXPECT_FALSE(decodeResponse(req));
  EXPECT_FALSE(decodeBind(resp));
}

TEST(RpcPdu, AuthVerifierExcludedFromStub) {
  RequestPdu q;
  Bytes stub = {0xAA, 0xBB, 0xCC, 0xDD};
  q.stub = stub;
  Bytes pdu = encodeRequest(1, kPfcFirstFrag | kPfcLastFrag, q);
  // Append 4 pad bytes, an 8-byte sec_trailer (auth_pad_length 4) and 16 bytes of auth_value.
  ByteWriter w(pdu);
  w.zeros(4);
  w.u8(10);
  w.u8(2);
  w.u8(4);
  w.u8(0);
  w.u32(0);
  w.zeros(16);
  w.put16(8, uint16_t(pdu.size()));
  w.put16(10, 16);
  auto d = decodeRequest(pdu);
  ASSERT_TRUE(d);
  EXPECT_EQ(Bytes(d->stub.begin(), d->stub.end()), stub);
  // auth_length larger than the PDU body.
  w.put16(10, 200);
  EXPECT_FALSE(decodeRequest(pdu));
  // auth_pad_length larger than the body.
  w.put16(10, 16);
  pdu[pdu.size() - 16 - 8 + 2] = 0xFF;
  EXPECT_FALSE(decodeRequest(pdu));
}

TEST(RpcPdu, HeaderChecks) {
  Bytes pdu = fromHex(kImpacketBind);
  pdu[0] = 4;
  EXPECT_FALSE(decodeHeader(pdu));
  pdu[0] = 5;
  store16(pdu.data() + 8, 15);
  EXPECT_FALSE(decodeHeader(pdu));
  // Big-endian header: frag_length read in the announced order, body refused.
  pdu = fromHex(kImpacketBind);
  pdu[4] = 0x00;
  pdu[8] = 0x00;
  pdu[9] = 0x48;
  auto h = decodeHeader(pdu);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->frag_length, 0x48);
  EXPECT_FALSE(h->supportedDrep());
  EXPECT_EQ(peekFragLength(pdu), 0x48);
  EXPECT_FALSE(decodeBind(pdu));
  EXPECT_FALSE(peekFragLength(ByteView(pdu.data(), 9)).has_value());
}

}  // namespace
}  // namespace sd::rpc
