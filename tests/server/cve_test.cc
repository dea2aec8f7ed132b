// Regression tests for classes of ksmbd and Samba vulnerabilities (docs/SECURITY.md): requests
// that name a session, tree or open the sender may not use, alone or inside a compound, and
// session binding by another user. Each is answered with the status MS-SMB2 gives and changes
// nothing for the session, tree or open it named.
#include "inprocess_fixture.h"
#include "raw_conn.h"
#include "smb2/close.h"
#include "smb2/create.h"
#include "smb2/simple.h"

namespace sd {
namespace {

RawConn::Body createBody(const std::string& name) {
  return [name](ByteWriter& w) {
    smb2::CreateRequest q;
    q.impersonation_level = 2;
    q.desired_access = smb2::kFileReadData | smb2::kFileWriteData;
    q.share_access = 7;
    q.create_disposition = smb2::kFileOpenIf;
    q.name = name;
    smb2::encodeCreateRequest(q, {}, w);
  };
}
RawConn::Body closeBody(const smb2::FileId& id) {
  return [id](ByteWriter& w) { smb2::encodeCloseRequest({0, id}, w); };
}
RawConn::Body emptyBody() {
  return [](ByteWriter& w) { smb2::encodeEmptyBody(w); };
}

// A session of `user` on a raw connection with a tree on `share` ([multi] lets every account
// create).
struct RawSession {
  uint64_t sid = 0;
  uint32_t tid = 0;
};
RawSession rawSession(RawConn& r, const std::string& user, const std::string& share = "share") {
  RawSession s;
  s.sid = r.authenticate(user, "Pass-1234");
  if (s.sid) s.tid = r.treeConnect(s.sid, share);
  return s;
}

// CVE-2026-23428 (ksmbd): a compound's requests after a TREE_DISCONNECT used the tree it had
// freed. Here the related CREATE after it finds no tree: STATUS_NETWORK_NAME_DELETED, and the
// connection and session go on.
TEST_F(InProcess, CompoundAfterTreeDisconnectFindsNoTree) {
  RawConn r(tcp_->boundPort());
  ASSERT_TRUE(r.negotiate());
  auto s = rawSession(r, "alice");
  ASSERT_NE(s.tid, 0u);
  auto out = r.chain({{smb2::Command::kTreeDisconnect, s.sid, s.tid, false, emptyBody()},
                      {smb2::Command::kCreate, ~0ull, ~0u, true, createBody("after.txt")}});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(RawConn::statusOf((*out)[0]), NtStatus::kSuccess);
  EXPECT_EQ(RawConn::statusOf((*out)[1]), NtStatus::kNetworkNameDeleted);
  EXPECT_FALSE(fs::exists(dir_ + "/share/after.txt"));
  // Unrelated, naming the gone tree: the same.
  auto again = r.request(smb2::Command::kCreate, s.sid, createBody("after.txt"), s.tid);
  ASSERT_TRUE(again);
  EXPECT_EQ(RawConn::statusOf(*again), NtStatus::kNetworkNameDeleted);
  EXPECT_NE(r.treeConnect(s.sid, "share"), 0u) << "the session goes on";
}

// CVE-2023-52442 (ksmbd): with a TREE_CONNECT first in a compound, the tree id of the requests
// after it was not checked. Here each request's TreeId is checked: a CREATE naming a tree that
// does not exist fails, the TREE_CONNECT before it succeeds.
TEST_F(InProcess, CompoundChecksEachRequestsTree) {
  RawConn r(tcp_->boundPort());
  ASSERT_TRUE(r.negotiate());
  uint64_t sid = r.authenticate("alice", "Pass-1234");
  ASSERT_NE(sid, 0u);
  auto out = r.chain({{smb2::Command::kTreeConnect, sid, 0, false,
                       [](ByteWriter& w) { smb2::encodeTreeConnectRequest({0, "\\\\127.0.0.1\\share"}, w); }},
                      {smb2::Command::kCreate, sid, 0xDEAD, false, createBody("unchecked.txt")}});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(RawConn::statusOf((*out)[0]), NtStatus::kSuccess);
  EXPECT_EQ(RawConn::statusOf((*out)[1]), NtStatus::kNetworkNameDeleted);
  EXPECT_FALSE(fs::exists(dir_ + "/share/unchecked.txt"));
}

// A request may name only a session of its own connection, in a compound or not: another
// connection's session is STATUS_USER_SESSION_DELETED (MS-SMB2 3.3.5.2.9), and nothing is made.
TEST_F(InProcess, RequestsCannotBorrowAnotherConnectionsSession) {
  RawConn a(tcp_->boundPort()), b(tcp_->boundPort());
  ASSERT_TRUE(a.negotiate());
  ASSERT_TRUE(b.negotiate());
  auto sa = rawSession(a, "alice");
  auto sb = rawSession(b, "daemon", "multi");
  ASSERT_NE(sa.tid, 0u);
  ASSERT_NE(sb.tid, 0u);
  auto out = a.chain({{smb2::Command::kCreate, sa.sid, sa.tid, false, createBody("mine.txt")},
                      {smb2::Command::kCreate, sb.sid, sb.tid, false, createBody("borrowed.txt")}});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(RawConn::statusOf((*out)[0]), NtStatus::kSuccess);
  EXPECT_EQ(RawConn::statusOf((*out)[1]), NtStatus::kUserSessionDeleted);
  EXPECT_FALSE(fs::exists(dir_ + "/share/borrowed.txt"));
  EXPECT_FALSE(fs::exists(dir_ + "/multi/borrowed.txt"));
}

// A FileId is its session's: another session on the same connection (two users) gets
// STATUS_FILE_CLOSED for it, alone and as the related request of a compound, and the open stays
// its owner's, who then closes it.
TEST_F(InProcess, FileIdOfAnotherSessionIsClosedToIt) {
  RawConn r(tcp_->boundPort());
  ASSERT_TRUE(r.negotiate());
  auto owner = rawSession(r, "alice");
  auto other = rawSession(r, "daemon", "multi");
  ASSERT_NE(owner.tid, 0u);
  ASSERT_NE(other.tid, 0u);
  auto created = r.request(smb2::Command::kCreate, owner.sid, createBody("owned.txt"), owner.tid);
  ASSERT_TRUE(created);
  ASSERT_EQ(RawConn::statusOf(*created), NtStatus::kSuccess);
  auto resp = smb2::decodeCreateResponse(*created);
  ASSERT_TRUE(resp);
  const smb2::FileId id = resp->file_id;
  auto stolen = r.request(smb2::Command::kClose, other.sid, closeBody(id), other.tid);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(RawConn::statusOf(*stolen), NtStatus::kFileClosed);
  // The other session's CREATE, then a related CLOSE that names the owner's FileId explicitly.
  auto out = r.chain({{smb2::Command::kCreate, other.sid, other.tid, false, createBody("theirs.txt")},
                      {smb2::Command::kClose, ~0ull, ~0u, true, closeBody(id)}});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(RawConn::statusOf((*out)[0]), NtStatus::kSuccess);
  EXPECT_EQ(RawConn::statusOf((*out)[1]), NtStatus::kFileClosed);
  auto mine = r.request(smb2::Command::kClose, owner.sid, closeBody(id), owner.tid);
  ASSERT_TRUE(mine);
  EXPECT_EQ(RawConn::statusOf(*mine), NtStatus::kSuccess);
}

// CVE-2023-32250 / CVE-2023-32258 (ksmbd: SESSION_SETUP, LOGOFF and CLOSE on one session without
// proper locking). A LOGOFF followed in the same compound by a CLOSE of the session's open: the
// CLOSE finds no session; a second LOGOFF the same; the server goes on for others.
TEST_F(InProcess, RequestsAfterLogoffFindNoSession) {
  RawConn r(tcp_->boundPort());
  ASSERT_TRUE(r.negotiate());
  auto s = rawSession(r, "alice");
  ASSERT_NE(s.tid, 0u);
  auto created = r.request(smb2::Command::kCreate, s.sid, createBody("logoff.txt"), s.tid);
  ASSERT_TRUE(created);
  auto resp = smb2::decodeCreateResponse(*created);
  ASSERT_TRUE(resp);
  auto out = r.chain({{smb2::Command::kLogoff, s.sid, 0, false, emptyBody()},
                      {smb2::Command::kClose, s.sid, s.tid, false, closeBody(resp->file_id)},
                      {smb2::Command::kLogoff, s.sid, 0, false, emptyBody()}});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ(RawConn::statusOf((*out)[0]), NtStatus::kSuccess);
  EXPECT_EQ(RawConn::statusOf((*out)[1]), NtStatus::kUserSessionDeleted);
  EXPECT_EQ(RawConn::statusOf((*out)[2]), NtStatus::kUserSessionDeleted);
  EXPECT_EQ(state_->openCount(), 0u) << "the logoff closed the open";
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
}

// CVE-2026-31476 (ksmbd: a failed binding expired the session it named). Binding as another
// user, with that user's right password, is refused, and the session goes on
// (InProcess.BindingNeedsTheSessionKeyAndTheSameUser: a wrong password).
TEST_F(InProcess, BindingByAnotherUserIsRefused) {
  client::SmbClient a;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(a.treeConnect("share"));
  client::SmbClient b;
  auto ob = opts(smb2::kDialect311, true, false);
  ob.user = "daemon";
  ob.bind_to = &a;
  auto st = b.connect(ob);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.status(), NtStatus::kAccessDenied);
  EXPECT_TRUE(a.stat(""));
}

}  // namespace
}  // namespace sd
