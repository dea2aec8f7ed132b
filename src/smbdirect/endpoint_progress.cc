// The endpoint's progress engine: how completions reach the MS-SMBD core and the core's packets
// reach the queue pair, and which thread does it when. The contract (drivers, spin or block,
// doorbell batching, hand-offs between threads) is in docs/smbdirect.md, "Progress engine";
// this file is its only implementation. Everything here runs under mu_ unless it says otherwise.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "base/log.h"
#include "base/thread_name.h"
#include "smbdirect/endpoint.h"
#include "smbdirect/endpoint_internal.h"

namespace sd::smbdirect {

using namespace endpoint_internal;

void endpoint_internal::tracePacket(const char* dir, const std::string& peer, ByteView p, uint32_t inv) {
  if (int(logLevel()) < int(LogLevel::kTrace)) return;
  if (p.size() >= kDataHeaderSize && !(p.size() == kNegotiateRequestSize && le16(p.data()) == kSmbdVersion1) &&
      !(p.size() == kNegotiateResponseSize && le16(p.data()) == kSmbdVersion1)) {
    LOG_TRACE("SMBD %s %s: %zu bytes credits req %u granted %u flags 0x%x remaining %u offset %u length %u%s",
              dir, peer.c_str(), p.size(), le16(p.data()), le16(p.data() + 2), le16(p.data() + 4),
              le32(p.data() + 8), le32(p.data() + 12), le32(p.data() + 16), inv ? " (send with invalidate)" : "");
  } else {
    LOG_TRACE("SMBD %s %s: %zu bytes (negotiate)", dir, peer.c_str(), p.size());
  }
}

// ---- The step ----

void Endpoint::advanceLocked(bool timers) {
  takeCompletionsLocked();
  if (timers) core_.onTimer(nowMs());
  pumpLocked();
}

void Endpoint::takeCompletionsLocked() {
  rdma::Wc wcs[32];
  for (int round = 0; round < 64; round++) {
    auto n = cq_->poll(wcs);
    if (!n || *n == 0) return;
    // The caller in the seat (it does not hold mu_ meanwhile) may be waiting for what this
    // thread now takes: tell it to look.
    interruptSeatLocked();
    for (int i = 0; i < *n; i++) {
      switch (wrKind(wcs[i].wr_id)) {
        case kWrRecv: onReceiveDoneLocked(wcs[i]); break;
        case kWrSend: onSendDoneLocked(wcs[i]); break;
        case kWrRdma: onRdmaDoneLocked(wcs[i]); break;
        default: break;
      }
    }
  }
}

// A received packet goes to the core, and its buffer is posted again at once.
void Endpoint::onReceiveDoneLocked(const rdma::Wc& wc) {
  if (wc.status != rdma::WcStatus::kSuccess) {
    failLocked(NtStatus::kConnectionDisconnected, std::string("receive ") + rdma::wcStatusName(wc.status));
    return;
  }
  if (closedLocked()) return;
  const uint32_t size = opts_.smbd.max_receive_size;
  uint8_t* buf = recv_pool_.data() + size_t(wrVal(wc.wr_id)) * size;
  tracePacket("rx", peer_, ByteView(buf, std::min(wc.byte_len, size)), 0);
  Status st = core_.onReceive(ByteView(buf, std::min(wc.byte_len, size)), nowMs());
  if (!st) {
    failLocked(st.error().status, core_.failReason());
    return;
  }
  rdma::Sge sge{uint64_t(uintptr_t(buf)), size, recv_mr_->lkey()};
  rdma::RecvWr rw;
  rw.wr_id = wc.wr_id;
  rw.sg_list = std::span<const rdma::Sge>(&sge, 1);
  if (auto p = qp_->postRecv(std::span<const rdma::RecvWr>(&rw, 1)); !p) {
    failLocked(NtStatus::kConnectionDisconnected, "cannot repost a receive");
    return;
  }
  core_.onReceivesPosted(1);
}

// This send and every unsignaled one posted before it are done (a send queue completes in order).
void Endpoint::onSendDoneLocked(const rdma::Wc& wc) {
  const uint32_t slot = uint32_t(wrVal(wc.wr_id));
  for (size_t k = posted_slots_.size(); k > 0; k--) {
    uint32_t done_slot = posted_slots_.front();
    posted_slots_.pop_front();
    free_slots_.push_back(done_slot);
    if (done_slot == slot) break;
  }
  if (wc.status != rdma::WcStatus::kSuccess)
    failLocked(NtStatus::kConnectionDisconnected, std::string("send ") + rdma::wcStatusName(wc.status));
}

// The signaled work request completes the transfer; its unsignaled ones are done with it.
void Endpoint::onRdmaDoneLocked(const rdma::Wc& wc) {
  auto it = ops_.find(wrVal(wc.wr_id));
  if (it != ops_.end()) {
    RdmaOp& op = it->second;
    if (op.pending) {
      op.pending = 0;
      rdma_wrs_inflight_ = rdma_wrs_inflight_ >= op.wrs ? rdma_wrs_inflight_ - op.wrs : 0;
      if (wc.status == rdma::WcStatus::kSuccess) {
        (op.read ? rdma_reads_ : rdma_writes_)++;
        (op.read ? rdma_read_bytes_ : rdma_write_bytes_) += op.bytes;
      }
    }
    if (wc.status != rdma::WcStatus::kSuccess) op.status = wc.status;
  }
  if (wc.status != rdma::WcStatus::kSuccess)
    failLocked(NtStatus::kConnectionDisconnected, std::string("RDMA transfer ") + rdma::wcStatusName(wc.status));
  cv_.notify_all();
}

void Endpoint::pumpLocked() {
  if (!closedLocked()) {
    uint64_t now = nowMs();
    const uint32_t slot_size = opts_.smbd.max_send_size;
    while (!free_slots_.empty()) {
      uint32_t slot = free_slots_.back();
      uint8_t* buf = send_pool_.data() + size_t(slot) * slot_size;
      auto p = core_.nextPacket(std::span<uint8_t>(buf, slot_size), now);
      if (!p) break;
      free_slots_.pop_back();
      tracePacket("tx", peer_, ByteView(buf, p->length), p->invalidate_rkey);
      rdma::Sge sge{uint64_t(uintptr_t(buf)), uint32_t(p->length), send_mr_->lkey()};
      rdma::SendWr wr;
      wr.wr_id = wrId(kWrSend, slot);
      wr.opcode = p->invalidate_rkey ? rdma::WrOpcode::kSendWithInv : rdma::WrOpcode::kSend;
      wr.invalidate_rkey = p->invalidate_rkey;
      // Selective signaling (as RDMA applications do): a completion every kSignalEvery sends,
      // or when free slots run low. Each completion would otherwise wake the worker once per send.
      const bool signal = send_slots_ <= 2 * kSignalEvery || unsignaled_run_ + 1 >= kSignalEvery ||
                          free_slots_.size() <= send_slots_ / 4;
      wr.flags = signal ? uint32_t(rdma::kSendSignaled) : 0u;
      wr.sg_list = std::span<const rdma::Sge>(&sge, 1);
      posted_slots_.push_back(slot);
      unsignaled_run_ = signal ? 0 : unsignaled_run_ + 1;
      if (!postLocked(std::span<const rdma::SendWr>(&wr, 1))) {
        posted_slots_.pop_back();
        free_slots_.push_back(slot);
        failLocked(NtStatus::kConnectionDisconnected, "cannot post a send");
        break;
      }
    }
    if (core_.state() == SmbdConnection::State::kFailed) failLocked(core_.failStatus(), core_.failReason());
  }
  bool any = false;
  while (core_.hasMessage()) {
    inbox_.push_back(core_.popMessage());
    any = true;
  }
  if (any || core_.connected()) cv_.notify_all();
}

// ---- Posting and the doorbell ----

// Work the provider completes as it is posted (the soft provider's sends and RDMA Writes whose
// bytes the kernel took) signals no event (CompletionQueue::beginPolling): the poster takes those
// completions itself, right after the post. It does not pump: it is inside the pump, or starting
// an RDMA transfer whose caller waits next.
Status Endpoint::postLocked(std::span<const rdma::SendWr> wrs, size_t* posted) {
  if (held_.depth > 0 && std::this_thread::get_id() == held_.owner && !closedLocked()) {
    for (const rdma::SendWr& w : wrs) {
      held_.wrs.push_back(w);
      for (const rdma::Sge& g : w.sg_list) held_.sges.push_back(g);
    }
    if (posted) *posted = wrs.size();
    return ok();
  }
  ringDoorbellLocked();  // another thread's held work goes first
  Status st = ok();
  {
    rdma::PollingGuard g(*cq_);
    st = qp_->postSend(wrs, posted);
  }
  takeCompletionsLocked();
  return st;
}

void Endpoint::ringDoorbellLocked() {
  if (held_.wrs.empty()) return;
  Status st = ok();
  if (!closedLocked()) {  // once the connection is gone, nothing more reaches the provider
    size_t at = 0;
    for (rdma::SendWr& w : held_.wrs) {
      const size_t n = w.sg_list.size();
      w.sg_list = std::span<const rdma::Sge>(held_.sges.data() + at, n);
      at += n;
    }
    rdma::PollingGuard g(*cq_);
    st = qp_->postSend(held_.wrs);
  }
  // Emptied before the completions are taken, since handling them may post again; the vectors
  // keep their capacity (no allocation per batch).
  held_.wrs.clear();
  held_.sges.clear();
  if (closedLocked()) return;
  takeCompletionsLocked();
  if (!st)
    failLocked(NtStatus::kConnectionDisconnected,
               std::string("cannot post held work requests: ") + st.error().what + " (" + ntStatusName(st.error().status) + ")");
}

Endpoint::Batch::Batch(Endpoint& e) : e_(e) {
  std::lock_guard<std::mutex> lk(e_.mu_);
  if (e_.held_.depth == 0) {
    e_.ringDoorbellLocked();
    e_.held_.owner = std::this_thread::get_id();
  }
  e_.held_.depth++;
}

Endpoint::Batch::~Batch() {
  std::lock_guard<std::mutex> lk(e_.mu_);
  if (--e_.held_.depth == 0) e_.ringDoorbellLocked();
}

// ---- The worker: timers, CM events, and what arrives while nobody waits ----

void Endpoint::run() {
  setThreadName("sd-smbd-worker");
  for (;;) {
    int sleep_ms;
    {
      std::lock_guard<std::mutex> lk(mu_);
      advanceLocked(true);
      if (life_ == Life::kClosed) break;
      (void)cq_->reqNotify(false);
      advanceLocked(false);  // what arrived before arming
      sleep_ms = workerSleepMsLocked();
    }
    workerSleep(sleep_ms);
  }
}

// Until the core's next deadline (keepalive, negotiate and credit timers), at most a second.
int Endpoint::workerSleepMsLocked() {
  uint64_t dl = core_.nextDeadline(), now = nowMs();
  return dl == UINT64_MAX ? 1000 : int(std::min<uint64_t>(dl > now ? dl - now : 0, 1000));
}

// Without mu_: sleeps on the armed CQ's event fd, the wake fd and (client) the CM channel.
void Endpoint::workerSleep(int ms) {
  pollfd p[3] = {{cq_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}, {ch_ ? ch_->fd() : -1, POLLIN, 0}};
  int rc = ::poll(p, ch_ ? 3 : 2, ms);
  if (rc <= 0) return;
  if (p[0].revents & POLLIN) (void)cq_->consumeEvent();
  if (p[1].revents & POLLIN) {
    uint64_t v;
    (void)!::read(wake_fd_, &v, sizeof v);
  }
  if (ch_ && (p[2].revents & POLLIN)) {
    for (int i = 0; i < 16; i++) {
      auto ev = ch_->getEvent();
      if (!ev) break;
      onCmEvent(*ev);
    }
  }
}

void Endpoint::wakeWorker() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
}

