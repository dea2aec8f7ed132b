// Change notification without a connection: the inotify -> FILE_ACTION mapping, the per-open
// buffer (coalescing, overflow, OutputBufferLength), and ChangeWatcher against a scratch
// directory changed directly on disk (creations, renames within and across directories, a
// WATCH_TREE that follows new and moved directories, vetoed names, directories the watch's
// account may not list, the server's own bookkeeping kept quiet).
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "server/change_watcher.h"
#include "server/notify_buffer.h"

namespace sd::server {
namespace {

using namespace sd::fscc;
namespace fs = std::filesystem;

TEST(NotifyMapping, InotifyEventsAsActionsAndFilters) {
  EXPECT_EQ(changeOfInotify(IN_CREATE).action, kFileActionAdded);
  EXPECT_EQ(changeOfInotify(IN_CREATE).filter, kNotifyChangeFileName);
  EXPECT_EQ(changeOfInotify(IN_CREATE | IN_ISDIR).filter, kNotifyChangeDirName);
  EXPECT_EQ(changeOfInotify(IN_DELETE | IN_ISDIR).action, kFileActionRemoved);
  EXPECT_EQ(changeOfInotify(IN_MOVED_FROM).action, kFileActionRemoved);
  EXPECT_EQ(changeOfInotify(IN_MOVED_TO).action, kFileActionAdded);
  EXPECT_EQ(changeOfInotify(IN_MODIFY).action, kFileActionModified);
  EXPECT_EQ(changeOfInotify(IN_MODIFY).filter, kNotifyChangeSize | kNotifyChangeLastWrite);
  auto attrib = changeOfInotify(IN_ATTRIB);
  EXPECT_EQ(attrib.action, kFileActionModified);
  EXPECT_TRUE(attrib.filter & kNotifyChangeAttributes);
  EXPECT_TRUE(attrib.filter & kNotifyChangeSecurity);
  EXPECT_TRUE(attrib.filter & kNotifyChangeEa);
  EXPECT_FALSE(attrib.filter & kNotifyChangeFileName);
  // Opening and closing say nothing: an SMB CREATE that only opens a file changes nothing.
  EXPECT_EQ(changeOfInotify(IN_CLOSE_WRITE).action, 0u);
  EXPECT_EQ(changeOfInotify(IN_OPEN).action, 0u);
  EXPECT_EQ(changeOfInotify(IN_ACCESS).action, 0u);
  EXPECT_EQ(renameActions(true).from, kFileActionRenamedOldName);
  EXPECT_EQ(renameActions(true).to, kFileActionRenamedNewName);
  EXPECT_EQ(renameActions(false).from, kFileActionRemoved);
  EXPECT_EQ(renameActions(false).to, kFileActionAdded);
}

std::vector<NotifyEntry> decode(const Bytes& b) {
  auto r = decodeNotifyInformation(b);
  EXPECT_TRUE(r);
  return r ? *r : std::vector<NotifyEntry>{};
}

TEST(NotifyBuffer, CoalescesRepeatsAndAnswersWhatFits) {
  NotifyBuffer b(4096);
  EXPECT_TRUE(b.empty());
  b.add({{kFileActionModified, "f"}});
  b.add({{kFileActionModified, "f"}});  // a second write to the same file
  b.add({{kFileActionRenamedOldName, "f"}, {kFileActionRenamedNewName, "g"}});
  EXPECT_FALSE(b.empty());
  auto t = b.take(4096);
  EXPECT_EQ(t.status, NtStatus::kSuccess);
  auto e = decode(t.data);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], (NotifyEntry{kFileActionModified, "f"}));
  EXPECT_EQ(e[2], (NotifyEntry{kFileActionRenamedNewName, "g"}));
  EXPECT_TRUE(b.empty());
  // A request too small for what is buffered: enumerate the directory (and the buffer empties).
  b.add({{kFileActionAdded, "abcdef"}});
  t = b.take(10);
  EXPECT_EQ(t.status, NtStatus::kNotifyEnumDir);
  EXPECT_TRUE(t.data.empty());
  EXPECT_TRUE(b.empty());
  b.add({{kFileActionAdded, "x"}});
  EXPECT_EQ(b.take(0).status, NtStatus::kNotifyEnumDir);
}

