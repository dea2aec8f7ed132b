// Per-thread file-system identity (vfs/identity.h): a thread acting as a Unix account creates
// files owned by it and is refused what the account may not open, while other threads keep
// their own identity; nullptr and IdentityScope restore the server's account. Needs root (the
// suite runs as root in CI); skipped otherwise.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/thread_credentials.h"
#include "base/unix_account.h"
#include "vfs/identity.h"

namespace sd::vfs {
namespace {

namespace fs = std::filesystem;

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!identitySwitching()) GTEST_SKIP() << "not root: identities cannot be switched";
    char tmpl[] = "/tmp/sdident.XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 01777);
    std::ofstream(dir_ + "/secret") << "root only";
    chmod((dir_ + "/secret").c_str(), 0600);
    auto n = lookupUnixAccount("nobody");
    auto d = lookupUnixAccount("daemon");
    ASSERT_TRUE(n && d) << "the system has no nobody/daemon accounts";
    nobody_ = std::make_shared<const UnixIdentity>(*n);
    daemon_ = std::make_shared<const UnixIdentity>(*d);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Creates `name` in the directory and returns its owner (or -1 with errno).
  long createOwner(const std::string& name) {
    int fd = open((dir_ + "/" + name).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    struct stat st;
    fstat(fd, &st);
    close(fd);
    return long(st.st_uid);
  }
  bool canReadSecret() {
    int fd = open((dir_ + "/secret").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    close(fd);
    return true;
  }
  std::string dir_;
  std::shared_ptr<const UnixIdentity> nobody_, daemon_;
};

TEST_F(IdentityTest, ThreadActsAsTheAccountAndBack) {
  std::thread t([&] {
    ASSERT_TRUE(actAs(nobody_));
    EXPECT_EQ(createOwner("n"), long(nobody_->uid));
    EXPECT_FALSE(canReadSecret());
    EXPECT_EQ(errno, EACCES);
    ASSERT_TRUE(actAs(nullptr));
    EXPECT_TRUE(canReadSecret());
    EXPECT_EQ(createOwner("r"), 0);
  });
  t.join();
  // The main thread never switched.
  EXPECT_TRUE(canReadSecret());
  EXPECT_EQ(createOwner("m"), 0);
  EXPECT_FALSE(threadCredentialsChanged());
}

// A thread that switched is marked for good, also once it acts as the server again: the kernel
// refuses it RDMA commands from then on (base/thread_credentials.h), and the verbs provider
// sends them to a thread of its own. A thread that never switched is not marked.
TEST_F(IdentityTest, ASwitchedThreadStaysMarked) {
  bool before = true, during = false, after = false;
  std::thread t([&] {
    before = threadCredentialsChanged();
    ASSERT_TRUE(actAs(nobody_));
    during = threadCredentialsChanged();
    ASSERT_TRUE(actAs(nullptr));
    after = threadCredentialsChanged();
  });
  t.join();
  EXPECT_FALSE(before);
  EXPECT_TRUE(during);
  EXPECT_TRUE(after);
  bool other = true;
  std::thread u([&] { other = threadCredentialsChanged(); });
  u.join();
  EXPECT_FALSE(other);
}

TEST_F(IdentityTest, ScopeRestoresThePreviousIdentity) {
  std::thread t([&] {
    ASSERT_TRUE(actAs(daemon_));
    {
      IdentityScope s(nobody_);
      ASSERT_TRUE(s.status());
      EXPECT_EQ(createOwner("inner"), long(nobody_->uid));
    }
    EXPECT_EQ(currentIdentity(), daemon_);
    EXPECT_EQ(createOwner("outer"), long(daemon_->uid));
    (void)actAs(nullptr);
  });
  t.join();
}

// Two threads switching back and forth never see each other's identity.
TEST_F(IdentityTest, ConcurrentThreadsKeepTheirOwnIdentity) {
  std::atomic<int> wrong{0};
  auto worker = [&](std::shared_ptr<const UnixIdentity> me, std::string tag) {
    for (int i = 0; i < 300; i++) {
      if (!actAs(i % 2 ? me : nullptr)) wrong++;
      long want = i % 2 ? long(me->uid) : 0;
      if (createOwner(tag + std::to_string(i)) != want) wrong++;
      if (canReadSecret() != (i % 2 == 0)) wrong++;
    }
    (void)actAs(nullptr);
  };
  std::thread a(worker, nobody_, "a"), b(worker, daemon_, "b");
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(UnixAccount, LookupsAndGroups) {
  auto root = lookupUnixAccount("root");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_TRUE(root->inGroup(0));
  EXPECT_EQ(lookupUnixAccount("no-such-account-sd").status(), NtStatus::kNoSuchUser);
  auto g = lookupUnixGroup("root");
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, 0u);
  EXPECT_TRUE(unixAccountInGroup("root", "root"));
  EXPECT_FALSE(unixAccountInGroup("nobody", "root"));
  EXPECT_FALSE(lookupUnixGroup("no-such-group-sd"));
}

}  // namespace
}  // namespace sd::vfs
