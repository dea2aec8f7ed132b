// The srvsvc pipe as the SMB layer drives it: bind negotiation, faults, request reassembly,
// response fragmentation within max_xmit_frag, message-mode reads, broken framing.
#include "rpc/pipe.h"

#include <gtest/gtest.h>

#include "rpc/srvsvc_client.h"

namespace sd::rpc {
namespace {

std::vector<ShareInfo> shares(size_t extra) {
  std::vector<ShareInfo> v = {{"IPC$", kStypeIpcHidden, "IPC Service", "", 0, 0xFFFFFFFF, 0, 0},
                              {"public", kStypeDiskTree, "Public", "C:\\p", 0, 0xFFFFFFFF, 0, 0}};
  for (size_t i = 0; i < extra; i++)
    v.push_back({"s" + std::to_string(i), 0, "comment " + std::to_string(i), "C:\\g", 0, 1, 0, 0});
  return v;
}

std::unique_ptr<PipeEndpoint> makePipe(size_t extra = 0) {
  return openPipe("srvsvc", [extra] {
    return std::make_pair(ServerInfo{"SRV", "c"}, shares(extra));
  });
}

Bytes bindPdu(uint16_t max_frag = 4280, std::vector<PresentationContext> ctx = {}) {
  BindPdu b;
  b.max_xmit_frag = max_frag;
  b.max_recv_frag = max_frag;
  if (ctx.empty()) ctx.push_back({0, srvsvcSyntax(), {ndr20Syntax()}});
  b.contexts = std::move(ctx);
  return encodeBind(1, b);
}

Bytes requestPdu(uint32_t call_id, uint16_t opnum, ByteView stub, uint16_t ctx = 0,
                 uint8_t flags = kPfcFirstFrag | kPfcLastFrag) {
  RequestPdu q;
  q.alloc_hint = uint32_t(stub.size());
  q.context_id = ctx;
  q.opnum = opnum;
  q.stub = stub;
  return encodeRequest(call_id, flags, q);
}

// Reads one whole message, as an SMB client does on STATUS_BUFFER_OVERFLOW.
Bytes readMessage(PipeEndpoint& p, size_t chunk = 65536) {
  Bytes m;
  for (int i = 0; i < 100000; i++) {
    auto r = p.read(chunk);
    EXPECT_TRUE(r);
    if (!r) return m;
    m.insert(m.end(), r->bytes.begin(), r->bytes.end());
    if (!r->more) return m;
  }
  return m;
}

// Reads all fragments of one reply and returns the reassembled stub (or the fault status).
Result<Bytes> readReply(PipeEndpoint& p, size_t max_frag, size_t* fragments = nullptr) {
  Bytes stub;
  for (size_t n = 1; n < 100000; n++) {
    Bytes m = readMessage(p);
    EXPECT_LE(m.size(), max_frag);
    auto h = SD_TRY(decodeHeader(m));
    if (h.ptype == PType::kFault) return err(NtStatus::kUnsuccessful, "fault");
    auto r = SD_TRY(decodeResponse(m));
    EXPECT_EQ(bool(h.pfc_flags & kPfcFirstFrag), n == 1);
    stub.insert(stub.end(), r.stub.begin(), r.stub.end());
    if (h.pfc_flags & kPfcLastFrag) {
      if (fragments) *fragments = n;
      return stub;
    }
    EXPECT_EQ(r.stub.size() % 8, 0u);
  }
  return err(NtStatus::kUnsuccessful, "no last fragment");
}

uint32_t faultStatus(PipeEndpoint& p) {
  Bytes m = readMessage(p);
  auto f = decodeFault(m);
  EXPECT_TRUE(f);
  return f ? f->status : 0;
}

Bytes enumStub(uint32_t level) {
  return encodeNetrShareEnumRequest({std::string("\\\\SRV"), level, 0xFFFFFFFF, 0u});
}

TEST(RpcPipe, OpenPipeNames) {
  EXPECT_NE(makePipe(), nullptr);
  EXPECT_NE(openPipe("SRVSVC", {}), nullptr);
  EXPECT_NE(openPipe("\\PIPE\\srvsvc", {}), nullptr);
  EXPECT_EQ(openPipe("lsarpc", {}), nullptr);
  EXPECT_EQ(openPipe("", {}), nullptr);
  EXPECT_EQ(openPipe("srvsvc2", {}), nullptr);
}

TEST(RpcPipe, BindNegotiatesContexts) {
  auto p = makePipe();
  auto out = p->transceive(
      bindPdu(9000, {{0, srvsvcSyntax(), {ndr64Syntax(), ndr20Syntax()}},
                     {1, srvsvcSyntax(), {ndr64Syntax()}},
                     {2, srvsvcSyntax(), {bindTimeFeatureSyntax(3)}},
                     {3, {Uuid::of("12345778-1234-abcd-ef00-0123456789ab"), 1, 0}, {ndr20Syntax()}},
                     {4, {srvsvcSyntax().uuid, 3, 1}, {ndr20Syntax()}}}),
      4280);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->more);
  auto ack = decodeBindAck(out->bytes);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->secondary_address, "\\PIPE\\srvsvc");
  EXPECT_EQ(ack->max_xmit_frag, RpcPipe::kMaxFragSize);  // 9000 clamped
  ASSERT_EQ(ack->results.size(), 5u);
  EXPECT_EQ(ack->results[0].result, kResultAcceptance);
  EXPECT_EQ(ack->results[0].transfer_syntax, ndr20Syntax());
  EXPECT_EQ(ack->results[1].result, kResultProviderRejection);
  EXPECT_EQ(ack->results[1].reason, kReasonTransferSyntaxesNotSupported);
  EXPECT_EQ(ack->results[2].result, kResultNegotiateAck);
  EXPECT_EQ(ack->results[2].reason, 0);
  EXPECT_EQ(ack->results[3].reason, kReasonAbstractSyntaxNotSupported);
  EXPECT_EQ(ack->results[4].reason, kReasonAbstractSyntaxNotSupported);  // minor 1 > our 0

