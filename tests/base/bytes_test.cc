#include "base/bytes.h"

#include <gtest/gtest.h>

namespace sd {
namespace {

TEST(ByteReader, ReadsLittleEndianAndStopsAtEnd) {
  Bytes b = fromHex("01 0203 04050607 08090a0b0c0d0e0f");
  ByteReader r(b);
  EXPECT_EQ(*r.u8(), 0x01);
  EXPECT_EQ(*r.u16(), 0x0302);
  EXPECT_EQ(*r.u32(), 0x07060504u);
  EXPECT_EQ(*r.u64(), 0x0f0e0d0c0b0a0908ull);
  EXPECT_FALSE(r.u8().has_value());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteReader, TruncationAtEveryLengthFails) {
  Bytes b = fromHex("0102030405060708");
  for (size_t n = 0; n < 8; n++) {
    ByteReader r(ByteView(b).first(n));
    EXPECT_FALSE(r.u64().has_value()) << n;
  }
}

TEST(ByteReader, SliceRejectsOutOfBounds) {
  Bytes b(10);
  ByteReader r(b);
  EXPECT_TRUE(r.slice(0, 10).has_value());
  EXPECT_TRUE(r.slice(10, 0).has_value());
  EXPECT_TRUE(r.slice(0xFFFFFFFF, 0).has_value());  // empty is always fine
  EXPECT_FALSE(r.slice(1, 10).has_value());
  EXPECT_FALSE(r.slice(11, 1).has_value());
  EXPECT_FALSE(r.slice(~0ull, 2).has_value());  // no overflow
}

TEST(ByteWriter, BackpatchesAndAligns) {
  ByteWriter w;
  w.u8(1);
  size_t at = w.reserve(4);
  w.align(8);
  w.put32(at, 0xAABBCCDD);
  w.be16(0x1234);
  EXPECT_EQ(toHex(w.buf()), "01ddccbbaa0000001234");
}

Result<int> twice(Result<int> in) {
  int v = SD_TRY(in);
  return v * 2;
}

TEST(Result, TryPropagatesError) {
  EXPECT_EQ(*twice(21), 42);
  auto r = twice(err(NtStatus::kAccessDenied));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, NtStatus::kAccessDenied);
}

}  // namespace
}  // namespace sd
