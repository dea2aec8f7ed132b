// In-process tests of directory leases (server/directory_leases.h; the key scenarios of Samba
// master's smbtorture smb2.dirlease suite, which Debian 12's smbtorture lacks) and of a session
// re-authenticating as another user (server/smb2_session_setup.cc, becomeUser).
#include "inprocess_fixture.h"

#include "vfs/identity.h"

namespace sd {
namespace {

constexpr uint32_t kR = smb2::kLeaseRead, kRH = smb2::kLeaseRead | smb2::kLeaseHandle;
constexpr uint32_t kRWH = smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle;
constexpr uint32_t kRW = smb2::kFileReadData | smb2::kFileWriteData;

// The lease breaks a client receives, as its handler gets them (on the receiving thread).
class Breaks {
 public:
  void attach(client::SmbClient& c) {
    c.setLeaseBreakHandler([this](const client::SmbClient::LeaseBreak& b) {
      std::lock_guard<std::mutex> lk(mu_);
      got_.push_back(b);
      cv_.notify_all();
    });
  }
  // The next break, or nullopt after `ms` without one.
  std::optional<client::SmbClient::LeaseBreak> next(int ms = 5000) {
    std::unique_lock<std::mutex> lk(mu_);
    if (!cv_.wait_for(lk, std::chrono::milliseconds(ms), [&] { return !got_.empty(); })) return std::nullopt;
    auto b = got_.front();
    got_.erase(got_.begin());
    return b;
  }
  // None arrives within a moment (breaks go out before the response of what caused them).
  bool none() { return !next(200); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<client::SmbClient::LeaseBreak> got_;
};

smb2::LeaseKey keyOf(uint8_t b) {
  smb2::LeaseKey k;
  k.fill(b);
  return k;
}

// Client `a` holds RH on directory "d" under `dir_key`; `b` is a second client.
class DirLease : public InProcess {
 protected:
  void SetUp() override {
    InProcess::SetUp();
    if (!state_->leasesOn()) GTEST_SKIP() << "no leases offered here (smb2 leases = auto, not root)";
    ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
    ASSERT_TRUE(b.connect(opts(smb2::kDialect311, true, false)));
    ASSERT_TRUE(a.treeConnect("share"));
    ASSERT_TRUE(b.treeConnect("share"));
    ASSERT_TRUE(a.directoryLeasesSupported());
    breaks.attach(a);
    b.setLeaseBreakHandler([](const client::SmbClient::LeaseBreak&) {});
    auto d = a.openLeased("d", smb2::kFileReadData, smb2::kFileOpenIf, smb2::kFileDirectoryFile, dir_key, kRWH);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->lease_state, kRH);  // never W on a directory
    dir = d->id;
  }
  // The directory's lease broke to none (with an acknowledgment due); acknowledged, then
  // re-armed to RH by another open under the key.
  void expectBrokenAndRearm(const char* what) {
    auto br = breaks.next();
    ASSERT_TRUE(br) << what;
    EXPECT_EQ(br->key, dir_key) << what;
    EXPECT_EQ(br->current_state, kRH) << what;
    EXPECT_EQ(br->new_state, 0u) << what;
    EXPECT_TRUE(br->ack_required) << what;
    EXPECT_TRUE(a.ackLeaseBreak(dir_key, 0)) << what;
    auto again = a.openLeased("d", smb2::kFileReadData, smb2::kFileOpen, smb2::kFileDirectoryFile, dir_key, kRH);
    ASSERT_TRUE(again) << what;
    EXPECT_EQ(again->lease_state, kRH) << what;
    EXPECT_TRUE(a.close(again->id));
  }
  client::SmbClient a, b;
  Breaks breaks;
  smb2::LeaseKey dir_key = keyOf(0xD1);
  smb2::FileId dir{};
};

// Windows breaks a directory's lease for every change of its listing made through SMB: a new
// name, a write (at the close of the handle that wrote), attributes or times set, a rename
// within, out of or into it, a delete. Opening a child, or reading it, changes nothing.
TEST_F(DirLease, BrokenByEveryChangeInside) {
  auto f = b.open("d/f1", kRW, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  expectBrokenAndRearm("create");
  ASSERT_TRUE(b.write(*f, 0, Bytes(100, 'x')));
  EXPECT_TRUE(breaks.none()) << "a write breaks at its handle's close";
  ASSERT_TRUE(b.close(*f));
  expectBrokenAndRearm("close after a write");
  auto r = b.open("d/f1", smb2::kFileReadData | smb2::kFileWriteAttributes, smb2::kFileOpen, 0);
  ASSERT_TRUE(r);
  uint8_t buf[16];
  ASSERT_TRUE(b.read(*r, 0, buf));
  EXPECT_TRUE(breaks.none()) << "an open and a read change nothing";
  ASSERT_TRUE(b.setTimes(*r, 0, 133000000000000000ull));
  expectBrokenAndRearm("times set");
  ASSERT_TRUE(b.close(*r));
  EXPECT_TRUE(breaks.none()) << "a close that wrote nothing";
  ASSERT_TRUE(b.rename("d/f1", "d/f2", false));
  expectBrokenAndRearm("rename within");
  ASSERT_TRUE(b.rename("d/f2", "f2", false));
  expectBrokenAndRearm("rename out");
  ASSERT_TRUE(b.rename("f2", "d/f3", false));
  expectBrokenAndRearm("rename in");
  ASSERT_TRUE(b.unlink("d/f3"));
  expectBrokenAndRearm("delete");
  // A change somewhere else breaks nothing here.
  ASSERT_TRUE(b.mkdir("other"));
  EXPECT_TRUE(breaks.none());
  EXPECT_TRUE(a.close(dir));
}

// A sharing conflict on the directory itself breaks Handle caching (RH to R) and waits for
// the acknowledgment; the open then fails on the share modes all the same.
TEST_F(DirLease, SharingConflictBreaksHandleCaching) {
  std::optional<Result<smb2::FileId>> opened;
  std::thread t([&] { opened = b.open("d", smb2::kFileReadData | smb2::kDelete, smb2::kFileOpen, smb2::kFileDirectoryFile, 0); });
  auto br = breaks.next();
  ASSERT_TRUE(br);
  EXPECT_EQ(br->new_state, kR);
  EXPECT_TRUE(br->ack_required);
  EXPECT_TRUE(a.ackLeaseBreak(dir_key, kR));
  t.join();
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->status(), NtStatus::kSharingViolation);
  EXPECT_TRUE(a.close(dir));
}

// ParentLeaseKey (MS-SMB2 2.2.13.2.10): what a client changes through an open whose lease names
// its own directory lease as parent breaks that lease not; the same key named by another client
// does (a lease key is its client's), and so does an open without one.
TEST_F(DirLease, ParentLeaseKeySparesOnlyItsOwnersLease) {
  auto own = a.openLeased("d/mine", kRW | smb2::kFileWriteAttributes, smb2::kFileCreate, 0, keyOf(0xF1), kRWH, 7, nullptr, &dir_key);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->lease_state, kRWH);
  ASSERT_TRUE(a.write(own->id, 0, Bytes(10, 'y')));
  ASSERT_TRUE(a.setTimes(own->id, 0, 133000000000000000ull));
  ASSERT_TRUE(a.close(own->id));
  EXPECT_TRUE(breaks.none()) << "changes under the parent key";
  auto theirs = b.openLeased("d/theirs", kRW, smb2::kFileCreate, 0, keyOf(0xF2), kRWH, 7, nullptr, &dir_key);
  ASSERT_TRUE(theirs);
  expectBrokenAndRearm("another client naming the key");
  ASSERT_TRUE(b.close(theirs->id));
  auto plain = a.openLeased("d/plain", kRW, smb2::kFileCreate, 0, keyOf(0xF3), kRWH);
  ASSERT_TRUE(plain);
  expectBrokenAndRearm("no parent key");
  ASSERT_TRUE(a.close(plain->id));
  EXPECT_TRUE(a.close(dir));
}

// A second break of a lease while the first awaits its acknowledgment (smbtorture
// smb2.lease.breaking3): nothing is sent until that acknowledgment, which then continues the
// break in steps (RH to R with an acknowledgment, then R to none without), and the waiting
// opens complete once it is settled.
TEST_F(DirLease, SecondBreakWhileOnePends) {
  auto l = a.openLeased("f.bin", kRW, smb2::kFileOverwriteIf, 0, keyOf(0xE1), kRWH);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->lease_state, kRWH);
  std::optional<Result<smb2::FileId>> plain, overwrite;
  std::thread t1([&] { plain = b.open("f.bin", smb2::kFileReadData, smb2::kFileOpen, 0); });
  auto br = breaks.next();
  ASSERT_TRUE(br);
  EXPECT_EQ(br->new_state, kRH);
  std::thread t2([&] { overwrite = b.open("f.bin", kRW, smb2::kFileOverwrite, 0); });
  EXPECT_TRUE(breaks.none()) << "no break while one is pending";
  EXPECT_TRUE(a.ackLeaseBreak(keyOf(0xE1), kRH));
  br = breaks.next();
  ASSERT_TRUE(br);
  EXPECT_EQ(br->current_state, kRH);
  EXPECT_EQ(br->new_state, kR);
  EXPECT_TRUE(br->ack_required);
  EXPECT_FALSE(plain.has_value()) << "the opens wait until the lease is settled";
  EXPECT_TRUE(a.ackLeaseBreak(keyOf(0xE1), kR));
  br = breaks.next();
  ASSERT_TRUE(br);
  EXPECT_EQ(br->new_state, 0u);
  EXPECT_FALSE(br->ack_required);
  t1.join();
  t2.join();
  ASSERT_TRUE(plain && *plain && overwrite && *overwrite);
  EXPECT_TRUE(b.close(**plain) && b.close(**overwrite) && a.close(l->id));
  EXPECT_TRUE(a.close(dir));
}

