// Durable handles (MS-SMB2 3.3.5.9.6-12) with the library client against the server core: a
// lost connection loses no open, lock or lease; nobody else can take a kept open; one that
// nobody reconnects is closed after its timeout with its delete-on-close and locks.
#include "crypto/random.h"
#include "inprocess_fixture.h"

namespace sd {
namespace {

constexpr uint32_t kRw = smb2::kFileReadData | smb2::kFileWriteData | smb2::kDelete;
constexpr uint32_t kRwh = smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle;

smb2::DurableRequestV2 durableRequest(uint32_t timeout_ms) {
  smb2::DurableRequestV2 d;
  d.timeout_ms = timeout_ms;
  crypto::randomFill(d.create_guid);
  return d;
}

// Waits (bounded) until the server keeps `n` durable opens.
bool keptBecomes(server::ServerState& st, size_t n, int ms = 3000) {
  for (int i = 0; i < ms / 10; i++) {
    if (st.durables().size() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return st.durables().size() == n;
}

// The connection is cut under a durable open that holds a lease and a byte-range lock; after
// the reconnect (PreviousSessionId) DH2C attaches the same open: same id, the lease's state,
// the data, and the lock still held against another client.
TEST_F(InProcess, DurableOpenComesBackAfterALostConnection) {
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  smb2::LeaseKey key;
  key.fill(0x5a);
  auto d = durableRequest(10000);
  auto o = a.openLeased("kept.txt", kRw, smb2::kFileOverwriteIf, 0, key, kRwh, 7, &d);
  ASSERT_TRUE(o);
  ASSERT_TRUE(o->durable);
  EXPECT_EQ(o->durable_timeout_ms, 10000u);
  EXPECT_EQ(o->lease_state, kRwh);
  Bytes data = {'k', 'e', 'p', 't'};
  ASSERT_TRUE(a.write(o->id, 0, data));
  ASSERT_TRUE(a.lock(o->id, 0, 2, smb2::kLockFlagExclusive | smb2::kLockFlagFailImmediately));

  ASSERT_TRUE(a.reconnect());
  ASSERT_TRUE(keptBecomes(*state_, 1));
  auto back = a.reopenDurable("kept.txt", o->id, d.create_guid, &key);
  ASSERT_TRUE(back) << ntStatusName(back.status());
  EXPECT_TRUE(back->id == o->id);
  EXPECT_EQ(back->oplock_level, smb2::kOplockLevelLease);
  EXPECT_EQ(back->lease_state, kRwh);
  EXPECT_EQ(state_->durables().size(), 0u);
  uint8_t buf[8];
  auto n = a.read(back->id, 0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(Bytes(buf, buf + *n), data);

  // The lock came back with it: another client cannot take the range (its open breaks the
  // lease to what sharing allows; the holder's break handler is not needed for a shared read).
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  a.setLeaseBreakHandler([&a](const client::SmbClient::LeaseBreak& br) {
    std::thread([&a, br] { (void)a.ackLeaseBreak(br.key, br.new_state); }).detach();
  });
  auto other = b.open("kept.txt", smb2::kFileReadData, smb2::kFileOpen, 0);
  ASSERT_TRUE(other) << ntStatusName(other.status());
  auto refused = b.lock(*other, 0, 2, smb2::kLockFlagExclusive | smb2::kLockFlagFailImmediately);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status(), NtStatus::kLockNotGranted);
  EXPECT_TRUE(b.close(*other));
  EXPECT_TRUE(a.close(back->id));
  a.setLeaseBreakHandler(nullptr);
}

// A durable open whose client never comes back is closed by the scavenger after its timeout:
// its delete-on-close deletes the file, its lock is gone, and a late reconnect finds nothing.
TEST_F(InProcess, DurableOpenNobodyReconnectsIsClosedAfterItsTimeout) {
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  auto d = durableRequest(300);
  bool durable = false;
  auto o = a.openWithOplock("gone.txt", kRw, smb2::kFileOverwriteIf, smb2::kFileDeleteOnClose,
                            smb2::kOplockLevelBatch, 7, &d, &durable);
  ASSERT_TRUE(o);
  ASSERT_EQ(o->level, smb2::kOplockLevelBatch);
  ASSERT_TRUE(durable);
  ASSERT_TRUE(a.lock(o->id, 0, 10, smb2::kLockFlagExclusive | smb2::kLockFlagFailImmediately));
  ASSERT_TRUE(a.reconnect());
  EXPECT_TRUE(fs::exists(dir_ + "/share/gone.txt"));
  EXPECT_TRUE(keptBecomes(*state_, 0, 5000)) << "not closed after its timeout";
  EXPECT_FALSE(fs::exists(dir_ + "/share/gone.txt")) << "delete-on-close not applied";
  EXPECT_EQ(state_->openCount(), 0u);
  auto late = a.reopenDurable("gone.txt", o->id, d.create_guid, nullptr);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.status(), NtStatus::kObjectNameNotFound);
}

// Nobody but its owner takes a kept open, and every refusal leaves it kept: another user
// (ACCESS_DENIED), another CreateGuid, another client or lease key for a leased open
// (OBJECT_NAME_NOT_FOUND), a DH2C beside a DHnQ (INVALID_PARAMETER). Then the owner gets it.
TEST_F(InProcess, DurableOpenHijacksAreRefused) {
  client::SmbClient a, intruder, other_client;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  auto d = durableRequest(10000);
  bool durable = false;
  auto batch = a.openWithOplock("mine.txt", kRw, smb2::kFileOverwriteIf, 0, smb2::kOplockLevelBatch, 7, &d, &durable);
  ASSERT_TRUE(batch && durable);
  smb2::LeaseKey key;
  key.fill(0x33);
  auto d2 = durableRequest(10000);
  auto leased = a.openLeased("leased.txt", kRw, smb2::kFileOverwriteIf, 0, key, kRwh, 7, &d2);
  ASSERT_TRUE(leased && leased->durable);
  ASSERT_TRUE(a.reconnect());
  ASSERT_TRUE(keptBecomes(*state_, 2));

  auto daemon = opts(smb2::kDialect311, true, false);
  daemon.user = "daemon";
  ASSERT_TRUE(connectShare(intruder, daemon));
  auto r1 = intruder.reopenDurable("mine.txt", batch->id, d.create_guid, nullptr);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.status(), NtStatus::kAccessDenied);
  auto wrong_guid = d.create_guid;
  wrong_guid[0] ^= 1;
  auto r2 = a.reopenDurable("mine.txt", batch->id, wrong_guid, nullptr);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.status(), NtStatus::kObjectNameNotFound);
  // The same user on another client (another ClientGuid) cannot take a leased open.
  ASSERT_TRUE(connectShare(other_client, opts(smb2::kDialect311, true, false)));
  auto r3 = other_client.reopenDurable("leased.txt", leased->id, d2.create_guid, &key);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.status(), NtStatus::kObjectNameNotFound);
  auto wrong_key = key;
  wrong_key[15] ^= 1;
  auto r4 = a.reopenDurable("leased.txt", leased->id, d2.create_guid, &wrong_key);
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.status(), NtStatus::kObjectNameNotFound);
  auto r5 = a.reopenDurable("leased.txt", leased->id, d2.create_guid, nullptr);
  ASSERT_FALSE(r5);
  EXPECT_EQ(r5.status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(state_->durables().size(), 2u);

  auto mine = a.reopenDurable("mine.txt", batch->id, d.create_guid, nullptr);
  ASSERT_TRUE(mine) << ntStatusName(mine.status());
  EXPECT_EQ(mine->oplock_level, smb2::kOplockLevelBatch);
  auto back = a.reopenDurable("leased.txt", leased->id, d2.create_guid, &key);
  ASSERT_TRUE(back) << ntStatusName(back.status());
  EXPECT_EQ(back->lease_state, kRwh);
  EXPECT_EQ(state_->durables().size(), 0u);
  // Attached again: a second reconnect of the same open finds nothing kept.
  auto twice = a.reopenDurable("mine.txt", batch->id, d.create_guid, nullptr);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.status(), NtStatus::kObjectNameNotFound);
  EXPECT_TRUE(a.close(mine->id));
  EXPECT_TRUE(a.close(back->id));
}