// ---- A waiting caller: spin, then block ----

// The spin budget (SD_SMBD_SPIN_US, default 100 us, 0: off): a reply usually arrives within
// microseconds on a fast link, and sleeping costs a wake-up (of an idle vCPU, on a VM).
int Endpoint::spinBudgetUs() {
  static const int budget_us = getenv("SD_SMBD_SPIN_US") ? atoi(getenv("SD_SMBD_SPIN_US")) : 100;
  return budget_us;
}

bool Endpoint::waitLocked(std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point until,
                          const std::function<bool()>& done, Expect expect) {
  using namespace std::chrono;
  ringDoorbellLocked();  // what we wait for may be among the held work
  if (expect == Expect::kSoon && spinLocked(lk, done)) return true;
  for (int i = 0; i < 1000000 && !done(); i++) {
    auto now = steady_clock::now();
    if (now >= until) break;
    if (block_mode_ == BlockMode::kInProvider && seat_ == Seat::kFree) {
      blockInProviderLocked(lk, until, expect);
      continue;
    }
    cv_.wait_until(lk, until);
  }
  return done();
}

// The spin of BlockMode::kOnWorker: the caller steps the engine itself, yielding the CPU between
// steps. In kInProvider the provider spins instead, reading its input (waitProgress's spin_us).
bool Endpoint::spinLocked(std::unique_lock<std::mutex>& lk, const std::function<bool()>& done) {
  const int budget_us = spinBudgetUs();
  if (budget_us <= 0 || block_mode_ == BlockMode::kInProvider || done()) return done();
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(budget_us);
  for (int i = 0; i < 100000; i++) {
    advanceLocked(false);
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) break;
    lk.unlock();
    std::this_thread::yield();
    lk.lock();
  }
  return done();
}

