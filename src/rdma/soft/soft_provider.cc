// The TCP shell around IwarpStream: an epoll provider thread, non-blocking sockets, eventfd-backed
// CQs and CM channels. Protocol decisions all live in the sans-I/O core; this file moves bytes and
// turns core events into verbs completions and CM events.
#include "base/thread_name.h"
#include "rdma/soft/soft_provider.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "base/log.h"
#include "rdma/soft/iwarp_stream.h"
#include "rdma/soft/mem_table.h"

namespace sd::rdma::soft {
namespace {

std::mutex g_opt_mu;
SoftOptions g_opts = [] {
  SoftOptions o;
  if (const char* v = getenv("SD_SOFT_CRC")) o.crc = atoi(v) != 0;
  if (const char* v = getenv("SD_SOFT_MPA_REV")) o.mpa_revision = uint8_t(atoi(v) == 1 ? 1 : 2);
  if (const char* v = getenv("SD_SOFT_P2P")) o.peer_to_peer = atoi(v) != 0;
  if (const char* v = getenv("SD_SOFT_FPDU")) o.max_payload = uint32_t(atoi(v));
  if (const char* v = getenv("SD_SOFT_SOCKBUF")) o.socket_buffer = atoi(v);
  if (const char* v = getenv("SD_SOFT_OWNER_GRACE_US")) o.owner_grace_us = atoi(v);
  if (const char* v = getenv("SD_SOFT_RTR_NUDGE_MS")) o.rtr_nudge_ms = std::max(atoi(v), 0);
  return o;
}();

// Socket options of every iWARP connection (both sides).
void tuneSocket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int buf = softOptions().socket_buffer;
  if (buf > 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  }
}

std::atomic<uint32_t> g_next_qpn{1};
std::atomic<uint32_t> g_next_pd{1};

// ---------------------------------------------------------------- the provider thread

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void onEvent(uint32_t events) = 0;
  // While watched (Engine::watchOwned): when to look again, or nothing to end the watch.
  virtual std::optional<std::chrono::steady_clock::time_point> onOwnerTick(std::chrono::steady_clock::time_point) {
    return std::nullopt;
  }
};

class Engine {
 public:
  Engine() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, wake_, &ev);
    th_ = std::thread([this] {
      setThreadName("sd-soft-iwarp");
      run();
    });
  }
  ~Engine() {
    stop_ = true;
    uint64_t one = 1;
    (void)!write(wake_, &one, 8);
    if (th_.joinable()) th_.join();
    close(ep_);
    close(wake_);
  }
  void add(int fd, uint32_t events, std::shared_ptr<Handler> h) {
    {
      std::lock_guard lk(mu_);
      handlers_[fd] = std::move(h);
    }
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
  void mod(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
  }
  // Unregisters and closes fd (the handler may still receive one stale call; handlers tolerate it).
  void remove(int fd) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    std::shared_ptr<Handler> keep;
    {
      std::lock_guard lk(mu_);
      auto it = handlers_.find(fd);
      if (it != handlers_.end()) {
        keep = std::move(it->second);
        handlers_.erase(it);
      }
      close(fd);
    }
  }

 public:
  // Thread-safe: h->onOwnerTick() at the times it asks for, until it returns nothing.
  void watchOwned(std::weak_ptr<Handler> h) {
    bool was_empty;
    {
      std::lock_guard lk(mu_);
      was_empty = owned_.empty();
      owned_.push_back(std::move(h));
    }
    if (was_empty) {  // the thread may sleep in epoll_wait without a timeout
      uint64_t one = 1;
      (void)!write(wake_, &one, 8);
    }
  }

 private:
  // Connections in their owner's grace are looked at when the grace could end at the earliest
  // (each says when): while the owner keeps coming back, about once per grace period.
  void run() {
    using Clock = std::chrono::steady_clock;
    epoll_event evs[64];
    auto next_tick = Clock::time_point::max();
    while (!stop_) {
      bool ticking;
      {
        std::lock_guard lk(mu_);
        ticking = !owned_.empty();
        if (ticking && next_tick == Clock::time_point::max()) next_tick = Clock::now();  // watched since the last look
      }
      int timeout = 1000;
      if (ticking) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(next_tick - Clock::now()).count();
        timeout = int(std::clamp<int64_t>(left, 0, 1000));
      }
      int n = epoll_wait(ep_, evs, 64, timeout);
      for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == wake_) {
          uint64_t v;
          (void)!read(wake_, &v, 8);
          continue;
        }
        std::shared_ptr<Handler> h;
        {
          std::lock_guard lk(mu_);
          auto it = handlers_.find(fd);
          if (it != handlers_.end()) h = it->second;
        }
        if (h) h->onEvent(evs[i].events);
      }
      auto now = Clock::now();
      if (!ticking || now < next_tick) continue;
      next_tick = Clock::time_point::max();
      std::vector<std::weak_ptr<Handler>> watched, kept;
      {
        std::lock_guard lk(mu_);
        watched.swap(owned_);
      }
      for (auto& w : watched) {
        auto h = w.lock();
        if (!h) continue;
        if (auto again = h->onOwnerTick(now)) {
          kept.push_back(w);
          next_tick = std::min(next_tick, std::max(*again, now + std::chrono::milliseconds(1)));
        }
      }
      std::lock_guard lk(mu_);
      owned_.insert(owned_.end(), kept.begin(), kept.end());
    }
  }
  std::vector<std::weak_ptr<Handler>> owned_;  // connections whose input waits for their owner
  int ep_ = -1, wake_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<int, std::shared_ptr<Handler>> handlers_;
  std::thread th_;
};

