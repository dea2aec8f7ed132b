// The TCP shell around IwarpStream: non-blocking socket I/O for the provider thread, for CQ
// pollers and for a thread waiting on the socket itself; core events become verbs completions
// and CM events. Protocol decisions all live in the sans-I/O core.
#include "rdma/soft/soft_conn.h"

#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "rdma/soft/soft_provider.h"

namespace sd::rdma::soft {

StreamConfig SoftConn::makeConfig(bool initiator) {
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

void SoftConn::traceFpdu(void*, bool tx, const DdpHeader& h, size_t ulpdu) {
  if (h.tagged)
    std::fprintf(stderr, "[soft] %s %s len %zu stag 0x%x to 0x%llx%s\n", tx ? "tx" : "rx",
                 rdmapOpName(h.op), ulpdu, h.stag, static_cast<unsigned long long>(h.to),
                 h.last ? " L" : "");
  else
    std::fprintf(stderr, "[soft] %s %s len %zu qn %u msn %u mo %u stag 0x%x%s\n",
                 tx ? "tx" : "rx", rdmapOpName(h.op), ulpdu, h.qn, h.msn, h.mo, h.stag,
                 h.last ? " L" : "");
}

void SoftConn::onEvent(uint32_t events) {
  std::lock_guard lk(mu_);
  if (fd_ < 0) return;
  // A thread waiting in waitAndProgress() owns the reading (an error or hang-up wakes it too).
  if (waiter_ && !(events & EPOLLOUT)) return;
  if (sock_ == Sock::kConnecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int e = 0;
    socklen_t l = sizeof e;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &l);
    if (e == EINPROGRESS) return;
    enterLocked(Sock::kOpen);
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

std::optional<SoftConn::TimePoint> SoftConn::onOwnerTick(TimePoint now) {
  // A busy connection (another thread is at it) is looked at again a millisecond later:
  // waiting for its lock here would only make the two threads trade wake-ups.
  std::unique_lock lk(mu_, std::try_to_lock);
  if (!lk.owns_lock()) return now + std::chrono::milliseconds(1);
  std::optional<TimePoint> owner = ownerTickLocked(now), nudge = rtrNudgeTickLocked(now);
  std::optional<TimePoint> next = !owner ? nudge : !nudge ? owner : std::min(*owner, *nudge);
  if (!next) watched_ = false;
  return next;
}

void SoftConn::watchLocked() {
  if (watched_) return;
  watched_ = true;
  engine().watchOwned(weak_from_this());
}

std::optional<SoftConn::TimePoint> SoftConn::ownerTickLocked(TimePoint now) {
  if (!owned_) return std::nullopt;
  const auto grace = std::chrono::microseconds(grace_us_);
  if (fd_ >= 0 && waiter_) return now + grace;  // the owner waits on it right now
  if (fd_ >= 0 && now - owner_seen_ < grace) return owner_seen_ + grace;
  owned_ = false;
  rx_empty_ = false;  // nobody watched the socket meanwhile
  interestLocked();   // level-triggered: what arrived meanwhile is reported at once
  return std::nullopt;
}

void SoftConn::noteOwnerLocked() {
  owner_seen_ = std::chrono::steady_clock::now();
  if (owned_ || grace_us_ <= 0 || fd_ < 0 || stream_.state() != IwarpStream::State::kRts) return;
  owned_ = true;
  watchLocked();
}

void SoftConn::scheduleRtrNudgeLocked() {
  if (rtr_nudge_ms_ <= 0) return;
  rtr_nudges_ = 0;
  rtr_nudge_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(rtr_nudge_ms_);
  watchLocked();
}

std::optional<SoftConn::TimePoint> SoftConn::rtrNudgeTickLocked(TimePoint now) {
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

void SoftConn::progress() {
  std::unique_lock lk(mu_, std::try_to_lock);
  if (!lk.owns_lock() || fd_ < 0 || sock_ == Sock::kConnecting || waiter_ || rx_empty_ ||
      stream_.state() != IwarpStream::State::kRts)
    return;
  readLocked();
  afterOpLocked();
}

Status SoftConn::waitAndProgress(int timeout_ms, int interrupt_fd, int cq_fd, int spin_us) {
  int fd;
  uint64_t before = 0;
  {
    std::lock_guard lk(mu_);
    if (fd_ < 0 || sock_ == Sock::kConnecting || waiter_ || stream_.state() != IwarpStream::State::kRts)
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

void SoftConn::readLocked() {
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

void SoftConn::eofLocked() {
  stream_.peerClosed();
  enterLocked(Sock::kPeerGone);
}

void SoftConn::flushLocked() {
  if (fd_ < 0 || sock_ == Sock::kConnecting) return;
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
      enterLocked(Sock::kPeerGone);
      return;
    }
    stream_.txConsumed(size_t(w));
  }
  setOut(false);
}

void SoftConn::setOut(bool on) {
  if (on == out_armed_ || fd_ < 0) return;
  out_armed_ = on;
  interestLocked();
}

void SoftConn::interestLocked() {
  if (fd_ < 0) return;
  uint32_t ev = (waiter_ || owned_ ? 0u : uint32_t(EPOLLIN | EPOLLRDHUP)) | (out_armed_ ? uint32_t(EPOLLOUT) : 0u);
  if (ev == interest_) return;
  interest_ = ev;
  engine().mod(fd_, ev);
}

void SoftConn::enterLocked(Sock next) {
  // kUnattached -> kConnecting | kOpen; kConnecting -> kOpen; kOpen -> kWriteShut | kPeerGone;
  // kWriteShut -> kPeerGone; any state with a socket -> kClosed.
  [[maybe_unused]] const bool allowed =
      next == sock_ ||
      (sock_ == Sock::kUnattached && (next == Sock::kConnecting || next == Sock::kOpen)) ||
      (sock_ == Sock::kConnecting && next == Sock::kOpen) ||
      (sock_ == Sock::kOpen && (next == Sock::kWriteShut || next == Sock::kPeerGone)) ||
      (sock_ == Sock::kWriteShut && next == Sock::kPeerGone) ||
      (sock_ != Sock::kUnattached && next == Sock::kClosed);
  assert(allowed);
  sock_ = next;
}

void SoftConn::reportLocked(Reported next) {
  // kNothing -> kRequest -> kEstablished; kEstablished also straight from kNothing (initiator);
  // any -> kClosed, which stays: an establishment after it is still pushed but changes nothing.
  if (reported_ == Reported::kClosed) return;
  reported_ = next;
}

void SoftConn::closeFdLocked() {
  if (fd_ < 0) return;
  int fd = fd_;
  fd_ = -1;
  enterLocked(Sock::kClosed);
  if (waiter_) shutdown(fd, SHUT_RDWR);  // wakes the thread waiting on it
  engine().remove(fd);
}

void SoftConn::attach(int fd, bool connecting) {
  fd_ = fd;
  enterLocked(connecting ? Sock::kConnecting : Sock::kOpen);
  if (!connecting) {
    local_ = sockName(fd_, false);
    peer_ = sockName(fd_, true);
  }
  out_armed_ = connecting;
  interest_ = EPOLLIN | EPOLLRDHUP | (connecting ? uint32_t(EPOLLOUT) : 0u);
  engine().add(fd, interest_, shared_from_this());
}
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
    reportLocked(Reported::kRequest);
    push(std::move(e));
    pending_id_.reset();
  }
  if (ev.rejected && id) {
    CmEvent e;
    e.type = CmEventType::kRejected;
    e.id = id;
    e.private_data = stream_.peerFrame().private_data;
    reportLocked(Reported::kClosed);
    push(std::move(e));
  }
  if (ev.connect_error && id && reported_ != Reported::kClosed) {
    CmEvent e;
    e.type = conn_errno_ == ECONNREFUSED ? CmEventType::kRejected
             : conn_errno_                ? CmEventType::kUnreachable
                                          : CmEventType::kConnectError;
    e.id = id;
    e.status = conn_errno_ ? -conn_errno_ : -ECONNRESET;
    reportLocked(Reported::kClosed);
    push(std::move(e));
  }
  if (ev.established && id) {
    reportLocked(Reported::kEstablished);
    CmEvent e;
    e.type = CmEventType::kEstablished;
    e.id = id;
    if (initiator_) e.private_data = stream_.peerFrame().private_data;
    push(std::move(e));
  }
  if (ev.closed) pending_id_.reset();  // a connection that died before its request completed
  if (ev.closed && reported_ != Reported::kClosed) {
    const Reported was = reported_;
    reportLocked(Reported::kClosed);
    if (id && was != Reported::kNothing) {
      CmEvent e;
      e.type = was == Reported::kEstablished ? CmEventType::kDisconnected : CmEventType::kConnectError;
      e.id = id;
      push(std::move(e));
    }
  }
  if (fd_ >= 0 && stream_.wantClose()) {
    switch (sock_) {
      case Sock::kConnecting:
      case Sock::kPeerGone: closeFdLocked(); break;
      case Sock::kOpen:
        // Half-close after the last FPDU (e.g. a Terminate); keep reading until the peer's FIN.
        shutdown(fd_, SHUT_WR);
        enterLocked(Sock::kWriteShut);
        break;
      case Sock::kUnattached:
      case Sock::kWriteShut:
      case Sock::kClosed: break;
    }
  }
}

}  // namespace sd::rdma::soft
