// Client and server in one process over loopback TCP: the library client (src/client) against
// the server core (src/server) through the runtime shell, for every dialect, signed and sealed.
#include "inprocess_fixture.h"

namespace sd {
namespace {

// Large WRITEs are handled on the connection's second thread while the next ones are read
// (runtime::TcpServer); back-to-back ones all land, one the file system refuses reports its
// error, and what follows on the connection (READ, FLUSH, CLOSE) sees every earlier WRITE.
TEST_F(InProcess, PipelinedLargeWritesAndARefusedOne) {
  Bytes data(3 * runtime::kPipelinedMessageMin + 1024 * 1024 + 3);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 31 + (i >> 16));
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  auto f = c.open("p.bin", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0);
  ASSERT_TRUE(f);
  const uint32_t piece = uint32_t(runtime::kPipelinedMessageMin);
  auto n = c.writePipelined(*f, 0, data, piece);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, data.size());
  // Beyond the largest file ext4 holds: pwrite(2) fails, the WRITE reports it.
  auto bad = c.writePipelined(*f, 1ull << 62, ByteView(data.data(), 2 * piece), piece);
  EXPECT_FALSE(bad);
  Bytes back(data.size());
  size_t got = 0;
  while (got < back.size()) {
    auto r = c.read(*f, got, std::span<uint8_t>(back.data() + got, std::min<size_t>(1 << 20, back.size() - got)));
    ASSERT_TRUE(r);
    ASSERT_GT(*r, 0u);
    got += *r;
  }
  EXPECT_EQ(back, data);
  ASSERT_TRUE(c.flush(*f));
  ASSERT_TRUE(c.close(*f));
  EXPECT_EQ(fs::file_size(dir_ + "/share/p.bin"), data.size());
  ASSERT_TRUE(c.logoff());
}

// A CLOSE of a written file is answered before its descriptor is released (the release may block
// in the file system, ext4 auto_da_alloc); the file's data and every later request on it do not
// depend on that release.
TEST_F(InProcess, CloseOfAWrittenFileDoesNotWaitForTheRelease) {
  {
    std::lock_guard<std::mutex> lk(released_mu_);
    hold_released_ = true;
  }
  Bytes data(2 * 1024 * 1024 + 5), data2(1024 * 1024 + 3);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 13 + (i >> 10));
  for (size_t i = 0; i < data2.size(); i++) data2[i] = uint8_t(i * 5 + 1);
  auto source = [](const Bytes& d) {
    return [&d](uint64_t off, std::span<uint8_t> b) -> Result<size_t> {
      size_t n = std::min(b.size(), d.size() - size_t(off));
      std::copy(d.begin() + long(off), d.begin() + long(off + n), b.begin());
      return n;
    };
  };
  auto readBack = [](client::SmbClient& c, const std::string& name) {
    Bytes back;
    EXPECT_TRUE(c.download(name, [&](ByteView v) -> Status {
      back.insert(back.end(), v.begin(), v.end());
      return ok();
    }));
    return back;
  };
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  ASSERT_TRUE(c.upload("w.bin", data.size(), source(data)));
  // The upload's CLOSE was answered; its descriptor is still open, held here.
  ASSERT_EQ(heldCount(), 1u);
  {
    std::lock_guard<std::mutex> lk(released_mu_);
    EXPECT_GE(fcntl(held_[0]->fd(), F_GETFD), 0);
  }
  EXPECT_EQ(fs::file_size(dir_ + "/share/w.bin"), data.size());
  EXPECT_EQ(readBack(c, "w.bin"), data);
  EXPECT_EQ(heldCount(), 1u);  // a reading open is released at once
  // Overwritten (truncated) and rewritten while the first descriptor is still open.
  ASSERT_TRUE(c.upload("w.bin", data2.size(), source(data2)));
  EXPECT_EQ(heldCount(), 2u);
  EXPECT_EQ(readBack(c, "w.bin"), data2);
  // An open without writes, closed: released at once.
  auto f = c.open("w.bin", smb2::kFileWriteData, smb2::kFileOpen, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(c.close(*f));
  EXPECT_EQ(heldCount(), 2u);
  // Deleted while descriptors are pending: gone for the client and on disk.
  ASSERT_TRUE(c.unlink("w.bin"));
  EXPECT_FALSE(fs::exists(dir_ + "/share/w.bin"));
  EXPECT_EQ(c.stat("w.bin").status(), NtStatus::kObjectNameNotFound);
  {
    std::lock_guard<std::mutex> lk(released_mu_);
    held_.clear();
  }
  ASSERT_TRUE(c.logoff());
}

TEST_F(InProcess, EveryDialectSignedAndSealed) {
  Bytes data(3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 7 + (i >> 12));
  for (uint16_t d : {smb2::kDialect300, smb2::kDialect302, smb2::kDialect311}) {
    for (int mode = 0; mode < 2; mode++) {
      SCOPED_TRACE(testing::Message() << "dialect " << std::hex << d << " mode " << mode);
      client::SmbClient c;
      ASSERT_TRUE(c.connect(opts(d, mode == 0, mode == 1)));
      EXPECT_EQ(c.info().dialect, d);
      EXPECT_EQ(c.info().encryption, mode == 1);
      ASSERT_TRUE(c.treeConnect("share"));
      std::string name = "f" + std::to_string(d) + "_" + std::to_string(mode) + ".bin";
      expectRoundTrip(c, name, data);
      if (HasFatalFailure()) return;
      auto list = c.list("");
      ASSERT_TRUE(list);
      bool found = false;
      for (const auto& e : *list) found |= e.name == name;
      EXPECT_TRUE(found);
      ASSERT_TRUE(c.rename(name, "renamed_" + name, false));
      ASSERT_TRUE(c.unlink("renamed_" + name));
      EXPECT_FALSE(fs::exists(dir_ + "/share/renamed_" + name));
      ASSERT_TRUE(c.logoff());
    }
  }
}

TEST_F(InProcess, FailuresAreClean) {
  client::SmbClient bad;
  EXPECT_EQ(bad.connect(opts(smb2::kDialect311, false, false, "wrong")).status(), NtStatus::kLogonFailure);
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  EXPECT_EQ(c.treeConnect("nosuch").status(), NtStatus::kBadNetworkName);
  ASSERT_TRUE(c.treeConnect("ro"));
  EXPECT_EQ(c.mkdir("x").status(), NtStatus::kAccessDenied);
  EXPECT_EQ(c.stat("missing").status(), NtStatus::kObjectNameNotFound);
  EXPECT_FALSE(c.stat("..\\etc\\passwd"));
  auto shares = c.shares();
  ASSERT_TRUE(shares);
  EXPECT_GE(shares->size(), 2u);
}

// Multichannel: a session established over TCP gets an SMB Direct channel bound to it (MS-SMB2
// 3.2.4.2.3 / 3.3.5.5.2), as Windows clients add RDMA channels; data written through the new
// channel is read back through the first, and the session outlives the extra channel.
TEST_F(InProcess, SmbDirectChannelBindsToATcpSession) {
  Bytes data((1 << 20) + 4099);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 13 + (i >> 9));
  for (uint16_t d : {smb2::kDialect300, smb2::kDialect302, smb2::kDialect311}) {
    for (bool sign : {false, true}) {
      SCOPED_TRACE(testing::Message() << "dialect " << std::hex << d << " sign " << sign);
      client::SmbClient a;
      ASSERT_TRUE(a.connect(opts(d, sign, false)));
      ASSERT_TRUE(a.treeConnect("share"));
      auto ifs = a.interfaces();
      ASSERT_TRUE(ifs);
      for (const auto& i : *ifs) EXPECT_TRUE(i.rdma) << i.address;  // SMB Direct listens
      std::string name = "bound" + std::to_string(d) + (sign ? "s" : "") + ".bin";
      {
        client::SmbClient b;
        auto ob = rdmaOpts(d, sign, false);
        ob.bind_to = &a;
        auto st = b.connect(ob);
        ASSERT_TRUE(st) << (st ? "" : st.error().what);
        EXPECT_EQ(b.info().transport, "rdma");
        ASSERT_TRUE(b.upload(name, data.size(), [&](uint64_t off, std::span<uint8_t> out) -> Result<size_t> {
          size_t n = std::min<uint64_t>(out.size(), data.size() - off);
          std::copy(data.begin() + long(off), data.begin() + long(off + n), out.begin());
          return n;
        }));
      }
      // The extra channel is gone; the session and its tree still work on the first.
      Bytes back;
      ASSERT_TRUE(a.download(name, [&](ByteView v) -> Status {
        back.insert(back.end(), v.begin(), v.end());
        return ok();
      }));
      EXPECT_EQ(back, data);
      ASSERT_TRUE(a.unlink(name));
    }
  }
}

TEST_F(InProcess, BindingNeedsTheSessionKeyAndTheSameUser) {
  client::SmbClient a;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(a.treeConnect("share"));
  client::SmbClient b;
  auto ob = rdmaOpts(smb2::kDialect311, true, false, "wrong-password");
  ob.bind_to = &a;
  EXPECT_FALSE(b.connect(ob));  // the channel must authenticate as the session's user
  EXPECT_TRUE(a.stat(""));      // and the session is unharmed
}

// NT ACL storage (server/access_check.h): descriptors set through the SecD create context and
// SET_INFO are stored in user.smbdirect.ntacl, returned by QUERY_INFO part by part, and enforced
// at CREATE.
namespace acl {
using namespace fscc;
constexpr uint32_t kAll = kOwnerSecurityInformation | kGroupSecurityInformation | kDaclSecurityInformation;
Sid me() { return unixUserSid(uint32_t(geteuid())); }
SecurityDescriptor dacl(std::vector<Ace> aces) {
  SecurityDescriptor sd;
  Acl a;
  a.aces = std::move(aces);
  sd.dacl = a;
  return sd;
}
}  // namespace acl

TEST_F(InProcess, NtAclStoredAndReturnedByParts) {
  using namespace acl;
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  SecurityDescriptor sd = dacl({{kAccessAllowedAceType, 0, kFileAllAccess, everyoneSid(), {}},
                                {kAccessAllowedAceType, 0, kFileGenericRead, authenticatedUsersSid(), {}}});
  sd.owner = everyoneSid();
  sd.group = unixGroupSid(4242);
  auto f = c.createWithSecurity("acl.txt", smb2::kMaximumAllowed, smb2::kFileCreate, 0,
                                encodeSecurityDescriptor(sd));
  ASSERT_TRUE(f) << (f ? "" : f.error().what);
  auto q = c.querySecurity(*f, kAll);
  ASSERT_TRUE(q);
  auto back = decodeSecurityDescriptor(*q);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->owner, sd.owner);
  EXPECT_EQ(back->group, sd.group);
  EXPECT_EQ(back->dacl, sd.dacl);
  char buf[512];
  EXPECT_GT(getxattr((dir_ + "/share/acl.txt").c_str(), "user.smbdirect.ntacl", buf, sizeof buf), 0);
  // Only the parts asked for.
  auto owner_only = decodeSecurityDescriptor(*c.querySecurity(*f, kOwnerSecurityInformation));
  ASSERT_TRUE(owner_only);
  EXPECT_EQ(owner_only->owner, sd.owner);
  EXPECT_FALSE(owner_only->group);
  EXPECT_FALSE(owner_only->dacl);
  EXPECT_FALSE(owner_only->control & kSeDaclPresent);
  // SET_INFO of the group alone leaves owner and DACL as they were.
  SecurityDescriptor g;
  g.group = unixGroupSid(7);
  ASSERT_TRUE(c.setSecurity(*f, kGroupSecurityInformation, encodeSecurityDescriptor(g)));
  back = decodeSecurityDescriptor(*c.querySecurity(*f, kAll));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->owner, sd.owner);
  EXPECT_EQ(back->group, g.group);
  EXPECT_EQ(back->dacl, sd.dacl);
  // Not an EA.
  EXPECT_EQ(c.stat("acl.txt")->name, "acl.txt");
  ASSERT_TRUE(c.close(*f));
  // A file without a stored descriptor still gets one synthesised from POSIX.
  auto plain = c.open("plain.txt", smb2::kReadControl, smb2::kFileCreate, 0);
  ASSERT_TRUE(plain);
  auto ps = decodeSecurityDescriptor(*c.querySecurity(*plain, kAll));
  ASSERT_TRUE(ps && ps->dacl);
  EXPECT_EQ(ps->owner, me());
  ASSERT_TRUE(c.close(*plain));
}

