#include "base/thread_name.h"
#include "runtime/tcp_server.h"

#include "base/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "base/log.h"

namespace sd::runtime {

Status writeFully(int fd, std::span<const ByteView> parts) {
  constexpr size_t kMaxIov = 64;
  struct iovec iov[kMaxIov];
  size_t n = 0;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (n == kMaxIov) return err(NtStatus::kInvalidParameter, "too many parts");
    iov[n].iov_base = const_cast<uint8_t*>(p.data());
    iov[n].iov_len = p.size();
    n++;
  }
  struct iovec* cur = iov;
  while (n > 0) {
    ssize_t w = ::writev(fd, cur, int(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      return err(ntStatusFromErrno(errno), "writev");
    }
    advanceIov(cur, n, size_t(w));
  }
  return ok();
}

Status readFully(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r == 0) return err(NtStatus::kConnectionDisconnected, "peer closed");
    if (r < 0) {
      if (errno == EINTR) continue;
      return err(ntStatusFromErrno(errno), "recv");
    }
    p += r;
    n -= size_t(r);
  }
  return ok();
}

std::string sockaddrToString(const void* sa_) {
  const auto* sa = static_cast<const sockaddr*>(sa_);
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = static_cast<const sockaddr_in*>(sa_);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = static_cast<const sockaddr_in6*>(sa_);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
      return std::string(host) + ":" + std::to_string(ntohs(in6->sin6_port));
    }
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

// One accepted connection: the socket, a write lock and the transport facade.
struct TcpServer::Conn : server::Transport, std::enable_shared_from_this<TcpServer::Conn> {
  int fd = -1;
  std::mutex write_mu;  // one message at a time into the socket; send() reads fd under it
  std::mutex fd_mu;     // fd's end of life: close() may shut it down while serve() closes it
  std::atomic<bool> closed{false};
  server::TransportInfo ti;

  Status send(std::span<const ByteView> parts) override {
    size_t total = 0;
    for (const auto& p : parts) total += p.size();
    if (total > 0xFFFFFF) return err(NtStatus::kInvalidParameter, "message too large for TCP");
    uint8_t hdr[4] = {0, uint8_t(total >> 16), uint8_t(total >> 8), uint8_t(total)};
    ByteView all[65];
    if (parts.size() > 64) return err(NtStatus::kInvalidParameter, "too many parts");
    all[0] = ByteView(hdr, 4);
    std::copy(parts.begin(), parts.end(), all + 1);
    std::lock_guard<std::mutex> lk(write_mu);
    if (closed) return err(NtStatus::kConnectionDisconnected, "closed");
    return writeFully(fd, std::span<const ByteView>(all, parts.size() + 1));
  }
  // Unblocks the reader and a blocked send (not under write_mu, which a blocked send holds).
  void close() override {
    if (closed.exchange(true)) return;
    std::lock_guard<std::mutex> lk(fd_mu);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  const server::TransportInfo& info() const override { return ti; }
};

namespace {

// Hands large messages (WRITEs with their data) to a second thread of the connection, so that
// the socket is read while a WRITE's data goes to the file system: a client keeps several WRITEs
// in flight (smbclient: 8 MiB each), and reading the next one while the last is in pwrite(2) is
// what keeps it sending (Samba's smbd gets the same from its aio pool). The core still handles
// one message at a time, in arrival order: a small message waits until the large ones before it
// are done, so it sees the same sequence as on one thread (a READ after a WRITE sees its data, a
// FLUSH or CLOSE comes after it) and responses leave in request order. Large messages are read
// into a few buffers that are reused; the thread starts with the first large message.
class LargeMessagePipeline {
 public:
  static constexpr size_t kMaxBuffers = 3;  // being read, queued and being handled

  explicit LargeMessagePipeline(server::MessageHandler& h) : h_(h) {}
  ~LargeMessagePipeline() { finish(); }

  // A buffer for the next large message (waits while all kMaxBuffers are in use).
  Bytes take() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return !free_.empty() || in_use_ < kMaxBuffers; });
    in_use_++;
    if (free_.empty()) return Bytes();
    Bytes b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  // Queues the message in buf[0, len) for the pipeline's thread.
  void post(Bytes buf, size_t len) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_.push_back({std::move(buf), len});
    cv_.notify_all();
  }
  // Waits until every posted message has been handled.
  void waitIdle() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return queue_.empty() && !busy_; });
  }
  // Handles what is queued, then stops the thread.
  void finish() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Item {
    Bytes buf;
    size_t len;
  };
  void run() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Item it = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lk.unlock();
      h_.onMessage(ByteView(it.buf.data(), it.len));
      lk.lock();
      busy_ = false;
      free_.push_back(std::move(it.buf));
      in_use_--;
      cv_.notify_all();
    }
  }
  server::MessageHandler& h_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::vector<Bytes> free_;
  size_t in_use_ = 0;  // buffers out of free_: with the reader, queued or being handled
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

TcpServer::TcpServer(Factory factory) : factory_(std::move(factory)) {}
TcpServer::~TcpServer() { stop(); }