TEST(NotifyBuffer, OverflowDropsEverythingUntilTaken) {
  NotifyBuffer b(100);
  for (int i = 0; i < 20; i++) b.add({{kFileActionAdded, "file" + std::to_string(i)}});
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.bytes(), 0u);  // nothing kept once over
  auto t = b.take(1 << 20);
  EXPECT_EQ(t.status, NtStatus::kNotifyEnumDir);
  EXPECT_TRUE(b.empty());
  b.add({{kFileActionAdded, "again"}});
  EXPECT_EQ(b.take(1 << 20).status, NtStatus::kSuccess);
  NotifyBuffer none(0);  // a first request of 0 bytes: every change overflows
  none.add({{kFileActionAdded, "a"}});
  EXPECT_EQ(none.take(1 << 20).status, NtStatus::kNotifyEnumDir);
}

class Watcher : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sdnotify.XXXXXX";
    dir_ = mkdtemp(tmpl);
    fd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    ::close(fd_);
    fs::remove_all(dir_);
  }
  std::shared_ptr<NotifyWatch> watch(bool recursive, uint32_t filter = kNotifyChangeAll, uint32_t len = 65536) {
    return std::make_shared<NotifyWatch>(
        filter, recursive, len, 65536,
        [this](int dfd, const std::string& name) {
          if (hidden_.count(name)) return -1;
          return openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        },
        [](std::string_view n) { return n == "vetoed"; });
  }
  // What the watch has buffered (after reading the queue).
  std::vector<NotifyEntry> take(NotifyWatch& w) {
    cw_.sync();
    auto t = w.takeOrWait(1, 65536, [](NtStatus st, ByteView) {
      if (st != NtStatus::kCancelled) ADD_FAILURE() << "a change after the sync";
    });
    if (!t) {
      w.cancel(1, NtStatus::kCancelled);
      return {};
    }
    EXPECT_EQ(t->status, NtStatus::kSuccess);
    return decode(t->data);
  }
  void touch(const std::string& rel) { std::ofstream(dir_ + "/" + rel) << ""; }
  std::string dir_;
  int fd_ = -1;
  std::set<std::string> hidden_;
  ChangeWatcher cw_;
};

TEST_F(Watcher, DirectChangesRenamesAndTheTree) {
  auto flat = watch(false);
  auto tree = watch(true);
  ASSERT_TRUE(cw_.subscribe(flat, fd_));
  ASSERT_TRUE(cw_.subscribe(tree, fd_));
  EXPECT_EQ(cw_.watchCount(), 1u);
  touch("a");
  fs::create_directory(dir_ + "/sub");
  cw_.sync();  // as an SMB CREATE of a directory does: its watch exists before the client goes on
  touch("sub/x");
  fs::rename(dir_ + "/a", dir_ + "/b");
  fs::rename(dir_ + "/b", dir_ + "/sub/b");
  std::vector<NotifyEntry> want_tree = {{kFileActionAdded, "a"},
                                        {kFileActionAdded, "sub"},
                                        {kFileActionAdded, "sub/x"},
                                        {kFileActionRenamedOldName, "a"},
                                        {kFileActionRenamedNewName, "b"},
                                        {kFileActionRemoved, "b"},
                                        {kFileActionAdded, "sub/b"}};
  auto got = take(*tree);
  // (names come back with '\')
  for (auto& e : want_tree)
    for (auto& c : e.name)
      if (c == '/') c = '\\';
  EXPECT_EQ(got, want_tree);
  std::vector<NotifyEntry> want_flat = {{kFileActionAdded, "a"},
                                        {kFileActionAdded, "sub"},
                                        {kFileActionRenamedOldName, "a"},
                                        {kFileActionRenamedNewName, "b"},
                                        {kFileActionRemoved, "b"}};
  EXPECT_EQ(take(*flat), want_flat);
  // A watched subdirectory renamed: the tree follows it under its new name.
  fs::rename(dir_ + "/sub", dir_ + "/sub2");
  cw_.sync();
  touch("sub2/y");
  got = take(*tree);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (NotifyEntry{kFileActionRenamedOldName, "sub"}));
  EXPECT_EQ(got[1], (NotifyEntry{kFileActionRenamedNewName, "sub2"}));
  EXPECT_EQ(got[2], (NotifyEntry{kFileActionAdded, "sub2\\y"}));
  // Vetoed names stay hidden, as components of a path too.
  touch("vetoed");
  fs::create_directory(dir_ + "/sub2/vetoed");
  EXPECT_TRUE(take(*tree).empty());
  take(*flat);
  cw_.unsubscribe(flat);
  cw_.unsubscribe(tree);
  EXPECT_EQ(cw_.watchCount(), 0u);
  EXPECT_FALSE(cw_.active());
}

