// srvsvc stubs and NDR helpers: impacket-generated request stubs (golden), round trips of every
// response level, truncation sweeps and hostile counts.
#include "rpc/srvsvc.h"

#include <gtest/gtest.h>

#include "rpc/ndr.h"

namespace sd::rpc {
namespace {

// impacket NetrShareEnum(ServerName "\\srv", level 1, ResumeHandle 0): note impacket's own
// referent ids and 0xbf padding.
const char* kImpacketShareEnum =
    "0b0500000600000000000000060000005c005c00730072007600000001000000010000001c7300000000000000"
    "000000ffffffffdd0f000000000000";
// impacket NetrShareGetInfo(NULL, "public", 2)
const char* kImpacketShareGetInfo =
    "000000000700000000000000070000007000750062006c00690063000000bfbf02000000";
// impacket NetrServerGetInfo(NULL, 101)
const char* kImpacketServerGetInfo = "0000000065000000";

std::vector<ShareInfo> sampleShares() {
  return {{"IPC$", kStypeIpcHidden, "IPC Service", "", 0, 0xFFFFFFFF, 0, 0},
          {"public", kStypeDiskTree, "Public files", "C:\\srv\\public", 0, 25, 3, 0},
          {"donn\xc3\xa9"
           "es",
           kStypeDiskTree, "", "C:\\x", 0, 0xFFFFFFFF, 0, 0}};
}

template <class F>
void truncationSweep(const Bytes& stub, F decode) {
  for (size_t n = 0; n < stub.size(); n++)
    EXPECT_FALSE(decode(ByteView(stub.data(), n))) << "prefix " << n;
  EXPECT_TRUE(decode(ByteView(stub)));
}

TEST(Srvsvc, ImpacketRequestsDecode) {
  auto e = decodeNetrShareEnumRequest(fromHex(kImpacketShareEnum));
  ASSERT_TRUE(e) << e.error().what;
  EXPECT_EQ(e->server_name, std::optional<std::string>("\\\\srv"));
  EXPECT_EQ(e->level, 1u);
  EXPECT_EQ(e->prefered_maximum_length, 0xFFFFFFFFu);
  EXPECT_EQ(e->resume_handle, std::optional<uint32_t>(0));
  truncationSweep(fromHex(kImpacketShareEnum),
                  [](ByteView v) { return bool(decodeNetrShareEnumRequest(v)); });

  auto g = decodeNetrShareGetInfoRequest(fromHex(kImpacketShareGetInfo));
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->server_name.has_value());
  EXPECT_EQ(g->net_name, "public");
  EXPECT_EQ(g->level, 2u);
  truncationSweep(fromHex(kImpacketShareGetInfo),
                  [](ByteView v) { return bool(decodeNetrShareGetInfoRequest(v)); });

  auto s = decodeNetrServerGetInfoRequest(fromHex(kImpacketServerGetInfo));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->level, 101u);
}

TEST(Srvsvc, RequestRoundTrips) {
  NetrShareEnumRequest q{std::string("\\\\host"), 2, 1000, 5u};
  auto d = decodeNetrShareEnumRequest(encodeNetrShareEnumRequest(q));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->server_name, q.server_name);
  EXPECT_EQ(d->level, 2u);
  EXPECT_EQ(d->prefered_maximum_length, 1000u);
  EXPECT_EQ(d->resume_handle, std::optional<uint32_t>(5));
  NetrShareGetInfoRequest g{std::nullopt, "x", 1005};
  auto dg = decodeNetrShareGetInfoRequest(encodeNetrShareGetInfoRequest(g));
  ASSERT_TRUE(dg);
  EXPECT_EQ(dg->net_name, "x");
  EXPECT_EQ(dg->level, 1005u);
  NetrServerGetInfoRequest s{std::string("h"), 100};
  auto ds = decodeNetrServerGetInfoRequest(encodeNetrServerGetInfoRequest(s));
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->server_name, s.server_name);
}

TEST(Srvsvc, ShareEnumResponseLevels) {
  for (uint32_t level : {0u, 1u, 2u}) {
    NetrShareEnumResponse p;
    p.level = level;
    p.shares = sampleShares();
    p.total_entries = 3;
    p.resume_handle = 0;
    Bytes stub = encodeNetrShareEnumResponse(p);
    auto d = decodeNetrShareEnumResponse(stub);
    ASSERT_TRUE(d) << level;
    ASSERT_EQ(d->shares.size(), 3u);
    EXPECT_EQ(d->total_entries, 3u);
    EXPECT_EQ(d->resume_handle, std::optional<uint32_t>(0));
    for (size_t i = 0; i < 3; i++) {
      const ShareInfo& want = p.shares[i];
      const ShareInfo& got = d->shares[i];
      EXPECT_EQ(got.name, want.name);
      if (level >= 1) {
        EXPECT_EQ(got.type, want.type);
        EXPECT_EQ(got.comment, want.comment);
      }
      if (level == 2) {
        EXPECT_EQ(got, want);
      }
    }
    truncationSweep(stub, [](ByteView v) { return bool(decodeNetrShareEnumResponse(v)); });
  }
  // Unsupported level: NULL container and the error.
  NetrShareEnumResponse bad;
  bad.level = 502;
  bad.status = kWerrInvalidLevel;
  auto d = decodeNetrShareEnumResponse(encodeNetrShareEnumResponse(bad));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->null_container);
  EXPECT_EQ(d->status, kWerrInvalidLevel);
}

