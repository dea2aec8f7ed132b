// SrvsvcClient against our own SrvsvcPipe, with replies fed in arbitrary splits.
#include <gtest/gtest.h>

#include "rpc/pipe.h"
#include "rpc/srvsvc_client.h"

namespace sd::rpc {
namespace {

std::unique_ptr<PipeEndpoint> makePipe(size_t extra) {
  return openPipe("srvsvc", [extra] {
    std::vector<ShareInfo> v = {{"IPC$", kStypeIpcHidden, "IPC Service", "", 0, 0xFFFFFFFF, 0, 0},
                                {"public", 0, "Public files", "C:\\p", 0, 0xFFFFFFFF, 0, 0}};
    for (size_t i = 0; i < extra; i++)
      v.push_back({"share" + std::to_string(i), 0, "c", "", 0, 0, 0, 0});
    return std::make_pair(ServerInfo{"SRV", ""}, v);
  });
}

// Runs bind + NetrShareEnum the way the SMB client does, reading `chunk` bytes at a time.
Result<std::vector<ShareInfo>> enumerate(size_t extra, size_t chunk) {
  auto pipe = makePipe(extra);
  SrvsvcClient c("SRV");
  auto ack = SD_TRY(pipe->transceive(c.bindRequest(), 4280));
  if (ack.more) return err(NtStatus::kUnsuccessful, "bind_ack split");
  SD_CHECK(c.onBindAck(ack.bytes));
  auto out = SD_TRY(pipe->transceive(c.shareEnumRequest(), chunk));
  for (int i = 0; i < 100000; i++) {
    auto r = c.onShareEnumResponse(out.bytes);
    if (r || r.status() != NtStatus::kMoreProcessingRequired) return r;
    out = SD_TRY(pipe->read(chunk));
  }
  return err(NtStatus::kUnsuccessful, "never finished");
}

TEST(SrvsvcClient, EnumeratesShares) {
  auto r = enumerate(0, 4280);
  ASSERT_TRUE(r) << r.error().what;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "IPC$");
  EXPECT_EQ((*r)[0].type, kStypeIpcHidden);
  EXPECT_EQ((*r)[1].comment, "Public files");
}

TEST(SrvsvcClient, ReassemblesFragmentsAcrossAnyReadSize) {
  for (size_t chunk : {size_t(1), size_t(13), size_t(24), size_t(1000), size_t(65536)}) {
    auto r = enumerate(300, chunk);
    ASSERT_TRUE(r) << chunk << " " << r.error().what;
    ASSERT_EQ(r->size(), 302u);
    EXPECT_EQ((*r)[301].name, "share299");
  }
}

TEST(SrvsvcClient, RequestIsWhatTheServerExpects) {
  SrvsvcClient c("host");
  auto b = decodeBind(c.bindRequest());
  ASSERT_TRUE(b);
  ASSERT_EQ(b->contexts.size(), 1u);
  EXPECT_EQ(b->contexts[0].abstract_syntax, srvsvcSyntax());
  Bytes req = c.shareEnumRequest();
  auto q = decodeRequest(req);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->opnum, kOpNetrShareEnum);
  auto e = decodeNetrShareEnumRequest(q->stub);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->server_name, std::optional<std::string>("\\\\host"));
  EXPECT_EQ(e->level, 1u);
  EXPECT_EQ(decodeHeader(req)->call_id, 2u);
}

TEST(SrvsvcClient, RejectionsAndFaults) {
  SrvsvcClient c;
  Bytes bind = c.bindRequest();
  // bind_nak
  EXPECT_FALSE(c.onBindAck(encodeBindNak(1, {})));
  // rejected context
  BindAckPdu a;
  a.results.push_back({kResultProviderRejection, kReasonTransferSyntaxesNotSupported, {}});
  EXPECT_FALSE(c.onBindAck(encodeBindAck(1, a)));
  // wrong call id
  a.results[0] = {kResultAcceptance, 0, ndr20Syntax()};
  EXPECT_FALSE(c.onBindAck(encodeBindAck(9, a)));
  ASSERT_TRUE(c.onBindAck(encodeBindAck(1, a)));
  EXPECT_TRUE(c.bound());
  (void)c.shareEnumRequest();
  FaultPdu f;
  f.status = kNcaOpRngError;
  auto r = c.onShareEnumResponse(encodeFault(2, kPfcFirstFrag | kPfcLastFrag, f));
  EXPECT_FALSE(r);
  EXPECT_EQ(c.lastStatus(), kNcaOpRngError);
  // WERROR in the response.
  (void)c.shareEnumRequest();
  NetrShareEnumResponse p;
  p.status = kWerrAccessDenied;
  Bytes stub = encodeNetrShareEnumResponse(p);
  ResponsePdu resp;
  resp.stub = stub;
  auto r2 = c.onShareEnumResponse(encodeResponse(3, kPfcFirstFrag | kPfcLastFrag, resp));
  EXPECT_EQ(r2.status(), NtStatus::kAccessDenied);
  // A reply without PFC_FIRST_FRAG first is refused.
  (void)c.shareEnumRequest();
  EXPECT_FALSE(c.onShareEnumResponse(encodeResponse(4, kPfcLastFrag, resp)));
  // Truncated stub inside a complete PDU.
  (void)c.shareEnumRequest();
  resp.stub = ByteView(stub).first(6);
  EXPECT_EQ(c.onShareEnumResponse(encodeResponse(5, kPfcFirstFrag | kPfcLastFrag, resp)).status(),
            NtStatus::kInvalidNetworkResponse);
}

}  // namespace
}  // namespace sd::rpc
