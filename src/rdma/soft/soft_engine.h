// The soft provider's provider thread (one epoll loop over every listening and connected socket,
// plus the owner-grace and RTR-nudge ticks of watched connections) and the socket helpers.
// Internal to rdma/soft (see soft_provider.h).
#pragma once
#include "base/net.h"
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sd::rdma::soft {

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
  Engine();
  ~Engine();
  void add(int fd, uint32_t events, std::shared_ptr<Handler> h);
  void mod(int fd, uint32_t events);
  // Unregisters and closes fd (the handler may still receive one stale call; handlers tolerate it).
  void remove(int fd);

 public:
  // Thread-safe: h->onOwnerTick() at the times it asks for, until it returns nothing.
  void watchOwned(std::weak_ptr<Handler> h);

 private:
  // Connections in their owner's grace are looked at when the grace could end at the earliest
  // (each says when): while the owner keeps coming back, about once per grace period.
  void run();
  std::vector<std::weak_ptr<Handler>> owned_;  // connections whose input waits for their owner
  int ep_ = -1, wake_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<int, std::shared_ptr<Handler>> handlers_;
  std::thread th_;
};

// The provider thread, started on first use; it lives for the process.
Engine& engine();

// Socket options of every iWARP connection (both sides).
void tuneSocket(int fd);
// "a.b.c.d:port" or "[v6]:port" of the socket's local (or peer) end; empty on error.
std::string sockName(int fd, bool peer);
// "a.b.c.d:port", "[v6]:port", "host:port" (numeric only).
inline bool parseAddr(std::string_view s, sockaddr_storage* out, socklen_t* len) { return parseSockaddr(s, out, len); }

}  // namespace sd::rdma::soft
