// The project's RDMA API: devices, protection domains, memory regions (lkey/rkey, fast
// registration), completion queues (polling + an event fd), reliable-connected queue pairs and a
// connection manager whose events arrive on an fd. Shaped after libibverbs/librdmacm so the
// rdma-core adapter (rdma/verbs) is thin; the software provider (rdma/soft) implements the same
// surface with iWARP over TCP (RFC 5040/5041/5044/6581).
//
// Provider model (rdma-core's ops table): every object is an abstract class whose virtual methods
// are the provider's ops; the base implementations return kNotSupported, the way rdma-core's
// dummy_ops return EOPNOTSUPP, so a verb a provider lacks reports "not supported" and never
// misbehaves.
//
// Threads: every object may be used from any thread; a provider serialises internally. Completions
// and CM events are delivered asynchronously; the owner's event loop waits on CompletionQueue::fd()
// and CmChannel::fd(). Objects are shared_ptrs; destroy QPs before their CQs/PD (as with verbs).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace sd::rdma {

// Access flags (values equal IBV_ACCESS_*).
enum Access : uint32_t {
  kAccessLocalWrite = 1,
  kAccessRemoteWrite = 2,
  kAccessRemoteRead = 4,
  kAccessRemoteAtomic = 8,
};

// Send work-request opcodes (a subset of ibv_wr_opcode; solicited event is a flag).
enum class WrOpcode : uint8_t {
  kSend,
  kSendWithInv,   // RDMAP Send with Invalidate: the peer invalidates `invalidate_rkey`
  kRdmaWrite,
  kRdmaRead,
  kRegMr,         // fast registration of a page list (IBV_WR_REG_MR / IB_WR_REG_MR)
  kLocalInv,      // invalidate `invalidate_rkey` locally
};

enum SendFlags : uint32_t {
  kSendSignaled = 1,
  kSendSolicited = 2,  // Send with Solicited Event
  kSendInline = 4,
  kSendFence = 8,
};

struct Sge {
  uint64_t addr = 0;
  uint32_t length = 0;
  uint32_t lkey = 0;
};

class MemoryRegion;

struct SendWr {
  uint64_t wr_id = 0;
  WrOpcode opcode = WrOpcode::kSend;
  uint32_t flags = kSendSignaled;
  std::span<const Sge> sg_list;
  uint64_t remote_addr = 0;  // RDMA write/read: the peer's tagged offset
  uint32_t rkey = 0;         // RDMA write/read: the peer's STag
  uint32_t invalidate_rkey = 0;  // kSendWithInv (remote) and kLocalInv (local)
  // kRegMr: map `mr` (from ProtectionDomain::allocFastRegMr) onto `pages` at `iova`.
  MemoryRegion* mr = nullptr;
  std::span<const uint64_t> pages;  // page addresses (host virtual addresses)
  uint32_t page_size = 4096;
  uint64_t iova = 0;
  uint64_t length = 0;
  uint32_t access = 0;
  uint8_t key = 0;  // new low 8 bits of the lkey/rkey (ibv_inc_rkey)
};

struct RecvWr {
  uint64_t wr_id = 0;
  std::span<const Sge> sg_list;
};

// Values equal enum ibv_wc_status.
enum class WcStatus : uint8_t {
  kSuccess = 0,
  kLocLenErr = 1,
  kLocQpOpErr = 2,
  kLocProtErr = 4,
  kWrFlushErr = 5,
  kBadRespErr = 7,
  kLocAccessErr = 8,
  kRemInvReqErr = 9,
  kRemAccessErr = 10,
  kRemOpErr = 11,
  kRetryExcErr = 12,
  kRnrRetryExcErr = 13,
  kFatalErr = 19,
  kGeneralErr = 21,
};
const char* wcStatusName(WcStatus s);

// Values equal enum ibv_wc_opcode.
enum class WcOpcode : uint8_t {
  kSend = 0,
  kRdmaWrite = 1,
  kRdmaRead = 2,
  kLocalInv = 6,
  kRegMr = 7,
  kRecv = 128,
};

enum WcFlags : uint32_t { kWcWithInv = 1u << 3 };  // IBV_WC_WITH_INV

