// Durable-handle create contexts (MS-SMB2 2.2.13.2.3, .4, .11, .12; 2.2.14.2.3, .12): golden
// bytes laid out from the spec tables, round trips through a CREATE's context chain, and every
// wrong length refused.
#include <gtest/gtest.h>

#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/durable.h"

namespace sd::smb2 {
namespace {

CreateGuid guid(uint8_t first) {
  CreateGuid g;
  for (size_t i = 0; i < g.size(); i++) g[i] = uint8_t(first + i);
  return g;
}

TEST(Durable, RequestV2GoldenBytes) {
  DurableRequestV2 q;
  q.timeout_ms = 0x0001d4c0;  // 120000
  q.flags = kDurableHandleFlagPersistent;
  q.create_guid = guid(0xa0);
  auto c = makeDurableRequestV2(q);
  EXPECT_EQ(c.name, "DH2Q");
  // Timeout, Flags, Reserved (8), CreateGuid (16).
  EXPECT_EQ(c.data, fromHex("c0d40100" "02000000" "0000000000000000" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
}

TEST(Durable, ReconnectGoldenBytes) {
  FileId id{0x1122334455667788ull, 0x99aabbccddeeff00ull};
  auto v1 = makeDurableReconnectV1(id);
  EXPECT_EQ(v1.name, "DHnC");
  EXPECT_EQ(v1.data, fromHex("8877665544332211" "00ffeeddccbbaa99"));
  DurableReconnectV2 q;
  q.file_id = id;
  q.create_guid = guid(1);
  q.flags = 0;
  auto v2 = makeDurableReconnectV2(q);
  EXPECT_EQ(v2.name, "DH2C");
  EXPECT_EQ(v2.data, fromHex("8877665544332211" "00ffeeddccbbaa99" "0102030405060708090a0b0c0d0e0f10" "00000000"));
}

TEST(Durable, ResponsesGoldenBytes) {
  auto v1 = makeDurableResponseV1();
  EXPECT_EQ(v1.name, "DHnQ");
  EXPECT_EQ(v1.data, fromHex("0000000000000000"));
  auto v2 = makeDurableResponseV2(300000, 0);
  EXPECT_EQ(v2.name, "DH2Q");
  EXPECT_EQ(v2.data, fromHex("e0930400" "00000000"));
}

// All four request contexts through a CREATE request's chain, as the server decodes them.
TEST(Durable, ContextsRoundTripThroughACreateRequest) {
  CreateRequest q;
  q.name = "dir\\f.txt";
  q.desired_access = 0x12019f;
  DurableRequestV2 d2;
  d2.timeout_ms = 5000;
  d2.create_guid = guid(7);
  DurableReconnectV2 c2;
  c2.file_id = {3, 4};
  c2.create_guid = guid(9);
  std::vector<CreateContextOut> ctxs = {makeDurableRequestV1(), makeDurableRequestV2(d2),
                                        makeDurableReconnectV1({5, 6}), makeDurableReconnectV2(c2)};
  ByteWriter w;
  Header h;
  h.command = Command::kCreate;
  encodeHeader(h, w);
  encodeCreateRequest(q, ctxs, w);
  auto back = decodeCreateRequest(w.buf());
  ASSERT_TRUE(back);
  auto d = decodeDurableContexts(back->create_contexts);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->request_v1);
  ASSERT_TRUE(d->request_v2);
  EXPECT_EQ(d->request_v2->timeout_ms, 5000u);
  EXPECT_EQ(d->request_v2->create_guid, guid(7));
  ASSERT_TRUE(d->reconnect_v1);
  EXPECT_TRUE((*d->reconnect_v1 == FileId{5, 6}));
  ASSERT_TRUE(d->reconnect_v2);
  EXPECT_TRUE((d->reconnect_v2->file_id == FileId{3, 4}));
  EXPECT_EQ(d->reconnect_v2->create_guid, guid(9));
  EXPECT_TRUE(d->any());
  EXPECT_TRUE(d->reconnect());
  auto none = decodeDurableContexts({});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->any());
}

TEST(Durable, WrongLengthsAreRefused) {
  Bytes data(64, 0);
  for (const char* name : {"DHnQ", "DHnC", "DH2Q", "DH2C"}) {
    size_t good = std::string(name) == "DH2Q" ? 32 : std::string(name) == "DH2C" ? 36 : 16;
    for (size_t n = 0; n < data.size(); n++) {
      std::vector<CreateContext> v = {{name, ByteView(data).first(n)}};
      EXPECT_EQ(decodeDurableContexts(v).has_value(), n == good) << name << " with " << n << " bytes";
    }
  }
  for (size_t n = 0; n < 16; n++) {
    std::vector<CreateContext> v = {{"DH2Q", ByteView(data).first(n)}};
    auto r = decodeDurableResponse(v);
    EXPECT_EQ(r.has_value(), n == 8) << n;
    if (r) {
      EXPECT_TRUE(r->v2);
      EXPECT_EQ(r->timeout_ms, 0u);
    }
  }
}

}  // namespace
}  // namespace sd::smb2
