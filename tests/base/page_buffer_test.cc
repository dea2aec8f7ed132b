// PageBuffer: zero-filled below 1 MiB, 2 MiB aligned from 1 MiB on (so that huge pages can back it),
// large mappings recycled, movable.
#include "base/page_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sd {
namespace {

TEST(PageBuffer, SmallIsPageAlignedAndZero) {
  PageBuffer b(10000);
  ASSERT_EQ(b.size(), 10000u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u);
  EXPECT_TRUE(std::all_of(b.data(), b.data() + b.size(), [](uint8_t x) { return x == 0; }));
  b.data()[9999] = 7;  // the whole size is writable
}

TEST(PageBuffer, LargeIsHugePageAligned) {
  for (size_t size : {size_t(1) << 20, (size_t(2) << 20) + 5, size_t(255) * 8192}) {
    PageBuffer b(size);
    ASSERT_EQ(b.size(), size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t(2) << 20), 0u) << size;
    b.data()[0] = 1;
    b.data()[size - 1] = 2;
  }
}

TEST(PageBuffer, LargeMappingsAreRecycledBySize) {
  uint8_t* p;
  {
    PageBuffer a(size_t(3) << 20);
    p = a.data();
    a.data()[5] = 42;
  }
  PageBuffer other(size_t(1) << 20);  // another size: not that mapping
  EXPECT_NE(other.data(), p);
  PageBuffer b((size_t(4) << 20) - 1);  // the same 4 MiB mapping
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), (size_t(4) << 20) - 1);
  EXPECT_EQ(b.data()[5], 42);  // not cleared
  // The cache is bounded: 40 x 2 MiB given back at once keep 64 MiB, the rest is unmapped.
  std::vector<PageBuffer> many;
  for (int i = 0; i < 40; i++) many.emplace_back(size_t(1) << 20);
  many.clear();
  EXPECT_LE(PageBuffer::keptBytes(), size_t(64) << 20);
  EXPECT_GE(PageBuffer::keptBytes(), size_t(62) << 20);
}

TEST(PageBuffer, MovesAndEmpties) {
  PageBuffer a(4096);
  a.data()[1] = 9;
  uint8_t* p = a.data();
  PageBuffer b(std::move(a));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.data()[1], 9);
  PageBuffer c;
  EXPECT_TRUE(c.empty());
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  c = PageBuffer();
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace sd