// A kept open whose lease another client's open breaks is closed at once (nobody can
// acknowledge): the new open gets its lease without waiting for the break timeout.
TEST_F(InProcess, DurableOpenKeptWithoutItsClientGivesWayToAConflictingOpen) {
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  smb2::LeaseKey ka, kb;
  ka.fill(0x41);
  kb.fill(0x42);
  auto d = durableRequest(60000);
  auto o = a.openLeased("contested.txt", kRw, smb2::kFileOverwriteIf, 0, ka, kRwh, 7, &d);
  ASSERT_TRUE(o && o->durable);
  ASSERT_TRUE(a.reconnect());
  ASSERT_TRUE(keptBecomes(*state_, 1));
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  auto t0 = std::chrono::steady_clock::now();
  auto o2 = b.openLeased("contested.txt", kRw, smb2::kFileOpen, 0, kb, kRwh);
  ASSERT_TRUE(o2) << ntStatusName(o2.status());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(o2->lease_state, kRwh);
  EXPECT_EQ(state_->durables().size(), 0u);
  auto late = a.reopenDurable("contested.txt", o->id, d.create_guid, &ka);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.status(), NtStatus::kObjectNameNotFound);
  EXPECT_TRUE(b.close(o2->id));
}

// A client whose connection dropped reconnects on another connection at once, before the server
// has seen the old one end (no PreviousSessionId): the reconnect waits for the open to be kept
// and gets it (smbtorture smb2.durable-open.reopen2 met this race under AddressSanitizer).
TEST_F(InProcess, DurableReconnectOvertakingTheOldConnectionsEnd) {
  auto a = std::make_unique<client::SmbClient>();
  client::SmbClient b;
  ASSERT_TRUE(connectShare(*a, opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  for (int round = 0; round < 5; round++) {
    auto d = durableRequest(10000);
    bool durable = false;
    auto o = a->openWithOplock("race.txt", kRw, smb2::kFileOverwriteIf, 0, smb2::kOplockLevelBatch, 7, &d, &durable);
    ASSERT_TRUE(o && durable);
    a.reset();  // the connection ends without a LOGOFF
    auto back = b.reopenDurable("race.txt", o->id, d.create_guid, nullptr);
    ASSERT_TRUE(back) << "round " << round << ": " << ntStatusName(back.status());
    EXPECT_EQ(back->oplock_level, smb2::kOplockLevelBatch);
    EXPECT_TRUE(b.close(back->id));
    a = std::make_unique<client::SmbClient>();
    ASSERT_TRUE(connectShare(*a, opts(smb2::kDialect311, true, false)));
  }
}

// An open that lost Handle caching to a break is no longer kept when its connection goes: its
// holder was told to stop caching the handle, and another client may have been promised the
// file (MS-SMB2 3.3.7.1; Samba decides the same at the disconnect).
TEST_F(InProcess, DurableOpenThatLostHandleCachingIsNotKept) {
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  smb2::LeaseKey key;
  key.fill(0x61);
  a.setLeaseBreakHandler([&a](const client::SmbClient::LeaseBreak& br) {
    std::thread([&a, br] { (void)a.ackLeaseBreak(br.key, br.new_state); }).detach();
  });
  auto d = durableRequest(60000);
  auto o = a.openLeased("lost.txt", kRw, smb2::kFileOverwriteIf, 0, key, kRwh, 0 /* no sharing */, &d);
  ASSERT_TRUE(o && o->durable);
  ASSERT_EQ(o->lease_state, kRwh);
  // Another client's open meets the sharing violation: the lease gives up H first.
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  auto refused = b.open("lost.txt", smb2::kFileReadData, smb2::kFileOpen, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status(), NtStatus::kSharingViolation);
  a.setLeaseBreakHandler(nullptr);
  ASSERT_TRUE(a.reconnect());
  for (int i = 0; i < 100 && state_->openCount() != 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(state_->durables().size(), 0u);
  EXPECT_EQ(state_->openCount(), 0u);
  auto late = a.reopenDurable("lost.txt", o->id, d.create_guid, &key);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.status(), NtStatus::kObjectNameNotFound);
}

// A DH2Q sent again as a replay (SMB2_FLAGS_REPLAY_OPERATION) gets the open its CreateGuid
// made, on the same session and after a reconnect; another client's replay of the same
// CreateGuid (another ClientGuid) is a new CREATE and gets nothing of that open.
TEST_F(InProcess, DurableReplayGetsTheOpenOnlyForItsClient) {
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  auto d = durableRequest(10000);
  bool durable = false;
  auto o = a.openWithOplock("replay.txt", kRw, smb2::kFileOverwriteIf, 0, smb2::kOplockLevelBatch, 7, &d, &durable);
  ASSERT_TRUE(o && durable);
  a.setReplay(true);
  auto again = a.openWithOplock("replay.txt", kRw, smb2::kFileOverwriteIf, 0, smb2::kOplockLevelBatch, 7, &d, &durable);
  ASSERT_TRUE(again) << ntStatusName(again.status());
  EXPECT_TRUE(again->id == o->id);
  EXPECT_TRUE(durable);
  EXPECT_EQ(state_->openCount(), 1u);
  a.setReplay(false);

  // Another client (another ClientGuid) replaying the CreateGuid makes an open of its own.
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  b.setReplay(true);
  // (a stat open: it breaks no oplock, so the batch, and with it durability, stays)
  auto other = b.openWithOplock("replay.txt", smb2::kFileReadAttributes, smb2::kFileOpen, 0, smb2::kOplockLevelNone, 7, &d);
  b.setReplay(false);
  ASSERT_TRUE(other) << ntStatusName(other.status());
  EXPECT_FALSE(other->id == o->id);
  EXPECT_TRUE(b.close(other->id));

  // After a lost connection the replay attaches the kept open, as a reconnect would.
  ASSERT_TRUE(a.reconnect());
  ASSERT_TRUE(keptBecomes(*state_, 1));
  a.setReplay(true);
  auto back = a.openWithOplock("replay.txt", kRw, smb2::kFileOverwriteIf, 0, smb2::kOplockLevelBatch, 7, &d, &durable);
  a.setReplay(false);
  ASSERT_TRUE(back) << ntStatusName(back.status());
  EXPECT_TRUE(back->id == o->id);
  EXPECT_EQ(state_->durables().size(), 0u);
  EXPECT_TRUE(a.close(back->id));
  // Closed: a replay now is a new CREATE.
  a.setReplay(true);
  auto fresh = a.openWithOplock("replay.txt", kRw, smb2::kFileOpen, 0, smb2::kOplockLevelBatch, 7, &d, &durable);
  a.setReplay(false);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->id == o->id);
  EXPECT_TRUE(a.close(fresh->id));
}

}  // namespace
}  // namespace sd