// Takes the seat and blocks in the provider (on the soft provider: on the connection's socket,
// so the data reaches the thread that uses it without waking the provider thread or the worker),
// then steps the engine and wakes the others: they may be done, or one of them takes the seat.
void Endpoint::blockInProviderLocked(std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point until,
                                     Expect expect) {
  using namespace std::chrono;
  auto left = duration_cast<milliseconds>(until - steady_clock::now()).count();
  int ms = int(std::clamp<int64_t>(left + 1, 1, 1000));
  seat_ = Seat::kTaken;
  lk.unlock();
  Status st = cq_->waitProgress(ms, seat_fd_, expect == Expect::kSoon ? spinBudgetUs() : 0);
  lk.lock();
  if (seat_ == Seat::kInterrupted) {
    uint64_t v;
    (void)!::read(seat_fd_, &v, sizeof v);
  }
  if (seat_ != Seat::kClosed) seat_ = Seat::kFree;
  if (!st) block_mode_ = BlockMode::kOnWorker;
  advanceLocked(false);
  cv_.notify_all();
}

void Endpoint::interruptSeatLocked() {
  if (seat_ != Seat::kTaken) return;
  uint64_t one = 1;
  (void)!::write(seat_fd_, &one, sizeof one);
  seat_ = Seat::kInterrupted;
}

// seat_fd_ stays readable from now on: a caller in the seat returns, and none takes it again.
void Endpoint::closeSeatLocked() {
  if (seat_ == Seat::kFree || seat_ == Seat::kTaken) {
    uint64_t one = 1;
    if (seat_fd_ >= 0) (void)!::write(seat_fd_, &one, sizeof one);
  }
  seat_ = Seat::kClosed;
}

}  // namespace sd::smbdirect