TEST_F(Watcher, NewTreesMadeFasterThanTheWatchAreReportedOnce) {
  auto tree = watch(true);
  ASSERT_TRUE(cw_.subscribe(tree, fd_));
  // No sync between the levels: n2 and n3 exist before n1's watch does.
  fs::create_directories(dir_ + "/n1/n2/n3");
  touch("n1/n2/n3/f");
  touch("n1/g");
  auto got = take(*tree);
  std::multiset<std::string> names;
  for (const auto& e : got) {
    EXPECT_EQ(e.action, kFileActionAdded) << e.name;
    names.insert(e.name);
  }
  EXPECT_EQ(names, (std::multiset<std::string>{"n1", "n1\\n2", "n1\\n2\\n3", "n1\\n2\\n3\\f", "n1\\g"}));
  // ... and watched from then on.
  touch("n1/n2/n3/h");
  got = take(*tree);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "n1\\n2\\n3\\h");
  cw_.unsubscribe(tree);
}

TEST_F(Watcher, OnlyDirectoriesTheAccountMayListAreEntered) {
  fs::create_directory(dir_ + "/secret");
  fs::create_directory(dir_ + "/open");
  hidden_ = {"secret"};
  auto tree = watch(true);
  ASSERT_TRUE(cw_.subscribe(tree, fd_));
  touch("secret/inside");
  touch("open/inside");
  fs::create_directory(dir_ + "/secret/deeper");
  auto got = take(*tree);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "open\\inside");
  // Its own name is in a directory the account lists: that it changed is not hidden.
  chmod((dir_ + "/secret").c_str(), 0700);
  got = take(*tree);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (NotifyEntry{kFileActionModified, "secret"}));
  cw_.unsubscribe(tree);
}