Status TcpServer::listen(const ListenSpec& spec) {
  spec_ = spec;
  std::vector<std::string> addrs = spec.addresses;
  bool any = addrs.empty();
  if (any) addrs = {"::"};
  for (const auto& a : addrs) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(bound_port_ ? bound_port_ : spec.port);
    int rc = getaddrinfo(a.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
      LOG_ERROR("cannot listen on '%s': %s (give a numeric address)", a.c_str(), gai_strerror(rc));
      return err(NtStatus::kInvalidParameter, "bad listen address");
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && any) {  // no IPv6 on this host: fall back to IPv4 any
      freeaddrinfo(res);
      hints.ai_family = AF_INET;
      getaddrinfo("0.0.0.0", port.c_str(), &hints, &res);
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
      freeaddrinfo(res);
      return err(ntStatusFromErrno(errno), "socket");
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      int e = errno;
      LOG_ERROR("cannot listen on %s port %s: %s", a.c_str(), port.c_str(), strerror(e));
      freeaddrinfo(res);
      ::close(fd);
      return err(ntStatusFromErrno(e), "bind");
    }
    freeaddrinfo(res);
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl);
    bound_port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    LOG_INFO("listening on %s (tcp)", sockaddrToString(&ss).c_str());
    listen_fds_.push_back(fd);
  }
  return ok();
}

void TcpServer::start() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  for (int fd : listen_fds_) accept_threads_.emplace_back([this, fd] { acceptLoop(fd); });
}

void TcpServer::acceptLoop(int lfd) {
  setThreadName("sd-tcp-accept");
  while (!stopping_) {
    pollfd pfd[2] = {{lfd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int rc = ::poll(pfd, 2, 1000);
    if (rc < 0 && errno != EINTR) break;
    if (stopping_) break;
    if (rc <= 0 || !(pfd[0].revents & POLLIN)) continue;
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &sl, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (spec_.max_connections && live_.load() >= spec_.max_connections) {
      LOG_WARN("refusing connection from %s: max connections (%u) reached",
               sockaddrToString(&ss).c_str(), spec_.max_connections);
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    auto conn = std::make_shared<Conn>();
    conn->fd = fd;
    conn->ti.kind = "tcp";
    conn->ti.peer = sockaddrToString(&ss);
    sockaddr_storage ls{};
    socklen_t ll = sizeof ls;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ls), &ll);
    conn->ti.local = sockaddrToString(&ls);
    live_++;
    std::lock_guard<std::mutex> lk(mu_);
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                                [](const std::weak_ptr<Conn>& w) { return w.expired(); }),
                 conns_.end());
    conns_.push_back(conn);
    std::thread([this, conn] { serve(conn); }).detach();
  }
}

void TcpServer::closeRefused(Conn& conn) {
  conn.close();
  {
    std::lock_guard<std::mutex> lk(conn.write_mu);
    std::lock_guard<std::mutex> lk2(conn.fd_mu);
    ::close(conn.fd);
    conn.fd = -1;
  }
  std::lock_guard<std::mutex> lk(mu_);
  live_--;
  done_cv_.notify_all();
}

void TcpServer::serve(std::shared_ptr<Conn> conn) {
  setThreadName("sd-tcp-conn");
  LOG_DEBUG("connection from %s", conn->ti.peer.c_str());
  auto handler = factory_(conn);
  if (!handler) {  // refused (hosts allow / hosts deny): closed before anything is read
    closeRefused(*conn);
    return;
  }
  // Receive buffers are kept and grown on demand: no allocation or zero-fill per message. Small
  // messages are handled here; large ones (kPipelinedMessageMin) on the pipeline's thread.
  Bytes buf;
  LargeMessagePipeline large(*handler);
  while (!stopping_ && !conn->closed) {
    uint8_t hdr[4];
    if (!readFully(conn->fd, hdr, 4)) break;
    uint32_t len = (uint32_t(hdr[1]) << 16) | (uint32_t(hdr[2]) << 8) | hdr[3];
    if (hdr[0] != 0 || len > spec_.max_frame) {
      LOG_WARN("%s: bad frame header (len %u), closing", conn->ti.peer.c_str(), len);
      break;
    }
    if (len >= kPipelinedMessageMin) {
      Bytes big = large.take();
      if (big.size() < len) big.resize(len);
      if (!readFully(conn->fd, big.data(), len)) break;
      large.post(std::move(big), len);
      continue;
    }
    if (buf.size() < len) buf.resize(len);
    if (!readFully(conn->fd, buf.data(), len)) break;
    large.waitIdle();
    handler->onMessage(ByteView(buf.data(), len));
  }
  // Messages read in full are still handled (their responses may not reach the peer).
  large.finish();
  conn->close();
  handler->onDisconnect();
  handler.reset();
  {
    std::lock_guard<std::mutex> lk(conn->write_mu);
    std::lock_guard<std::mutex> lk2(conn->fd_mu);
    ::close(conn->fd);
    conn->fd = -1;
  }
  LOG_DEBUG("connection from %s closed", conn->ti.peer.c_str());
  std::lock_guard<std::mutex> lk(mu_);
  live_--;
  done_cv_.notify_all();
}

void TcpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  for (auto& t : accept_threads_) t.join();
  accept_threads_.clear();
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
  std::unique_lock<std::mutex> lk(mu_);
  for (auto& w : conns_)
    if (auto c = w.lock()) c->close();
  // Connection threads are detached; wait (bounded) until each has left serve().
  if (!done_cv_.wait_for(lk, std::chrono::seconds(30), [this] { return live_.load() == 0; }))
    LOG_WARN("%zu connections still busy at shutdown", live_.load());
  lk.unlock();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

}  // namespace sd::runtime
