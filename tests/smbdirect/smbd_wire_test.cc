// MS-SMBD 2.2.3.1 buffer descriptors: golden bytes, round trip, and every truncation refused.
#include "smbdirect/smbd_wire.h"

#include <gtest/gtest.h>

namespace sd::smbdirect {
namespace {

TEST(SmbdWire, BufferDescriptorsGoldenBytesAndRoundTrip) {
  const std::vector<BufferDescriptorV1> v = {{0x0102030405060708ull, 0x11223344, 0x00010000},
                                             {0x1000, 0xabcd, 4096}};
  ByteWriter w;
  encodeBufferDescriptors(v, w);
  const Bytes golden = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00,
                        0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xcd, 0xab, 0x00, 0x00,
                        0x00, 0x10, 0x00, 0x00};
  EXPECT_EQ(w.buf(), golden);
  auto d = decodeBufferDescriptors(golden);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].offset, v[0].offset);
  EXPECT_EQ((*d)[0].token, v[0].token);
  EXPECT_EQ((*d)[0].length, v[0].length);
  EXPECT_EQ((*d)[1].offset, v[1].offset);
  EXPECT_EQ((*d)[1].token, v[1].token);
  EXPECT_EQ((*d)[1].length, v[1].length);
}

TEST(SmbdWire, BufferDescriptorListsMustBeWhole) {
  Bytes b(32, 0x5a);
  for (size_t n = 0; n <= b.size(); n++) {
    auto d = decodeBufferDescriptors(ByteView(b).first(n));
    if (n % kBufferDescriptorV1Size == 0) {
      ASSERT_TRUE(d) << n;
      EXPECT_EQ(d->size(), n / kBufferDescriptorV1Size);
    } else {
      EXPECT_FALSE(d) << n;
    }
  }
}

}  // namespace
}  // namespace sd::smbdirect
