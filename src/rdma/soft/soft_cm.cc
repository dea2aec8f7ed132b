// The soft provider's connection manager: CM ids (listen, resolve, connect, accept, reject,
// disconnect), the listening sockets' handler, and the provider object.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "rdma/soft/soft_conn.h"
#include "rdma/soft/soft_provider.h"

namespace sd::rdma::soft {
namespace {

std::atomic<uint32_t> g_next_qpn{1};

class SoftCmId;

class ListenHandler : public Handler {
 public:
  ListenHandler(int fd, std::weak_ptr<CmId> id, std::weak_ptr<SoftCmChannel> ch)
      : fd_(fd), id_(std::move(id)), ch_(std::move(ch)) {}
  void onEvent(uint32_t) override;
  int fd_;
  std::weak_ptr<CmId> id_;
  std::weak_ptr<SoftCmChannel> ch_;
};

class SoftCmId : public CmId {
 public:
  explicit SoftCmId(std::weak_ptr<SoftCmChannel> ch) : ch_(std::move(ch)) {}
  void pushEvent(CmEvent e) {
    if (auto c = ch_.lock()) c->push(std::move(e));
  }
  ~SoftCmId() override {
    if (listen_fd_ >= 0) engine().remove(listen_fd_);
    if (conn_) {
      std::lock_guard lk(conn_->mu_);
      conn_->stream_.close();
      conn_->reportLocked(SoftConn::Reported::kClosed);
      (void)conn_->stream_.takeEvents();
      conn_->closeFdLocked();
    }
  }

  Status listen(std::string_view addr, int backlog) override {
    sockaddr_storage ss;
    socklen_t len;
    if (!parseAddr(addr, &ss, &len)) return err(NtStatus::kInvalidParameter, "listen address");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return err(ntStatusFromErrno(errno), "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, backlog) != 0) {
      int e = errno;
      close(fd);
      return err(e == EADDRINUSE ? NtStatus::kObjectNameCollision : ntStatusFromErrno(e), "bind");
    }
    listen_fd_ = fd;
    local_ = sockName(fd, false);
    engine().add(fd, EPOLLIN,
                 std::make_shared<ListenHandler>(fd, weak_from_this(), ch_));
    return ok();
  }

  Status resolve(std::string_view addr, int) override {
    socklen_t len;
    if (!parseAddr(addr, &dst_, &len)) {
      CmEvent e;
      e.type = CmEventType::kAddrError;
      e.id = shared_from_this();
      e.status = -EINVAL;
      pushEvent(std::move(e));
      return err(NtStatus::kInvalidParameter, "address");
    }
    dst_len_ = len;
    resolved_ = true;
    CmEvent e;
    e.type = CmEventType::kAddrResolved;
    e.id = shared_from_this();
    pushEvent(std::move(e));
    return ok();
  }

  std::shared_ptr<Device> device() const override {
    if (resolved_ || conn_) return softDevice();
    return nullptr;
  }

  Result<std::shared_ptr<QueuePair>> createQp(const QpInitAttr& a) override {
    if (qp_) return err(NtStatus::kInvalidDeviceState, "QP exists");
    auto pd = std::dynamic_pointer_cast<SoftPd>(a.pd);
    auto scq = std::dynamic_pointer_cast<SoftCq>(a.send_cq);
    auto rcq = std::dynamic_pointer_cast<SoftCq>(a.recv_cq);
    if (!pd || !scq || !rcq) return err(NtStatus::kInvalidParameter, "pd/cq of another provider");
    if (!conn_) {
      if (!resolved_) return err(NtStatus::kInvalidDeviceState, "not resolved");
      conn_ = std::make_shared<SoftConn>(true, ch_);
      conn_->id_ = weak_from_this();
    }
    DeviceAttr d = softAttr();
    QpCaps c = a.caps;
    c.max_send_wr = std::min(std::max(c.max_send_wr, 1u), d.max_qp_wr);
    c.max_recv_wr = std::min(std::max(c.max_recv_wr, 1u), d.max_qp_wr);
    c.max_send_sge = std::min(std::max(c.max_send_sge, 1u), d.max_send_sge);
    c.max_recv_sge = std::min(std::max(c.max_recv_sge, 1u), d.max_recv_sge);
    c.max_inline_data = std::min(c.max_inline_data, d.max_inline_data);
    uint32_t qpn = g_next_qpn++;
    {
      std::lock_guard lk(conn_->mu_);
      QpBinding b;
      b.pd = pd->id();
      b.qp_num = qpn;
      b.caps = c;
      b.sq_sig_all = a.sq_sig_all;
      conn_->stream_.bindQp(b);
      conn_->scq_ = scq;
      conn_->rcq_ = rcq;
    }
    if (scq) scq->addSource(conn_);
    if (rcq && rcq != scq) rcq->addSource(conn_);
    qp_ = std::make_shared<SoftQp>(conn_, qpn, c);
    return std::shared_ptr<QueuePair>(qp_);
  }
  std::shared_ptr<QueuePair> qp() const override { return qp_; }