Engine& engine() {
  static Engine* e = new Engine();  // lives for the process (its thread is detached at exit)
  return *e;
}

// ---------------------------------------------------------------- verbs objects

class SoftDevice;

class SoftMr : public MemoryRegion {
 public:
  SoftMr(MemTable* mem, uint32_t stag, void* addr, size_t len, uint32_t access, bool fast,
         uint32_t max_pages)
      : mem_(mem) {
    setKeys(stag, stag);
    setRange(addr, len, access);
    fast_reg_ = fast;
    max_pages_ = max_pages;
  }
  ~SoftMr() override { mem_->remove(lkey()); }

 private:
  MemTable* mem_;
};

class SoftPd : public ProtectionDomain {
 public:
  SoftPd(MemTable* mem, uint32_t id) : mem_(mem), id_(id) {}
  Result<std::shared_ptr<MemoryRegion>> regMr(void* addr, size_t length, uint32_t access) override {
    if (!addr && length) return err(NtStatus::kInvalidParameter, "regMr addr");
    if ((access & kAccessRemoteWrite) && !(access & kAccessLocalWrite))
      return err(NtStatus::kInvalidParameter, "remote write needs local write");
    uint32_t stag = mem_->addContiguous(id_, static_cast<uint8_t*>(addr), length, access);
    return std::shared_ptr<MemoryRegion>(
        std::make_shared<SoftMr>(mem_, stag, addr, length, access, false, 0));
  }
  Result<std::shared_ptr<MemoryRegion>> allocFastRegMr(uint32_t max_pages) override {
    if (max_pages == 0 || max_pages > 65536) return err(NtStatus::kInvalidParameter, "max_pages");
    uint32_t stag = mem_->addFastReg(id_);
    return std::shared_ptr<MemoryRegion>(
        std::make_shared<SoftMr>(mem_, stag, nullptr, 0, 0, true, max_pages));
  }
  uint32_t id() const { return id_; }

 private:
  MemTable* mem_;
  uint32_t id_;
};

// Something that can make progress on behalf of a CQ's poller (a connection reading its socket).
struct ProgressSource {
  virtual ~ProgressSource() = default;
  // Reads what the socket has, if no other thread is at it (never blocks).
  virtual void progress() = 0;
  // Waits on the socket in the calling thread and reads what arrives (see waitProgress).
  virtual Status waitAndProgress(int timeout_ms, int interrupt_fd, int cq_fd, int spin_us) = 0;
};

class SoftCq;
// The CQ whose completions the current thread will poll itself (it is polling or waiting
// through it): completions it produces meanwhile do not signal the CQ's event fd.
// Set by beginPolling()/endPolling() (rdma::PollingGuard).
thread_local const SoftCq* t_polling_cq = nullptr;

