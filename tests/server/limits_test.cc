// Server limits ([global] keys in docs/CONFIG.md): past each, the client that reached it gets the
// status Windows answers (STATUS_INSUFFICIENT_RESOURCES) or its connection is closed, and the
// other clients go on as before.
#include <future>

#include "inprocess_fixture.h"
#include "raw_conn.h"

namespace sd {
namespace {

constexpr uint32_t kRw = smb2::kFileReadData | smb2::kFileWriteData;
// An exclusive byte-range lock granted now or refused (never waits).
constexpr uint32_t kExclusiveNow = smb2::kLockFlagExclusive | smb2::kLockFlagFailImmediately;

// The first leg of one more session on `r` is answered `want`.
void expectSessionStart(RawConn& r, NtStatus want) {
  auto s = r.startSession();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->first, want);
}

// Waits (bounded) until the server counts `n` live TCP connections.
bool tcpConnectionsBecome(runtime::TcpServer& s, size_t n) {
  for (int i = 0; i < 300 && s.connectionCount() != n; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return s.connectionCount() == n;
}

// max ip connections: a third connection from 127.0.0.1 is closed unread; one from 127.0.0.2
// is served meanwhile, and once a connection from 127.0.0.1 ends, a new one is admitted.
TEST_F(InProcess, MaxIpConnectionsRefusesOnlyThatAddress) {
  reconfigure("max ip connections = 2\n", "");
  client::SmbClient a, c;
  auto b = std::make_unique<client::SmbClient>();
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(b->connect(opts(smb2::kDialect311, true, false)));
  auto refused = c.connect(opts(smb2::kDialect311, true, false));
  EXPECT_FALSE(refused);
  RawConn other(tcp_->boundPort(), "127.0.0.2");
  ASSERT_TRUE(other.connected());
  EXPECT_TRUE(other.negotiate()) << "another address is unaffected";
  ASSERT_TRUE(a.treeConnect("share"));
  ASSERT_NO_FATAL_FAILURE(expectRoundTrip(a, "ip.bin", Bytes(5000, 7)));
  b.reset();
  ASSERT_TRUE(tcpConnectionsBecome(*tcp_, 2));  // a and other
  client::SmbClient d;
  EXPECT_TRUE(d.connect(opts(smb2::kDialect311, true, false)));
}

// max connections: counted over every address; the one past it is closed, and a place freed by
// a connection that ends is taken by the next.
TEST_F(InProcess, MaxConnectionsInAll) {
  reconfigure("max connections = 2\nmax ip connections = 0\n", "");
  auto a = std::make_unique<client::SmbClient>();
  ASSERT_TRUE(a->connect(opts(smb2::kDialect311, true, false)));
  RawConn other(tcp_->boundPort(), "127.0.0.2");
  ASSERT_TRUE(other.connected());
  ASSERT_TRUE(other.negotiate());
  RawConn third(tcp_->boundPort(), "127.0.0.3");
  ASSERT_TRUE(third.connected());  // accepted by the kernel, then closed by the server
  EXPECT_TRUE(third.closedWithin(3000));
  ASSERT_TRUE(a->treeConnect("share"));
  ASSERT_NO_FATAL_FAILURE(expectRoundTrip(*a, "all.bin", Bytes(3000, 1)));
  a.reset();
  ASSERT_TRUE(tcpConnectionsBecome(*tcp_, 1));
  client::SmbClient b;
  EXPECT_TRUE(b.connect(opts(smb2::kDialect311, true, false)));
}

// unauthenticated timeout: a client that sends half an SMB2 header and stalls, and one that
// negotiates and never sets up a session, are closed after it; an authenticated client connected
// before them is not, and keeps working.
TEST_F(InProcess, UnauthenticatedConnectionsAreDropped) {
  reconfigure("unauthenticated timeout = 1\n", "");
  client::SmbClient good;
  ASSERT_TRUE(connectShare(good, opts(smb2::kDialect311, true, false)));
  RawConn half(tcp_->boundPort());
  ASSERT_TRUE(half.connected());
  const uint8_t partial[4 + 30] = {0, 0, 0, 64 + 36, 0xFE, 'S', 'M', 'B', 64, 0};
  ASSERT_TRUE(half.sendBytes(ByteView(partial, sizeof partial)));
  RawConn idle(tcp_->boundPort());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.negotiate());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(half.closedWithin(4000));
  EXPECT_TRUE(idle.closedWithin(4000));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  ASSERT_NO_FATAL_FAILURE(expectRoundTrip(good, "still.bin", Bytes(4000, 3)));
}

// max sessions per connection: SESSION_SETUPs that start sessions on one connection (each first
// leg makes one) stop at the limit; another connection starts its own.
TEST_F(InProcess, MaxSessionsPerConnection) {
  reconfigure("max sessions per connection = 2\n", "");
  RawConn r(tcp_->boundPort());
  ASSERT_TRUE(r.connected());
  ASSERT_TRUE(r.negotiate());
  for (int i = 0; i < 2; i++) ASSERT_NO_FATAL_FAILURE(expectSessionStart(r, NtStatus::kMoreProcessingRequired));
  ASSERT_NO_FATAL_FAILURE(expectSessionStart(r, NtStatus::kInsufficientResources));
  client::SmbClient other;
  ASSERT_TRUE(connectShare(other, opts(smb2::kDialect311, true, false)));
}

// max active sessions: sessions in the whole server, whichever connection starts them.
TEST_F(InProcess, MaxActiveSessions) {
  reconfigure("max active sessions = 2\n", "");
  client::SmbClient a;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  RawConn r(tcp_->boundPort());
  ASSERT_TRUE(r.negotiate());
  ASSERT_NO_FATAL_FAILURE(expectSessionStart(r, NtStatus::kMoreProcessingRequired));
  ASSERT_NO_FATAL_FAILURE(expectSessionStart(r, NtStatus::kInsufficientResources));
  client::SmbClient b;
  auto st = b.connect(opts(smb2::kDialect311, true, false));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.status(), NtStatus::kInsufficientResources);
  // The established session is unaffected; a logoff frees a place.
  ASSERT_TRUE(a.treeConnect("share"));
  ASSERT_NO_FATAL_FAILURE(expectRoundTrip(a, "s.bin", Bytes(100, 9)));
  ASSERT_TRUE(a.logoff());
  client::SmbClient c;
  EXPECT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
}