  Status connect(const ConnParam& p) override {
    if (!conn_ || !qp_) return err(NtStatus::kInvalidDeviceState, "connect needs a QP");
    if (p.private_data.size() > kMpaMaxPrivateData - 4)
      return err(NtStatus::kInvalidParameter, "private data");
    int fd = socket(dst_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return err(ntStatusFromErrno(errno), "socket");
    tuneSocket(fd);
    int r = ::connect(fd, reinterpret_cast<sockaddr*>(&dst_), dst_len_);
    if (r != 0 && errno != EINPROGRESS) {
      int e = errno;
      close(fd);
      return err(ntStatusFromErrno(e), "connect");
    }
    std::lock_guard lk(conn_->mu_);
    MpaParams mp;
    mp.private_data = p.private_data;
    mp.ird = p.responder_resources;
    mp.ord = p.initiator_depth;
    conn_->stream_.start(mp);
    conn_->attach(fd, r != 0);
    conn_->afterOpLocked();
    return ok();
  }

  Status accept(const ConnParam& p) override {
    if (!conn_ || !qp_) return err(NtStatus::kInvalidDeviceState, "accept needs a QP");
    std::lock_guard lk(conn_->mu_);
    MpaParams mp;
    mp.private_data = p.private_data;
    mp.ird = p.responder_resources;
    mp.ord = p.initiator_depth;
    SD_CHECK(conn_->stream_.accept(mp));
    conn_->afterOpLocked();
    return ok();
  }

  Status reject(ByteView pd) override {
    if (!conn_) return err(NtStatus::kInvalidDeviceState, "reject");
    std::lock_guard lk(conn_->mu_);
    conn_->stream_.reject(pd);
    conn_->reportLocked(SoftConn::Reported::kClosed);
    conn_->afterOpLocked();
    return ok();
  }

  Status disconnect() override {
    if (!conn_) return err(NtStatus::kInvalidDeviceState, "disconnect");
    std::lock_guard lk(conn_->mu_);
    conn_->stream_.close();
    conn_->afterOpLocked();
    return ok();
  }

  std::string localAddr() const override {
    if (conn_) {
      std::lock_guard lk(conn_->mu_);
      return conn_->local_;
    }
    return local_;
  }
  std::string peerAddr() const override {
    if (conn_) {
      std::lock_guard lk(conn_->mu_);
      return conn_->peer_;
    }
    return {};
  }
  uint16_t localPort() const override {
    std::string a = localAddr();
    size_t c = a.rfind(':');
    return c == std::string::npos ? 0 : uint16_t(atoi(a.c_str() + c + 1));
  }
  uint8_t ird() const override {
    if (!conn_) return 0;
    std::lock_guard lk(conn_->mu_);
    return uint8_t(std::min<uint16_t>(conn_->stream_.ird(), 255));
  }
  uint8_t ord() const override {
    if (!conn_) return 0;
    std::lock_guard lk(conn_->mu_);
    return uint8_t(std::min<uint16_t>(conn_->stream_.ord(), 255));
  }

  std::weak_ptr<SoftCmChannel> ch_;
  std::shared_ptr<SoftConn> conn_;
  std::shared_ptr<SoftQp> qp_;
  int listen_fd_ = -1;
  std::string local_;
  sockaddr_storage dst_{};
  socklen_t dst_len_ = 0;
  bool resolved_ = false;
};

void ListenHandler::onEvent(uint32_t) {
  for (int i = 0; i < 64; i++) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto lid = id_.lock();
    if (!lid) {
      close(fd);
      return;
    }
    tuneSocket(fd);
    auto child = std::make_shared<SoftCmId>(ch_);
    auto conn = std::make_shared<SoftConn>(false, ch_);
    child->conn_ = conn;
    conn->id_ = child;
    conn->pending_id_ = child;
    conn->listen_id_ = lid;
    std::lock_guard lk(conn->mu_);
    conn->attach(fd, false);
  }
}

}  // namespace

Result<std::shared_ptr<CmId>> SoftCmChannel::createId() {
  return std::shared_ptr<CmId>(std::make_shared<SoftCmId>(weak_from_this()));
}

namespace {

class SoftProvider : public Provider {
 public:
  std::string_view name() const override { return "soft"; }
  std::vector<std::shared_ptr<Device>> devices() override { return {softDevice()}; }
  Result<std::shared_ptr<CmChannel>> createCmChannel() override {
    return std::shared_ptr<CmChannel>(std::make_shared<SoftCmChannel>());
  }
};

}  // namespace

Provider* softProvider() {
  static SoftProvider p;
  return &p;
}

}  // namespace sd::rdma::soft
