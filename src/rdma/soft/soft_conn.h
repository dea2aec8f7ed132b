// One TCP connection with its iWARP stream (IwarpStream, the sans-I/O core): the provider
// thread's handler for its socket, the progress source of its CQs, and the CM channel its events
// go to. Internal to rdma/soft (see soft_provider.h).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rdma/rdma.h"
#include "rdma/soft/iwarp_stream.h"
#include "rdma/soft/soft_engine.h"
#include "rdma/soft/soft_provider.h"
#include "rdma/soft/soft_verbs.h"

namespace sd::rdma::soft {

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

class SoftConn : public Handler, public ProgressSource, public std::enable_shared_from_this<SoftConn> {
 public:
  SoftConn(bool initiator, std::weak_ptr<SoftCmChannel> ch)
      : stream_(softDevice()->mem(), makeConfig(initiator)), ch_(std::move(ch)),
        initiator_(initiator) {
    grace_us_ = softOptions().owner_grace_us;
    rtr_nudge_ms_ = softOptions().rtr_nudge_ms;
  }
  ~SoftConn() override = default;

  static StreamConfig makeConfig(bool initiator);
  static void traceFpdu(void*, bool tx, const DdpHeader& h, size_t ulpdu);

  void onEvent(uint32_t events) override;

  using TimePoint = std::chrono::steady_clock::time_point;
  // The provider thread looks at a watched connection when its owner's grace could end or its
  // next RTR nudge is due, whichever comes first.
  std::optional<TimePoint> onOwnerTick(TimePoint now) override;
  void watchLocked();
  // The owner's grace (SoftOptions::owner_grace_us): while a thread keeps coming back to wait on
  // this socket, the provider thread stays out of its input (EPOLLIN off, no epoll change per
  // message); once no thread has waited for the grace time, input goes back to the provider.
  std::optional<TimePoint> ownerTickLocked(TimePoint now);
  void noteOwnerLocked();
  // Initiator, MPA reply in, RTR sent at once: if its answer is late, zero-length RDMA Writes
  // follow (SoftOptions::rtr_nudge_ms). Linux siw as responder installs its RTR handler only
  // after sending its reply, and the handler runs when data arrives: an RTR that came before
  // sits unread until then (seen in the kernel lab: the connection never established). A peer
  // that answers at once (our provider, a NIC) costs nothing.
  static constexpr int kRtrNudges = 4;
  void scheduleRtrNudgeLocked();
  std::optional<TimePoint> rtrNudgeTickLocked(TimePoint now);

  // A CQ's poller reads the socket itself (when the connection is up and no other thread is at
  // it): whoever is free moves the data, and a poller waiting for a reply gets it without a
  // thread switch.
  void progress() override;

  // The caller waits on the socket itself (CompletionQueue::waitProgress): while it does, the
  // provider thread is not woken for input (EPOLLIN is off), and the caller reads what arrives.
  Status waitAndProgress(int timeout_ms, int interrupt_fd, int cq_fd, int spin_us) override;

  void readLocked();

  void eofLocked();

  void flushLocked();

  void setOut(bool on);
  // The provider thread's epoll interest: input unless a waiter reads, output while a write waits.
  void interestLocked();

  void afterOpLocked();

  void closeFdLocked();

  // Registers the socket with the provider thread.
  void attach(int fd, bool connecting);

  // The socket's life. enterLocked() is the one place it changes; fd_ >= 0 exactly in
  // kConnecting, kOpen, kWriteShut and kPeerGone.
  enum class Sock : uint8_t {
    kUnattached,  // no socket yet (initiator before connect(), responder before attach())
    kConnecting,  // initiator: the TCP connect is under way (EPOLLOUT armed)
    kOpen,        // connected: reading and writing
    kWriteShut,   // our FIN went after the stream's last FPDU; reading until the peer's FIN
    kPeerGone,    // the peer's FIN or a socket error; closed once the stream is over
    kClosed,      // closed and unregistered (fd_ < 0)
  };
  void enterLocked(Sock next);
  // What the CM channel was told about this connection. reportLocked() is the one place it
  // changes; kClosed (a rejection, error or disconnect reported, or none owed) is final.
  enum class Reported : uint8_t {
    kNothing,
    kRequest,      // responder: the connect request went out
    kEstablished,
    kClosed,
  };
  void reportLocked(Reported next);

  // Recursive: a CmId's destructor may run on the provider thread inside this connection's own
  // callbacks (when the owner dropped its last reference meanwhile): afterOpLocked() holds the
  // CmId and the events it pushes hold it too, and ~SoftCmId locks this mutex again.
  std::recursive_mutex mu_;
  IwarpStream stream_;
  std::weak_ptr<SoftCmChannel> ch_;  // weak: events hold CmIds, which must not keep the channel
  std::weak_ptr<CmId> id_;            // the CmId this connection belongs to
  std::shared_ptr<CmId> pending_id_;  // responder: held until the connect request is delivered
  std::weak_ptr<CmId> listen_id_;
  std::shared_ptr<SoftCq> scq_, rcq_;
  bool initiator_;
  int fd_ = -1;
  Sock sock_ = Sock::kUnattached;
  Reported reported_ = Reported::kNothing;
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

}  // namespace sd::rdma::soft
