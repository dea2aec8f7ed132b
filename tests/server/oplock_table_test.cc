// server::OplockTable: which level a new open gets, what a second open breaks (and whether it
// waits), acknowledgments right and wrong, and the ways a waiting open resumes (acknowledgment,
// close, timeout).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "server/oplock_table.h"
#include "smb2/constants.h"

namespace sd::server {
namespace {

using Kind = OplockTable::OpenKind;
constexpr uint8_t kNone = smb2::kOplockLevelNone, kII = smb2::kOplockLevelII,
                  kExcl = smb2::kOplockLevelExclusive, kBatch = smb2::kOplockLevelBatch;

// Records the breaks each open is sent.
struct Breaks {
  std::vector<std::pair<uint64_t, uint8_t>> got;
  OplockTable::Notify to(uint64_t open) {
    return [this, open](uint8_t level) { got.emplace_back(open, level); };
  }
};

TEST(OplockTable, GrantsBatchToTheOnlyOpenAndLevelIIBeside) {
  OplockTable t;
  Breaks b;
  EXPECT_EQ(t.grant(1, 10, kBatch, true, b.to(10)), kBatch);
  // A second open of the file after the break: level II at most.
  EXPECT_EQ(t.grant(2, 20, kExcl, true, b.to(20)), kExcl);
  EXPECT_EQ(t.grant(3, 30, kBatch, false, b.to(30)), kII);
  EXPECT_EQ(t.grant(3, 31, kII, false, b.to(31)), kII);
  EXPECT_EQ(t.grant(3, 32, kNone, false, b.to(32)), kNone);
  EXPECT_EQ(t.grant(3, 33, smb2::kOplockLevelLease, false, b.to(33)), kNone);
  // While file 1's batch holder is there, nobody else gets anything.
  EXPECT_EQ(t.grant(1, 11, kII, false, b.to(11)), kNone);
  EXPECT_TRUE(b.got.empty());
}

TEST(OplockTable, SecondOpenBreaksBatchToLevelIIAndWaitsForTheAck) {
  OplockTable t;
  Breaks b;
  ASSERT_EQ(t.grant(1, 10, kBatch, true, b.to(10)), kBatch);
  int resumed = 0;
  EXPECT_TRUE(t.breakForOpen(1, Kind::kOpen, [&] { resumed++; }));
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0], std::make_pair(uint64_t(10), kII));
  // Another open meanwhile waits too, and sends no second break.
  EXPECT_TRUE(t.breakForOpen(1, Kind::kOpen, [&] { resumed++; }));
  EXPECT_EQ(b.got.size(), 1u);
  EXPECT_EQ(resumed, 0);
  // The holder keeps level II: both waiters resume.
  auto a = t.acknowledge(10, kII);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, kII);
  EXPECT_EQ(resumed, 2);
  EXPECT_EQ(t.levelOf(10), kII);
  // Level II holders do not hold up a plain open.
  EXPECT_FALSE(t.breakForOpen(1, Kind::kOpen, [&] { resumed++; }));
  EXPECT_EQ(b.got.size(), 1u);
}

TEST(OplockTable, OverwriteBreaksEveryoneToNone) {
  OplockTable t;
  Breaks b;
  ASSERT_EQ(t.grant(1, 10, kII, false, b.to(10)), kII);
  ASSERT_EQ(t.grant(1, 11, kII, false, b.to(11)), kII);
  EXPECT_FALSE(t.breakForOpen(1, Kind::kOverwrite, nullptr));  // no acknowledgment for level II
  EXPECT_EQ(b.got.size(), 2u);
  EXPECT_EQ(t.levelOf(10), kNone);
  EXPECT_EQ(t.levelOf(11), kNone);
  b.got.clear();
  ASSERT_EQ(t.grant(2, 20, kExcl, true, b.to(20)), kExcl);
  EXPECT_TRUE(t.breakForOpen(2, Kind::kOverwrite, [] {}));
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0].second, kNone);
  // The holder may not keep level II when the break said none.
  auto a = t.acknowledge(20, kII);
  EXPECT_EQ(a.status(), NtStatus::kInvalidOplockProtocol);
  EXPECT_EQ(t.levelOf(20), kNone);
}

TEST(OplockTable, SharingConflictBreaksOnlyBatch) {
  OplockTable t;
  Breaks b;
  ASSERT_EQ(t.grant(1, 10, kExcl, true, b.to(10)), kExcl);
  EXPECT_FALSE(t.breakForOpen(1, Kind::kSharingConflict, [] {}));  // SHARING_VIOLATION at once
  EXPECT_TRUE(b.got.empty());
  ASSERT_EQ(t.grant(2, 20, kBatch, true, b.to(20)), kBatch);
  EXPECT_TRUE(t.breakForOpen(2, Kind::kSharingConflict, [] {}));
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0], std::make_pair(uint64_t(20), kII));
}

TEST(OplockTable, LevelIIBreaksOnWriteWithoutAck) {
  OplockTable t;
  Breaks b;
  ASSERT_EQ(t.grant(1, 10, kII, false, b.to(10)), kII);
  ASSERT_EQ(t.grant(1, 11, kII, false, b.to(11)), kII);
  t.breakLevelII(1);  // the writer's own too
  EXPECT_EQ(b.got.size(), 2u);
  // Acknowledging a break that needed none, or an oplock never broken, is a protocol error.
  EXPECT_EQ(t.acknowledge(10, kNone).status(), NtStatus::kInvalidOplockProtocol);
  ASSERT_EQ(t.grant(2, 20, kBatch, true, b.to(20)), kBatch);
  EXPECT_EQ(t.acknowledge(20, kII).status(), NtStatus::kInvalidOplockProtocol);
  EXPECT_EQ(t.levelOf(20), kBatch);  // a stray acknowledgment changes nothing
  EXPECT_EQ(t.acknowledge(999, kNone).status(), NtStatus::kInvalidOplockProtocol);
}

TEST(OplockTable, CloseOfTheHolderResumesTheWaiters) {
  OplockTable t;
  Breaks b;
  ASSERT_EQ(t.grant(1, 10, kBatch, true, b.to(10)), kBatch);
  int resumed = 0;
  ASSERT_TRUE(t.breakForOpen(1, Kind::kOpen, [&] { resumed++; }));
  t.release(10);
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(t.levelOf(10), kNone);
  t.release(10);  // twice: nothing
  EXPECT_EQ(resumed, 1);
}

TEST(OplockTable, UnacknowledgedBreakCompletesAfterTheTimeout) {
  OplockTable t;
  t.setBreakTimeout(std::chrono::milliseconds(200));
  Breaks b;
  ASSERT_EQ(t.grant(1, 10, kBatch, true, b.to(10)), kBatch);
  std::atomic<int> resumed{0};
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(t.breakForOpen(1, Kind::kOpen, [&] { resumed++; }));
  for (int i = 0; i < 500 && resumed.load() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_GE(waited, std::chrono::milliseconds(190));
  EXPECT_EQ(t.levelOf(10), kII);  // as if acknowledged to the break's level
  // A late acknowledgment finds no break pending.
  EXPECT_EQ(t.acknowledge(10, kII).status(), NtStatus::kInvalidOplockProtocol);
}

}  // namespace
}  // namespace sd::server
