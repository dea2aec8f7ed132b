// The mount's state without a kernel or a server: the inode table, the lease cache (grants,
// breaks, kept handles) and what a change notification invalidates.
#include <gtest/gtest.h>

#include "fuse/byte_locks.h"
#include "fuse/change_watch.h"
#include "fuse/inode_table.h"
#include "fuse/lease_cache.h"
#include "smb2/constants.h"

namespace sd::fuse {
namespace {

TEST(InodeTable, NumbersArePerPathAndStable) {
  InodeTable t;
  EXPECT_EQ(t.pathOf(kRootIno), "");
  Ino a = t.inoFor("a"), ab = t.inoFor("a/b");
  EXPECT_NE(a, ab);
  EXPECT_NE(a, kRootIno);
  EXPECT_EQ(t.inoFor("a"), a);
  EXPECT_EQ(t.child(a, "b"), "a/b");
  EXPECT_EQ(t.child(kRootIno, "x"), "x");
  EXPECT_FALSE(t.child(999, "x"));
  EXPECT_FALSE(t.knownIno("zz"));
}

TEST(InodeTable, RenameMovesTheTreeAndNotItsNeighbours) {
  InodeTable t;
  Ino d = t.inoFor("d"), f = t.inoFor("d/f"), deep = t.inoFor("d/s/g"), other = t.inoFor("dx/f");
  Ino target = t.inoFor("e");
  t.rename("d", "e");
  EXPECT_EQ(t.pathOf(d), "e");
  EXPECT_EQ(t.pathOf(f), "e/f");
  EXPECT_EQ(t.pathOf(deep), "e/s/g");
  EXPECT_EQ(t.pathOf(other), "dx/f");  // "dx" is not below "d"
  EXPECT_FALSE(t.pathOf(target));      // replaced
  EXPECT_FALSE(t.knownIno("d/f"));
  auto below = t.knownInosFrom("e");
  EXPECT_EQ(below.size(), 3u);
}

TEST(InodeTable, SplitParent) {
  EXPECT_EQ(splitParent("a/b/c"), std::make_pair(std::string("a/b"), std::string("c")));
  EXPECT_EQ(splitParent("c"), std::make_pair(std::string(), std::string("c")));
}

constexpr uint32_t kRWH = smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle;
const smb2::FileId kId1{1, 1}, kId2{2, 2};

TEST(LeaseCache, OneKeyPerInodeAndCoverageNeedsAnOpenHandle) {
  LeaseCache c;
  auto t1 = c.prepareOpen(5);
  EXPECT_FALSE(t1.covered);  // nothing held yet
  EXPECT_EQ(c.opened(5, kRWH, 1), kRWH);
  auto t2 = c.prepareOpen(5);
  EXPECT_EQ(t1.key, t2.key);
  EXPECT_TRUE(t2.covered);
  EXPECT_NE(c.prepareOpen(6).key, t1.key);
  c.handleClosed(5);  // t2's CREATE failed: one handle left
  c.handleClosed(5);  // the last one: the server dropped the lease
  EXPECT_FALSE(c.prepareOpen(5).covered);
  EXPECT_EQ(c.counts().held, 0u);
}

TEST(LeaseCache, KeptHandlesAreReusedUntilTheirTime) {
  LeaseCache c(std::chrono::seconds(5));
  auto now = LeaseCache::Clock::now();
  c.prepareOpen(5);
  c.opened(5, kRWH, 1);
  ASSERT_TRUE(c.defer(5, kId1, smb2::kFileReadData, now));
  bool covered = false;
  EXPECT_FALSE(c.takeDeferred(5, smb2::kFileWriteData, &covered));  // not enough access
  auto id = c.takeDeferred(5, smb2::kFileReadData, &covered);
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, kId1);
  EXPECT_TRUE(covered);
  EXPECT_EQ(c.counts().reused, 1u);
  ASSERT_TRUE(c.defer(5, kId1, smb2::kFileReadData, now));
  auto next = now + std::chrono::hours(1);
  EXPECT_TRUE(c.takeExpired(now + std::chrono::seconds(4), &next).empty());
  EXPECT_EQ(next, now + std::chrono::seconds(5));
  auto gone = c.takeExpired(now + std::chrono::seconds(5), &next);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].second, kId1);
}

TEST(LeaseCache, NoKeptHandleWithoutHandleCachingOrCloseTimeout) {
  LeaseCache c;
  c.prepareOpen(5);
  c.opened(5, smb2::kLeaseRead, 1);
  EXPECT_FALSE(c.defer(5, kId1, 0, LeaseCache::Clock::now()));
  LeaseCache zero(std::chrono::seconds(0));
  zero.prepareOpen(5);
  zero.opened(5, kRWH, 1);
  EXPECT_FALSE(zero.defer(5, kId1, 0, LeaseCache::Clock::now()));
}

