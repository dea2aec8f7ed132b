// TCP shell for the server (MS-SMB2 2.1 Direct TCP): listeners, one thread per connection that
// reads length-prefixed frames and hands whole messages to the connection core, and a thread-safe
// writer. Owns sockets and threads; knows nothing of SMB2 beyond the 4-byte frame prefix.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/transport.h"

namespace sd::runtime {

// Messages at least this large (WRITEs with their data) are handled on a second thread of the
// connection while the socket is read; smaller ones inline (see LargeMessagePipeline in
// tcp_server.cc). Below a few MiB the hand-off costs more than it overlaps on this 2-core
// machine (1 MiB pipelined writes lost 12% throughput with a 128 KiB threshold, bench/results/
// smbclient_vs_samba.md); smbclient's WRITEs are 8 MiB.
inline constexpr size_t kPipelinedMessageMin = 4 * 1024 * 1024;

struct ListenSpec {
  std::vector<std::string> addresses;  // empty: all addresses (IPv6 dual-stack, or IPv4 0.0.0.0)
  uint16_t port = 445;
  uint32_t max_connections = 0;  // 0: unlimited
  uint32_t max_frame = 16 * 1024 * 1024 + 1024;
};

class TcpServer {
 public:
  // Makes the handler of a new connection; null refuses it (the connection is closed unread).
  using Factory =
      std::function<std::unique_ptr<server::MessageHandler>(std::shared_ptr<server::Transport>)>;
  explicit TcpServer(Factory factory);
  ~TcpServer();

  // Binds and listens on every address of `spec`; logs each listener.
  Status listen(const ListenSpec& spec);
  // Starts the accept threads.
  void start();
  // Closes listeners and all connections and joins every thread.
  void stop();
  // Port actually bound (useful with port 0 in tests).
  uint16_t boundPort() const { return bound_port_; }
  size_t connectionCount() const { return live_.load(); }

 private:
  struct Conn;
  void acceptLoop(int fd);
  void serve(std::shared_ptr<Conn> conn);
  void closeRefused(Conn& conn);
  Factory factory_;
  ListenSpec spec_;
  std::vector<int> listen_fds_;
  std::vector<std::thread> accept_threads_;
  std::mutex mu_;
  std::vector<std::weak_ptr<Conn>> conns_;
  std::condition_variable done_cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> live_{0};
  uint16_t bound_port_ = 0;
  int wake_fd_ = -1;
};

// Blocking helpers shared by the server and client shells.
Status writeFully(int fd, std::span<const ByteView> parts);
Status readFully(int fd, uint8_t* p, size_t n);
std::string sockaddrToString(const void* sa);

}  // namespace sd::runtime
