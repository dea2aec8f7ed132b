// The soft provider's verbs objects.
#include "rdma/soft/soft_verbs.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "rdma/soft/soft_conn.h"

namespace sd::rdma::soft {
namespace {

std::atomic<uint32_t> g_next_pd{1};

// The CQ whose completions the current thread will poll itself (it is polling or waiting
// through it): completions it produces meanwhile do not signal the CQ's event fd.
// Set by beginPolling()/endPolling() (rdma::PollingGuard).
thread_local const SoftCq* t_polling_cq = nullptr;

}  // namespace

void* SoftCq::beginPolling() { return const_cast<SoftCq*>(std::exchange(t_polling_cq, this)); }
void SoftCq::endPolling(void* token) { t_polling_cq = static_cast<const SoftCq*>(token); }

Result<int> SoftCq::poll(std::span<Wc> out) {
  static const bool drive = !getenv("SD_SOFT_POLL_PROGRESS") || atoi(getenv("SD_SOFT_POLL_PROGRESS")) != 0;
  std::shared_ptr<ProgressSource> one;  // the usual case: one QP per CQ (no allocation)
  std::vector<std::shared_ptr<ProgressSource>> more;
  {
    std::lock_guard lk(mu_);
    if (!q_.empty() || !drive) return popLocked(out);
    if (sources_.size() == 1) {
      one = sources_[0].lock();
    } else {
      for (auto& w : sources_)
        if (auto s = w.lock()) more.push_back(std::move(s));
    }
  }
  {
    PollingGuard scope(*this);
    if (one) one->progress();
    for (auto& s : more) s->progress();
  }
  std::lock_guard lk(mu_);
  return popLocked(out);
}

Status SoftCq::waitProgress(int timeout_ms, int interrupt_fd, int spin_us) {
  static const bool drive = !getenv("SD_SOFT_WAIT_PROGRESS") || atoi(getenv("SD_SOFT_WAIT_PROGRESS")) != 0;
  std::shared_ptr<ProgressSource> src;
  {
    // Completions that another thread adds from here on (the provider thread finishing a
    // blocked write) wake the waiter through wait_efd_: counted as a waiter before the check
    // for queued completions, so that one added in between is not missed.
    std::lock_guard lk(mu_);
    if (!q_.empty()) return ok();
    if (!drive || sources_.size() != 1 || !(src = sources_[0].lock()))
      return err(NtStatus::kNotSupported, "progress in the caller");
    waiters_++;
  }
  PollingGuard scope(*this);
  Status st = src->waitAndProgress(timeout_ms, interrupt_fd, wait_efd_, spin_us);
  waiters_--;
  if (wait_signaled_.exchange(false)) {
    uint64_t v;
    (void)!read(wait_efd_, &v, 8);
  }
  return st;
}

void SoftCq::addSource(const std::shared_ptr<ProgressSource>& s) {
  std::lock_guard lk(mu_);
  std::erase_if(sources_, [](const auto& w) { return w.expired(); });
  sources_.push_back(s);
}

void SoftCq::push(const std::vector<Wc>& wcs, bool solicited) {
  if (wcs.empty()) return;
  bool fire = false;
  {
    std::lock_guard lk(mu_);
    bool any_err = false;
    for (const Wc& w : wcs) {
      q_.push_back(w);
      any_err |= w.status != WcStatus::kSuccess;
    }
    // The thread polling this CQ takes these itself: no event (the CQ stays armed).
    if (t_polling_cq == this) {
    } else if (armed_ == 1 || (armed_ == 2 && (solicited || any_err))) {
      fire = true;
      armed_ = 0;
    }
  }
  uint64_t one = 1;
  if (fire) (void)!write(efd_, &one, 8);
  if (t_polling_cq != this && waiters_.load() > 0 && !wait_signaled_.exchange(true))
    (void)!write(wait_efd_, &one, 8);
}
DeviceAttr softAttr() {
  DeviceAttr a;
  a.name = "soft0";
  a.provider = "soft";
  a.transport = "iWARP";
  a.node_guid = 0x534d42444952ULL;  // "SMBDIR"
  a.max_mr_size = ~0ULL;
  a.max_qp = 16384;
  a.max_qp_wr = 16384;
  a.max_send_sge = 32;
  a.max_recv_sge = 32;
  a.max_cq = 16384;
  a.max_cqe = 1u << 20;
  a.max_mr = 1u << 20;
  a.max_pd = 1u << 16;
  a.max_qp_rd_atom = 128;
  a.max_qp_init_rd_atom = 128;
  a.max_inline_data = 256;
  a.max_fast_reg_page_list_len = 65536;
  a.phys_port_cnt = 1;
  return a;
}

Result<PortAttr> SoftDevice::queryPort(uint8_t port) const {
  if (port != 1) return err(NtStatus::kInvalidParameter, "port");
  PortAttr p;
  p.port = 1;
  p.state = "ACTIVE";
  p.link_layer = "Ethernet";
  p.active_mtu = 4096;
  p.netdev = "*";
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) == 0) {
    for (ifaddrs* i = ifs; i; i = i->ifa_next) {
      if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
      char buf[INET6_ADDRSTRLEN] = {0};
      if (i->ifa_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
      else if (i->ifa_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                  sizeof buf);
      else
        continue;
      p.addresses.push_back(std::string(buf) + " (" + i->ifa_name + ")");
    }
    freeifaddrs(ifs);
  }
  return p;
}

Result<std::shared_ptr<ProtectionDomain>> SoftDevice::allocPd() {
  return std::shared_ptr<ProtectionDomain>(std::make_shared<SoftPd>(&mem_, g_next_pd++));
}

Result<std::shared_ptr<CompletionQueue>> SoftDevice::createCq(uint32_t cqe) {
  if (cqe == 0 || cqe > softAttr().max_cqe) return err(NtStatus::kInvalidParameter, "cqe");
  return std::shared_ptr<CompletionQueue>(std::make_shared<SoftCq>(cqe));
}
std::shared_ptr<SoftDevice> softDevice() {
  static auto d = std::make_shared<SoftDevice>();
  return d;
}

Status SoftQp::postSend(std::span<const SendWr> wrs, size_t* posted) {
  std::lock_guard lk(conn_->mu_);
  size_t i = 0;
  Status st = ok();
  for (; i < wrs.size(); i++) {
    st = conn_->stream_.postSend(wrs[i]);
    if (!st) break;
  }
  if (posted) *posted = i;
  conn_->flushLocked();
  conn_->afterOpLocked();
  return st;
}

Status SoftQp::postRecv(std::span<const RecvWr> wrs, size_t* posted) {
  std::lock_guard lk(conn_->mu_);
  size_t i = 0;
  Status st = ok();
  for (; i < wrs.size(); i++) {
    st = conn_->stream_.postRecv(wrs[i]);
    if (!st) break;
  }
  if (posted) *posted = i;
  conn_->afterOpLocked();
  return st;
}

QpState SoftQp::state() const {
  std::lock_guard lk(conn_->mu_);
  switch (conn_->stream_.state()) {
    case IwarpStream::State::kRts: return QpState::kRts;
    case IwarpStream::State::kAwaitRtr: return QpState::kRtr;
    case IwarpStream::State::kError:
    case IwarpStream::State::kClosed: return QpState::kError;
    default: return QpState::kInit;
  }
}
}  // namespace sd::rdma::soft