struct Wc {
  uint64_t wr_id = 0;
  WcStatus status = WcStatus::kSuccess;
  WcOpcode opcode = WcOpcode::kSend;
  uint32_t byte_len = 0;
  uint32_t qp_num = 0;
  uint32_t flags = 0;
  uint32_t invalidated_rkey = 0;
  uint32_t vendor_err = 0;  // soft provider: the terminate code (layer<<12 | etype<<8 | code)
};

struct DeviceAttr {
  std::string name;      // "soft0", "siw0", "rxe0", ...
  std::string provider;  // "soft", "verbs"
  std::string transport; // "iWARP", "InfiniBand", "RoCE"
  uint64_t node_guid = 0;
  uint64_t max_mr_size = 0;
  uint32_t max_qp = 0;
  uint32_t max_qp_wr = 0;
  uint32_t max_send_sge = 0;
  uint32_t max_recv_sge = 0;
  uint32_t max_cq = 0;
  uint32_t max_cqe = 0;
  uint32_t max_mr = 0;
  uint32_t max_pd = 0;
  uint32_t max_qp_rd_atom = 0;       // IRD
  uint32_t max_qp_init_rd_atom = 0;  // ORD
  uint32_t max_inline_data = 0;
  uint32_t max_fast_reg_page_list_len = 0;
  uint8_t phys_port_cnt = 1;
};

struct PortAttr {
  uint8_t port = 1;
  std::string state;       // "ACTIVE", "DOWN", ...
  std::string link_layer;  // "Ethernet", "InfiniBand"
  uint32_t active_mtu = 0;
  std::string netdev;                   // "eth0", "lo", or "" (soft: any)
  std::vector<std::string> addresses;  // IP addresses usable with this port
};

class ProtectionDomain;

class MemoryRegion {
 public:
  virtual ~MemoryRegion() = default;
  uint32_t lkey() const { return lkey_; }
  uint32_t rkey() const { return rkey_; }
  void* addr() const { return addr_; }
  size_t length() const { return length_; }
  uint32_t access() const { return access_; }
  bool fastReg() const { return fast_reg_; }
  uint32_t maxPages() const { return max_pages_; }

 protected:
  uint32_t lkey_ = 0, rkey_ = 0;
  void* addr_ = nullptr;
  size_t length_ = 0;
  uint32_t access_ = 0;
  bool fast_reg_ = false;
  uint32_t max_pages_ = 0;
  friend class ProtectionDomain;
 public:
  // Providers update the keys after a fast registration completes (ibv_inc_rkey semantics).
  void setKeys(uint32_t lkey, uint32_t rkey) { lkey_ = lkey; rkey_ = rkey; }
  void setRange(void* a, size_t l, uint32_t acc) { addr_ = a; length_ = l; access_ = acc; }
};

class ProtectionDomain {
 public:
  virtual ~ProtectionDomain() = default;
  // ibv_reg_mr
  virtual Result<std::shared_ptr<MemoryRegion>> regMr(void* addr, size_t length, uint32_t access) {
    return err(NtStatus::kNotSupported, "regMr");
  }
  // ibv_alloc_mr(IB_MR_TYPE_MEM_REG): an MR to fast-register with WrOpcode::kRegMr.
  virtual Result<std::shared_ptr<MemoryRegion>> allocFastRegMr(uint32_t max_pages) {
    return err(NtStatus::kNotSupported, "allocFastRegMr");
  }
};