TEST(Srvsvc, ShareGetInfoAndServerGetInfoLevels) {
  for (uint32_t level : {0u, 1u, 2u, 501u, 1005u}) {
    NetrShareGetInfoResponse p;
    p.level = level;
    p.info = sampleShares()[1];
    p.info->flags = 0x30;
    Bytes stub = encodeNetrShareGetInfoResponse(p);
    auto d = decodeNetrShareGetInfoResponse(stub);
    ASSERT_TRUE(d) << level;
    ASSERT_TRUE(d->info.has_value());
    if (level != 1005) {
      EXPECT_EQ(d->info->name, "public");
    }
    if (level == 501 || level == 1005) {
      EXPECT_EQ(d->info->flags, 0x30u);
    }
    if (level == 2) {
      EXPECT_EQ(d->info->path, "C:\\srv\\public");
    }
    truncationSweep(stub, [](ByteView v) { return bool(decodeNetrShareGetInfoResponse(v)); });
  }
  NetrShareGetInfoResponse missing;
  missing.level = 1;
  missing.status = kNerrNetNameNotFound;
  Bytes ms = encodeNetrShareGetInfoResponse(missing);
  EXPECT_EQ(toHex(ms),
            "01000000"
            "00000000"
            "06090000");
  NetrShareGetInfoResponse unknown;
  unknown.level = 7;  // [default] arm: nothing between discriminant and status
  unknown.status = kWerrInvalidLevel;
  EXPECT_EQ(toHex(encodeNetrShareGetInfoResponse(unknown)),
            "07000000"
            "7c000000");

  for (uint32_t level : {100u, 101u}) {
    NetrServerGetInfoResponse p;
    p.level = level;
    p.info = ServerInfo{"SRV", "the comment"};
    Bytes stub = encodeNetrServerGetInfoResponse(p);
    auto d = decodeNetrServerGetInfoResponse(stub);
    ASSERT_TRUE(d);
    ASSERT_TRUE(d->info.has_value());
    EXPECT_EQ(d->info->name, "SRV");
    if (level == 101) {
      EXPECT_EQ(*d->info, *p.info);
    }
    truncationSweep(stub, [](ByteView v) { return bool(decodeNetrServerGetInfoResponse(v)); });
  }
}

TEST(Srvsvc, ServerInfo101GoldenLayout) {
  NetrServerGetInfoResponse p;
  p.level = 101;
  p.info = ServerInfo{"A", "B", 500, 10, 0, 0x9003};
  // discriminant, referent, platform 500, name ref, 10, 0, type, comment ref, "A\0", "B\0", status
  EXPECT_EQ(toHex(encodeNetrServerGetInfoResponse(p)),
            "65000000"
            "00000200"
            "f4010000"
            "04000200"
            "0a000000"
            "00000000"
            "03900000"
            "08000200"
            "02000000"
            "00000000"
            "02000000"
            "41000000"
            "02000000"
            "00000000"
            "02000000"
            "42000000"
            "00000000");
}

TEST(Ndr, HostileCountsAndStrings) {
  // actual_count > max_count
  NdrWriter w;
  w.u32(1);
  w.u32(0);
  w.u32(2);
  w.u32(0x00410041);
  Bytes b = w.take();
  NdrReader r(b);
  EXPECT_FALSE(r.conformantVaryingString());
  // non-zero offset
  Bytes b2 = fromHex("020000000100000001000000410000000000");
  NdrReader r2(b2);
  EXPECT_FALSE(r2.conformantVaryingString());
  // unpaired surrogate
  Bytes b3 = fromHex(
      "020000000000000002000000"
      "00d80000");
  NdrReader r3(b3);
  EXPECT_FALSE(r3.conformantVaryingString());
  // too long for the caller's bound
  NdrWriter w4;
  w4.conformantVaryingString("abcdef");
  Bytes b4 = w4.take();
  NdrReader r4(b4);
  EXPECT_FALSE(r4.conformantVaryingString(3));
  // conformance beyond what is left
  Bytes b5 = fromHex("ffffffff00000000");
  NdrReader r5(b5);
  EXPECT_FALSE(r5.conformance(4));
  // An enum response claiming 0xffffffff entries is refused before allocating.
  NdrWriter w6;
  w6.u32(1);
  w6.u32(1);
  w6.pointer(true);
  w6.u32(0xFFFFFFFF);
  w6.pointer(true);
  w6.conformance(0xFFFFFFFF);
  EXPECT_FALSE(decodeNetrShareEnumResponse(w6.take()));
  // size_is mismatch between EntriesRead and the array's max_count.
  NetrShareEnumResponse p;
  p.level = 0;
  p.shares = sampleShares();
  Bytes s = encodeNetrShareEnumResponse(p);
  s[12] = 2;  // EntriesRead
  EXPECT_FALSE(decodeNetrShareEnumResponse(s));
  // Union tag != Level.
  Bytes s2 = encodeNetrShareEnumResponse(p);
  s2[4] = 1;
  EXPECT_FALSE(decodeNetrShareEnumResponse(s2));
}

TEST(Ndr, AlignmentAndReferents) {
  NdrWriter w;
  w.u8(1);
  w.u32(2);
  EXPECT_EQ(w.size(), 8u);
  EXPECT_TRUE(w.pointer(true));
  EXPECT_FALSE(w.pointer(false));
  EXPECT_TRUE(w.pointer(true));
  Bytes b = w.take();
  EXPECT_EQ(toHex(b),
            "01000000"
            "02000000"
            "00000200"
            "00000000"
            "04000200");
  NdrReader r(b);
  EXPECT_EQ(*r.u8(), 1);
  EXPECT_EQ(*r.u32(), 2u);
  EXPECT_EQ(*r.pointer(), 0x20000u);
}

}  // namespace
}  // namespace sd::rpc