TEST_F(Watcher, QuietBookkeepingAndFilters) {
  auto names = watch(false, kNotifyChangeFileName);
  auto attrs = watch(false, kNotifyChangeAttributes);
  ASSERT_TRUE(cw_.subscribe(names, fd_));
  ASSERT_TRUE(cw_.subscribe(attrs, fd_));
  struct stat st;
  ASSERT_EQ(fstat(fd_, &st), 0);
  uint64_t dev = (uint64_t(major(st.st_dev)) << 32) | minor(st.st_dev);
  {
    // What CREATE does: the new file, then our xattrs and mode on it.
    auto q = cw_.quiet(dev, st.st_ino, "new");
    int f = openat(fd_, "new", O_RDWR | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(f, 0);
    ASSERT_EQ(fsetxattr(f, "user.smbdirect.dosattrib", "0123456789ab", 12, 0), 0);
    fchmod(f, 0600);
    ::close(f);
  }
  EXPECT_EQ(take(*names), (std::vector<NotifyEntry>{{kFileActionAdded, "new"}}));
  EXPECT_TRUE(take(*attrs).empty());
  // Once the creation is over, an attribute change is one.
  chmod((dir_ + "/new").c_str(), 0644);
  EXPECT_TRUE(take(*names).empty());
  EXPECT_EQ(take(*attrs), (std::vector<NotifyEntry>{{kFileActionModified, "new"}}));
  // post(): a change inotify does not show, after those queued before it.
  unlink((dir_ + "/new").c_str());
  cw_.post(dev, st.st_ino, "new", kFileActionModified, kNotifyChangeAttributes);
  EXPECT_EQ(take(*names), (std::vector<NotifyEntry>{{kFileActionRemoved, "new"}}));
  EXPECT_EQ(take(*attrs), (std::vector<NotifyEntry>{{kFileActionModified, "new"}}));
  cw_.unsubscribe(names);
  cw_.unsubscribe(attrs);
}

TEST_F(Watcher, AWaitingRequestCompletesWithTheFirstChange) {
  auto w = watch(false);
  ASSERT_TRUE(cw_.subscribe(w, fd_));
  // Completions run on whichever thread delivers (the watcher's own, or this one in sync()).
  std::mutex mu;
  std::vector<std::pair<NtStatus, std::vector<NotifyEntry>>> done;
  auto complete = [&](NtStatus st, ByteView rec) {
    auto e = st == NtStatus::kSuccess ? decode(Bytes(rec.begin(), rec.end())) : std::vector<NotifyEntry>{};
    std::lock_guard<std::mutex> lk(mu);
    done.emplace_back(st, std::move(e));
  };
  auto completed = [&](size_t n) {
    for (int i = 0; i < 500; i++) {
      {
        std::lock_guard<std::mutex> lk(mu);
        if (done.size() >= n) return std::vector<std::pair<NtStatus, std::vector<NotifyEntry>>>(done);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::lock_guard<std::mutex> lk(mu);
    return done;
  };
  EXPECT_FALSE(w->takeOrWait(7, 4096, complete));
  EXPECT_FALSE(w->takeOrWait(8, 4096, complete));
  EXPECT_EQ(w->waiting(), 2u);
  touch("one");
  touch("two");
  touch("three");
  cw_.sync();
  // Each waiting request took one change; the third waits for the next request.
  auto d = completed(2);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].second, (std::vector<NotifyEntry>{{kFileActionAdded, "one"}}));
  EXPECT_EQ(d[1].second, (std::vector<NotifyEntry>{{kFileActionAdded, "two"}}));
  auto now = w->takeOrWait(9, 4096, complete);
  ASSERT_TRUE(now);
  EXPECT_EQ(decode(now->data), (std::vector<NotifyEntry>{{kFileActionAdded, "three"}}));
  EXPECT_FALSE(w->takeOrWait(10, 4096, complete));
  EXPECT_FALSE(w->cancel(11, NtStatus::kCancelled));  // not one of its requests
  EXPECT_TRUE(w->cancel(10, NtStatus::kCancelled));
  EXPECT_EQ(completed(3).back().first, NtStatus::kCancelled);
  EXPECT_FALSE(w->takeOrWait(12, 4096, complete));
  cw_.unsubscribe(w);
  w->end(NtStatus::kNotifyCleanup);
  EXPECT_EQ(completed(4).back().first, NtStatus::kNotifyCleanup);
  EXPECT_EQ(w->waiting(), 0u);
}

TEST_F(Watcher, TheWatchLimitOverflowsATree) {
  for (int i = 0; i < 4; i++) fs::create_directory(dir_ + "/d" + std::to_string(i));
  ChangeWatcher small(3);
  auto tree = watch(true);
  ASSERT_TRUE(small.subscribe(tree, fd_));
  EXPECT_EQ(small.watchCount(), 3u);
  auto t = tree->takeOrWait(1, 65536, [](NtStatus, ByteView) {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, NtStatus::kNotifyEnumDir);
  small.unsubscribe(tree);
  EXPECT_EQ(small.watchCount(), 0u);
}

}  // namespace
}  // namespace sd::server