class CompletionQueue {
 public:
  virtual ~CompletionQueue() = default;
  // Polls up to out.size() completions; returns how many were written.
  virtual Result<int> poll(std::span<Wc> out) { return err(NtStatus::kNotSupported, "poll"); }
  // Arms the event fd for the next completion (solicited_only: next solicited receive or error).
  virtual Status reqNotify(bool solicited_only) { return err(NtStatus::kNotSupported, "notify"); }
  // Readable after an armed completion arrived; consumeEvent() clears it (ibv_get_cq_event+ack).
  virtual int fd() const { return -1; }
  virtual Status consumeEvent() { return err(NtStatus::kNotSupported, "cq event"); }
  virtual uint32_t capacity() const { return 0; }
  // Blocks the calling thread until completions may be ready, interrupt_fd is readable (it is
  // not consumed) or timeout_ms passed, with the provider doing its work in the calling thread
  // where it can: the soft provider waits on the connection's socket itself and moves the data
  // there, so the thread that will use the data receives it and no other thread is woken. The
  // caller then poll()s. Completions produced in the calling thread do not signal fd() (the
  // caller consumes them). Not supported (the base, rdma-core, a CQ shared by several QPs):
  // callers wait on fd() or for another thread instead.
  // spin_us: how long the caller may busy-poll first (the provider may adapt it; 0: sleep at
  // once). Worth it while waiting for a reply that is due within microseconds, not for a bulk
  // transfer (a spinning reader reads a stream in small pieces as it arrives).
  virtual Status waitProgress(int timeout_ms, int interrupt_fd, int spin_us = 0) {
    (void)timeout_ms;
    (void)interrupt_fd;
    (void)spin_us;
    return err(NtStatus::kNotSupported, "progress in the caller");
  }
  // Between beginPolling() and endPolling(token) on one thread, completions that the provider
  // produces in that thread (work it completes as it is posted, as the soft provider's sends)
  // do not signal fd(): the thread polls them itself afterwards. The base does nothing.
  virtual void* beginPolling() { return nullptr; }
  virtual void endPolling(void* token) { (void)token; }
};

// beginPolling() for the lifetime of the guard.
class PollingGuard {
 public:
  explicit PollingGuard(CompletionQueue& cq) : cq_(cq), token_(cq.beginPolling()) {}
  ~PollingGuard() { cq_.endPolling(token_); }
  PollingGuard(const PollingGuard&) = delete;
  PollingGuard& operator=(const PollingGuard&) = delete;

 private:
  CompletionQueue& cq_;
  void* token_;
};

struct QpCaps {
  uint32_t max_send_wr = 64;
  uint32_t max_recv_wr = 64;
  uint32_t max_send_sge = 4;
  uint32_t max_recv_sge = 4;
  uint32_t max_inline_data = 0;
};

struct QpInitAttr {
  std::shared_ptr<ProtectionDomain> pd;
  std::shared_ptr<CompletionQueue> send_cq;
  std::shared_ptr<CompletionQueue> recv_cq;
  QpCaps caps;
  bool sq_sig_all = false;
};

enum class QpState : uint8_t { kReset, kInit, kRtr, kRts, kSqd, kSqe, kError };

class QueuePair {
 public:
  virtual ~QueuePair() = default;
  // Posts in order; on error nothing after the failing WR was posted (bad_wr semantics: *posted
  // says how many were accepted).
  virtual Status postSend(std::span<const SendWr> wrs, size_t* posted = nullptr) {
    return err(NtStatus::kNotSupported, "postSend");
  }
  virtual Status postRecv(std::span<const RecvWr> wrs, size_t* posted = nullptr) {
    return err(NtStatus::kNotSupported, "postRecv");
  }
  virtual uint32_t qpNum() const { return 0; }
  virtual QpState state() const { return QpState::kReset; }
  // The capabilities actually granted (adapted to the device's limits).
  virtual QpCaps caps() const { return {}; }
};

class Device {
 public:
  virtual ~Device() = default;
  virtual DeviceAttr attr() const = 0;
  virtual Result<PortAttr> queryPort(uint8_t port) const {
    return err(NtStatus::kNotSupported, "queryPort");
  }
  virtual Result<std::shared_ptr<ProtectionDomain>> allocPd() {
    return err(NtStatus::kNotSupported, "allocPd");
  }
  virtual Result<std::shared_ptr<CompletionQueue>> createCq(uint32_t cqe) {
    return err(NtStatus::kNotSupported, "createCq");
  }
};

// Connection parameters (rdma_conn_param): private data and RDMA read resources.
struct ConnParam {
  Bytes private_data;
  uint8_t responder_resources = 16;  // IRD: inbound RDMA reads we accept
  uint8_t initiator_depth = 16;      // ORD: outbound RDMA reads we issue
};