// max trees per session: the next TREE_CONNECT of that session is refused, its trees go on
// serving it, and another session connects its own trees.
TEST_F(InProcess, MaxTreesPerSession) {
  reconfigure("max trees per session = 2\n", "");
  client::SmbClient a, b;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(a.treeConnect("ro"));
  ASSERT_TRUE(a.treeConnect("multi"));
  auto st = a.treeConnect("share");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.status(), NtStatus::kInsufficientResources);
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  ASSERT_NO_FATAL_FAILURE(expectRoundTrip(b, "t.bin", Bytes(100, 4)));
  // a's trees still serve it (its last one: [multi]).
  ASSERT_NO_FATAL_FAILURE(expectRoundTrip(a, "t.bin", Bytes(100, 5)));
}

// max open files: a session's CREATEs past the limit are refused until one of its opens is
// closed; another session on another connection opens as many of its own.
TEST_F(InProcess, MaxOpenFilesPerSession) {
  reconfigure("max open files = 3\n", "");
  client::SmbClient a, b;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  std::vector<smb2::FileId> ids;
  for (int i = 0; i < 3; i++) {
    auto f = a.open("o" + std::to_string(i), kRw, smb2::kFileOverwriteIf, 0);
    ASSERT_TRUE(f) << i;
    ids.push_back(*f);
  }
  auto over = a.open("o3", kRw, smb2::kFileOverwriteIf, 0);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.status(), NtStatus::kInsufficientResources);
  ASSERT_TRUE(connectShare(b, opts(smb2::kDialect311, true, false)));
  std::vector<smb2::FileId> theirs;
  for (int i = 0; i < 3; i++) {
    auto f = b.open("o" + std::to_string(i), smb2::kFileReadData, smb2::kFileOpen, 0);
    ASSERT_TRUE(f) << i;
    theirs.push_back(*f);
  }
  ASSERT_TRUE(a.close(ids.back()));
  ids.pop_back();
  auto again = a.open("o3", kRw, smb2::kFileOverwriteIf, 0);
  ASSERT_TRUE(again);
  EXPECT_FALSE(a.open("o4", kRw, smb2::kFileOverwriteIf, 0));
}

