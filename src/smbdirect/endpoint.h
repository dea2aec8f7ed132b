// The MS-SMBD shell: one SMB Direct connection over an RDMA queue pair of any provider (the soft
// iWARP provider or rdma-core). It owns the QP, the registered receive and send buffers and the
// progress engine that feeds completions to the sans-I/O core (smbd_connection.h) and posts what
// the core says to send. Upper layers (the server's transport adapter and the client) use send(),
// receive() and the RDMA transfers of READ/WRITE channels (MS-SMB2 3.3.5.12/3.3.5.13).
//
// Threads: every public method is thread-safe; send() never blocks on credits (messages queue in
// the core); receive(), rdmaWrite(), rdmaRead() and rdmaWait() block the caller until done, failed
// or timed out, and while they block they drive the connection themselves (the progress engine,
// endpoint_progress.cc; its contract is in docs/smbdirect.md, "Progress engine").
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/page_buffer.h"
#include "rdma/rdma.h"
#include "smbdirect/smbd_connection.h"
#include "smbdirect/smbd_wire.h"

namespace sd::smbdirect {

struct EndpointOptions {
  Config smbd;
  int connect_timeout_ms = 30000;
  uint8_t max_rdma_reads = 16;  // IRD/ORD we offer
};

struct EndpointStatus {
  std::string provider, device, transport, local, peer, state;
  uint32_t send_credits = 0, peer_credits = 0, receives_posted = 0;
  uint32_t max_send_size = 0, max_receive_size = 0, max_fragmented_size = 0, max_read_write_size = 0;
  uint32_t own_max_fragmented_size = 0;  // ours: the largest message we reassemble
  uint32_t ird = 0, ord = 0;
  Stats stats;
  uint64_t rdma_reads = 0, rdma_writes = 0, rdma_read_bytes = 0, rdma_write_bytes = 0;
};

class Endpoint {
 public:
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Client: connects to host:port (a numeric address or a name) and negotiates MS-SMBD.
  static Result<std::shared_ptr<Endpoint>> connect(rdma::Provider* provider, const std::string& host,
                                                   uint16_t port, const EndpointOptions& o);
  // Server: accepts a kConnectRequest. The new id's later CM events arrive on the listener's
  // channel; the listener passes them to onCmEvent().
  static Result<std::shared_ptr<Endpoint>> accept(rdma::Provider* provider, const rdma::CmEvent& req,
                                                  const EndpointOptions& o);
  void onCmEvent(const rdma::CmEvent& ev);
  // Waits until MS-SMBD negotiation finished (server: the peer's negotiate was answered).
  Status waitConnected(int timeout_ms);

  // Queues one upper-layer message; with invalidate_rkey its last fragment is a Send with
  // Invalidate of that peer key (MS-SMB2 SMB2_CHANNEL_RDMA_V1_INVALIDATE).
  Status send(std::span<const ByteView> parts, uint32_t invalidate_rkey = 0);
  Status send(ByteView whole) { return send(std::span<const ByteView>(&whole, 1)); }
  // Next reassembled message; kIoTimeout after timeout_ms (< 0: wait for ever),
  // kConnectionDisconnected once the connection is gone.
  Result<Bytes> receive(int timeout_ms);

  Result<std::shared_ptr<rdma::MemoryRegion>> registerMemory(void* addr, size_t len, uint32_t access);
  // RDMA Write of `local` (inside a region registered here, key `lkey`) to the peer's buffers, in
  // order, as far as local reaches; waits for completion.
  Status rdmaWrite(ByteView local, uint32_t lkey, std::span<const smbdirect::BufferDescriptorV1> remote);
  // RDMA Read of local.size() bytes from the peer's buffers, in order; waits for completion.
  Status rdmaRead(std::span<uint8_t> local, uint32_t lkey, std::span<const smbdirect::BufferDescriptorV1> remote);
  // The same as two steps: post now, wait later (rdmaWait). The buffer must stay untouched until
  // rdmaWait returns. A later Send on this endpoint is placed after the data at the peer.
  Result<uint64_t> rdmaWriteAsync(ByteView local, uint32_t lkey, std::span<const smbdirect::BufferDescriptorV1> remote);
  Result<uint64_t> rdmaReadAsync(std::span<uint8_t> local, uint32_t lkey,
                                 std::span<const smbdirect::BufferDescriptorV1> remote);
  Status rdmaWait(uint64_t id) { return finishRdma(id); }
  // True when rdmaWait(id) would return at once (the transfer finished, or the endpoint closed).
  bool rdmaDone(uint64_t id) const;
  // A copy of the index-th message receive() would return (0: the next), if that many are queued
  // and it is at most max_size bytes.
  bool peekMessage(size_t index, Bytes* out, size_t max_size) const;