  // Rejected context ids fault with nca_s_unknown_if; the accepted one works.
  Bytes stub = enumStub(1);
  ASSERT_TRUE(p->write(requestPdu(2, kOpNetrShareEnum, stub, 1)));
  EXPECT_EQ(faultStatus(*p), kNcaUnknownIf);
  ASSERT_TRUE(p->write(requestPdu(3, kOpNetrShareEnum, stub, 0)));
  auto reply = readReply(*p, 4280);
  ASSERT_TRUE(reply);
  auto resp = decodeNetrShareEnumResponse(*reply);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->shares.size(), 2u);

  // alter_context adds a context; a second bind is refused.
  BindPdu alt;
  alt.contexts.push_back({7, srvsvcSyntax(), {ndr20Syntax()}});
  auto ar = p->transceive(encodeBind(4, alt, PType::kAlterContext), 4280);
  ASSERT_TRUE(ar);
  auto aack = decodeBindAck(ar->bytes);
  ASSERT_TRUE(aack);
  EXPECT_EQ(decodeHeader(ar->bytes)->ptype, PType::kAlterContextResp);
  EXPECT_TRUE(aack->secondary_address.empty());
  ASSERT_TRUE(p->write(requestPdu(5, kOpNetrShareEnum, stub, 7)));
  EXPECT_TRUE(readReply(*p, 4280));
  auto again = p->transceive(bindPdu(), 4280);
  ASSERT_TRUE(again);
  EXPECT_EQ(decodeHeader(again->bytes)->ptype, PType::kBindNak);
}