TEST_F(InProcess, NtAclDaclDecidesCreateAccess) {
  using namespace acl;
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  auto f = c.open("d.txt", smb2::kReadControl | smb2::kWriteDac, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  // Read only, for us.
  auto ro = dacl({{kAccessAllowedAceType, 0, kFileGenericRead, me(), {}}});
  ASSERT_TRUE(c.setSecurity(*f, kDaclSecurityInformation, encodeSecurityDescriptor(ro)));
  EXPECT_EQ(c.open("d.txt", smb2::kFileWriteData, smb2::kFileOpen, 0).status(), NtStatus::kAccessDenied);
  EXPECT_EQ(c.open("d.txt", smb2::kFileReadData, smb2::kFileOverwriteIf, 0).status(), NtStatus::kAccessDenied);
  auto r = c.open("d.txt", smb2::kFileReadData, smb2::kFileOpen, 0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(c.close(*r));
  // DELETE through the parent's FILE_DELETE_CHILD (the share root: POSIX, owned by us).
  r = c.open("d.txt", smb2::kDelete, smb2::kFileOpen, 0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(c.close(*r));
  // Empty DACL: nothing but the owner's READ_CONTROL / WRITE_DAC.
  ASSERT_TRUE(c.setSecurity(*f, kDaclSecurityInformation, encodeSecurityDescriptor(dacl({}))));
  EXPECT_EQ(c.open("d.txt", smb2::kFileReadData, smb2::kFileOpen, 0).status(), NtStatus::kAccessDenied);
  r = c.open("d.txt", smb2::kReadControl | smb2::kWriteDac, smb2::kFileOpen, 0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(c.close(*r));
  // DACL named but not present: a NULL DACL, everything allowed.
  ASSERT_TRUE(c.setSecurity(*f, kDaclSecurityInformation, encodeSecurityDescriptor(SecurityDescriptor{})));
  auto q = decodeSecurityDescriptor(*c.querySecurity(*f, kDaclSecurityInformation));
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->control & kSeDaclPresent);
  EXPECT_FALSE(q->dacl);
  r = c.open("d.txt", smb2::kFileWriteData, smb2::kFileOpen, 0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(c.close(*r));
  // Setting the DACL needs WRITE_DAC on the open.
  auto rd = c.open("d.txt", smb2::kReadControl, smb2::kFileOpen, 0);
  ASSERT_TRUE(rd);
  EXPECT_EQ(c.setSecurity(*rd, kDaclSecurityInformation, encodeSecurityDescriptor(ro)).status(),
            NtStatus::kAccessDenied);
  ASSERT_TRUE(c.close(*rd));
  ASSERT_TRUE(c.close(*f));
}

// Two SMB users who are two Unix accounts (Debian's daemon and bin): the DACL one sets on a file
// tells the other apart, the owner each file gets is its creator's SID, and neither may change
// what the DACL or the owner rules keep from them. POSIX permissions (mode 0666) let both in, so
// every refusal below comes from the NT ACL. Needs root: the server acts as each account.
TEST_F(InProcess, NtAclDaclTellsTwoUsersApart) {
  using namespace acl;
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the server acts as each user's Unix account";
  auto ua = lookupUnixAccount("daemon"), ub = lookupUnixAccount("bin");
  if (!ua || !ub) GTEST_SKIP() << "needs the system accounts daemon and bin";
  const Sid sa = unixUserSid(uint32_t(ua->uid)), sb = unixUserSid(uint32_t(ub->uid));
  client::SmbClient a, b;
  auto oa = opts(smb2::kDialect311, true, false), ob = oa;
  oa.user = "daemon";
  ob.user = "bin";
  ASSERT_TRUE(a.connect(oa));
  ASSERT_TRUE(b.connect(ob));
  ASSERT_TRUE(a.treeConnect("multi"));
  ASSERT_TRUE(b.treeConnect("multi"));
  auto f = a.open("mine.txt", smb2::kReadControl | smb2::kWriteDac, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  struct stat st{};
  ASSERT_EQ(::stat((dir_ + "/multi/mine.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ua->uid);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  auto owner = decodeSecurityDescriptor(*a.querySecurity(*f, kOwnerSecurityInformation));
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->owner, sa);
  auto canOpen = [](client::SmbClient& c, uint32_t access) {
    auto h = c.open("mine.txt", access, smb2::kFileOpen, 0);
    if (!h) return h.status();
    EXPECT_TRUE(c.close(*h));
    return NtStatus::kSuccess;
  };
  // Everyone reads, only the owner writes.
  ASSERT_TRUE(a.setSecurity(*f, kDaclSecurityInformation,
                            encodeSecurityDescriptor(dacl({{kAccessAllowedAceType, 0, kFileAllAccess, sa, {}},
                                                           {kAccessAllowedAceType, 0, kFileGenericRead, everyoneSid(), {}}}))));
  EXPECT_EQ(canOpen(b, smb2::kFileReadData), NtStatus::kSuccess);
  EXPECT_EQ(canOpen(b, smb2::kFileWriteData), NtStatus::kAccessDenied);
  EXPECT_EQ(canOpen(a, smb2::kFileWriteData), NtStatus::kSuccess);
  // The other user is named: bin's read is denied ahead of Everyone's allow, bin gets write.
  ASSERT_TRUE(a.setSecurity(*f, kDaclSecurityInformation,
                            encodeSecurityDescriptor(dacl({{kAccessDeniedAceType, 0, smb2::kFileReadData, sb, {}},
                                                           {kAccessAllowedAceType, 0, kFileAllAccess, sa, {}},
                                                           {kAccessAllowedAceType, 0, smb2::kFileWriteData, sb, {}},
                                                           {kAccessAllowedAceType, 0, kFileGenericRead, everyoneSid(), {}}}))));
  EXPECT_EQ(canOpen(b, smb2::kFileReadData), NtStatus::kAccessDenied);
  EXPECT_EQ(canOpen(b, smb2::kFileWriteData), NtStatus::kSuccess);
  EXPECT_EQ(canOpen(a, smb2::kFileReadData), NtStatus::kSuccess);
  // Neither the DACL nor the owner is bin's to change.
  EXPECT_EQ(canOpen(b, smb2::kWriteDac), NtStatus::kAccessDenied);
  EXPECT_EQ(canOpen(b, smb2::kWriteOwner), NtStatus::kAccessDenied);
  ASSERT_TRUE(a.close(*f));
  // On a file of their own, bin may not make daemon its owner (not in bin's token).
  auto g = b.open("theirs.txt", smb2::kReadControl | smb2::kWriteOwner, smb2::kFileCreate, 0);
  ASSERT_TRUE(g);
  SecurityDescriptor give;
  give.owner = sa;
  EXPECT_EQ(b.setSecurity(*g, kOwnerSecurityInformation, encodeSecurityDescriptor(give)).status(),
            NtStatus::kInvalidOwner);
  owner = decodeSecurityDescriptor(*b.querySecurity(*g, kOwnerSecurityInformation));
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->owner, sb);
  ASSERT_TRUE(b.close(*g));
}

TEST_F(InProcess, NtAclInheritedAndDeleteOnClose) {
  using namespace acl;
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect302, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  auto d = c.open("dir", smb2::kReadControl | smb2::kWriteDac, smb2::kFileCreate, smb2::kFileDirectoryFile);
  ASSERT_TRUE(d);
  // Everything but DELETE and FILE_DELETE_CHILD, passed on to files (smbtorture
  // delete-on-close-perms does the same).
  uint32_t perms = kFileAllAccess & ~(kDelete | kFileDeleteChild);
  ASSERT_TRUE(c.setSecurity(*d, kDaclSecurityInformation,
                            encodeSecurityDescriptor(dacl({{kAccessAllowedAceType, kObjectInheritAce, perms, me(), {}}}))));
  ASSERT_TRUE(c.close(*d));
  // A new file may be created delete-on-close: the creator gets what it asked for.
  auto n = c.open("dir\\new.txt", smb2::kDelete | smb2::kFileWriteData, smb2::kFileCreate,
                  smb2::kFileDeleteOnClose | smb2::kFileNonDirectoryFile);
  ASSERT_TRUE(n);
  ASSERT_TRUE(c.close(*n));
  EXPECT_FALSE(fs::exists(dir_ + "/share/dir/new.txt"));
  // An existing file inherited the DACL without DELETE: refused, and not truncated.
  auto e = c.open("dir\\old.txt", smb2::kFileWriteData | smb2::kReadControl, smb2::kFileCreate, 0);
  ASSERT_TRUE(e);
  ASSERT_TRUE(c.write(*e, 0, Bytes{1, 2, 3}));
  auto q = decodeSecurityDescriptor(*c.querySecurity(*e, kDaclSecurityInformation));
  ASSERT_TRUE(q && q->dacl);
  ASSERT_EQ(q->dacl->aces.size(), 1u);
  EXPECT_EQ(q->dacl->aces[0].flags, 0) << "INHERITED_ACE only when the parent's DACL is AUTO_INHERITED";
  EXPECT_EQ(q->dacl->aces[0].mask, perms);
  ASSERT_TRUE(c.close(*e));
  EXPECT_EQ(c.open("dir\\old.txt", smb2::kDelete | smb2::kFileWriteData, smb2::kFileOverwriteIf,
                   smb2::kFileDeleteOnClose | smb2::kFileNonDirectoryFile).status(),
            NtStatus::kAccessDenied);
  EXPECT_EQ(fs::file_size(dir_ + "/share/dir/old.txt"), 3u);
  // A directory that grants no FILE_ADD_FILE refuses new names.
  d = c.open("dir", smb2::kWriteDac, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(d);
  ASSERT_TRUE(c.setSecurity(*d, kDaclSecurityInformation,
                            encodeSecurityDescriptor(dacl({{kAccessAllowedAceType, 0, kFileGenericRead, me(), {}}}))));
  ASSERT_TRUE(c.close(*d));
  EXPECT_EQ(c.open("dir\\more.txt", smb2::kFileWriteData, smb2::kFileCreate, 0).status(), NtStatus::kAccessDenied);
}

TEST_F(InProcess, NtAclMalformedDescriptorsAreRefused) {
  using namespace acl;
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  Bytes good = encodeSecurityDescriptor(dacl({{kAccessAllowedAceType, 0, kFileAllAccess, everyoneSid(), {}}}));
  Bytes bad = good;
  store32(bad.data() + 16, 0xFFFF);  // OffsetDacl outside the descriptor
  EXPECT_EQ(c.createWithSecurity("bad.txt", smb2::kFileAllAccess, smb2::kFileCreate, 0, bad).status(),
            NtStatus::kInvalidSecurityDescr);
  EXPECT_FALSE(fs::exists(dir_ + "/share/bad.txt"));
  auto f = c.open("f.txt", smb2::kWriteDac | smb2::kWriteOwner | smb2::kReadControl, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  for (size_t n : {size_t(0), size_t(3), size_t(19), good.size() - 1})
    EXPECT_EQ(c.setSecurity(*f, kDaclSecurityInformation, ByteView(good).first(n)).status(),
              NtStatus::kInvalidSecurityDescr) << n;
  EXPECT_EQ(c.setSecurity(*f, kDaclSecurityInformation, bad).status(), NtStatus::kInvalidSecurityDescr);
  ASSERT_TRUE(c.setSecurity(*f, kDaclSecurityInformation, good));
  ASSERT_TRUE(c.close(*f));
}

// The FUSE mount's pattern: several threads issue requests at once on one SmbClient (opens,
// 256 KiB and 4 KiB reads/writes, stats, listings, directory operations); each checks its own
// data, for plain, signed and sealed sessions over TCP and over SMB Direct (mode 3: READ/WRITE
// of 8 KiB and more by RDMA, each request registering its own buffer).
TEST_F(InProcess, ConcurrentRequestsOnOneConnection) {
  constexpr int kThreads = 8;
  for (int mode = 0; mode < 4; mode++) {
    SCOPED_TRACE(testing::Message() << "mode " << mode);
    client::SmbClient c;
    auto o = mode == 3 ? rdmaOpts(smb2::kDialect311, false, false) : opts(smb2::kDialect311, mode == 1, mode == 2);
    ASSERT_TRUE(c.connect(o));
    ASSERT_TRUE(c.treeConnect("share"));
    std::atomic<int> failures{0};
    auto fail = [&](int t, const char* what, NtStatus st = NtStatus::kSuccess) {
      failures++;
      ADD_FAILURE() << "thread " << t << ": " << what << " " << ntStatusName(st);
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        std::string name = "c" + std::to_string(mode) + "_" + std::to_string(t) + ".bin";
        Bytes data((1 << 20) + 4096 * t + 123);
        for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * (t + 3) + (i >> 11) + t);
        auto f = c.open(name, smb2::kFileReadData | smb2::kFileWriteData | smb2::kFileReadAttributes |
                                  smb2::kSynchronize,
                        smb2::kFileOverwriteIf, smb2::kFileNonDirectoryFile);
        if (!f) return fail(t, "open", f.status());
        // Odd threads write 4 KiB pieces, even ones 256 KiB.
        size_t piece = (t & 1) ? 4096 : 256 << 10;
        for (size_t off = 0; off < data.size();) {
          size_t n = std::min(piece, data.size() - off);
          auto w = c.write(*f, off, ByteView(data.data() + off, n));
          if (!w || *w == 0) return fail(t, "write", w.status());
          off += *w;
        }
        if (!c.flush(*f)) return fail(t, "flush");
        auto st = c.stat(name);
        if (!st || st->end_of_file != data.size()) return fail(t, "stat");
        Bytes back(data.size());
        for (size_t off = 0; off < back.size();) {
          auto r = c.read(*f, off, std::span<uint8_t>(back.data() + off, std::min(piece * 2, back.size() - off)));
          if (!r || *r == 0) return fail(t, "read", r.status());
          off += *r;
        }
        if (back != data) return fail(t, "data differs");
        if (!c.close(*f)) return fail(t, "close");
        std::string d = "d" + std::to_string(mode) + "_" + std::to_string(t);
        for (int i = 0; i < 5; i++) {
          if (!c.mkdir(d)) return fail(t, "mkdir");
          if (!c.rename(d, d + "x", false)) return fail(t, "rename");
          if (!c.list(d + "x")) return fail(t, "list");
          if (!c.rmdir(d + "x")) return fail(t, "rmdir");
        }
        if (c.stat("missing" + std::to_string(t)).status() != NtStatus::kObjectNameNotFound)
          return fail(t, "stat of a missing file");
        if (!c.unlink(name)) return fail(t, "unlink");
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    auto list = c.list("");
    ASSERT_TRUE(list);
    EXPECT_LE(list->size(), 2u);  // only . and ..
    // A single caller still works after the concurrent phase, including a pipelined transfer.
    Bytes big(3 << 20);
    for (size_t i = 0; i < big.size(); i++) big[i] = uint8_t(i * 11);
    ASSERT_TRUE(c.upload("after.bin", big.size(), [&](uint64_t off, std::span<uint8_t> b) -> Result<size_t> {
      size_t n = std::min(b.size(), big.size() - size_t(off));
      std::copy(big.begin() + long(off), big.begin() + long(off + n), b.begin());
      return n;
    }));
    Bytes back;
    ASSERT_TRUE(c.download("after.bin", [&](ByteView v) -> Status {
      back.insert(back.end(), v.begin(), v.end());
      return ok();
    }));
    EXPECT_EQ(back, big);
    ASSERT_TRUE(c.unlink("after.bin"));
    ASSERT_TRUE(c.logoff());
  }
}

// A connection that dies under several waiting callers fails every one of them (none hangs).
TEST_F(InProcess, ConnectionLossWakesEveryCaller) {
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  std::atomic<bool> stop{false};
  std::atomic<int> lost{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++) {
    threads.emplace_back([&] {
      while (!stop) {
        auto st = c.stat("");
        if (!st) {
          if (client::SmbClient::connectionLost(st.status())) lost++;
          return;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  tcp_->stop();  // every connection of the server is closed
  for (auto& th : threads) th.join();
  stop = true;
  EXPECT_EQ(lost.load(), 6);
  EXPECT_TRUE(client::SmbClient::connectionLost(c.stat("").status()));  // and stays failed
}

// A loopback TCP relay between the client and the server that can slip a message of its own
// into the server-to-client stream between two whole frames: a server's unsolicited lease break,
// at the moment the test chooses.
class BreakInjector {
 public:
  explicit BreakInjector(uint16_t server_port) : server_port_(server_port) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(lfd_, 4) == 0 &&
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~BreakInjector() {
    stop_ = true;
    ::shutdown(lfd_, SHUT_RDWR);
    dropClient();
    acceptor_.join();
    for (auto& t : relays_) t.join();
    ::close(lfd_);
    for (int fd : fds_) ::close(fd);
  }
  uint16_t port() const { return port_; }
  // Writes one Direct-TCP frame carrying `msg` to the current client, between two relayed frames.
  bool inject(ByteView msg) {
    std::lock_guard<std::mutex> lk(mu_);
    if (client_fd_ < 0) return false;
    uint8_t h[4] = {0, uint8_t(msg.size() >> 16), uint8_t(msg.size() >> 8), uint8_t(msg.size())};
    return writeAll(client_fd_, h, 4) && writeAll(client_fd_, msg.data(), msg.size());
  }
  // Cuts the current client's connection (both directions).
  void dropClient() {
    std::lock_guard<std::mutex> lk(mu_);
    if (client_fd_ >= 0) ::shutdown(client_fd_, SHUT_RDWR);
    if (server_fd_ >= 0) ::shutdown(server_fd_, SHUT_RDWR);
  }

 private:
  static bool writeAll(int fd, const uint8_t* p, size_t n) {
    while (n) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= size_t(w);
    }
    return true;
  }
  static bool readAll(int fd, uint8_t* p, size_t n) {
    while (n) {
      ssize_t r = ::recv(fd, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= size_t(r);
    }
    return true;
  }
  void acceptLoop() {
    for (int i = 0; i < 8 && !stop_; i++) {  // a few connections: the first and reconnects
      int c = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(server_port_);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        ::close(s);
        return;
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        client_fd_ = c;
        server_fd_ = s;
        fds_.push_back(c);
        fds_.push_back(s);
      }
      // Client to server: bytes as they come.
      relays_.emplace_back([c, s] {
        uint8_t buf[65536];
        for (;;) {
          ssize_t r = ::recv(c, buf, sizeof buf, 0);
          if (r <= 0 || !writeAll(s, buf, size_t(r))) break;
        }
        ::shutdown(s, SHUT_RDWR);
      });
      // Server to client: whole frames, each written under mu_ so an injected one never lands
      // inside another.
      relays_.emplace_back([this, c, s] {
        Bytes buf;
        for (;;) {
          uint8_t h[4];
          if (!readAll(s, h, 4)) break;
          size_t n = (size_t(h[1]) << 16) | (size_t(h[2]) << 8) | h[3];
          buf.resize(n);
          if (!readAll(s, buf.data(), n)) break;
          std::lock_guard<std::mutex> lk(mu_);
          if (!writeAll(c, h, 4) || !writeAll(c, buf.data(), n)) break;
        }
        ::shutdown(c, SHUT_RDWR);
      });
    }
  }
  uint16_t server_port_;
  uint16_t port_ = 0;
  int lfd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int client_fd_ = -1, server_fd_ = -1;
  std::vector<int> fds_;
  std::thread acceptor_;
  std::vector<std::thread> relays_;
};

// A LEASE_BREAK notification as a server sends it (MS-SMB2 2.2.23.2: MessageId all ones,
// unsigned, SessionId 0).
Bytes leaseBreak(uint8_t key_byte, uint32_t from, uint32_t to, uint16_t epoch) {
  ByteWriter w;
  smb2::Header h;
  h.command = smb2::Command::kOplockBreak;
  h.flags = smb2::kFlagServerToRedir;
  h.message_id = smb2::kUnsolicitedMessageId;
  smb2::encodeHeader(h, w);
  smb2::LeaseBreakNotification n;
  n.new_epoch = epoch;
  n.flags = smb2::kNotifyBreakLeaseFlagAckRequired;
  n.lease_key.fill(key_byte);
  n.current_lease_state = from;
  n.new_lease_state = to;
  smb2::encodeLeaseBreakNotification(n, w);
  return w.take();
}

// Breaks reach the owner's handler at any time: while the connection is idle (the idle
// receiver reads them), and between responses while several callers wait (whoever receives
// hands them over), on plain and signed sessions; they disturb no request; the idle receiver
// stops and restarts across a reconnect, and a connection cut while idle fails the next call.
TEST_F(InProcess, LeaseBreaksReachTheOwnerIdleAndBusy) {
  for (int mode = 0; mode < 2; mode++) {
    SCOPED_TRACE(testing::Message() << (mode ? "signed" : "plain"));
    BreakInjector proxy(tcp_->boundPort());
    ASSERT_NE(proxy.port(), 0);
    client::SmbClient c;
    auto o = opts(smb2::kDialect311, mode == 1, false);
    o.port = proxy.port();
    ASSERT_TRUE(c.connect(o));
    ASSERT_TRUE(c.treeConnect("share"));
    std::mutex mu;
    std::condition_variable cv;
    std::vector<client::SmbClient::LeaseBreak> got;
    c.setLeaseBreakHandler([&](const client::SmbClient::LeaseBreak& b) {
      std::lock_guard<std::mutex> lk(mu);
      got.push_back(b);
      cv.notify_all();
    });
    auto waitFor = [&](size_t n) {
      std::unique_lock<std::mutex> lk(mu);
      return cv.wait_for(lk, std::chrono::seconds(5), [&] { return got.size() >= n; });
    };
    // Idle: no request outstanding, nobody waiting for a response.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ASSERT_TRUE(proxy.inject(leaseBreak(0x11, smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle,
                                        smb2::kLeaseRead | smb2::kLeaseHandle, 2)));
    ASSERT_TRUE(waitFor(1)) << "a break on an idle connection was not read";
    {
      std::lock_guard<std::mutex> lk(mu);
      EXPECT_EQ(got[0].key[0], 0x11);
      EXPECT_EQ(got[0].current_state, 7u);
      EXPECT_EQ(got[0].new_state, 3u);
      EXPECT_EQ(got[0].new_epoch, 2);
      EXPECT_TRUE(got[0].ack_required);
    }
    // Busy: four callers loop on requests while 20 breaks come between their responses.
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0}, calls{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&] {
        for (int i = 0; i < 100000 && !stop; i++) {
          if (!c.stat("")) failures++;
          calls++;
        }
      });
    }
    for (int i = 0; i < 20; i++) {
      ASSERT_TRUE(proxy.inject(leaseBreak(uint8_t(0x20 + i), smb2::kLeaseRead, 0, uint16_t(3 + i))));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(waitFor(21)) << "breaks lost while callers were waiting";
    stop = true;
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GT(calls.load(), 0);
    {
      std::lock_guard<std::mutex> lk(mu);
      ASSERT_EQ(got.size(), 21u);
      for (int i = 0; i < 20; i++) EXPECT_EQ(got[size_t(1 + i)].key[0], uint8_t(0x20 + i));  // in order
    }
    // An acknowledgment goes out as a request of its own; smbdirectd has no such lease and says
    // so, and the connection goes on.
    smb2::LeaseKey k;
    k.fill(0x11);
    EXPECT_FALSE(c.ackLeaseBreak(k, smb2::kLeaseRead));
    EXPECT_TRUE(c.stat(""));
    EXPECT_NE(c.statusText().find("breaks received: 21"), std::string::npos);
    // Reconnect (through the proxy again): the idle receiver is stopped and started again.
    ASSERT_TRUE(c.reconnect());
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ASSERT_TRUE(proxy.inject(leaseBreak(0x44, smb2::kLeaseRead, 0, 9)));
    EXPECT_TRUE(waitFor(22)) << "no break read after the reconnect";
    // The connection cut while idle: seen by the idle receiver, reported to the next caller.
    proxy.dropClient();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto st = c.stat("");
    EXPECT_FALSE(st);
    EXPECT_TRUE(client::SmbClient::connectionLost(st.status())) << ntStatusName(st.status());
  }
}

// CANCEL of a CREATE that waits for an oplock break (MS-SMB2 3.3.5.16): it completes at once with
// STATUS_CANCELLED and opens nothing; when the break settles later, the parked CREATE does not
// run again and no second response comes.
TEST_F(InProcess, CancelOfAWaitingCreate) {
  using namespace std::chrono;
  state_->oplocks().setBreakTimeout(seconds(20));
  client::SmbClient a, b;
  std::atomic<int> breaks{0};
  std::optional<client::SmbClient::OplockOpen> h;
  batchHolderAndOther(a, b, "cancel.bin", breaks, h);
  if (HasFatalFailure()) return;
  const uint32_t opens_before = state_->openCount();
  std::atomic<bool> done{false};
  std::optional<Result<client::SmbClient::OplockOpen>> got;
  std::thread opener([&] {
    got = b.openWithOplock("cancel.bin", smb2::kFileReadData, smb2::kFileOpen, 0, smb2::kOplockLevelBatch);
    done = true;
  });
  // The CREATE has gone async once its interim response arrived: then cancel it.
  size_t cancelled = 0;
  for (int i = 0; i < 500 && cancelled == 0 && !done; i++) {
    std::this_thread::sleep_for(milliseconds(10));
    auto n = b.cancelAllAsync();
    ASSERT_TRUE(n);
    cancelled = *n;
  }
  ASSERT_EQ(cancelled, 1u) << "the CREATE never went async";
  auto t0 = steady_clock::now();
  opener.join();
  EXPECT_LT(steady_clock::now() - t0, seconds(2)) << "CANCEL did not complete the waiting CREATE";
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status(), NtStatus::kCancelled);
  EXPECT_EQ(state_->openCount(), opens_before);
  for (int i = 0; i < 200 && breaks == 0; i++) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(breaks.load(), 1);
  // The break settles (the holder acknowledges): the cancelled CREATE stays cancelled, and both
  // connections go on.
  ASSERT_TRUE(a.ackOplockBreak(h->id, smb2::kOplockLevelII));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(state_->openCount(), opens_before);
  ASSERT_TRUE(b.stat(""));
  auto again = b.openWithOplock("cancel.bin", smb2::kFileReadData, smb2::kFileOpen, 0, smb2::kOplockLevelNone);
  ASSERT_TRUE(again) << ntStatusName(again.status());
  EXPECT_TRUE(b.close(again->id));
  EXPECT_TRUE(a.close(h->id));
  auto none = b.cancelAllAsync();  // nothing async any more
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
}

// Acknowledgments that do not match a break (MS-SMB2 3.3.5.22): each gets its status and changes
// nothing; the lease and the connections go on.
TEST_F(InProcess, StrayBreakAcknowledgments) {
  if (!state_->leasesOn()) GTEST_SKIP() << "no leases offered here (smb2 leases = auto, not root)";
  client::SmbClient a, b;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(b.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(a.treeConnect("share"));
  ASSERT_TRUE(b.treeConnect("share"));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<client::SmbClient::LeaseBreak> breaks;
  a.setLeaseBreakHandler([&](const client::SmbClient::LeaseBreak& br) {
    std::lock_guard<std::mutex> lk(mu);
    breaks.push_back(br);
    cv.notify_all();
  });
  b.setLeaseBreakHandler([](const client::SmbClient::LeaseBreak&) {});
  smb2::LeaseKey key, unknown;
  key.fill(0x61);
  unknown.fill(0x62);
  constexpr uint32_t kRWH = smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle;
  constexpr uint32_t kRH = smb2::kLeaseRead | smb2::kLeaseHandle;
  auto l = a.openLeased("stray.bin", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0, key, kRWH);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->lease_state, kRWH);
  // No break pending: STATUS_UNSUCCESSFUL; a key nobody holds, or another client's key (a lease
  // is its client's): STATUS_OBJECT_NAME_NOT_FOUND.
  EXPECT_EQ(a.ackLeaseBreak(key, kRH).status(), NtStatus::kUnsuccessful);
  EXPECT_EQ(a.ackLeaseBreak(unknown, 0).status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(b.ackLeaseBreak(key, 0).status(), NtStatus::kObjectNameNotFound);
  // A break to RH (b opens the file): an acknowledgment keeping more than that is refused and
  // leaves the break pending; the right one settles it.
  std::optional<Result<smb2::FileId>> opened;
  std::thread opener([&] { opened = b.open("stray.bin", smb2::kFileReadData, smb2::kFileOpen, 0); });
  {
    std::unique_lock<std::mutex> lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(5), [&] { return !breaks.empty(); }));
    EXPECT_EQ(breaks[0].new_state, kRH);
  }
  EXPECT_EQ(a.ackLeaseBreak(key, kRWH).status(), NtStatus::kRequestNotAccepted);
  EXPECT_EQ(b.ackLeaseBreak(key, kRH).status(), NtStatus::kObjectNameNotFound);  // not b's lease
  EXPECT_TRUE(a.ackLeaseBreak(key, kRH));
  opener.join();
  ASSERT_TRUE(opened && *opened);
  EXPECT_EQ(a.ackLeaseBreak(key, kRH).status(), NtStatus::kUnsuccessful);  // settled
  // An oplock acknowledgment for another session's open, or an open with no oplock.
  EXPECT_EQ(b.ackOplockBreak(l->id, smb2::kOplockLevelII).status(), NtStatus::kFileClosed);
  EXPECT_EQ(b.ackOplockBreak(**opened, smb2::kOplockLevelII).status(), NtStatus::kInvalidOplockProtocol);
  EXPECT_TRUE(b.close(**opened));
  EXPECT_TRUE(a.close(l->id));
  EXPECT_TRUE(a.stat("") && b.stat(""));
}

// Changes made on the server outside SMB (server/local_changes.h): a write by another process
// breaks the lease of the file to none; a write by the server's own process (this one: the
// server runs in-process) is an SMB write's and breaks nothing here. Level II oplocks too.
TEST_F(InProcess, ChangesMadeOutsideSmbBreakLeasesAndOplocks) {
  if (!state_->leasesOn()) GTEST_SKIP() << "changes made outside SMB cannot be watched here (needs root)";
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  ASSERT_TRUE(c.leasesSupported());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<client::SmbClient::LeaseBreak> breaks;
  c.setLeaseBreakHandler([&](const client::SmbClient::LeaseBreak& b) {
    std::lock_guard<std::mutex> lk(mu);
    breaks.push_back(b);
    cv.notify_all();
  });
  const std::string path = dir_ + "/share/local.txt";
  smb2::LeaseKey key;
  key.fill(0x5d);
  constexpr uint32_t kRH = smb2::kLeaseRead | smb2::kLeaseHandle;
  auto o = c.openLeased("local.txt", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0, key, kRH);
  ASSERT_TRUE(o) << ntStatusName(o.status());
  ASSERT_EQ(o->lease_state, kRH);
  { std::ofstream(path, std::ios::app) << "this process"; }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard<std::mutex> lk(mu);
    EXPECT_TRUE(breaks.empty()) << "the server's own write broke its client's lease";
  }
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(std::system(("printf other >> '" + path + "'").c_str()), 0);
  {
    std::unique_lock<std::mutex> lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(2), [&] { return !breaks.empty(); }))
        << "a write by another process broke no lease";
    EXPECT_EQ(breaks[0].key, key);
    EXPECT_EQ(breaks[0].current_state, kRH);
    EXPECT_EQ(breaks[0].new_state, 0u);
    EXPECT_TRUE(breaks[0].ack_required);  // H was held
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_TRUE(c.ackLeaseBreak(key, 0));
  EXPECT_TRUE(c.close(o->id));

  // A level II oplock breaks to none likewise (no acknowledgment).
  std::atomic<int> oplock_breaks{0};
  std::atomic<uint8_t> to{0xff};
  client::SmbClient c2;
  ASSERT_TRUE(c2.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c2.treeConnect("share"));
  c2.setOplockBreakHandler([&](const smb2::FileId&, uint8_t level) {
    to = level;
    oplock_breaks++;
  });
  auto a = c2.openWithOplock("local.txt", smb2::kFileReadData, smb2::kFileOpen, 0, smb2::kOplockLevelII);
  ASSERT_TRUE(a) << ntStatusName(a.status());
  ASSERT_EQ(a->level, smb2::kOplockLevelII);
  ASSERT_EQ(std::system(("printf again >> '" + path + "'").c_str()), 0);
  for (int i = 0; i < 200 && oplock_breaks == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(oplock_breaks.load(), 1);
  EXPECT_EQ(to.load(), smb2::kOplockLevelNone);
  EXPECT_TRUE(c2.close(a->id));
}

// SMB Direct writes from the caller's memory: uploadFrom and writePipelined register the
// caller's buffer and the server pulls each piece by RDMA Read (several in flight); what lands
// is exactly what was sent, at the right offsets. An upload whose source fails part way reports
// the source's error, not a short write.
// Oplocks (server/oplock_table.h): a second open of a batch-oplocked file waits for the break's
// acknowledgment without holding up either connection: the holder's connection answers READs
// and the waiter's connection other requests meanwhile. The acknowledgment completes the open at
// once; a break never acknowledged completes it after the break timeout. A stray acknowledgment
// gets its status.
TEST_F(InProcess, OplockBreakWaitsWithoutBlockingEitherConnection) {
  using namespace std::chrono;
  state_->oplocks().setBreakTimeout(milliseconds(1500));
  client::SmbClient a, b;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(b.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(a.treeConnect("share"));
  ASSERT_TRUE(b.treeConnect("share"));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<smb2::FileId, uint8_t>> breaks;
  a.setOplockBreakHandler([&](const smb2::FileId& f, uint8_t level) {
    std::lock_guard<std::mutex> lk(mu);
    breaks.emplace_back(f, level);
    cv.notify_all();
  });
  auto waitBreaks = [&](size_t n) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, seconds(5), [&] { return breaks.size() >= n; });
  };
  Bytes data(4096, 7);
  for (int round = 0; round < 2; round++) {
    SCOPED_TRACE(round ? "never acknowledged" : "acknowledged");
    auto h = a.openWithOplock("ob.bin", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0,
                              smb2::kOplockLevelBatch);
    ASSERT_TRUE(h);
    ASSERT_EQ(h->level, smb2::kOplockLevelBatch);
    ASSERT_TRUE(a.write(h->id, 0, data));
    std::atomic<bool> done{false};
    std::optional<Result<client::SmbClient::OplockOpen>> got;
    auto start = steady_clock::now();
    std::thread opener([&] {
      got = b.openWithOplock("ob.bin", smb2::kFileReadData, smb2::kFileOpen, 0, smb2::kOplockLevelBatch);
      done = true;
    });
    ASSERT_TRUE(waitBreaks(size_t(round) + 1));
    EXPECT_EQ(breaks.back().first, h->id);
    EXPECT_EQ(breaks.back().second, smb2::kOplockLevelII);
    // Both connections keep serving while the open waits.
    for (int i = 0; i < 20; i++) {
      Bytes back(4096);
      auto n = a.read(h->id, 0, back);
      ASSERT_TRUE(n);
      EXPECT_EQ(*n, back.size());
      ASSERT_TRUE(b.stat(""));
    }
    EXPECT_FALSE(done.load()) << "the open did not wait for the break";
    if (round == 0) {
      auto acked = a.ackOplockBreak(h->id, smb2::kOplockLevelII);
      ASSERT_TRUE(acked);
      EXPECT_EQ(*acked, smb2::kOplockLevelII);
    }
    opener.join();
    auto waited = steady_clock::now() - start;
    ASSERT_TRUE(got && *got);
    EXPECT_EQ((*got)->level, smb2::kOplockLevelII);
    if (round == 0) EXPECT_LT(waited, milliseconds(1400));
    else EXPECT_GE(waited, milliseconds(1400));
    // No break is pending any more.
    EXPECT_EQ(a.ackOplockBreak(h->id, smb2::kOplockLevelII).status(), NtStatus::kInvalidOplockProtocol);
    ASSERT_TRUE(b.close((*got)->id));
    ASSERT_TRUE(a.close(h->id));
  }
  EXPECT_EQ(a.ackOplockBreak(smb2::FileId{1234, 5678}, 0).status(), NtStatus::kFileClosed);
}

TEST_F(InProcess, SmbDirectWritesFromTheCallersMemory) {
  client::SmbClient c;
  ASSERT_TRUE(c.connect(rdmaOpts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  Bytes data(9 * 1024 * 1024 + 4099);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 13 + (i >> 14));
  uint64_t reported = 0;
  ASSERT_TRUE(c.uploadFrom("from.bin", data, [&](uint64_t n) { reported += n; }));
  EXPECT_EQ(reported, data.size());
  auto back = [&](const std::string& name) {
    Bytes b;
    EXPECT_TRUE(c.download(name, [&](ByteView v) -> Status {
      b.insert(b.end(), v.begin(), v.end());
      return ok();
    }));
    return b;
  };
  EXPECT_EQ(back("from.bin"), data);
  EXPECT_NE(c.statusText().find("WRITE by RDMA: 3 ("), std::string::npos) << c.statusText();  // 4 MiB pieces
  // writePipelined at an offset into an existing file, pieces of 256 KiB.
  auto f = c.open("from.bin", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOpen, 0);
  ASSERT_TRUE(f);
  Bytes patch(3 * 256 * 1024 + 5, 0xA5);
  auto n = c.writePipelined(*f, 1000, patch, 256 * 1024);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, patch.size());
  ASSERT_TRUE(c.close(*f));
  std::copy(patch.begin(), patch.end(), data.begin() + 1000);
  EXPECT_EQ(back("from.bin"), data);
  // A source that fails after 3 MiB: its error comes back.
  auto st = c.upload("broken.bin", data.size(), [&](uint64_t off, std::span<uint8_t> out) -> Result<size_t> {
    if (off >= (3u << 20)) return err(NtStatus::kAccessDenied, "local read");
    size_t k = std::min<uint64_t>(out.size(), data.size() - off);
    std::copy(data.begin() + long(off), data.begin() + long(off + k), out.begin());
    return k;
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.status(), NtStatus::kAccessDenied);
  ASSERT_TRUE(c.logoff());
}

// The RDMA transfers a client counted, from its status text ("READ by RDMA: N (B bytes)  WRITE by
// RDMA: N (B bytes)").
std::pair<uint64_t, uint64_t> rdmaTransfers(const client::SmbClient& c) {
  unsigned long long reads = 0, writes = 0, rb = 0, wb = 0;
  auto t = c.statusText();
  auto at = t.find("READ by RDMA:");
  if (at != std::string::npos)
    std::sscanf(t.c_str() + at, "READ by RDMA: %llu (%llu bytes)  WRITE by RDMA: %llu (%llu bytes)", &reads, &rb,
                &writes, &wb);
  return {reads, writes};
}

// Sealed SMB 3.1.1 over SMB Direct with the RDMA encryption transform (MS-SMB2 2.2.43): uploads
// and downloads move by RDMA, encrypted (the server refuses a sealed request's payload in the
// clear over RDMA, so a transfer that succeeds by RDMA went encrypted), and arrive intact. Writes
// from the caller's memory stay inline (the seal would change it). Without the transform (turned
// off, or 3.0) sealed data goes inline.
TEST_F(InProcess, SealedSmbDirectByRdmaTransform) {
  Bytes data(6 * 1024 * 1024 + 4099);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 31 + (i >> 12));
  auto source = [&](uint64_t off, std::span<uint8_t> out) -> Result<size_t> {
    size_t k = std::min<uint64_t>(out.size(), data.size() - off);
    std::copy(data.begin() + long(off), data.begin() + long(off + k), out.begin());
    return k;
  };
  auto back = [&](client::SmbClient& c, const std::string& name) {
    Bytes b;
    EXPECT_TRUE(c.download(name, [&](ByteView v) -> Status {
      b.insert(b.end(), v.begin(), v.end());
      return ok();
    }));
    return b;
  };
  {
    client::SmbClient c;
    ASSERT_TRUE(c.connect(rdmaOpts(smb2::kDialect311, false, true)));
    ASSERT_TRUE(c.treeConnect("share"));
    EXPECT_TRUE(c.info().encryption);
    EXPECT_TRUE(c.info().rdma_transform_encryption);
    EXPECT_EQ(c.info().max_read, 8u << 20);  // the configured maximum: sealed reads go by RDMA
    auto up = c.upload("sealed.bin", data.size(), source);
    ASSERT_TRUE(up) << up.error().what;
    EXPECT_EQ(back(c, "sealed.bin"), data);
    auto [reads, writes] = rdmaTransfers(c);
    EXPECT_GE(writes, 2u) << c.statusText();
    EXPECT_GE(reads, 2u) << c.statusText();
    // A single READ into the caller's buffer, decrypted there.
    auto f = c.open("sealed.bin", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOpen, 0);
    ASSERT_TRUE(f);
    Bytes one(1 << 20);
    auto n = c.read(*f, 12345, one);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, one.size());
    EXPECT_TRUE(std::equal(one.begin(), one.end(), data.begin() + 12345));
    EXPECT_EQ(rdmaTransfers(c).first, reads + 1);
    // A WRITE from the caller's memory goes inline and leaves that memory as it was.
    Bytes patch(512 * 1024, 0x5A);
    const Bytes patch_copy = patch;
    auto w = c.write(*f, 4096, patch);
    ASSERT_TRUE(w);
    EXPECT_EQ(*w, patch.size());
    EXPECT_EQ(patch, patch_copy);
    EXPECT_EQ(rdmaTransfers(c).second, writes);
    ASSERT_TRUE(c.close(*f));
    std::copy(patch.begin(), patch.end(), data.begin() + 4096);
    EXPECT_EQ(back(c, "sealed.bin"), data);
    ASSERT_TRUE(c.logoff());
  }
  for (bool transform_off : {true, false}) {
    client::SmbClient c;
    auto o = rdmaOpts(transform_off ? smb2::kDialect311 : smb2::kDialect300, false, true);
    o.rdma_transform = !transform_off;
    ASSERT_TRUE(c.connect(o));
    ASSERT_TRUE(c.treeConnect("share"));
    EXPECT_FALSE(c.info().rdma_transform_encryption);
    ASSERT_TRUE(c.upload("inline.bin", data.size(), source));
    EXPECT_EQ(back(c, "inline.bin"), data);
    EXPECT_EQ(rdmaTransfers(c), std::make_pair(uint64_t(0), uint64_t(0))) << c.statusText();
    ASSERT_TRUE(c.logoff());
  }
}

// SMB Direct: the idle receiver holds the receiver role for short receives while the line is
// quiet; callers that come then (alone, or eight at once) still get their responses, and the
// receiver stops cleanly at reconnect and at destruction.
TEST_F(InProcess, IdleReceiverOnSmbDirect) {
  client::SmbClient c;
  ASSERT_TRUE(c.connect(rdmaOpts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  c.setLeaseBreakHandler([](const client::SmbClient::LeaseBreak&) {});
  for (int round = 0; round < 3; round++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // quiet: the idle receiver reads
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.stat(""));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++)
      threads.emplace_back([&] {
        for (int i = 0; i < 20; i++)
          if (!c.stat("")) failures++;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    if (round == 1) {
      ASSERT_TRUE(c.reconnect());
    }
  }
}


// ---- Configuration keys (docs/CONFIG.md) and their effect on the running server, as a client
// sees it. Each test installs its configuration (reconfigure) before its first connection;
// KeyDefaults shows the defaults the others change.

// Uploads `size` patterned bytes as `name` and reads them back.
void expectRoundTrip(client::SmbClient& c, const std::string& name, size_t size) {
  Bytes data(size);
  for (size_t i = 0; i < size; i++) data[i] = uint8_t(i * 29 + (i >> 13));
  sd::expectRoundTrip(c, name, data);
}

// How many requests of a command the client sent (its status text: "  READ   12 / 0").
uint64_t commandsSent(const std::string& status_text, const std::string& command) {
  std::istringstream in(status_text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string name;
    uint64_t n = 0;
    if (l >> name >> n && name == command) return n;
  }
  return 0;
}

std::set<std::string> namesIn(const std::vector<fscc::FileInfo>& list) {
  std::set<std::string> out;
  for (const auto& e : list) out.insert(e.name);
  return out;
}

TEST_F(InProcess, KeyDefaults) {
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  EXPECT_FALSE(c.info().signing);  // server signing = auto: only when the client asks
  EXPECT_FALSE(c.info().encryption);
  EXPECT_EQ(c.info().max_read, 8u << 20);
  EXPECT_EQ(c.info().max_write, 8u << 20);
  EXPECT_EQ(c.info().max_transact, 8u << 20);
  // smb2 leases = auto: leases when changes made outside SMB can be watched (run as root).
  const bool watched = geteuid() == 0;
  EXPECT_EQ(c.leasesSupported(), watched);
  ASSERT_TRUE(c.treeConnect("share"));
  smb2::LeaseKey k;
  k.fill(0x5a);
  const uint32_t rwh = smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle;
  auto l = c.openLeased("leased.txt", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0, k, rwh);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->lease_state, watched ? rwh : 0u);
  ASSERT_TRUE(c.close(l->id));
  // Without bind interfaces only, the interface list leaves loopback out.
  auto ifs = c.interfaces();
  ASSERT_TRUE(ifs);
  for (const auto& i : *ifs) EXPECT_NE(i.address, "127.0.0.1");
  // restrict anonymous = no: an anonymous session is set up.
  auto o = opts(smb2::kDialect311, false, false);
  o.user.clear();
  o.password.clear();
  client::SmbClient anon;
  auto st = anon.connect(o);
  EXPECT_TRUE(st) << (st ? "" : st.error().what);
}

// server signing = mandatory: sessions are signed although the client does not ask.
TEST_F(InProcess, KeyServerSigningMandatory) {
  reconfigure("server signing = mandatory\n", "");
  for (uint16_t d : {smb2::kDialect300, smb2::kDialect311}) {
    SCOPED_TRACE(testing::Message() << "dialect " << std::hex << d);
    client::SmbClient c;
    ASSERT_TRUE(c.connect(opts(d, false, false)));
    EXPECT_TRUE(c.info().signing);
    EXPECT_FALSE(c.info().encryption);
    ASSERT_TRUE(c.treeConnect("share"));
    EXPECT_TRUE(c.stat(""));
  }
}

// smb2 max read / write / trans: the sizes NEGOTIATE offers, which the client's transfers keep to.
TEST_F(InProcess, KeySmb2MaxReadWriteTrans) {
  reconfigure("smb2 max read = 64K\nsmb2 max write = 128K\nsmb2 max trans = 256K\n", "");
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  EXPECT_EQ(c.info().max_read, 64u * 1024);
  EXPECT_EQ(c.info().max_write, 128u * 1024);
  EXPECT_EQ(c.info().max_transact, 256u * 1024);
  ASSERT_TRUE(c.treeConnect("share"));
  expectRoundTrip(c, "sizes.bin", 1 << 20);
  std::string text = c.statusText();
  EXPECT_GE(commandsSent(text, "WRITE"), 8u) << text;
  EXPECT_GE(commandsSent(text, "READ"), 16u) << text;
}

// smb2 leases = yes: the server offers leasing and grants a lease (KeyDefaults: neither).
TEST_F(InProcess, KeySmb2Leases) {
  {
    reconfigure("smb2 leases = no\n", "");
    client::SmbClient c;
    ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
    EXPECT_FALSE(c.leasesSupported());
    ASSERT_TRUE(c.treeConnect("share"));
    smb2::LeaseKey k;
    k.fill(0x5b);
    auto l = c.openLeased("unleased.txt", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0, k,
                          smb2::kLeaseRead | smb2::kLeaseHandle);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->lease_state, 0u);
    ASSERT_TRUE(c.close(l->id));
  }
  reconfigure("smb2 leases = yes\n", "");
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  EXPECT_TRUE(c.leasesSupported());
  ASSERT_TRUE(c.treeConnect("share"));
  c.setLeaseBreakHandler([](const client::SmbClient::LeaseBreak&) {});
  smb2::LeaseKey k;
  k.fill(0x5a);
  const uint32_t rwh = smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle;
  auto l = c.openLeased("leased.txt", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0, k, rwh);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->lease_state, rwh);
  ASSERT_TRUE(c.close(l->id));
  c.setLeaseBreakHandler(nullptr);
}

// smb3 encryption = mandatory: sessions are encrypted although the client does not ask.
TEST_F(InProcess, KeySmb3EncryptionMandatory) {
  reconfigure("smb3 encryption = mandatory\n", "");
  for (uint16_t d : {smb2::kDialect300, smb2::kDialect311}) {
    SCOPED_TRACE(testing::Message() << "dialect " << std::hex << d);
    client::SmbClient c;
    auto st = c.connect(opts(d, false, false));
    ASSERT_TRUE(st) << st.error().what;
    EXPECT_TRUE(c.info().encryption);
    ASSERT_TRUE(c.treeConnect("share"));
    expectRoundTrip(c, "enc" + std::to_string(d) + ".bin", 300000);
  }
  // Over SMB Direct without the RDMA encryption transform, sealed READ data goes inline:
  // MaxReadSize leaves room for it, its headers and the transform header in one message of the
  // client's MaxFragmentedSize. With the transform (or without encryption) it stays as configured.
  for (bool transform : {false, true}) {
    SCOPED_TRACE(testing::Message() << "transform " << transform);
    client::SmbClient c;
    auto o = rdmaOpts(smb2::kDialect311, false, false);
    o.rdma_transform = transform;
    ASSERT_TRUE(c.connect(o));
    EXPECT_TRUE(c.info().encryption);
    if (transform) {
      EXPECT_EQ(c.info().max_read, 8u << 20);
    } else {
      EXPECT_LT(c.info().max_read, 1u << 20);
      EXPECT_EQ(c.info().max_read % 4096, 0u);
    }
    ASSERT_TRUE(c.treeConnect("share"));
    expectRoundTrip(c, "rdma" + std::to_string(transform) + ".bin", 3 * 1024 * 1024 + 5);
  }
}

// smb3 encryption = disabled: a client that requires sealing cannot have it; one that does not
// require it is served in the clear (EveryDialectSignedAndSealed: sealing works by default).
TEST_F(InProcess, KeySmb3EncryptionDisabled) {
  reconfigure("smb3 encryption = disabled\n", "");
  for (uint16_t d : {smb2::kDialect300, smb2::kDialect311}) {
    SCOPED_TRACE(testing::Message() << "dialect " << std::hex << d);
    client::SmbClient sealed;
    EXPECT_FALSE(sealed.connect(opts(d, false, true)));
    client::SmbClient plain;
    ASSERT_TRUE(plain.connect(opts(d, false, false)));
    EXPECT_FALSE(plain.info().encryption);
  }
}

// server multi channel support = no: binding a second channel to a session is refused
// (SmbDirectChannelBindsToATcpSession: the same binding with the key on).
TEST_F(InProcess, KeyServerMultiChannelSupportNo) {
  reconfigure("server multi channel support = no\n", "");
  client::SmbClient a;
  ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(a.treeConnect("share"));
  client::SmbClient b;
  auto ob = rdmaOpts(smb2::kDialect311, true, false);
  ob.bind_to = &a;
  auto st = b.connect(ob);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.status(), NtStatus::kRequestNotAccepted) << ntStatusName(st.status());
  EXPECT_TRUE(a.stat(""));
}

