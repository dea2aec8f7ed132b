// The InProcess fixture: client and server in one process over loopback TCP (and SMB Direct on
// the soft provider), the library client (src/client) against the server core (src/server)
// through the runtime shell. Shared by the tests/server/*_test.cc files that use it.
#pragma once
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "auth/ntlmssp.h"
#include "base/unix_account.h"
#include "client/smb_client.h"
#include "config/config.h"
#include "fscc/notify_info.h"
#include "fscc/security_descriptor.h"
#include "rdma/rdma.h"
#include "runtime/rdma_server.h"
#include "runtime/smbdirect_options.h"
#include "runtime/tcp_server.h"
#include "server/connection.h"
#include "server/server_state.h"
#include "smb2/constants.h"
#include "smb2/lease.h"

namespace sd {

// Uploads `data` as `name` and reads it back whole.
inline void expectRoundTrip(client::SmbClient& c, const std::string& name, const Bytes& data) {
  ASSERT_TRUE(c.upload(name, data.size(), [&](uint64_t off, std::span<uint8_t> b) -> Result<size_t> {
    size_t n = std::min(b.size(), data.size() - size_t(off));
    std::copy(data.begin() + long(off), data.begin() + long(off + n), b.begin());
    return n;
  }));
  Bytes back;
  ASSERT_TRUE(c.download(name, [&](ByteView v) -> Status {
    back.insert(back.end(), v.begin(), v.end());
    return ok();
  }));
  EXPECT_EQ(back, data) << name;
}

// A session made with `o` and a tree on [share].
inline Status connectShare(client::SmbClient& c, const client::ConnectOptions& o) {
  SD_CHECK(c.connect(o));
  return c.treeConnect("share");
}

namespace fs = std::filesystem;

class InProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as smbdirectd: a peer gone mid-write is an error, not a kill
    char tmpl[] = "/tmp/sdinproc.XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/share");
    // [multi]: a shared 1777 directory that Debian's system accounts daemon and bin can reach.
    fs::create_directories(dir_ + "/multi");
    chmod(dir_.c_str(), 0755);
    chmod((dir_ + "/multi").c_str(), 01777);
    state_ = std::make_shared<server::ServerState>();
    ASSERT_NO_FATAL_FAILURE(reconfigure("", ""));
    // Released handles of written files: dropped at once, or held while a test asks for it.
    state_->setHandleRelease([this](std::unique_ptr<vfs::Handle> h) {
      std::lock_guard<std::mutex> lk(released_mu_);
      if (hold_released_) held_.push_back(std::move(h));
    });
    auto state = state_;
    tcp_ = std::make_unique<runtime::TcpServer>([state](std::shared_ptr<server::Transport> t) {
      return server::acceptConnection(state, std::move(t));
    });
    runtime::ListenSpec spec;
    spec.addresses = {"127.0.0.1"};
    spec.port = 0;
    ASSERT_TRUE(tcp_->listen(spec));
    tcp_->start();
    // SMB Direct beside TCP, on the software iWARP provider.
    rdma_ = std::make_unique<runtime::RdmaServer>([state](std::shared_ptr<server::Transport> t) {
      return server::acceptConnection(state, std::move(t));
    });
    ASSERT_TRUE(rdma_->listen(rdma::findProvider("soft"), "127.0.0.1", 0, runtime::smbDirectOptions(state_->global()), 0));
    rdma_->start();
    state_->setRdmaListening(true);
  }
  void TearDown() override {
    rdma_->stop();
    tcp_->stop();
    held_.clear();
    fs::remove_all(dir_);
  }
  // Installs the configuration SetUp uses ([global] with fallback unix account = root; [share],
  // [ro], [multi]) with `extra_global` lines added to [global] (later lines win) and
  // `extra_shares` sections after the others. Only before the test's first connection:
  // connections read ServerState::global() without a lock against a reload.
  // Two signed 3.1.1 connections on [share]: `a` holds a batch oplock on `name` (`h`) and counts
  // the breaks it gets in `breaks`; `b` is the other client.
  void batchHolderAndOther(client::SmbClient& a, client::SmbClient& b, const std::string& name,
                           std::atomic<int>& breaks, std::optional<client::SmbClient::OplockOpen>& h) {
    ASSERT_TRUE(a.connect(opts(smb2::kDialect311, true, false)));
    ASSERT_TRUE(b.connect(opts(smb2::kDialect311, true, false)));
    ASSERT_TRUE(a.treeConnect("share"));
    ASSERT_TRUE(b.treeConnect("share"));
    a.setOplockBreakHandler([&breaks](const smb2::FileId&, uint8_t) { breaks++; });
    auto o = a.openWithOplock(name, smb2::kFileReadData | smb2::kFileWriteData, smb2::kFileOverwriteIf, 0,
                              smb2::kOplockLevelBatch);
    ASSERT_TRUE(o);
    ASSERT_EQ(o->level, smb2::kOplockLevelBatch);
    h = *o;
  }
  void reconfigure(const std::string& extra_global, const std::string& extra_shares) {
    std::vector<config::Diagnostic> d;
    auto cfg = config::loadConfigString("[global]\nsmb3 encryption = auto\nserver multi channel support = yes\n"
                                        "fallback unix account = root\n" + extra_global +
                                            "[share]\npath = " + dir_ +
                                            "/share\nread only = no\n[ro]\npath = " + dir_ +
                                            "/share\nread only = yes\n"
                                            "[multi]\npath = " + dir_ + "/multi\nread only = no\n"
                                            "create mask = 0777\nforce create mode = 0666\n" + extra_shares,
                                        "test.conf", &d);
    for (const auto& x : d) ADD_FAILURE() << x.message;  // every extra line must be understood
    ASSERT_TRUE(cfg);
    auto hash = auth::ntHash("Pass-1234");
    ASSERT_TRUE(state_->configure(*cfg, [hash](std::string_view u) -> std::optional<std::array<uint8_t, 16>> {
      if (u == "alice" || u == "daemon" || u == "bin") return hash;
      return std::nullopt;
    }));
  }
  size_t heldCount() {
    std::lock_guard<std::mutex> lk(released_mu_);
    return held_.size();
  }
  client::ConnectOptions opts(uint16_t dialect, bool sign, bool seal, std::string pass = "Pass-1234") {
    client::ConnectOptions o;
    o.host = "127.0.0.1";
    o.port = tcp_->boundPort();
    o.dialects = {dialect};
    o.user = "alice";
    o.password = pass;
    o.sign = sign;
    o.seal = seal;
    return o;
  }
  // The same over SMB Direct on the soft provider.
  client::ConnectOptions rdmaOpts(uint16_t dialect, bool sign, bool seal, std::string pass = "Pass-1234") {
    client::ConnectOptions o = opts(dialect, sign, seal, std::move(pass));
    o.port = rdma_->boundPort();
    o.port_explicit = true;
    o.rdma = true;
    o.rdma_provider = "soft";
    return o;
  }
  std::string dir_;
  std::shared_ptr<server::ServerState> state_;
  std::unique_ptr<runtime::TcpServer> tcp_;
  std::unique_ptr<runtime::RdmaServer> rdma_;
  std::mutex released_mu_;
  bool hold_released_ = false;
  std::vector<std::unique_ptr<vfs::Handle>> held_;
};

}  // namespace sd
