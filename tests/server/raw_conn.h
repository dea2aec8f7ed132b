// A raw Direct-TCP connection for in-process tests that need what the library client will not
// send: a chosen source address, half a header, several sessions on one connection, compounds
// that mix sessions and trees. Unsigned SMB 3.0.2; every read waits at most 5 s.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/spnego.h"
#include "base/bytes.h"
#include "smb2/constants.h"
#include "smb2/frame.h"
#include "smb2/header.h"
#include "smb2/negotiate.h"
#include "smb2/session_setup.h"
#include "smb2/tree_connect.h"

namespace sd {

class RawConn {
 public:
  using Body = std::function<void(ByteWriter&)>;
  // One request of a compound: its command, ids and body; `related` sets
  // SMB2_FLAGS_RELATED_OPERATIONS (a client names the ids to inherit as all ones, MS-SMB2
  // 3.2.4.1.4).
  struct Part {
    smb2::Command cmd;
    uint64_t session_id = 0;
    uint32_t tree_id = 0;
    bool related = false;
    Body body;
  };

  explicit RawConn(uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source, &src.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return;
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }
  bool sendBytes(ByteView b) { return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size()); }

  // The requests of `parts` as one compound message; the response messages of the chain (split
  // at NextCommand), or nullopt when the connection ends or nothing comes within 5 s.
  std::optional<std::vector<Bytes>> chain(const std::vector<Part>& parts) {
    ByteWriter w;
    for (size_t i = 0; i < parts.size(); i++) {
      size_t start = w.buf().size();
      smb2::Header h;
      h.command = parts[i].cmd;
      h.credit = 32;
      h.credit_charge = 1;
      h.message_id = next_id_++;
      h.session_id = parts[i].session_id;
      h.tree_id = parts[i].tree_id;
      if (parts[i].related) h.flags |= smb2::kFlagRelatedOperations;
      encodeHeader(h, w);
      parts[i].body(w);
      if (i + 1 < parts.size()) {
        while ((w.buf().size() - start) % 8) w.u8(0);
        uint32_t next = uint32_t(w.buf().size() - start);
        for (int b = 0; b < 4; b++) w.buf()[start + smb2::kOffNextCommand + b] = uint8_t(next >> (8 * b));
      }
    }
    uint8_t frame[4];
    smb2::encodeFrameHeader(frame, uint32_t(w.buf().size()));
    if (!sendBytes(ByteView(frame, 4)) || !sendBytes(w.buf())) return std::nullopt;
    std::vector<Bytes> out;
    while (out.size() < parts.size()) {
      auto m = readMessage();
      if (!m) return std::nullopt;
      // Split the chain; an interim STATUS_PENDING is followed later by its final response.
      size_t at = 0;
      for (;;) {
        if (m->size() - at < 64) return std::nullopt;
        uint32_t next = le32(m->data() + at + smb2::kOffNextCommand);
        size_t end = next ? at + next : m->size();
        if (end > m->size() || end <= at) return std::nullopt;
        Bytes one(m->begin() + long(at), m->begin() + long(end));
        if (NtStatus(le32(one.data() + smb2::kOffStatus)) != NtStatus::kPending) out.push_back(std::move(one));
        if (!next) break;
        at = end;
      }
    }
    return out;
  }
  std::optional<Bytes> request(smb2::Command cmd, uint64_t session_id, const Body& body, uint32_t tree_id = 0) {
    auto r = chain({{cmd, session_id, tree_id, false, body}});
    if (!r || r->size() != 1) return std::nullopt;
    return std::move((*r)[0]);
  }
  static NtStatus statusOf(const Bytes& m) { return NtStatus(le32(m.data() + smb2::kOffStatus)); }

  // A NEGOTIATE for SMB 3.0.2; true when answered.
  bool negotiate() {
    auto r = request(smb2::Command::kNegotiate, 0, [](ByteWriter& w) {
      smb2::NegotiateRequest q;
      q.dialects = {smb2::kDialect302};
      q.security_mode = 1;
      smb2::encodeNegotiateRequest(q, {}, w);
    });
    return r && r->size() >= 64 && statusOf(*r) == NtStatus::kSuccess;
  }
  // The first leg of a new session's NTLM exchange (SessionId 0): the response's status and
  // SessionId.
  std::optional<std::pair<NtStatus, uint64_t>> startSession() {
    auth::SpnegoClient spnego("alice", "", "Pass-1234");
    auto r = setupLeg(0, spnego.initial());
    if (!r) return std::nullopt;
    return std::make_pair(statusOf(*r), le64(r->data() + smb2::kOffSessionId));
  }
  // A whole (unsigned) session setup as `user`; its SessionId, or 0.
  uint64_t authenticate(const std::string& user, const std::string& password) {
    auth::SpnegoClient spnego(user, "", password);
    auto first = setupLeg(0, spnego.initial());
    if (!first || statusOf(*first) != NtStatus::kMoreProcessingRequired) return 0;
    uint64_t sid = le64(first->data() + smb2::kOffSessionId);
    auto resp = smb2::decodeSessionSetupResponse(*first);
    if (!resp) return 0;
    auto step = spnego.step(resp->security_buffer);
    if (!step) return 0;
    auto second = setupLeg(sid, step->out);
    return second && statusOf(*second) == NtStatus::kSuccess ? sid : 0;
  }
  // TREE_CONNECT to \\127.0.0.1\share on session `sid`: its TreeId, or 0.
  uint32_t treeConnect(uint64_t sid, const std::string& share) {
    auto r = request(smb2::Command::kTreeConnect, sid,
                     [&](ByteWriter& w) { smb2::encodeTreeConnectRequest({0, "\\\\127.0.0.1\\" + share}, w); });
    if (!r || statusOf(*r) != NtStatus::kSuccess) return 0;
    return le32(r->data() + smb2::kOffTreeId);
  }
  // Waits up to `ms` for the server to close the connection (EOF or reset).
  bool closedWithin(int ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      uint8_t b;
      ssize_t n = ::recv(fd_, &b, 1, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    }
    return false;
  }

 private:
  std::optional<Bytes> setupLeg(uint64_t sid, const Bytes& token) {
    return request(smb2::Command::kSessionSetup, sid, [&](ByteWriter& w) {
      smb2::SessionSetupRequest q;
      q.security_buffer = token;
      smb2::encodeSessionSetupRequest(q, w);
    });
  }
  std::optional<Bytes> readMessage() {
    uint8_t len[4];
    if (!readAll(len, 4)) return std::nullopt;
    Bytes msg((size_t(len[1]) << 16) | (size_t(len[2]) << 8) | len[3]);
    if (!readAll(msg.data(), msg.size())) return std::nullopt;
    return msg;
  }
  bool readAll(uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= size_t(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  uint64_t next_id_ = 0;
};

}  // namespace sd