// Completions with an eventfd for event loops. Its connections (sources) make progress in
// pollers: poll() on an empty CQ reads their sockets when no other thread is at them, and
// waitProgress() waits on the socket in the caller (docs/rdma.md).
class SoftCq : public CompletionQueue {
 public:
  explicit SoftCq(uint32_t cap) : cap_(cap) {
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wait_efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~SoftCq() override {
    close(efd_);
    close(wait_efd_);
  }
  Result<int> poll(std::span<Wc> out) override {
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
  void* beginPolling() override { return const_cast<SoftCq*>(std::exchange(t_polling_cq, this)); }
  void endPolling(void* token) override { t_polling_cq = static_cast<const SoftCq*>(token); }
  Status waitProgress(int timeout_ms, int interrupt_fd, int spin_us) override {
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
  void addSource(const std::shared_ptr<ProgressSource>& s) {
    std::lock_guard lk(mu_);
    std::erase_if(sources_, [](const auto& w) { return w.expired(); });
    sources_.push_back(s);
  }
  Status reqNotify(bool solicited_only) override {
    std::lock_guard lk(mu_);
    armed_ = solicited_only ? 2 : 1;
    return ok();
  }
  int fd() const override { return efd_; }
  Status consumeEvent() override {
    uint64_t v;
    (void)!read(efd_, &v, 8);
    return ok();
  }
  uint32_t capacity() const override { return cap_; }
  int popLocked(std::span<Wc> out) {
    size_t n = std::min(out.size(), q_.size());
    for (size_t i = 0; i < n; i++) {
      out[i] = q_.front();
      q_.pop_front();
    }
    return int(n);
  }
  void push(const std::vector<Wc>& wcs, bool solicited) {
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

 private:
  std::mutex mu_;
  std::deque<Wc> q_;
  std::vector<std::weak_ptr<ProgressSource>> sources_;
  int armed_ = 0;
  int efd_;
  int wait_efd_;
  std::atomic<int> waiters_{0};
  std::atomic<bool> wait_signaled_{false};  // wait_efd_ holds a count
  uint32_t cap_;
};

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

class SoftDevice : public Device {
 public:
  DeviceAttr attr() const override { return softAttr(); }
  Result<PortAttr> queryPort(uint8_t port) const override {
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
  Result<std::shared_ptr<ProtectionDomain>> allocPd() override {
    return std::shared_ptr<ProtectionDomain>(std::make_shared<SoftPd>(&mem_, g_next_pd++));
  }
  Result<std::shared_ptr<CompletionQueue>> createCq(uint32_t cqe) override {
    if (cqe == 0 || cqe > softAttr().max_cqe) return err(NtStatus::kInvalidParameter, "cqe");
    return std::shared_ptr<CompletionQueue>(std::make_shared<SoftCq>(cqe));
  }
  MemTable* mem() { return &mem_; }

 private:
  MemTable mem_;
};

std::shared_ptr<SoftDevice> softDevice() {
  static auto d = std::make_shared<SoftDevice>();
  return d;
}

// ---------------------------------------------------------------- CM

class SoftCmChannel : public CmChannel, public std::enable_shared_from_this<SoftCmChannel> {
 public:
  SoftCmChannel() { efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
  ~SoftCmChannel() override { close(efd_); }
  int fd() const override { return efd_; }
  Result<std::shared_ptr<CmId>> createId() override;
  Result<CmEvent> getEvent() override {
    std::lock_guard lk(mu_);
    if (q_.empty()) return err(NtStatus::kPending, "no event");
    CmEvent e = std::move(q_.front());
    q_.pop_front();
    if (q_.empty()) {
      uint64_t v;
      (void)!read(efd_, &v, 8);
    }
    return e;
  }
  void push(CmEvent e) {
    std::lock_guard lk(mu_);
    q_.push_back(std::move(e));
    if (q_.size() == 1) {
      uint64_t one = 1;
      (void)!write(efd_, &one, 8);
    }
  }

 private:
  std::mutex mu_;
  std::deque<CmEvent> q_;
  int efd_;
};

class SoftCmId;

std::string sockName(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if ((peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
            : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len)) != 0)
    return {};
  char buf[INET6_ADDRSTRLEN] = {0};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
    port = ntohs(s->sin_port);
    return std::string(buf) + ":" + std::to_string(port);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
  port = ntohs(s->sin6_port);
  return "[" + std::string(buf) + "]:" + std::to_string(port);
}

// "a.b.c.d:port", "[v6]:port", "host:port" (numeric only).
bool parseAddr(std::string_view s, sockaddr_storage* out, socklen_t* len) {
  std::string host;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    size_t e = s.find(']');
    if (e == std::string_view::npos || e + 1 >= s.size() || s[e + 1] != ':') return false;
    host = std::string(s.substr(1, e - 1));
    port = std::string(s.substr(e + 2));
  } else {
    size_t c = s.rfind(':');
    if (c == std::string_view::npos) return false;
    host = std::string(s.substr(0, c));
    port = std::string(s.substr(c + 1));
  }
  char* end = nullptr;
  long p = strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) return false;
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(p));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(p));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

class SoftQp;

// One TCP connection with its iWARP stream.
class SoftConn : public Handler, public ProgressSource, public std::enable_shared_from_this<SoftConn> {
 public:
  SoftConn(bool initiator, std::weak_ptr<SoftCmChannel> ch)
      : stream_(softDevice()->mem(), makeConfig(initiator)), ch_(std::move(ch)),
        initiator_(initiator) {
    grace_us_ = softOptions().owner_grace_us;
    rtr_nudge_ms_ = softOptions().rtr_nudge_ms;
  }
  ~SoftConn() override = default;

  static StreamConfig makeConfig(bool initiator) {
    SoftOptions o = softOptions();
    StreamConfig c;
    c.initiator = initiator;
    c.crc = o.crc;
    c.mpa_revision = o.mpa_revision;
    c.peer_to_peer = o.peer_to_peer;
    c.max_payload = o.max_payload;
    static const bool trace = getenv("SD_SOFT_TRACE") && atoi(getenv("SD_SOFT_TRACE")) != 0;
    if (trace) c.trace = &traceFpdu;
    return c;
  }
  static void traceFpdu(void*, bool tx, const DdpHeader& h, size_t ulpdu) {
    if (h.tagged)
      std::fprintf(stderr, "[soft] %s %s len %zu stag 0x%x to 0x%llx%s\n", tx ? "tx" : "rx",
                   rdmapOpName(h.op), ulpdu, h.stag, static_cast<unsigned long long>(h.to),
                   h.last ? " L" : "");
    else
      std::fprintf(stderr, "[soft] %s %s len %zu qn %u msn %u mo %u stag 0x%x%s\n",
                   tx ? "tx" : "rx", rdmapOpName(h.op), ulpdu, h.qn, h.msn, h.mo, h.stag,
                   h.last ? " L" : "");
  }

  void onEvent(uint32_t events) override {
    std::lock_guard lk(mu_);
    if (fd_ < 0) return;
    // A thread waiting in waitAndProgress() owns the reading (an error or hang-up wakes it too).
    if (waiter_ && !(events & EPOLLOUT)) return;
    if (connecting_) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int e = 0;
      socklen_t l = sizeof e;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &l);
      if (e == EINPROGRESS) return;
      connecting_ = false;
      if (e != 0) {
        conn_errno_ = e;
        stream_.peerClosed();
        afterOpLocked();
        return;
      }
      local_ = sockName(fd_, false);
      peer_ = sockName(fd_, true);
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
      rx_empty_ = false;
      readLocked();
    }
    afterOpLocked();
  }