// A session re-authenticates as another user (MS-SMB2 3.3.5.5.3): its tree connects are judged
// again for the new user (a share whose valid users leave them out refuses every request but
// CLOSE and TREE_DISCONNECT: STATUS_ACCESS_DENIED), new opens act as the new user's account,
// and an open made before keeps acting as the account that made it.
TEST_F(InProcess, ReauthenticationAsAnotherUser) {
  auto ua = lookupUnixAccount("daemon"), ub = lookupUnixAccount("bin");
  if (!ua || !ub) GTEST_SKIP() << "needs the system accounts daemon and bin";
  if (!vfs::identitySwitching()) GTEST_SKIP() << "needs root (identity switching)";
  reconfigure("", "[dmn]\npath = " + dir_ + "/multi\nread only = no\nvalid users = daemon\n");
  auto o = opts(smb2::kDialect311, true, false);
  o.user = "daemon";
  client::SmbClient multi, only;
  ASSERT_TRUE(multi.connect(o));
  ASSERT_TRUE(multi.treeConnect("multi"));
  ASSERT_TRUE(only.connect(o));
  ASSERT_TRUE(only.treeConnect("dmn"));
  auto mine = multi.open("daemons.txt", kRW | smb2::kFileWriteAttributes, smb2::kFileCreate, 0);
  ASSERT_TRUE(mine);
  auto kept = only.open("kept.txt", kRW, smb2::kFileCreate, 0);
  ASSERT_TRUE(kept);
  ASSERT_TRUE(multi.reauthenticate("bin", "Pass-1234"));
  ASSERT_TRUE(only.reauthenticate("bin", "Pass-1234"));
  // Only daemon, the file's owner, may set its times: the open made as daemon still acts so.
  EXPECT_TRUE(multi.setTimes(*mine, 0, 133000000000000000ull));
  auto theirs = multi.open("bins.txt", kRW, smb2::kFileCreate, 0);
  ASSERT_TRUE(theirs);
  struct stat st{};
  ASSERT_EQ(::stat((dir_ + "/multi/bins.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ub->uid) << "a new open acts as the new user";
  ASSERT_EQ(::stat((dir_ + "/multi/daemons.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ua->uid);
  EXPECT_TRUE(multi.close(*theirs) && multi.close(*mine));
  // bin may not use [dmn]: its tree refuses, but the open can be closed.
  EXPECT_EQ(only.open("new.txt", kRW, smb2::kFileCreate, 0).status(), NtStatus::kAccessDenied);
  EXPECT_EQ(only.write(*kept, 0, Bytes(4, 'z')).status(), NtStatus::kAccessDenied);
  EXPECT_TRUE(only.close(*kept));
  // Back as daemon, the tree serves again.
  ASSERT_TRUE(only.reauthenticate("daemon", "Pass-1234"));
  auto again = only.open("kept.txt", kRW, smb2::kFileOpen, 0);
  ASSERT_TRUE(again);
  EXPECT_TRUE(only.close(*again));
}

}  // namespace
}  // namespace sd