TEST(RpcPipe, FaultsAndErrors) {
  auto p = makePipe();
  Bytes stub = enumStub(1);
  // Request before bind: protocol error.
  ASSERT_TRUE(p->write(requestPdu(1, kOpNetrShareEnum, stub)));
  EXPECT_EQ(faultStatus(*p), kNcaProtoError);
  ASSERT_TRUE(p->transceive(bindPdu(), 4280));
  // Unknown opnum.
  ASSERT_TRUE(p->write(requestPdu(2, 99, stub)));
  Bytes m = readMessage(*p);
  auto f = decodeFault(m);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status, kNcaOpRngError);
  EXPECT_TRUE(decodeHeader(m)->pfc_flags & kPfcDidNotExecute);
  EXPECT_EQ(decodeHeader(m)->call_id, 2u);
  // Bad stub.
  ASSERT_TRUE(p->write(requestPdu(3, kOpNetrShareEnum, ByteView(stub.data(), 10))));
  EXPECT_EQ(faultStatus(*p), kRpcBadStubData);
  // Unknown level: a normal response with WERR_INVALID_LEVEL.
  ASSERT_TRUE(p->write(requestPdu(4, kOpNetrShareEnum, enumStub(503))));
  auto r = readReply(*p, 4280);
  ASSERT_TRUE(r);
  EXPECT_EQ(decodeNetrShareEnumResponse(*r)->status, kWerrInvalidLevel);
  ASSERT_TRUE(p->write(requestPdu(5, kOpNetrShareGetInfo,
                                  encodeNetrShareGetInfoRequest({std::nullopt, "public", 3}))));
  r = readReply(*p, 4280);
  ASSERT_TRUE(r);
  EXPECT_EQ(decodeNetrShareGetInfoResponse(*r)->status, kWerrInvalidLevel);
  ASSERT_TRUE(p->write(requestPdu(6, kOpNetrShareGetInfo,
                                  encodeNetrShareGetInfoRequest({std::nullopt, "nope", 1}))));
  r = readReply(*p, 4280);
  ASSERT_TRUE(r);
  EXPECT_EQ(decodeNetrShareGetInfoResponse(*r)->status, kNerrNetNameNotFound);
  ASSERT_TRUE(p->write(
      requestPdu(7, kOpNetrServerGetInfo, encodeNetrServerGetInfoRequest({std::nullopt, 101}))));
  r = readReply(*p, 4280);
  ASSERT_TRUE(r);
  auto si = decodeNetrServerGetInfoResponse(*r);
  ASSERT_TRUE(si && si->info);
  EXPECT_EQ(si->info->name, "SRV");
  // Big-endian request: fault, association kept.
  Bytes be = requestPdu(8, kOpNetrShareEnum, stub);
  be[4] = 0;
  std::swap(be[8], be[9]);
  ASSERT_TRUE(p->write(be));
  EXPECT_EQ(faultStatus(*p), kNcaProtoError);
  // Empty pipe read.
  EXPECT_EQ(p->read(100).status(), kStatusPipeEmpty);
  // Garbage framing breaks the association.
  Bytes junk(32, 0x41);
  EXPECT_EQ(p->write(junk).status(), NtStatus::kPipeBroken);
  EXPECT_EQ(p->write(stub).status(), NtStatus::kPipeBroken);
}

TEST(RpcPipe, BigEndianBindGetsBindNak) {
  auto p = makePipe();
  Bytes b = bindPdu();
  b[4] = 0;
  std::swap(b[8], b[9]);
  auto out = p->transceive(b, 4280);
  ASSERT_TRUE(out);
  auto nak = decodeBindNak(out->bytes);
  ASSERT_TRUE(nak);
  EXPECT_EQ(nak->provider_reject_reason, kNakReasonNotSpecified);
}

TEST(RpcPipe, RequestFragmentsAndByteStream) {
  auto p = makePipe();
  Bytes bind = bindPdu();
  // Written one byte at a time.
  for (uint8_t c : bind) ASSERT_TRUE(p->write(ByteView(&c, 1)));
  ASSERT_TRUE(decodeBindAck(readMessage(*p)));
  // A request in three fragments, then two whole PDUs in one write.
  Bytes stub = enumStub(1);
  ASSERT_GT(stub.size(), 16u);
  Bytes all;
  auto add = [&](const Bytes& b) { all.insert(all.end(), b.begin(), b.end()); };
  add(requestPdu(2, kOpNetrShareEnum, ByteView(stub).first(8), 0, kPfcFirstFrag));
  add(requestPdu(2, kOpNetrShareEnum, ByteView(stub).subspan(8, 8), 0, 0));
  add(requestPdu(2, kOpNetrShareEnum, ByteView(stub).subspan(16), 0, kPfcLastFrag));
  add(requestPdu(3, kOpNetrServerGetInfo, encodeNetrServerGetInfoRequest({std::nullopt, 100})));
  ASSERT_TRUE(p->write(all));
  EXPECT_EQ(static_cast<RpcPipe&>(*p).pendingMessages(), 2u);
  auto r = readReply(*p, 4280);
  ASSERT_TRUE(r);
  EXPECT_EQ(decodeNetrShareEnumResponse(*r)->shares.size(), 2u);
  r = readReply(*p, 4280);
  ASSERT_TRUE(r);
  EXPECT_EQ(decodeNetrServerGetInfoResponse(*r)->level, 100u);
  // A middle fragment of another call: protocol error.
  ASSERT_TRUE(p->write(requestPdu(9, kOpNetrShareEnum, stub, 0, kPfcLastFrag)));
  EXPECT_EQ(faultStatus(*p), kNcaProtoError);
}