  using TimePoint = std::chrono::steady_clock::time_point;
  // The provider thread looks at a watched connection when its owner's grace could end or its
  // next RTR nudge is due, whichever comes first.
  std::optional<TimePoint> onOwnerTick(TimePoint now) override {
    // A busy connection (another thread is at it) is looked at again a millisecond later:
    // waiting for its lock here would only make the two threads trade wake-ups.
    std::unique_lock lk(mu_, std::try_to_lock);
    if (!lk.owns_lock()) return now + std::chrono::milliseconds(1);
    std::optional<TimePoint> owner = ownerTickLocked(now), nudge = rtrNudgeTickLocked(now);
    std::optional<TimePoint> next = !owner ? nudge : !nudge ? owner : std::min(*owner, *nudge);
    if (!next) watched_ = false;
    return next;
  }
  void watchLocked() {
    if (watched_) return;
    watched_ = true;
    engine().watchOwned(weak_from_this());
  }
  // The owner's grace (SoftOptions::owner_grace_us): while a thread keeps coming back to wait on
  // this socket, the provider thread stays out of its input (EPOLLIN off, no epoll change per
  // message); once no thread has waited for the grace time, input goes back to the provider.
  std::optional<TimePoint> ownerTickLocked(TimePoint now) {
    if (!owned_) return std::nullopt;
    const auto grace = std::chrono::microseconds(grace_us_);
    if (fd_ >= 0 && waiter_) return now + grace;  // the owner waits on it right now
    if (fd_ >= 0 && now - owner_seen_ < grace) return owner_seen_ + grace;
    owned_ = false;
    rx_empty_ = false;  // nobody watched the socket meanwhile
    interestLocked();   // level-triggered: what arrived meanwhile is reported at once
    return std::nullopt;
  }
  void noteOwnerLocked() {
    owner_seen_ = std::chrono::steady_clock::now();
    if (owned_ || grace_us_ <= 0 || fd_ < 0 || stream_.state() != IwarpStream::State::kRts) return;
    owned_ = true;
    watchLocked();
  }
  // Initiator, MPA reply in, RTR sent at once: if its answer is late, zero-length RDMA Writes
  // follow (SoftOptions::rtr_nudge_ms). Linux siw as responder installs its RTR handler only
  // after sending its reply, and the handler runs when data arrives: an RTR that came before
  // sits unread until then (seen in the kernel lab: the connection never established). A peer
  // that answers at once (our provider, a NIC) costs nothing.
  static constexpr int kRtrNudges = 4;
  void scheduleRtrNudgeLocked() {
    if (rtr_nudge_ms_ <= 0) return;
    rtr_nudges_ = 0;
    rtr_nudge_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(rtr_nudge_ms_);
    watchLocked();
  }
  std::optional<TimePoint> rtrNudgeTickLocked(TimePoint now) {
    if (!rtr_nudge_at_) return std::nullopt;
    if (fd_ < 0 || stream_.state() != IwarpStream::State::kAwaitRtr || rtr_nudges_ >= kRtrNudges) {
      rtr_nudge_at_.reset();
      return std::nullopt;
    }
    if (now < *rtr_nudge_at_) return rtr_nudge_at_;
    if (stream_.nudgeRtr()) afterOpLocked();
    rtr_nudges_++;
    rtr_nudge_at_ = now + std::chrono::milliseconds(rtr_nudge_ms_ << rtr_nudges_);
    return rtr_nudge_at_;
  }

