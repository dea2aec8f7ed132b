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

// Leases: what a key gets beside others (smbtorture smb2.lease.break's table), upgrades only to
// a superset granted whole, and acknowledgments right and wrong.
LeaseId lease(uint8_t k) {
  LeaseId id;
  id.key[0] = k;
  return id;
}
struct LeaseBreaks {
  std::vector<std::pair<uint32_t, uint32_t>> got;  // (current, next)
  std::vector<bool> ack;
  OplockTable::LeaseNotify sink() {
    return [this](uint32_t cur, uint32_t next, uint16_t, bool a) {
      got.emplace_back(cur, next);
      ack.push_back(a);
    };
  }
};
constexpr uint32_t R = smb2::kLeaseRead, H = smb2::kLeaseHandle, W = smb2::kLeaseWrite;

TEST(OplockTable, LeaseGrantsBesideOthersAndUpgrades) {
  OplockTable t;
  LeaseBreaks lb;
  auto g = t.grantLease(1, lease(1), R | H, false, 0, false, lb.sink());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->state, R | H);
  // A sidegrade (RH -> RW) leaves RH; a superset granted whole upgrades.
  g = t.grantLease(1, lease(1), R | W, false, 0, false, lb.sink());
  EXPECT_EQ(g->state, R | H);
  g = t.grantLease(1, lease(1), R | W | H, false, 0, false, lb.sink());
  EXPECT_EQ(g->state, R | W | H);
  // W and H without R are no lease state.
  g = t.grantLease(2, lease(2), W | H, false, 0, false, lb.sink());
  EXPECT_EQ(g->state, 0u);
  // Another key beside other opens: no W; the same key on another file: refused.
  g = t.grantLease(3, lease(3), R | W | H, false, 0, true, lb.sink());
  EXPECT_EQ(g->state, R | H);
  EXPECT_EQ(t.grantLease(4, lease(3), R, false, 0, false, lb.sink()).status(), NtStatus::kInvalidParameter);
  EXPECT_FALSE(t.checkLeaseKey(4, lease(3)));
  // v2: a new lease's epoch is the request's plus one.
  g = t.grantLease(5, lease(5), R, true, 41, false, lb.sink());
  EXPECT_EQ(g->epoch, 42);
  EXPECT_TRUE(lb.got.empty());
}

TEST(OplockTable, LeaseBreakOnOpenWaitsForItsAcknowledgment) {
  OplockTable t;
  LeaseBreaks lb;
  ASSERT_EQ(t.grantLease(1, lease(1), R | W | H, false, 0, false, lb.sink())->state, R | W | H);
  int resumed = 0;
  LeaseId other = lease(2);
  EXPECT_TRUE(t.breakForOpen(1, Kind::kOpen, [&] { resumed++; }, &other));
  ASSERT_EQ(lb.got.size(), 1u);
  EXPECT_EQ(lb.got[0], std::make_pair(R | W | H, R | H));
  EXPECT_TRUE(lb.ack[0]);
  // The owner's own opens neither break it again nor wait for it.
  LeaseId mine = lease(1);
  EXPECT_FALSE(t.breakForOpen(1, Kind::kOpen, nullptr, &mine));
  EXPECT_EQ(lb.got.size(), 1u);
  // Wrong acknowledgments: unknown key, more than the break leaves.
  EXPECT_EQ(t.acknowledgeLease(lease(9), R).status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(t.acknowledgeLease(lease(1), R | W).status(), NtStatus::kRequestNotAccepted);
  EXPECT_EQ(resumed, 0);
  auto a = t.acknowledgeLease(lease(1), R | H);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, R | H);
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(t.acknowledgeLease(lease(1), R).status(), NtStatus::kUnsuccessful);  // none pending
  // A write through another open breaks R (and H) without waiting.
  t.breakLevelII(1, &other);
  ASSERT_EQ(lb.got.size(), 2u);
  EXPECT_EQ(lb.got[1], std::make_pair(R | H, 0u));
  // The last open of the lease ends it.
  t.releaseLeaseOpen(lease(1));
  EXPECT_EQ(t.leaseState(lease(1)), 0u);
}

}  // namespace
}  // namespace sd::server
