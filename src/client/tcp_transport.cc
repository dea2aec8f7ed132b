// Direct TCP (MS-SMB2 2.1): each message behind a 4-byte length prefix, on a blocking socket
// whose send and receive timeouts are the connection's.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "base/net.h"
#include "client/smb_client.h"
#include "client/transport.h"
#include "smb2/frame.h"

namespace sd::client {

namespace {

class TcpTransport : public Transport {
 public:
  TcpTransport(int fd, std::string server) : fd_(fd), server_(std::move(server)) {}
  ~TcpTransport() override { ::close(fd_); }

  Status send(ByteView a, ByteView b) override {
    uint8_t hdr[4];
    smb2::encodeFrameHeader(hdr, uint32_t(a.size() + b.size()));
    ByteView parts[3] = {ByteView(hdr, 4), a, b};
    struct iovec iov[3];
    size_t n = 0;
    for (auto& p : parts)
      if (!p.empty()) iov[n++] = {const_cast<uint8_t*>(p.data()), p.size()};
    struct iovec* cur = iov;
    while (n > 0) {
      // MSG_NOSIGNAL: a server that closed the connection is an error here, not SIGPIPE.
      msghdr mh{};
      mh.msg_iov = cur;
      mh.msg_iovlen = size_t(n);
      ssize_t w = ::sendmsg(fd_, &mh, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        return err(errno == EAGAIN ? NtStatus::kIoTimeout : ntStatusFromErrno(errno), "send");
      }
      advanceIov(cur, n, size_t(w));
    }
    return ok();
  }

  // The socket's receive timeout (SO_RCVTIMEO) applies; timeout_ms is not used.
  Result<Bytes> receive(int /*timeout_ms*/) override {
    bool started = false;  // a timeout inside a frame leaves the stream unframed: the connection ends
    auto readAll = [&](uint8_t* p, size_t len) -> Status {
      while (len) {
        ssize_t r = ::recv(fd_, p, len, 0);
        if (r == 0) return err(NtStatus::kConnectionDisconnected, "server closed the connection");
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN && started) return fatal(NtStatus::kConnectionDisconnected, "timed out inside a message");
          return err(errno == EAGAIN ? NtStatus::kIoTimeout : ntStatusFromErrno(errno), "recv");
        }
        started = true;
        p += r;
        len -= size_t(r);
      }
      return ok();
    };
    uint8_t h[4];
    SD_CHECK(readAll(h, 4));
    uint32_t len = (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
    if (h[0] != 0 || len > (16u << 20) + 4096) return fatal(NtStatus::kInvalidNetworkResponse, "bad frame");
    Bytes m(len);
    SD_CHECK(readAll(m.data(), len));
    return m;
  }

  bool pollable() const override { return true; }

  bool waitReadable(int timeout_ms) override {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    return r > 0;
  }

  void shutdown() override { ::shutdown(fd_, SHUT_RDWR); }

  void describe(ConnectionInfo& info) const override { info.server = server_; }

  std::string statusText() const override { return "Transport: TCP\n"; }

 private:
  int fd_;
  std::string server_;  // host:port
};

}  // namespace

Result<std::unique_ptr<Transport>> connectTcp(const ConnectOptions& o) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  if (getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    return err(NtStatus::kBadNetworkPath, "cannot resolve host");
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
  int e = errno;
  freeaddrinfo(res);
  if (fd < 0) return err(ntStatusFromErrno(e), "socket");
  if (rc != 0 && e == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, o.timeout_ms) <= 0) {
      ::close(fd);
      return err(NtStatus::kIoTimeout, "connect timed out");
    }
    socklen_t l = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    rc = e ? -1 : 0;
  }
  if (rc != 0) {
    ::close(fd);
    return err(e == ECONNREFUSED ? NtStatus::kConnectionRefused : ntStatusFromErrno(e), "connect");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{o.timeout_ms / 1000, (o.timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1, buf = 4 << 20;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  return std::unique_ptr<Transport>(new TcpTransport(fd, o.host + ":" + port));
}

}  // namespace sd::client