// restrict anonymous = 2: an anonymous session is refused; named users still log in.
TEST_F(InProcess, KeyRestrictAnonymous) {
  reconfigure("restrict anonymous = 2\n", "");
  auto o = opts(smb2::kDialect311, false, false);
  o.user.clear();
  o.password.clear();
  client::SmbClient anon;
  EXPECT_EQ(anon.connect(o).status(), NtStatus::kLogonFailure);
  client::SmbClient c;
  EXPECT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
}

// oplock break timeout = 1: an open that broke a batch oplock nobody acknowledges completes after
// about a second (the default, 35 s, would outlast the client's 15 s timeout).
TEST_F(InProcess, KeyOplockBreakTimeout) {
  using namespace std::chrono;
  reconfigure("oplock break timeout = 1\n", "");
  client::SmbClient a, b;
  std::atomic<int> breaks{0};
  std::optional<client::SmbClient::OplockOpen> h;
  batchHolderAndOther(a, b, "ob.bin", breaks, h);
  if (HasFatalFailure()) return;
  auto start = steady_clock::now();
  auto got = b.openWithOplock("ob.bin", smb2::kFileReadData, smb2::kFileOpen, 0, smb2::kOplockLevelBatch);
  auto waited = steady_clock::now() - start;
  ASSERT_TRUE(got) << ntStatusName(got.status());
  EXPECT_EQ(got->level, smb2::kOplockLevelII);
  EXPECT_EQ(breaks.load(), 1);
  EXPECT_GE(waited, milliseconds(900));
  EXPECT_LE(waited, seconds(5));
  ASSERT_TRUE(b.close(got->id));
  ASSERT_TRUE(a.close(h->id));
}

