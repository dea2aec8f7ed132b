// The provider thread, the provider's options and socket helpers.
#include "rdma/soft/soft_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/thread_name.h"
#include "rdma/soft/soft_provider.h"

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


}  // namespace

void setSoftOptions(const SoftOptions& o) {
  std::lock_guard lk(g_opt_mu);
  g_opts = o;
}

SoftOptions softOptions() {
  std::lock_guard lk(g_opt_mu);
  return g_opts;
}

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

Engine::Engine() {
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

Engine::~Engine() {
  stop_ = true;
  uint64_t one = 1;
  (void)!write(wake_, &one, 8);
  if (th_.joinable()) th_.join();
  close(ep_);
  close(wake_);
}

void Engine::add(int fd, uint32_t events, std::shared_ptr<Handler> h) {
  {
    std::lock_guard lk(mu_);
    handlers_[fd] = std::move(h);
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
}

void Engine::mod(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
}

void Engine::remove(int fd) {
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

void Engine::watchOwned(std::weak_ptr<Handler> h) {
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

void Engine::run() {
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
Engine& engine() {
  static Engine* e = new Engine();  // lives for the process (its thread is detached at exit)
  return *e;
}

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


}  // namespace sd::rdma::soft