TEST(RpcPipe, ResponseFragmentsHonourMaxXmitFrag) {
  for (uint16_t frag : {uint16_t(100), kMustRecvFragSize, uint16_t(2000), uint16_t(4280)}) {
    auto p = makePipe(400);
    auto ack = decodeBindAck(p->transceive(bindPdu(frag), 4280)->bytes);
    ASSERT_TRUE(ack);
    uint16_t want = std::max(frag, kMustRecvFragSize);
    EXPECT_EQ(ack->max_xmit_frag, want);
    ASSERT_TRUE(p->write(requestPdu(2, kOpNetrShareEnum, enumStub(2))));
    size_t n = 0;
    auto r = readReply(*p, want, &n);
    ASSERT_TRUE(r);
    EXPECT_GT(n, 5u);
    auto resp = decodeNetrShareEnumResponse(*r);
    ASSERT_TRUE(resp);
    ASSERT_EQ(resp->shares.size(), 402u);
    EXPECT_EQ(resp->shares[401].name, "s399");
  }
}

TEST(RpcPipe, MessageModeReadsAndTransceive) {
  auto p = makePipe();
  auto first = p->transceive(bindPdu(), 10);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->bytes.size(), 10u);
  // An unread reply makes the next transceive fail as Windows does.
  EXPECT_EQ(p->transceive(bindPdu(), 100).status(), kStatusPipeBusy);
  Bytes rest = readMessage(*p, 7);
  first->bytes.insert(first->bytes.end(), rest.begin(), rest.end());
  EXPECT_TRUE(decodeBindAck(first->bytes));
  // Two queued replies are never returned by one read.
  Bytes two =
      requestPdu(2, kOpNetrServerGetInfo, encodeNetrServerGetInfoRequest({std::nullopt, 101}));
  Bytes second =
      requestPdu(3, kOpNetrServerGetInfo, encodeNetrServerGetInfoRequest({std::nullopt, 100}));
  two.insert(two.end(), second.begin(), second.end());
  ASSERT_TRUE(p->write(two));
  auto a = p->read(65536);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->more);
  EXPECT_EQ(decodeHeader(a->bytes)->frag_length, a->bytes.size());
  EXPECT_EQ(decodeHeader(a->bytes)->call_id, 2u);
  auto b = p->read(65536);
  ASSERT_TRUE(b);
  EXPECT_EQ(decodeHeader(b->bytes)->call_id, 3u);
  EXPECT_EQ(p->read(65536).status(), kStatusPipeEmpty);
  // A transceive that completes no PDU returns nothing.
  auto none = p->transceive(ByteView(two).first(20), 100);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->bytes.empty());
}

TEST(RpcPipe, AuthenticatedBindRefused) {
  auto p = makePipe();
  Bytes b = bindPdu();
  ByteWriter w(b);
  w.u8(10);  // sec_trailer: NTLMSSP, connect level
  w.u8(2);
  w.u8(0);
  w.u8(0);
  w.u32(1);
  w.zeros(16);
  w.put16(8, uint16_t(b.size()));
  w.put16(10, 16);
  auto nak = decodeBindNak(p->transceive(b, 4280)->bytes);
  ASSERT_TRUE(nak);
  EXPECT_EQ(nak->provider_reject_reason, kNakAuthenticationTypeNotRecognized);
}

}  // namespace
}  // namespace sd::rpc
