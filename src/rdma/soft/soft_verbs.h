// The soft provider's verbs objects: device, PD, MR, CQ and QP. The QP's work goes to its
// connection (soft_conn.h). Internal to rdma/soft (see soft_provider.h).
#pragma once
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "rdma/rdma.h"
#include "rdma/soft/mem_table.h"

namespace sd::rdma::soft {

class SoftConn;

class SoftMr : public MemoryRegion {
 public:
  SoftMr(MemTable* mem, uint32_t stag, void* addr, size_t len, uint32_t access, bool fast,
         uint32_t max_pages)
      : mem_(mem) {
    setKeys(stag, stag);
    setRange(addr, len, access);
    fast_reg_ = fast;
    max_pages_ = max_pages;
  }
  ~SoftMr() override { mem_->remove(lkey()); }

 private:
  MemTable* mem_;
};

class SoftPd : public ProtectionDomain {
 public:
  SoftPd(MemTable* mem, uint32_t id) : mem_(mem), id_(id) {}
  Result<std::shared_ptr<MemoryRegion>> regMr(void* addr, size_t length, uint32_t access) override {
    if (!addr && length) return err(NtStatus::kInvalidParameter, "regMr addr");
    if ((access & kAccessRemoteWrite) && !(access & kAccessLocalWrite))
      return err(NtStatus::kInvalidParameter, "remote write needs local write");
    uint32_t stag = mem_->addContiguous(id_, static_cast<uint8_t*>(addr), length, access);
    return std::shared_ptr<MemoryRegion>(
        std::make_shared<SoftMr>(mem_, stag, addr, length, access, false, 0));
  }
  Result<std::shared_ptr<MemoryRegion>> allocFastRegMr(uint32_t max_pages) override {
    if (max_pages == 0 || max_pages > 65536) return err(NtStatus::kInvalidParameter, "max_pages");
    uint32_t stag = mem_->addFastReg(id_);
    return std::shared_ptr<MemoryRegion>(
        std::make_shared<SoftMr>(mem_, stag, nullptr, 0, 0, true, max_pages));
  }
  uint32_t id() const { return id_; }

 private:
  MemTable* mem_;
  uint32_t id_;
};

// Something that can make progress on behalf of a CQ's poller (a connection reading its socket).
struct ProgressSource {
  virtual ~ProgressSource() = default;
  // Reads what the socket has, if no other thread is at it (never blocks).
  virtual void progress() = 0;
  // Waits on the socket in the calling thread and reads what arrives (see waitProgress).
  virtual Status waitAndProgress(int timeout_ms, int interrupt_fd, int cq_fd, int spin_us) = 0;
};

// Completions with an eventfd for event loops. Its connections (sources) make progress in
// pollers: poll() on an empty CQ reads their sockets when no other thread is at them, and
// waitProgress() waits on the socket in the caller (docs/rdma.md).
class SoftCq : public CompletionQueue {
 public:
  explicit SoftCq(uint32_t cap) : cap_(cap) {
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wait_efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~SoftCq() override {
    close(efd_);
    close(wait_efd_);
  }
  Result<int> poll(std::span<Wc> out) override;
  void* beginPolling() override;
  void endPolling(void* token) override;
  Status waitProgress(int timeout_ms, int interrupt_fd, int spin_us) override;
  void addSource(const std::shared_ptr<ProgressSource>& s);
  Status reqNotify(bool solicited_only) override {
    std::lock_guard lk(mu_);
    armed_ = solicited_only ? 2 : 1;
    return ok();
  }
  int fd() const override { return efd_; }
  Status consumeEvent() override {
    uint64_t v;
    (void)!read(efd_, &v, 8);
    return ok();
  }
  uint32_t capacity() const override { return cap_; }
  int popLocked(std::span<Wc> out) {
    size_t n = std::min(out.size(), q_.size());
    for (size_t i = 0; i < n; i++) {
      out[i] = q_.front();
      q_.pop_front();
    }
    return int(n);
  }
  void push(const std::vector<Wc>& wcs, bool solicited);

 private:
  std::mutex mu_;
  std::deque<Wc> q_;
  std::vector<std::weak_ptr<ProgressSource>> sources_;
  int armed_ = 0;
  int efd_;
  int wait_efd_;
  std::atomic<int> waiters_{0};
  std::atomic<bool> wait_signaled_{false};  // wait_efd_ holds a count
  uint32_t cap_;
};

DeviceAttr softAttr();

class SoftDevice : public Device {
 public:
  DeviceAttr attr() const override { return softAttr(); }
  Result<PortAttr> queryPort(uint8_t port) const override;
  Result<std::shared_ptr<ProtectionDomain>> allocPd() override;
  Result<std::shared_ptr<CompletionQueue>> createCq(uint32_t cqe) override;
  MemTable* mem() { return &mem_; }

 private:
  MemTable mem_;
};

// The one device, "soft0".
std::shared_ptr<SoftDevice> softDevice();

class SoftQp : public QueuePair {
 public:
  SoftQp(std::shared_ptr<SoftConn> c, uint32_t qpn, QpCaps caps)
      : conn_(std::move(c)), qpn_(qpn), caps_(caps) {}
  Status postSend(std::span<const SendWr> wrs, size_t* posted) override;
  Status postRecv(std::span<const RecvWr> wrs, size_t* posted) override;
  uint32_t qpNum() const override { return qpn_; }
  QpState state() const override;
  QpCaps caps() const override { return caps_; }

 private:
  std::shared_ptr<SoftConn> conn_;
  uint32_t qpn_;
  QpCaps caps_;
};

}  // namespace sd::rdma::soft
