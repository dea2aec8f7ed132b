// LockTable (server/lock_table.h): Windows byte-range lock semantics that smbtorture's
// smb2.lock.zerobytelength / unlock / multiple-unlock check, without a connection.
#include "server/lock_table.h"

#include <gtest/gtest.h>

namespace sd::server {
namespace {

ByteRange range(uint64_t open, uint64_t off, uint64_t len, bool excl = true) {
  return ByteRange{1, open, off, len, excl};
}

// MS-FSA 2.1.5.7: a zero-length lock at 10 conflicts only with ranges holding 10 past their
// first byte; the table is smbtorture's zero_byte_tests, both orders, same and other open.
TEST(LockTable, ZeroLengthLocks) {
  struct Case {
    uint64_t off1, len1, off2, len2;
    bool granted;
  } cases[] = {{10, 0, 10, 0, true}, {10, 0, 9, 1, true},  {10, 0, 10, 1, true},
               {10, 0, 11, 1, true}, {10, 0, 9, 2, false}, {10, 0, 10, 2, true},
               {10, 0, 9, 3, false}, {0, 0, 0, 0, true}};
  for (const auto& c : cases) {
    for (bool swap : {false, true}) {
      for (uint64_t second_open : {1u, 2u}) {
        SCOPED_TRACE(testing::Message() << c.off1 << "," << c.len1 << " " << c.off2 << "," << c.len2
                                        << " swap " << swap << " open " << second_open);
        LockTable t;
        auto a = swap ? range(1, c.off2, c.len2) : range(1, c.off1, c.len1);
        auto b = swap ? range(second_open, c.off1, c.len1) : range(second_open, c.off2, c.len2);
        ASSERT_TRUE(t.lock(a));
        auto st = t.lock(b);
        EXPECT_EQ(bool(st), c.granted);
        if (!st) {
          EXPECT_EQ(st.status(), NtStatus::kLockNotGranted);
        } else {
          EXPECT_TRUE(t.unlock(b));
        }
        EXPECT_TRUE(t.unlock(a));
      }
    }
  }
  // Zero-length locks never block I/O.
  LockTable t;
  ASSERT_TRUE(t.lock(range(1, 10, 0)));
  EXPECT_TRUE(t.ioAllowed(1, 2, 5, 10, true));
}

// Stacked exclusive + shared on one range: an unlock removes the exclusive one first, so the
// shared one still keeps other opens' exclusive locks out, and lets their shared ones in.
TEST(LockTable, UnlockTakesTheExclusiveFirst) {
  for (uint64_t len : {0u, 10u}) {
    LockTable t;
    ASSERT_TRUE(t.lock(range(1, 10, len, true)));
    ASSERT_TRUE(t.lock(range(1, 10, len, false)));
    EXPECT_FALSE(t.lock(range(2, 5, 10, true)));
    EXPECT_FALSE(t.lock(range(2, 5, 10, false)));
    ASSERT_TRUE(t.unlock(range(1, 10, len, true)));
    EXPECT_TRUE(t.lock(range(2, 5, 10, false)));
    EXPECT_TRUE(t.unlock(range(2, 5, 10, true)));
    EXPECT_FALSE(t.lock(range(2, 5, 10, true)));
    ASSERT_TRUE(t.unlock(range(1, 10, len, true)));
    EXPECT_EQ(t.unlock(range(1, 10, len, true)).status(), NtStatus::kRangeNotLocked);
    EXPECT_TRUE(t.lock(range(2, 5, 10, true)));
  }
}

}  // namespace
}  // namespace sd::server