// max locks per open: an open holds at most that many ranges; an unlock frees one; a LOCK of
// several ranges that would pass it keeps none; another open of the file locks its own.
TEST_F(InProcess, MaxLocksPerOpen) {
  reconfigure("max locks per open = 2\n", "");
  client::SmbClient a;
  ASSERT_TRUE(connectShare(a, opts(smb2::kDialect311, true, false)));
  auto f = a.open("locks.bin", kRw, smb2::kFileOverwriteIf, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(a.lock(*f, 0, 1, kExclusiveNow));
  ASSERT_TRUE(a.lock(*f, 10, 1, kExclusiveNow));
  auto st = a.lock(*f, 20, 1, kExclusiveNow);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.status(), NtStatus::kInsufficientResources);
  auto blocking = a.lock(*f, 30, 1, smb2::kLockFlagExclusive);
  ASSERT_FALSE(blocking);
  EXPECT_EQ(blocking.status(), NtStatus::kInsufficientResources);
  auto g = a.open("locks.bin", kRw, smb2::kFileOpen, 0);
  ASSERT_TRUE(g);
  EXPECT_TRUE(a.lock(*g, 20, 1, kExclusiveNow));
  ASSERT_TRUE(a.lock(*f, 10, 1, smb2::kLockFlagUnlock));
  EXPECT_TRUE(a.lock(*f, 20, 1, kExclusiveNow).status() == NtStatus::kLockNotGranted);  // g holds it
  EXPECT_TRUE(a.lock(*f, 40, 1, kExclusiveNow));
}

// max blocking locks: with one blocking LOCK waiting on the connection, the next one that would
// wait is answered at once; one that can be granted at once still is; the waiting one completes
// when its range is unlocked.
TEST_F(InProcess, MaxBlockingLocksPerConnection) {
  reconfigure("max blocking locks = 1\n", "");
  client::SmbClient holder, waiter;
  ASSERT_TRUE(connectShare(holder, opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(connectShare(waiter, opts(smb2::kDialect311, true, false)));
  auto h = holder.open("bl.bin", kRw, smb2::kFileOverwriteIf, 0);
  ASSERT_TRUE(h);
  ASSERT_TRUE(holder.lock(*h, 0, 10, kExclusiveNow));
  ASSERT_TRUE(holder.lock(*h, 100, 10, kExclusiveNow));
  auto w = waiter.open("bl.bin", kRw, smb2::kFileOpen, 0);
  ASSERT_TRUE(w);
  auto first = std::async(std::launch::async, [&] { return waiter.lock(*w, 0, 10, smb2::kLockFlagExclusive); });
  // Until the first waits on the server (its interim response is not visible to the caller).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_NE(first.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  auto second = std::async(std::launch::async, [&] { return waiter.lock(*w, 100, 10, smb2::kLockFlagExclusive); });
  bool answered = second.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
  EXPECT_TRUE(answered) << "a second blocking LOCK was left waiting";
  if (answered) {
    EXPECT_EQ(second.get().status(), NtStatus::kInsufficientResources);
  }
  EXPECT_TRUE(waiter.lock(*w, 200, 10, smb2::kLockFlagExclusive)) << "one granted at once is not refused";
  ASSERT_TRUE(holder.lock(*h, 0, 10, smb2::kLockFlagUnlock));
  ASSERT_TRUE(holder.lock(*h, 100, 10, smb2::kLockFlagUnlock));  // ends `second` if it waits
  ASSERT_EQ(first.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(first.get());
  if (!answered) second.wait();
}

}  // namespace
}  // namespace sd