  // A CQ's poller reads the socket itself (when the connection is up and no other thread is at
  // it): whoever is free moves the data, and a poller waiting for a reply gets it without a
  // thread switch.
  void progress() override {
    std::unique_lock lk(mu_, std::try_to_lock);
    if (!lk.owns_lock() || fd_ < 0 || connecting_ || waiter_ || rx_empty_ ||
        stream_.state() != IwarpStream::State::kRts)
      return;
    readLocked();
    afterOpLocked();
  }

  // The caller waits on the socket itself (CompletionQueue::waitProgress): while it does, the
  // provider thread is not woken for input (EPOLLIN is off), and the caller reads what arrives.
  Status waitAndProgress(int timeout_ms, int interrupt_fd, int cq_fd, int spin_us) override {
    int fd;
    uint64_t before = 0;
    {
      std::lock_guard lk(mu_);
      if (fd_ < 0 || connecting_ || waiter_ || stream_.state() != IwarpStream::State::kRts)
        return err(NtStatus::kNotSupported, "progress in the caller");
      // What already arrived first (unless the socket is known to be empty): if that completes
      // something, no wait at all.
      if (!rx_empty_) {
        before = delivered_;
        readLocked();
        afterOpLocked();
        if (fd_ < 0 || delivered_ != before) {
          noteOwnerLocked();
          return ok();
        }
      }
      waiter_ = true;
      interestLocked();
      fd = fd_;
      before = delivered_;
    }
    // Input that completes nothing (the middle of an RDMA Write into our memory, part of a
    // message) is read and waited for again here, without going back up through the CQ and
    // the consumer for every short read: the caller returns when something completed, another
    // thread signalled the CQ or the interrupt fd, or the time is up.
    // First the busy poll the caller asked for (spin_us, as RDMA applications poll their CQs):
    // poll() without sleeping, yielding the CPU in between, so that a reply arriving within the
    // budget costs no sleep and no wake-up. Adaptive: after kSpinMisses spins in a row found
    // nothing (an idle connection), only every kSpinMisses-th wait spins, until one succeeds.
    static constexpr uint32_t kSpinMisses = 8;
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::milliseconds(std::max(timeout_ms, 0));
    auto spin_until = start;
    if (spin_us > 0 && (spin_misses_ < kSpinMisses || ++spin_skipped_ % kSpinMisses == 0))
      spin_until = std::min(until, start + std::chrono::microseconds(spin_us));
    bool spinning = spin_until > start;
    for (int round = 0; round < 1000000; round++) {
      int ms = timeout_ms;
      if (spinning && std::chrono::steady_clock::now() >= spin_until) {
        spinning = false;
        spin_misses_++;  // only the waiter (waiter_ set under mu_) touches these
      }
      if (spinning) {
        ms = 0;
      } else if (round > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
        ms = int(std::max<int64_t>(left, 0));
      }
      pollfd p[3] = {{fd, POLLIN | POLLRDHUP, 0}, {cq_fd, POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
      int rc = ::poll(p, interrupt_fd >= 0 ? 3 : 2, ms);
      if (spinning && rc == 0) {
        sched_yield();
        continue;
      }
      const uint32_t sock_ev = uint32_t(p[0].revents);
      const bool other = p[1].revents || (interrupt_fd >= 0 && p[2].revents);  // the CQ or the interrupt fd
      std::lock_guard lk(mu_);
      waiter_ = false;
      if (fd_ < 0) return ok();
      if (sock_ev) rx_empty_ = false;
      if (!rx_empty_) readLocked();
      afterOpLocked();
      if (spinning && delivered_ != before) spin_misses_ = 0;
      const bool again = fd_ >= 0 && rc > 0 && delivered_ == before && !other &&
                         !(sock_ev & (POLLERR | POLLHUP | POLLRDHUP)) && (ms > 0 || spinning);
      noteOwnerLocked();
      if (!again) {
        interestLocked();
        return ok();
      }
      waiter_ = true;
    }
    std::lock_guard lk(mu_);
    waiter_ = false;
    interestLocked();
    return ok();
  }

  void readLocked() {
    if (staging_.empty()) staging_.resize(64 * 1024);
    size_t taken = 0;
    for (int iter = 0; iter < 64 && fd_ >= 0 && taken < kReadBudget; iter++) {
      RxPiece plan[kMaxPlan];
      iovec iov[kMaxPlan];
      const size_t cnt = stream_.rxPlan(staging_, plan, kMaxPlan);
      size_t asked = 0;
      for (size_t i = 0; i < cnt; i++) {
        iov[i] = {plan[i].data, plan[i].len};
        asked += plan[i].len;
      }
      ssize_t n = readv(fd_, iov, int(cnt));
      if (n == 0) {
        eofLocked();
        return;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          rx_empty_ = true;
          return;
        }
        if (errno == EINTR) continue;
        eofLocked();
        return;
      }
      size_t got = size_t(n);
      taken += got;
      bool was_awaiting_reply = stream_.state() != IwarpStream::State::kAwaitRtr &&
                                stream_.state() != IwarpStream::State::kRts;
      stream_.rxPlanDone(plan, cnt, got);
      if (was_awaiting_reply && stream_.state() == IwarpStream::State::kAwaitRtr && initiator_)
        scheduleRtrNudgeLocked();
      if (stream_.txPending()) flushLocked();
      // A short read emptied the socket: no need for a readv that only says EAGAIN (input
      // arriving later is reported by epoll or the waiter's poll, both level-triggered).
      if (got < asked) {
        rx_empty_ = true;
        return;
      }
    }
  }

  void eofLocked() {
    stream_.peerClosed();
    eof_ = true;
  }

  void flushLocked() {
    if (fd_ < 0 || connecting_) return;
    TxSlice sl[64];
    iovec iov[64];
    while (stream_.txPending()) {
      size_t n = stream_.txGather(sl, 64);
      size_t total = 0;
      for (size_t i = 0; i < n; i++) {
        iov[i] = {const_cast<uint8_t*>(sl[i].data), sl[i].len};
        total += sl[i].len;
      }
      // A small FPDU (header, payload, CRC) goes as one buffer: the kernel's send path costs
      // measurably more per segment than the copy (about 10% of a 4 KiB request's CPU).
      if (n > 1 && total <= kCoalesceMax) {
        if (tx_staging_.size() < kCoalesceMax) tx_staging_.resize(kCoalesceMax);
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
          std::memcpy(tx_staging_.data() + at, sl[i].data, sl[i].len);
          at += sl[i].len;
        }
        iov[0] = {tx_staging_.data(), total};
        n = 1;
      }
      msghdr m{};
      m.msg_iov = iov;
      m.msg_iovlen = n;
      ssize_t w = sendmsg(fd_, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          setOut(true);
          return;
        }
        stream_.peerClosed();
        eof_ = true;
        return;
      }
      stream_.txConsumed(size_t(w));
    }
    setOut(false);
  }

  void setOut(bool on) {
    if (on == out_armed_ || fd_ < 0) return;
    out_armed_ = on;
    interestLocked();
  }
  // The provider thread's epoll interest: input unless a waiter reads, output while a write waits.
  void interestLocked() {
    if (fd_ < 0) return;
    uint32_t ev = (waiter_ || owned_ ? 0u : uint32_t(EPOLLIN | EPOLLRDHUP)) | (out_armed_ ? uint32_t(EPOLLOUT) : 0u);
    if (ev == interest_) return;
    interest_ = ev;
    engine().mod(fd_, ev);
  }

  void afterOpLocked();

  void closeFdLocked() {
    if (fd_ < 0) return;
    int fd = fd_;
    fd_ = -1;
    if (waiter_) shutdown(fd, SHUT_RDWR);  // wakes the thread waiting on it
    engine().remove(fd);
  }

  // Registers the socket with the provider thread.
  void attach(int fd, bool connecting) {
    fd_ = fd;
    connecting_ = connecting;
    if (!connecting) {
      local_ = sockName(fd_, false);
      peer_ = sockName(fd_, true);
    }
    out_armed_ = connecting;
    interest_ = EPOLLIN | EPOLLRDHUP | (connecting ? uint32_t(EPOLLOUT) : 0u);
    engine().add(fd, interest_, shared_from_this());
  }

  // Recursive: a CmId's destructor may run on the provider thread inside this connection's own
  // callbacks (when the owner dropped its last reference meanwhile).
  std::recursive_mutex mu_;
  IwarpStream stream_;
  std::weak_ptr<SoftCmChannel> ch_;  // weak: events hold CmIds, which must not keep the channel
  std::weak_ptr<CmId> id_;            // the CmId this connection belongs to
  std::shared_ptr<CmId> pending_id_;  // responder: held until the connect request is delivered
  std::weak_ptr<CmId> listen_id_;
  std::shared_ptr<SoftCq> scq_, rcq_;
  bool initiator_;
  int fd_ = -1;
  bool connecting_ = false;
  bool out_armed_ = false;
  bool waiter_ = false;     // a thread waits on the socket in waitAndProgress()
  uint64_t delivered_ = 0;  // completions and CM events handed out so far
  bool owned_ = false;      // input left to the thread that waits on it (onOwnerTick())
  bool watched_ = false;    // in the provider thread's watch list (Engine::watchOwned)
  std::optional<std::chrono::steady_clock::time_point> rtr_nudge_at_;  // rtrNudgeTickLocked
  int rtr_nudges_ = 0;
  int rtr_nudge_ms_ = 0;    // SoftOptions::rtr_nudge_ms
  bool rx_empty_ = false;   // the last read found the socket empty, and no event said otherwise
  int grace_us_ = 0;        // SoftOptions::owner_grace_us
  uint32_t spin_misses_ = 0, spin_skipped_ = 0;  // the waiter's busy poll adapting (waitAndProgress)
  std::chrono::steady_clock::time_point owner_seen_{};  // the last waitAndProgress() ended
  uint32_t interest_ = 0;   // the events registered with the provider thread's epoll
  bool eof_ = false;
  bool shut_wr_ = false;
  bool established_ = false;
  bool request_delivered_ = false;
  bool closed_delivered_ = false;
  int conn_errno_ = 0;
  std::string local_, peer_;
  std::vector<uint8_t> staging_;
  std::vector<Wc> spare_sq_, spare_rq_;  // afterOpLocked's event storage, reused
  static constexpr size_t kCoalesceMax = 16384;
  // Pieces of one receive readv (IwarpStream::rxPlan: up to 1 MiB of a Read Response, 64 KiB
  // FPDUs) and the bytes one readLocked() takes before completions are handed out.
  static constexpr size_t kMaxPlan = 40;
  static constexpr size_t kReadBudget = 4 << 20;
  std::vector<uint8_t> tx_staging_;  // flushLocked: small FPDUs in one piece
};