TEST(LeaseCache, BreakClosesKeptHandlesAndDropsPagesOnlyWhenReadGoes) {
  LeaseCache c;
  auto key = c.prepareOpen(5).key;
  c.opened(5, kRWH, 1);
  c.prepareOpen(5);
  c.opened(5, kRWH, 1);
  ASSERT_TRUE(c.defer(5, kId1, 0, LeaseCache::Clock::now()));
  auto e = c.applyBreak(key, smb2::kLeaseRead | smb2::kLeaseHandle, 2);
  ASSERT_TRUE(e.ino);
  EXPECT_EQ(*e.ino, 5u);
  EXPECT_FALSE(e.drop_cache);
  ASSERT_EQ(e.to_close.size(), 1u);
  EXPECT_EQ(e.to_close[0], kId1);
  e = c.applyBreak(key, 0, 3);
  EXPECT_TRUE(e.drop_cache);
  EXPECT_TRUE(c.hasHandles(5));
  // A grant answered after the break (older epoch) does not bring back what the break took.
  EXPECT_EQ(c.opened(5, kRWH, 2), 0u);
  smb2::LeaseKey stranger{};
  stranger[0] = 0xEE;
  EXPECT_FALSE(c.applyBreak(stranger, 0, 1).ino);
}

TEST(LeaseCache, ForgetAllAfterReconnect) {
  LeaseCache c;
  c.prepareOpen(5);
  c.opened(5, kRWH, 1);
  c.prepareOpen(7);
  auto inos = c.forgetAll();
  EXPECT_EQ(inos.size(), 2u);
  EXPECT_FALSE(c.hasHandles(5));
  EXPECT_EQ(c.counts().held, 0u);
}

TEST(ChangeWatch, InvalidationOfEachAction) {
  // An added name had no dentry (no negative entries are cached): its directory's attributes go.
  auto inv = ChangeWatch::invalidationFor({fscc::kFileActionAdded, "dir\\sub\\new.txt"});
  EXPECT_TRUE(inv.entries.empty());
  EXPECT_EQ(inv.attributes, (std::vector<std::string>{"dir/sub/new.txt", "dir/sub"}));
  inv = ChangeWatch::invalidationFor({fscc::kFileActionRemoved, "dir\\sub\\gone.txt"});
  ASSERT_EQ(inv.entries.size(), 1u);
  EXPECT_EQ(inv.entries[0], std::make_pair(std::string("dir/sub"), std::string("gone.txt")));
  inv = ChangeWatch::invalidationFor({fscc::kFileActionRenamedNewName, "over"});
  ASSERT_EQ(inv.entries.size(), 1u);
  inv = ChangeWatch::invalidationFor({fscc::kFileActionRenamedOldName, "old"});
  ASSERT_EQ(inv.entries.size(), 1u);
  EXPECT_EQ(inv.entries[0], std::make_pair(std::string(), std::string("old")));
  // A write changes attributes, not the name: the entry stays.
  inv = ChangeWatch::invalidationFor({fscc::kFileActionModified, "f"});
  EXPECT_TRUE(inv.entries.empty());
  EXPECT_EQ(inv.attributes, (std::vector<std::string>{"f", ""}));
  EXPECT_TRUE(ChangeWatch::invalidationFor({fscc::kFileActionRemoved, "\\"}).entries.empty());
}

// POSIX record locks over SMB locks: an unlock in the middle of a held range removes the
// whole SMB lock and keeps its two ends; other owners and handles are untouched.
TEST(ByteLocks, UnlockInTheMiddleSplitsAndOthersStay) {
  ByteLocks b;
  b.add(1, {7, 0, 100, true});
  b.add(1, {8, 0, 100, false});   // another owner on the same handle
  b.add(2, {7, 0, 100, true});    // the same owner on another handle
  b.add(1, {7, 200, 300, false});
  auto c = b.cut(1, 7, 40, 60);
  ASSERT_EQ(c.removed.size(), 1u);
  EXPECT_EQ(c.removed[0].start, 0u);
  EXPECT_EQ(c.removed[0].end, 100u);
  ASSERT_EQ(c.kept.size(), 2u);
  EXPECT_EQ(c.kept[0].start, 0u);
  EXPECT_EQ(c.kept[0].end, 40u);
  EXPECT_EQ(c.kept[1].start, 60u);
  EXPECT_EQ(c.kept[1].end, 100u);
  EXPECT_TRUE(c.kept[1].exclusive);
  EXPECT_FALSE(b.holds(1, 7, 0, 100));  // the cut lock is out until its pieces are added back
  EXPECT_TRUE(b.holds(1, 7, 250, 251));
  EXPECT_TRUE(b.holds(1, 8, 50, 51));
  EXPECT_TRUE(b.holds(2, 7, 50, 51));
  EXPECT_EQ(b.count(), 3u);
  // A range that touches nothing of the owner cuts nothing; [s, e) is half-open.
  EXPECT_TRUE(b.cut(1, 7, 300, 400).removed.empty());
  EXPECT_EQ(b.cut(1, 7, 0, UINT64_MAX).removed.size(), 1u);
  EXPECT_EQ(b.of(1).size(), 1u);
  b.forget(1);
  EXPECT_TRUE(b.of(1).empty());
  EXPECT_EQ(b.count(), 1u);
}

}  // namespace
}  // namespace sd::fuse