// interfaces + bind interfaces only: QUERY_NETWORK_INTERFACE_INFO lists the configured address
// (loopback included) and nothing else (KeyDefaults: loopback left out).
TEST_F(InProcess, KeyInterfacesWithBindInterfacesOnly) {
  reconfigure("interfaces = 127.0.0.1\nbind interfaces only = yes\n", "");
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  auto ifs = c.interfaces();
  ASSERT_TRUE(ifs);
  ASSERT_EQ(ifs->size(), 1u);
  EXPECT_EQ((*ifs)[0].address, "127.0.0.1");
  EXPECT_TRUE((*ifs)[0].rdma);
}

// Share access keys: invalid users, available, hosts deny refuse the tree connect; read list and
// writeable = no make a share read-only for the user, write list makes a read-only one writable;
// browseable = no keeps a share out of the enumeration but serves it.
TEST_F(InProcess, KeyShareAccess) {
  const std::string p = "path = " + dir_ + "/share\n";
  reconfigure("", "[inv]\n" + p + "read only = no\ninvalid users = alice\n" +
                      "[off]\n" + p + "read only = no\navailable = no\n" +
                      "[hdeny]\n" + p + "read only = no\nhosts deny = 127.0.0.1\n" +
                      "[rl]\n" + p + "read only = no\nread list = alice\n" +
                      "[wno]\n" + p + "read only = no\nwriteable = no\n" +
                      "[wl]\n" + p + "read only = yes\nwrite list = alice\n" +
                      "[hidden]\n" + p + "read only = no\nbrowseable = no\n");
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  EXPECT_EQ(c.treeConnect("inv").status(), NtStatus::kAccessDenied);
  EXPECT_EQ(c.treeConnect("off").status(), NtStatus::kAccessDenied);
  EXPECT_EQ(c.treeConnect("hdeny").status(), NtStatus::kAccessDenied);
  // The same directory through [share]: alice may write.
  ASSERT_TRUE(c.treeConnect("share"));
  EXPECT_TRUE(c.mkdir("via_share"));
  ASSERT_TRUE(c.treeConnect("rl"));
  EXPECT_TRUE(c.stat("via_share"));
  EXPECT_EQ(c.mkdir("via_rl").status(), NtStatus::kAccessDenied);
  ASSERT_TRUE(c.treeConnect("wno"));
  EXPECT_EQ(c.mkdir("via_wno").status(), NtStatus::kAccessDenied);
  ASSERT_TRUE(c.treeConnect("wl"));
  EXPECT_TRUE(c.mkdir("via_wl"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/share/via_wl"));
  EXPECT_FALSE(fs::exists(dir_ + "/share/via_rl"));
  EXPECT_FALSE(fs::exists(dir_ + "/share/via_wno"));
  auto shares = c.shares();
  ASSERT_TRUE(shares);
  std::set<std::string> names;
  for (const auto& [name, comment] : *shares) names.insert(name);
  EXPECT_TRUE(names.count("share"));
  EXPECT_TRUE(names.count("wl"));
  EXPECT_FALSE(names.count("hidden"));
  ASSERT_TRUE(c.treeConnect("hidden"));
  EXPECT_TRUE(c.stat("via_share"));
}

// create mask / directory mask take bits away from new files and directories; force create mode
// / force directory mode add them.
TEST_F(InProcess, KeyCreateAndDirectoryModes) {
  fs::create_directories(dir_ + "/masked");
  fs::create_directories(dir_ + "/forced");
  const std::string masks = "read only = no\ncreate mask = 0600\ndirectory mask = 0700\n";
  reconfigure("", "[masked]\npath = " + dir_ + "/masked\n" + masks + "[forced]\npath = " + dir_ + "/forced\n" +
                      masks + "force create mode = 0640\nforce directory mode = 0750\n");
  auto modeOf = [](const std::string& path) -> unsigned {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  };
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  for (const char* share : {"masked", "forced"}) {
    ASSERT_TRUE(c.treeConnect(share));
    auto f = c.open("f.txt", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileCreate, smb2::kFileNonDirectoryFile);
    ASSERT_TRUE(f);
    ASSERT_TRUE(c.close(*f));
    ASSERT_TRUE(c.mkdir("d"));
  }
  EXPECT_EQ(modeOf(dir_ + "/masked/f.txt"), 0600u);
  EXPECT_EQ(modeOf(dir_ + "/masked/d"), 0700u);
  EXPECT_EQ(modeOf(dir_ + "/forced/f.txt"), 0640u);
  EXPECT_EQ(modeOf(dir_ + "/forced/d"), 0750u);
}

// hide dot files (default yes): a name starting with a dot has FILE_ATTRIBUTE_HIDDEN, in a stat
// and in a listing; with the key off it does not.
TEST_F(InProcess, KeyHideDotFiles) {
  reconfigure("", "[shown]\npath = " + dir_ + "/share\nread only = no\nhide dot files = no\n");
  std::ofstream(dir_ + "/share/.dot") << "x";
  std::ofstream(dir_ + "/share/plain") << "x";
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  for (const char* share : {"share", "shown"}) {
    SCOPED_TRACE(share);
    const bool hide = std::string(share) == "share";
    ASSERT_TRUE(c.treeConnect(share));
    auto st = c.stat(".dot");
    ASSERT_TRUE(st);
    EXPECT_EQ(bool(st->file_attributes & smb2::kFileAttributeHidden), hide);
    auto list = c.list("");
    ASSERT_TRUE(list);
    int seen = 0;
    for (const auto& e : *list) {
      if (e.name == ".dot") {
        seen++;
        EXPECT_EQ(bool(e.file_attributes & smb2::kFileAttributeHidden), hide);
      } else if (e.name == "plain") {
        seen++;
        EXPECT_FALSE(e.file_attributes & smb2::kFileAttributeHidden);
      }
    }
    EXPECT_EQ(seen, 2);
  }
}

// veto files: vetoed names (and paths through them) cannot be opened or created, listings leave
// them out, and nothing may be renamed to one; through a share without the key all is there.
TEST_F(InProcess, KeyVetoFiles) {
  reconfigure("", "[veto]\npath = " + dir_ + "/share\nread only = no\nveto files = /*.tmp/secret/\n");
  std::ofstream(dir_ + "/share/old.tmp") << "x";
  fs::create_directories(dir_ + "/share/secret");
  std::ofstream(dir_ + "/share/secret/inner.txt") << "x";
  std::ofstream(dir_ + "/share/plain.txt") << "x";
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  EXPECT_TRUE(c.stat("old.tmp"));
  EXPECT_TRUE(c.stat("secret\\inner.txt"));
  auto all = c.list("");
  ASSERT_TRUE(all);
  EXPECT_TRUE(namesIn(*all).count("old.tmp"));
  EXPECT_TRUE(namesIn(*all).count("secret"));
  ASSERT_TRUE(c.treeConnect("veto"));
  EXPECT_EQ(c.open("old.tmp", smb2::kFileReadData, smb2::kFileOpen, 0).status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(c.open("new.tmp", smb2::kFileWriteData, smb2::kFileCreate, 0).status(), NtStatus::kObjectNameNotFound);
  EXPECT_FALSE(fs::exists(dir_ + "/share/new.tmp"));
  EXPECT_EQ(c.stat("secret").status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(c.stat("secret\\inner.txt").status(), NtStatus::kObjectNameNotFound);
  auto list = c.list("");
  ASSERT_TRUE(list);
  auto names = namesIn(*list);
  EXPECT_TRUE(names.count("plain.txt"));
  EXPECT_FALSE(names.count("old.tmp"));
  EXPECT_FALSE(names.count("secret"));
  EXPECT_EQ(c.rename("plain.txt", "plain.tmp", false).status(), NtStatus::kAccessDenied);
  EXPECT_TRUE(fs::exists(dir_ + "/share/plain.txt"));
  EXPECT_FALSE(fs::exists(dir_ + "/share/plain.tmp"));
}

// oplocks = no: a batch oplock asked for on the share is not granted (on [share] it is).
TEST_F(InProcess, KeyOplocksNo) {
  reconfigure("", "[nooplocks]\npath = " + dir_ + "/share\nread only = no\noplocks = no\n");
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  c.setOplockBreakHandler([](const smb2::FileId&, uint8_t) {});
  for (const char* share : {"share", "nooplocks"}) {
    SCOPED_TRACE(share);
    ASSERT_TRUE(c.treeConnect(share));
    auto h = c.openWithOplock(std::string(share) + ".bin", smb2::kFileReadData | smb2::kFileWriteData,
                              smb2::kFileOverwriteIf, 0, smb2::kOplockLevelBatch);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->level, std::string(share) == "share" ? smb2::kOplockLevelBatch : smb2::kOplockLevelNone);
    ASSERT_TRUE(c.close(h->id));
  }
}

// The SMB Direct size and credit keys, through the mapping smbdirectd uses
// (runtime::smbDirectOptions): what the client's endpoint negotiates with a listener configured
// with small values, against the fixture's listener with the defaults.
TEST_F(InProcess, KeySmbDirectSizesAndCredits) {
  reconfigure("smb direct receive credits = 16\nsmb direct send credits = 10\n"
              "smb direct max send size = 1024\nsmb direct max receive size = 2048\n"
              "smb direct max fragmented size = 128K\nsmb direct max read write size = 64K\n",
              "");
  auto state = state_;
  runtime::RdmaServer small([state](std::shared_ptr<server::Transport> t) {
    return std::make_unique<server::Connection>(state, std::move(t));
  });
  ASSERT_TRUE(small.listen(rdma::findProvider("soft"), "127.0.0.1", 0, runtime::smbDirectOptions(state_->global()), 0));
  small.start();
  struct Seen {
    smbdirect::EndpointStatus st;
    uint64_t fragments_for_4k_read = 0;
    std::string text;
  };
  auto run = [&](uint16_t port, const std::string& name) {
    Seen s;
    client::SmbClient c;
    auto o = rdmaOpts(smb2::kDialect311, false, false);
    o.port = port;
    EXPECT_TRUE(c.connect(o));
    EXPECT_TRUE(c.treeConnect("share"));
    if (::testing::Test::HasFatalFailure() || !c.rdmaEndpoint()) return s;
    expectRoundTrip(c, name, 1 << 20);
    // A 4 KiB READ goes inline (under the client's RDMA threshold): its response is fragmented
    // only when the server's send size is smaller.
    auto f = c.open(name, smb2::kFileReadData, smb2::kFileOpen, 0);
    EXPECT_TRUE(f);
    if (!f) return s;
    uint64_t before = c.rdmaEndpoint()->status().stats.fragments_received;
    Bytes buf(4096);
    auto n = c.read(*f, 0, buf);
    EXPECT_TRUE(n && *n == buf.size());
    s.fragments_for_4k_read = c.rdmaEndpoint()->status().stats.fragments_received - before;
    EXPECT_TRUE(c.close(*f));
    s.st = c.rdmaEndpoint()->status();
    s.text = c.statusText();
    return s;
  };
  Seen def = run(rdma_->boundPort(), "default.bin");
  Seen cfg = run(small.boundPort(), "small.bin");
  small.stop();
  // smb direct max receive size: the most the client may send per packet.
  EXPECT_EQ(def.st.max_send_size, 8192u);
  EXPECT_EQ(cfg.st.max_send_size, 2048u);
  // smb direct max send size: the server's packets carry at most 1024 bytes.
  EXPECT_EQ(def.fragments_for_4k_read, 0u);
  EXPECT_GE(cfg.fragments_for_4k_read, 4u);
  // smb direct max fragmented size: the largest message the server takes.
  EXPECT_EQ(def.st.max_fragmented_size, (1u << 20) + (64u << 10));  // room for a sealed 1 MiB WRITE
  EXPECT_EQ(cfg.st.max_fragmented_size, 128u * 1024);
  // smb direct max read write size: RDMA transfers of 64 KiB, 16 for each MiB.
  EXPECT_EQ(def.st.max_read_write_size, 8u << 20);
  EXPECT_EQ(cfg.st.max_read_write_size, 64u * 1024);
  EXPECT_NE(cfg.text.find("WRITE by RDMA: 16 (1048576 bytes)"), std::string::npos) << cfg.text;
  EXPECT_NE(def.text.find("WRITE by RDMA: 1 (1048576 bytes)"), std::string::npos) << def.text;
  // smb direct receive credits: the server never lets the client hold more send credits.
  EXPECT_GT(def.st.send_credits, 16u);
  EXPECT_LE(cfg.st.send_credits, 16u);
  EXPECT_GT(cfg.st.send_credits, 0u);
  // smb direct send credits: the credit target the server asks for, all the client grants it.
  EXPECT_GT(def.st.peer_credits, 10u);
  EXPECT_LE(cfg.st.peer_credits, 10u);
}

// ---- CHANGE_NOTIFY (MS-SMB2 3.3.5.19) ----

constexpr uint32_t kNotifyNames = fscc::kNotifyChangeFileName | fscc::kNotifyChangeDirName;
constexpr uint32_t kDirAccess = smb2::kFileListDirectory | smb2::kFileReadAttributes | smb2::kSynchronize;

// Waits until the server has answered `mid` with its interim response (the notification is
// registered and waits); fails if it was answered instead.
::testing::AssertionResult waitsAsync(client::SmbClient& c, uint64_t mid) {
  for (int i = 0; i < 200; i++) {
    if (c.asyncIdOf(mid)) return ::testing::AssertionSuccess();
    auto r = c.changeNotifyWait(mid, 10);
    if (r) return ::testing::AssertionFailure() << "answered: " << ntStatusName(r->status);
    if (r.status() != NtStatus::kIoTimeout) return ::testing::AssertionFailure() << ntStatusName(r.status());
  }
  return ::testing::AssertionFailure() << "no interim response";
}

std::vector<fscc::NotifyEntry> entries(std::initializer_list<std::pair<uint32_t, const char*>> l) {
  std::vector<fscc::NotifyEntry> v;
  for (auto& [a, n] : l) v.push_back({a, n});
  return v;
}

// Changes made through SMB by another client reach a waiting notification, one change (or a
// rename's pair) per answer; changes made while none waits are buffered for the next one.
TEST_F(InProcess, ChangeNotifySeesCreateRenameDeleteThroughSmb) {
  client::SmbClient watcher, actor;
  ASSERT_TRUE(watcher.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(watcher.treeConnect("share"));
  ASSERT_TRUE(actor.connect(opts(smb2::kDialect300, false, true)));
  ASSERT_TRUE(actor.treeConnect("share"));
  auto dir = watcher.open("w", kDirAccess, smb2::kFileCreate, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto mid = watcher.changeNotifySend(*dir, kNotifyNames, false, 4096);
  ASSERT_TRUE(mid);
  ASSERT_TRUE(waitsAsync(watcher, *mid));
  auto f = actor.open("w\\a.txt", smb2::kFileWriteData, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(actor.close(*f));
  auto r = watcher.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kSuccess);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionAdded, "a.txt"}}));
  // Renamed and deleted while no request waits: buffered, answered at once.
  ASSERT_TRUE(actor.rename("w\\a.txt", "w\\b.txt", false));
  ASSERT_TRUE(actor.mkdir("w\\sub"));
  ASSERT_TRUE(actor.unlink("w\\b.txt"));
  mid = watcher.changeNotifySend(*dir, kNotifyNames, false, 4096);
  r = watcher.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kSuccess);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionRenamedOldName, "a.txt"},
                                 {fscc::kFileActionRenamedNewName, "b.txt"},
                                 {fscc::kFileActionAdded, "sub"},
                                 {fscc::kFileActionRemoved, "b.txt"}}));
  // A rename waits for no second request: both names come in one answer.
  mid = watcher.changeNotifySend(*dir, kNotifyNames, false, 4096);
  ASSERT_TRUE(waitsAsync(watcher, *mid));
  ASSERT_TRUE(actor.rename("w\\sub", "w\\sub2", false));
  r = watcher.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionRenamedOldName, "sub"}, {fscc::kFileActionRenamedNewName, "sub2"}}));
  // The CompletionFilter of the first request stays: a write is not a name change.
  f = actor.open("w\\c.txt", smb2::kFileWriteData, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(actor.write(*f, 0, Bytes(100, 'x')));
  ASSERT_TRUE(actor.close(*f));
  mid = watcher.changeNotifySend(*dir, fscc::kNotifyChangeAll, false, 4096);
  r = watcher.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionAdded, "c.txt"}}));
  EXPECT_TRUE(watcher.close(*dir));
}