  // Doorbell batching (as RDMA applications post a chain of work requests with one call): while
  // a Batch lives, what its thread posts (sends, RDMA transfers) is held and goes to the provider
  // in one post when the Batch ends, so that several small messages leave in one write. A wait
  // on this endpoint, or a post from another thread, posts what is held first (order is kept).
  // Meant for the thread that serves the endpoint; a Batch opened meanwhile by another thread
  // holds nothing of its own (only the first thread's posts are held until the last one ends).
  class Batch {
   public:
    explicit Batch(Endpoint& e);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    Endpoint& e_;
  };

  void close();
  bool connected() const;
  EndpointStatus status() const;
  std::string peer() const { return peer_; }
  std::string local() const { return local_; }
  std::string providerName() const { return provider_name_; }
  uint32_t maxReadWriteSize() const;

 private:
  // --- Setup (endpoint.cc) ---
  Endpoint(Role role, const EndpointOptions& o);
  static Result<std::shared_ptr<Endpoint>> connectOnce(rdma::Provider* provider, const std::string& host,
                                                       uint16_t port, const EndpointOptions& o);
  Status setup(std::shared_ptr<rdma::CmId> id);
  void start();
  void failLocked(NtStatus s, const std::string& why);
  Result<uint64_t> startRdma(rdma::WrOpcode op, uint8_t* local, size_t len, uint32_t lkey,
                             std::span<const smbdirect::BufferDescriptorV1> remote);
  Status finishRdma(uint64_t id);

  // --- The progress engine (endpoint_progress.cc; docs/smbdirect.md, "Progress engine") ---
  // Everything runs under mu_. One step, advanceLocked(), moves the connection: completions in,
  // packets out, whole messages to the inbox. Three drivers run it: a caller waiting in
  // waitLocked(), the worker thread (run()), and, for completions of what it posts, a poster.

  // What a waiting caller expects decides whether it busy-polls first: a reply due within
  // microseconds (a message, a transfer of at most kSpinMaxBytes) or a bulk transfer.
  enum class Expect : uint8_t { kSoon, kBulk };
  static constexpr uint64_t kSpinMaxBytes = 65536;
  // How waiting callers block once the spin is over. Starts as kInProvider and falls to kOnWorker
  // for good the first time the provider cannot wait in the caller (rdma-core; see
  // CompletionQueue::waitProgress).
  enum class BlockMode : uint8_t {
    kInProvider,  // one caller at a time blocks in waitProgress (the seat), the others on cv_
    kOnWorker,    // every caller sleeps on cv_; the worker takes completions from the CQ's fd
  };
  // The seat of the caller blocked in the provider, and its interrupt (seat_fd_).
  enum class Seat : uint8_t {
    kFree,         // nobody blocks in the provider; seat_fd_ is clear
    kTaken,        // a caller blocks in waitProgress; seat_fd_ is clear
    kInterrupted,  // ... and seat_fd_ holds a count: another thread took completions meanwhile
    kClosed,       // the endpoint closed: seat_fd_ stays readable and nobody takes the seat
  };
  // The endpoint's life. kFailed and kClosed are both "closed" to users (nothing more is posted,
  // waiters return); the worker runs until kClosed (close()).
  enum class Life : uint8_t { kOpen, kFailed, kClosed };