class SoftQp : public QueuePair {
 public:
  SoftQp(std::shared_ptr<SoftConn> c, uint32_t qpn, QpCaps caps)
      : conn_(std::move(c)), qpn_(qpn), caps_(caps) {}
  Status postSend(std::span<const SendWr> wrs, size_t* posted) override {
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
  Status postRecv(std::span<const RecvWr> wrs, size_t* posted) override {
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
  uint32_t qpNum() const override { return qpn_; }
  QpState state() const override {
    std::lock_guard lk(conn_->mu_);
    switch (conn_->stream_.state()) {
      case IwarpStream::State::kRts: return QpState::kRts;
      case IwarpStream::State::kAwaitRtr: return QpState::kRtr;
      case IwarpStream::State::kError:
      case IwarpStream::State::kClosed: return QpState::kError;
      default: return QpState::kInit;
    }
  }
  QpCaps caps() const override { return caps_; }

 private:
  std::shared_ptr<SoftConn> conn_;
  uint32_t qpn_;
  QpCaps caps_;
};

void SoftConn::afterOpLocked() {
  flushLocked();
  std::shared_ptr<SoftCmChannel> chan = ch_.lock();
  auto push = [&](CmEvent e) {
    if (chan) chan->push(std::move(e));
  };
  StreamEvents ev;
  ev.sq.swap(spare_sq_);  // storage that goes round between the stream and here: no allocation
  ev.rq.swap(spare_rq_);  // per event
  stream_.takeEvents(ev);
  if (!ev.empty()) delivered_++;
  if (scq_) scq_->push(ev.sq, false);
  if (rcq_) rcq_->push(ev.rq, ev.solicited);
  ev.sq.clear();
  ev.rq.clear();
  spare_sq_.swap(ev.sq);
  spare_rq_.swap(ev.rq);
  std::shared_ptr<CmId> id = id_.lock();
  if (ev.request_received && pending_id_) {
    CmEvent e;
    e.type = CmEventType::kConnectRequest;
    e.id = pending_id_;
    e.listen_id = listen_id_.lock();
    e.private_data = stream_.peerFrame().private_data;
    e.responder_resources = uint8_t(std::min<uint16_t>(stream_.peerFrame().ord, 255));
    e.initiator_depth = uint8_t(std::min<uint16_t>(stream_.peerFrame().ird, 255));
    request_delivered_ = true;
    push(std::move(e));
    pending_id_.reset();
  }
  if (ev.rejected && id) {
    CmEvent e;
    e.type = CmEventType::kRejected;
    e.id = id;
    e.private_data = stream_.peerFrame().private_data;
    closed_delivered_ = true;
    push(std::move(e));
  }
  if (ev.connect_error && id && !closed_delivered_) {
    CmEvent e;
    e.type = conn_errno_ == ECONNREFUSED ? CmEventType::kRejected
             : conn_errno_                ? CmEventType::kUnreachable
                                          : CmEventType::kConnectError;
    e.id = id;
    e.status = conn_errno_ ? -conn_errno_ : -ECONNRESET;
    closed_delivered_ = true;
    push(std::move(e));
  }
  if (ev.established && id) {
    established_ = true;
    CmEvent e;
    e.type = CmEventType::kEstablished;
    e.id = id;
    if (initiator_) e.private_data = stream_.peerFrame().private_data;
    push(std::move(e));
  }
  if (ev.closed) pending_id_.reset();  // a connection that died before its request completed
  if (ev.closed && !closed_delivered_) {
    closed_delivered_ = true;
    if (id && (established_ || request_delivered_)) {
      CmEvent e;
      e.type = established_ ? CmEventType::kDisconnected : CmEventType::kConnectError;
      e.id = id;
      push(std::move(e));
    }
  }
  if (fd_ >= 0 && stream_.wantClose()) {
    if (eof_) {
      closeFdLocked();
    } else if (!shut_wr_ && !connecting_) {
      // Half-close after the last FPDU (e.g. a Terminate); keep reading until the peer's FIN.
      shutdown(fd_, SHUT_WR);
      shut_wr_ = true;
    } else if (connecting_) {
      closeFdLocked();
    }
  }
}

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
      conn_->closed_delivered_ = true;
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
    conn_->closed_delivered_ = true;
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

Result<std::shared_ptr<CmId>> SoftCmChannel::createId() {
  return std::shared_ptr<CmId>(std::make_shared<SoftCmId>(weak_from_this()));
}

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

void setSoftOptions(const SoftOptions& o) {
  std::lock_guard lk(g_opt_mu);
  g_opts = o;
}

SoftOptions softOptions() {
  std::lock_guard lk(g_opt_mu);
  return g_opts;
}

}  // namespace sd::rdma::soft