enum class CmEventType : uint8_t {
  kAddrResolved,  // resolve() finished (address and route): device() is set
  kAddrError,
  kConnectRequest,  // on a listener: `new_id` is the incoming connection
  kConnectResponse,
  kConnectError,
  kUnreachable,
  kRejected,
  kEstablished,
  kDisconnected,
  kDeviceRemoval,
  kTimeWaitExit,
};
const char* cmEventName(CmEventType t);

class CmId;

struct CmEvent {
  CmEventType type = CmEventType::kConnectError;
  std::shared_ptr<CmId> id;      // the id the event is about (the new one for kConnectRequest)
  std::shared_ptr<CmId> listen_id;  // kConnectRequest: the listener
  Bytes private_data;            // request/reply/reject private data (ULP part only)
  uint8_t responder_resources = 0;  // peer's requested IRD/ORD as seen from us
  uint8_t initiator_depth = 0;
  int status = 0;  // errno-style detail for errors
};

class CmId : public std::enable_shared_from_this<CmId> {
 public:
  virtual ~CmId() = default;
  // Server: binds and listens on "addr:port" ("0.0.0.0:5445", "127.0.0.1:0").
  virtual Status listen(std::string_view addr, int backlog) {
    return err(NtStatus::kNotSupported, "listen");
  }
  // Client: resolves address and route; kAddrResolved (or kAddrError) follows on the channel.
  virtual Status resolve(std::string_view addr, int timeout_ms) {
    return err(NtStatus::kNotSupported, "resolve");
  }
  // The device this id is bound to (after kAddrResolved, or on a kConnectRequest's id).
  virtual std::shared_ptr<Device> device() const { return nullptr; }
  // rdma_create_qp: the QP is owned by the id.
  virtual Result<std::shared_ptr<QueuePair>> createQp(const QpInitAttr& attr) {
    return err(NtStatus::kNotSupported, "createQp");
  }
  virtual std::shared_ptr<QueuePair> qp() const { return nullptr; }
  virtual Status connect(const ConnParam& p) { return err(NtStatus::kNotSupported, "connect"); }
  virtual Status accept(const ConnParam& p) { return err(NtStatus::kNotSupported, "accept"); }
  virtual Status reject(ByteView private_data) { return err(NtStatus::kNotSupported, "reject"); }
  virtual Status disconnect() { return err(NtStatus::kNotSupported, "disconnect"); }
  virtual std::string localAddr() const { return {}; }  // "ip:port"
  virtual std::string peerAddr() const { return {}; }
  virtual uint16_t localPort() const { return 0; }
  // Negotiated RDMA read resources after establishment.
  virtual uint8_t ird() const { return 0; }
  virtual uint8_t ord() const { return 0; }
  void* context = nullptr;  // the owner's
};

class CmChannel {
 public:
  virtual ~CmChannel() = default;
  virtual int fd() const { return -1; }  // readable while events are queued
  virtual Result<std::shared_ptr<CmId>> createId() {
    return err(NtStatus::kNotSupported, "createId");
  }
  // Next event, without blocking (kPending when none); waitEvent() blocks up to timeout_ms.
  virtual Result<CmEvent> getEvent() { return err(NtStatus::kNotSupported, "getEvent"); }
  Result<CmEvent> waitEvent(int timeout_ms);
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<std::shared_ptr<Device>> devices() = 0;
  virtual Result<std::shared_ptr<CmChannel>> createCmChannel() {
    return err(NtStatus::kNotSupported, "createCmChannel");
  }
};

// The registry: "soft" always, "verbs" when built with rdma-core (and listed even without devices).
std::vector<Provider*> providers();
Provider* findProvider(std::string_view name);

// Helpers shared by tools and tests.
// Blocks on cq->fd() (with notify) or spins until `n` completions arrived or timeout_ms passed.
Result<std::vector<Wc>> waitCompletions(CompletionQueue& cq, size_t n, int timeout_ms);
// Waits for the next event of `type` on `ch` (errors for any other event, or timeout).
Result<CmEvent> expectEvent(CmChannel& ch, CmEventType type, int timeout_ms);

}  // namespace sd::rdma