  // One step: takeCompletionsLocked(), the core's timers (the worker only), pumpLocked().
  void advanceLocked(bool timers);
  // Completions from the CQ to the core, the send slots and the RDMA transfers.
  void takeCompletionsLocked();
  void onReceiveDoneLocked(const rdma::Wc& wc);
  void onSendDoneLocked(const rdma::Wc& wc);
  void onRdmaDoneLocked(const rdma::Wc& wc);
  // The core's packets into free send slots and onto the QP; whole messages into inbox_.
  void pumpLocked();
  // Posts send-queue work (or holds it for a Batch of this thread), then takes the completions
  // the provider produced while posting.
  Status postLocked(std::span<const rdma::SendWr> wrs, size_t* posted = nullptr);
  // Posts what a Batch holds (the doorbell).
  void ringDoorbellLocked();
  // The worker thread.
  void run();
  int workerSleepMsLocked();
  void workerSleep(int ms);
  // A caller's wait until done() or `until`: spin, then block (docs/smbdirect.md).
  bool waitLocked(std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point until,
                  const std::function<bool()>& done, Expect expect);
  bool spinLocked(std::unique_lock<std::mutex>& lk, const std::function<bool()>& done);
  void blockInProviderLocked(std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point until,
                             Expect expect);
  static int spinBudgetUs();
  void interruptSeatLocked();
  void closeSeatLocked();
  void wakeWorker();
  bool closedLocked() const { return life_ != Life::kOpen; }

  EndpointOptions opts_;
  std::string provider_name_, device_name_, transport_name_, peer_, local_;
  std::shared_ptr<rdma::CmChannel> ch_;  // client only (the server's is the listener's)
  std::shared_ptr<rdma::CmId> id_;
  std::shared_ptr<rdma::ProtectionDomain> pd_;
  std::shared_ptr<rdma::CompletionQueue> cq_;
  std::shared_ptr<rdma::QueuePair> qp_;
  PageBuffer recv_pool_, send_pool_;
  std::shared_ptr<rdma::MemoryRegion> recv_mr_, send_mr_;
  uint32_t recv_count_ = 0, send_slots_ = 0;
  uint32_t ird_ = 0, ord_ = 0;

  mutable std::mutex mu_;  // everything below
  std::condition_variable cv_;
  SmbdConnection core_;
  std::deque<Bytes> inbox_;
  Life life_ = Life::kOpen;

  // Send slots: free, and posted but not known complete (in posting order). Sends are signaled
  // one in kSignalEvery; a completion frees every slot posted before it.
  std::vector<uint32_t> free_slots_;
  std::deque<uint32_t> posted_slots_;
  uint32_t unsignaled_run_ = 0;  // sends posted unsignaled since the last signaled one

  // RDMA transfers (READ/WRITE channels): one signaled work request per transfer.
  struct RdmaOp {
    uint32_t pending = 1;
    rdma::WcStatus status = rdma::WcStatus::kSuccess;
    uint32_t wrs = 1;     // work requests of the transfer (one signaled)
    uint64_t bytes = 0;
    bool read = false;
  };
  std::map<uint64_t, RdmaOp> ops_;
  uint64_t next_op_ = 1;
  uint32_t rdma_wrs_inflight_ = 0;
  uint64_t rdma_reads_ = 0, rdma_writes_ = 0, rdma_read_bytes_ = 0, rdma_write_bytes_ = 0;

  // Batch: the thread whose posts are held (while depth > 0), and the work requests it posted
  // meanwhile (their SGEs, in order, in sges: the sg_list spans are set again when posted).
  struct Held {
    uint32_t depth = 0;
    std::thread::id owner;
    std::vector<rdma::SendWr> wrs;
    std::vector<rdma::Sge> sges;
  } held_;

  BlockMode block_mode_ = BlockMode::kInProvider;
  Seat seat_ = Seat::kFree;
  int seat_fd_ = -1;  // eventfd: interrupts the caller in the seat
  int wake_fd_ = -1;  // eventfd: wakes the worker
  std::thread worker_;
  std::mutex join_mu_;  // serializes the join of worker_ in close()
};

}  // namespace sd::smbdirect