// A change made directly on the server's file system (not through SMB) reaches a waiting
// notification within a second; WATCH_TREE reports it in a subdirectory made on disk too.
TEST_F(InProcess, ChangeNotifySeesChangesMadeOnDisk) {
  client::SmbClient c;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  fs::create_directories(dir_ + "/share/disk/deep");
  auto dir = c.open("disk", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto mid = c.changeNotifySend(*dir, fscc::kNotifyChangeAll, true, 65536);
  ASSERT_TRUE(waitsAsync(c, *mid));
  auto t0 = std::chrono::steady_clock::now();
  std::ofstream(dir_ + "/share/disk/local.txt") << "written on the server";
  auto r = c.changeNotifyWait(*mid, 1000);
  ASSERT_TRUE(r) << "no notification within a second";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(r->status, NtStatus::kSuccess);
  ASSERT_FALSE(r->changes.empty());
  EXPECT_EQ(r->changes[0], (fscc::NotifyEntry{fscc::kFileActionAdded, "local.txt"}));
  // In a subdirectory (WATCH_TREE), a rename and a deletion, all on disk.
  std::ofstream(dir_ + "/share/disk/deep/x") << "";
  fs::rename(dir_ + "/share/disk/deep/x", dir_ + "/share/disk/deep/y");
  fs::remove(dir_ + "/share/disk/local.txt");
  std::vector<fscc::NotifyEntry> got;
  for (int i = 0; i < 10 && got.size() < 4; i++) {
    mid = c.changeNotifySend(*dir, fscc::kNotifyChangeAll, true, 65536);
    r = c.changeNotifyWait(*mid, 1000);
    ASSERT_TRUE(r);
    for (auto& e : r->changes)
      if (e.action != fscc::kFileActionModified) got.push_back(e);
  }
  EXPECT_EQ(got, entries({{fscc::kFileActionAdded, "deep\\x"},
                          {fscc::kFileActionRenamedOldName, "deep\\x"},
                          {fscc::kFileActionRenamedNewName, "deep\\y"},
                          {fscc::kFileActionRemoved, "local.txt"}}));
}

// A waiting notification ends with STATUS_NOTIFY_CLEANUP when its handle is closed, with
// STATUS_CANCELLED on CANCEL (its own session's; a CANCEL of an AsyncId it does not know, or of
// another connection, changes nothing), and the server keeps no watch afterwards.
TEST_F(InProcess, ChangeNotifyCloseCancelAndCleanup) {
  client::SmbClient c, other;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  ASSERT_TRUE(other.connect(opts(smb2::kDialect311, true, false)));
  ASSERT_TRUE(other.treeConnect("share"));
  auto dir = c.open("", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto mid = c.changeNotifySend(*dir, kNotifyNames, false, 4096);
  ASSERT_TRUE(waitsAsync(c, *mid));
  uint64_t aid = *c.asyncIdOf(*mid);
  ASSERT_TRUE(other.cancelAsync(aid));  // another connection's CANCEL
  ASSERT_TRUE(c.cancelAsync(aid + 1000));  // an AsyncId nobody has
  EXPECT_FALSE(c.changeNotifyWait(*mid, 200));
  ASSERT_TRUE(c.stat(""));  // the connection goes on
  ASSERT_TRUE(c.cancel(*mid));
  auto r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kCancelled);
  // Close.
  mid = c.changeNotifySend(*dir, kNotifyNames, false, 4096);
  ASSERT_TRUE(waitsAsync(c, *mid));
  EXPECT_EQ(state_->changes().watchCount(), 1u);
  ASSERT_TRUE(c.close(*dir));
  r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kNotifyCleanup);
  EXPECT_TRUE(r->changes.empty());
  EXPECT_EQ(state_->changes().watchCount(), 0u);
  // Logoff and a lost connection end waiting notifications the same way, leaving nothing.
  dir = other.open("", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  mid = other.changeNotifySend(*dir, kNotifyNames, true, 4096);
  ASSERT_TRUE(waitsAsync(other, *mid));
  ASSERT_TRUE(other.logoff());
  r = other.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kNotifyCleanup);
  {
    client::SmbClient gone;
    ASSERT_TRUE(gone.connect(opts(smb2::kDialect311, false, false)));
    ASSERT_TRUE(gone.treeConnect("share"));
    dir = gone.open("", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
    ASSERT_TRUE(dir);
    mid = gone.changeNotifySend(*dir, kNotifyNames, true, 4096);
    ASSERT_TRUE(waitsAsync(gone, *mid));
    EXPECT_EQ(state_->changes().watchCount(), 1u);
  }
  for (int i = 0; i < 200 && state_->changes().watchCount() != 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(state_->changes().watchCount(), 0u);
}

// A directory another connection deleted (delete on close, closed) while this one holds it open
// is delete pending: a notification asked for afterwards is answered STATUS_DELETE_PENDING at
// once, as one already waiting is (smbtorture smb2.notify.rmdir4 when the delete wins the race).
TEST_F(InProcess, ChangeNotifyOnADeletePendingDirectory) {
  client::SmbClient c, other;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  ASSERT_TRUE(other.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(other.treeConnect("share"));
  ASSERT_TRUE(c.mkdir("doomed"));
  auto dir = c.open("doomed", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto del = other.open("doomed", smb2::kDelete | smb2::kFileReadAttributes, smb2::kFileOpen,
                        smb2::kFileDirectoryFile | smb2::kFileDeleteOnClose);
  ASSERT_TRUE(del);
  ASSERT_TRUE(other.close(*del));
  auto mid = c.changeNotifySend(*dir, kNotifyNames, false, 4096);
  ASSERT_TRUE(mid);
  auto r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kDeletePending);
  ASSERT_TRUE(c.close(*dir));
  EXPECT_FALSE(c.stat("doomed"));  // the last close deleted it
}

// OutputBufferLength: 0 is accepted (any change then answers STATUS_NOTIFY_ENUM_DIR), more than
// the negotiated MaxTransactSize (8 MiB) is STATUS_INVALID_PARAMETER, as Windows answers; a
// notification on a file is STATUS_INVALID_PARAMETER; one past `max notify requests` on a
// connection is STATUS_INSUFFICIENT_RESOURCES.
TEST_F(InProcess, ChangeNotifyLimits) {
  client::SmbClient c, actor;
  ASSERT_TRUE(c.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(c.treeConnect("share"));
  ASSERT_TRUE(actor.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(actor.treeConnect("share"));
  ASSERT_TRUE(c.mkdir("lim"));
  auto dir = c.open("lim", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto mid = c.changeNotifySend(*dir, kNotifyNames, false, 16u << 20);
  ASSERT_TRUE(mid);
  auto r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kInvalidParameter);
  mid = c.changeNotifySend(*dir, kNotifyNames, false, 0);
  ASSERT_TRUE(waitsAsync(c, *mid));
  ASSERT_TRUE(actor.mkdir("lim\\one"));
  r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kNotifyEnumDir);
  EXPECT_TRUE(r->changes.empty());
  // The largest buffer allowed works (and the first request's 0 bytes stay in force).
  ASSERT_TRUE(actor.mkdir("lim\\two"));
  mid = c.changeNotifySend(*dir, kNotifyNames, false, c.info().max_transact);
  r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kNotifyEnumDir);
  auto file = c.open("lim\\f", smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileCreate, 0);
  ASSERT_TRUE(file);
  mid = c.changeNotifySend(*file, kNotifyNames, false, 4096);
  r = c.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kInvalidParameter);
  ASSERT_TRUE(c.close(*file));
  ASSERT_TRUE(c.close(*dir));

  // max notify requests = 2
  std::vector<config::Diagnostic> d;
  auto cfg = config::loadConfigString("[global]\nmax notify requests = 2\nfallback unix account = root\n"
                                      "[share]\npath = " + dir_ + "/share\nread only = no\n",
                                      "limit.conf", &d);
  ASSERT_TRUE(cfg);
  auto hash = auth::ntHash("Pass-1234");
  ASSERT_TRUE(state_->configure(*cfg, [hash](std::string_view u) -> std::optional<std::array<uint8_t, 16>> {
    if (u == "alice") return hash;
    return std::nullopt;
  }));
  std::vector<smb2::FileId> dirs;
  std::vector<uint64_t> mids;
  for (int i = 0; i < 3; i++) {
    auto h = c.open("lim", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
    ASSERT_TRUE(h);
    dirs.push_back(*h);
    auto m = c.changeNotifySend(*h, kNotifyNames, false, 4096);
    ASSERT_TRUE(m);
    mids.push_back(*m);
  }
  ASSERT_TRUE(waitsAsync(c, mids[0]));
  ASSERT_TRUE(waitsAsync(c, mids[1]));
  r = c.changeNotifyWait(mids[2], 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kInsufficientResources);
  // Another connection has its own allowance.
  auto adir = actor.open("lim", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(adir);
  auto amid = actor.changeNotifySend(*adir, kNotifyNames, false, 4096);
  ASSERT_TRUE(waitsAsync(actor, *amid));
  // A completed one frees its place.
  ASSERT_TRUE(c.cancel(mids[0]));
  r = c.changeNotifyWait(mids[0], 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kCancelled);
  mids[2] = *c.changeNotifySend(dirs[2], kNotifyNames, false, 4096);
  ASSERT_TRUE(waitsAsync(c, mids[2]));
  ASSERT_TRUE(actor.mkdir("lim\\three"));
  for (uint64_t m : {mids[1], mids[2], *amid}) {
    auto done = (m == *amid ? actor : c).changeNotifyWait(m, 5000);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, NtStatus::kSuccess);
    EXPECT_EQ(done->changes, entries({{fscc::kFileActionAdded, "three"}}));
  }
}

// A WATCH_TREE notification does not show what happens in a subdirectory its user may not
// list (another user's 0700 directory), though the server watches the tree as root.
TEST_F(InProcess, ChangeNotifyTreeSkipsDirectoriesTheUserCannotList) {
  // [multi] acts as each user's own account: daemon (uid 1) and bin (uid 2) exist on Debian.
  client::SmbClient d, b;
  auto o = opts(smb2::kDialect311, false, false);
  o.user = "daemon";
  ASSERT_TRUE(d.connect(o));
  ASSERT_TRUE(d.treeConnect("multi"));
  o.user = "bin";
  ASSERT_TRUE(b.connect(o));
  ASSERT_TRUE(b.treeConnect("multi"));
  ASSERT_TRUE(d.mkdir("top"));
  ASSERT_TRUE(d.mkdir("top\\mine"));
  ASSERT_EQ(chmod((dir_ + "/multi/top").c_str(), 0777), 0);
  ASSERT_EQ(chmod((dir_ + "/multi/top/mine").c_str(), 0777), 0);
  ASSERT_TRUE(b.mkdir("top\\private"));
  ASSERT_EQ(chmod((dir_ + "/multi/top/private").c_str(), 0700), 0);
  auto dir = d.open("top", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto mid = d.changeNotifySend(*dir, kNotifyNames, true, 4096);
  ASSERT_TRUE(waitsAsync(d, *mid));
  auto f = b.open("top\\private\\secret-name", smb2::kFileWriteData, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(b.close(*f));
  std::ofstream(dir_ + "/multi/top/private/another-secret") << "";
  f = b.open("top\\mine\\visible", smb2::kFileWriteData, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(b.close(*f));
  auto r = d.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionAdded, "mine\\visible"}}));
  mid = d.changeNotifySend(*dir, kNotifyNames, true, 4096);
  EXPECT_FALSE(d.changeNotifyWait(*mid, 300));  // nothing else was reported
  ASSERT_TRUE(d.cancel(*mid));
  r = d.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, NtStatus::kCancelled);
}


// Alternate data streams live in xattrs of their file: their changes are reported as the
// stream's own (FILE_ACTION_*_STREAM, "file:stream"), never as attribute changes of the file.
TEST_F(InProcess, ChangeNotifyReportsStreamsAsStreams) {
  client::SmbClient watcher, actor;
  ASSERT_TRUE(watcher.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(watcher.treeConnect("share"));
  ASSERT_TRUE(actor.connect(opts(smb2::kDialect311, false, false)));
  ASSERT_TRUE(actor.treeConnect("share"));
  ASSERT_TRUE(actor.mkdir("st"));
  auto dir = watcher.open("st", kDirAccess, smb2::kFileOpen, smb2::kFileDirectoryFile);
  ASSERT_TRUE(dir);
  auto mid = watcher.changeNotifySend(*dir, fscc::kNotifyChangeAll, false, 4096);
  ASSERT_TRUE(waitsAsync(watcher, *mid));
  auto f = actor.open("st\\f.txt", smb2::kFileWriteData, smb2::kFileCreate, 0);
  ASSERT_TRUE(f);
  ASSERT_TRUE(actor.close(*f));
  auto r = watcher.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionAdded, "f.txt"}}));
  auto s = actor.open("st\\f.txt:s1", smb2::kFileWriteData | smb2::kFileReadData, smb2::kFileCreate, 0);
  ASSERT_TRUE(s);
  ASSERT_TRUE(actor.write(*s, 0, Bytes(10, 'z')));
  ASSERT_TRUE(actor.close(*s));
  s = actor.open("st\\f.txt:s1", smb2::kDelete, smb2::kFileOpen, smb2::kFileDeleteOnClose);
  ASSERT_TRUE(s);
  ASSERT_TRUE(actor.close(*s));
  mid = watcher.changeNotifySend(*dir, fscc::kNotifyChangeAll, false, 4096);
  r = watcher.changeNotifyWait(*mid, 5000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->changes, entries({{fscc::kFileActionAddedStream, "f.txt:s1"},
                                 {fscc::kFileActionModifiedStream, "f.txt:s1"},
                                 {fscc::kFileActionRemovedStream, "f.txt:s1"}}));
  ASSERT_TRUE(watcher.close(*dir));
}

}  // namespace
}  // namespace sd
