#include "smbdirect/endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "base/log.h"
#include "smbdirect/endpoint_internal.h"

namespace sd::smbdirect {

using namespace endpoint_internal;

namespace {

std::string hostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// The IRD/ORD private data Linux SMB Direct peers exchange on iWARP (two little-endian u32).
Bytes irdOrdPrivateData(uint32_t ird, uint32_t ord) {
  ByteWriter w;
  w.u32(ird);
  w.u32(ord);
  return w.take();
}

// Registered memory is pinned and counted against RLIMIT_MEMLOCK (often 8 MiB): raise the soft
// limit to the hard one, and a privileged process lifts it, as RDMA applications do.
void raiseMemlock() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit r{};
    if (getrlimit(RLIMIT_MEMLOCK, &r) != 0) return;
    rlimit want{RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MEMLOCK, &want) == 0) return;
    r.rlim_cur = r.rlim_max;
    (void)setrlimit(RLIMIT_MEMLOCK, &r);
  });
}

}  // namespace

Endpoint::Endpoint(Role role, const EndpointOptions& o) : opts_(o), core_(role, o.smbd) {
  raiseMemlock();
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  seat_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Endpoint::~Endpoint() {
  close();
  qp_.reset();
  id_.reset();
  ch_.reset();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (seat_fd_ >= 0) ::close(seat_fd_);
}

// Device resources for `id`: PD, CQ, QP and the registered receive/send buffers; posts every
// receive (MS-SMBD: receives are posted before the negotiate exchange).
Status Endpoint::setup(std::shared_ptr<rdma::CmId> id) {
  id_ = std::move(id);
  auto dev = id_->device();
  if (!dev) return err(NtStatus::kInvalidDeviceState, "no RDMA device for the address");
  rdma::DeviceAttr da = dev->attr();
  device_name_ = da.name;
  transport_name_ = da.transport;
  const Config& c = opts_.smbd;
  recv_count_ = std::min<uint32_t>(c.receive_credit_max, da.max_qp_wr ? da.max_qp_wr : 1024);
  send_slots_ = std::min<uint32_t>(std::min<uint32_t>(c.send_credit_target, 128),
                                   da.max_qp_wr > kMaxRdmaWrs + 8 ? da.max_qp_wr - kMaxRdmaWrs - 8 : 8);
  pd_ = SD_TRY(dev->allocPd());
  uint32_t cqe = recv_count_ + send_slots_ + kMaxRdmaWrs + 16;
  if (da.max_cqe) cqe = std::min(cqe, da.max_cqe);
  cq_ = SD_TRY(dev->createCq(cqe));
  rdma::QpInitAttr qa;
  qa.pd = pd_;
  qa.send_cq = cq_;
  qa.recv_cq = cq_;
  qa.caps.max_send_wr = send_slots_ + kMaxRdmaWrs;
  qa.caps.max_recv_wr = recv_count_;
  qa.caps.max_send_sge = 1;
  qa.caps.max_recv_sge = 1;
  qp_ = SD_TRY(id_->createQp(qa));
  rdma::QpCaps got = qp_->caps();
  if (got.max_recv_wr && got.max_recv_wr < recv_count_) recv_count_ = got.max_recv_wr;
  if (got.max_send_wr && got.max_send_wr < send_slots_ + kMaxRdmaWrs)
    send_slots_ = got.max_send_wr > kMaxRdmaWrs ? got.max_send_wr - kMaxRdmaWrs : 1;
  recv_pool_ = PageBuffer(size_t(recv_count_) * c.max_receive_size);
  send_pool_ = PageBuffer(size_t(send_slots_) * c.max_send_size);
  recv_mr_ = SD_TRY(pd_->regMr(recv_pool_.data(), recv_pool_.size(), rdma::kAccessLocalWrite));
  send_mr_ = SD_TRY(pd_->regMr(send_pool_.data(), send_pool_.size(), 0));
  for (uint32_t i = 0; i < send_slots_; i++) free_slots_.push_back(send_slots_ - 1 - i);
  std::vector<rdma::Sge> sges(recv_count_);
  std::vector<rdma::RecvWr> wrs(recv_count_);
  for (uint32_t i = 0; i < recv_count_; i++) {
    sges[i] = {uint64_t(uintptr_t(recv_pool_.data() + size_t(i) * c.max_receive_size)), c.max_receive_size,
               recv_mr_->lkey()};
    wrs[i].wr_id = wrId(kWrRecv, i);
    wrs[i].sg_list = std::span<const rdma::Sge>(&sges[i], 1);
  }
  SD_CHECK(qp_->postRecv(wrs));
  core_.onReceivesPosted(recv_count_);
  return ok();
}

void Endpoint::start() {
  core_.start(nowMs());
  worker_ = std::thread([this] { run(); });
}

// Linux siw as the passive side sometimes leaves the first frames after its MPA reply
// unprocessed (seen against the kernel lab through QEMU's user network: the RTR read is never
// answered), so an establishment that stalls is retried on a fresh connection, with growing
// patience, within the caller's timeout.
Result<std::shared_ptr<Endpoint>> Endpoint::connect(rdma::Provider* provider, const std::string& host,
                                                    uint16_t port, const EndpointOptions& o) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.connect_timeout_ms);
  int patience = 10000;
  for (int attempt = 1;; attempt++) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
    if (left <= 0) return err(NtStatus::kIoTimeout, "SMB Direct connect timed out");
    EndpointOptions once = o;
    once.connect_timeout_ms = std::min(left, patience);
    auto r = connectOnce(provider, host, port, once);
    if (r || r.status() != NtStatus::kIoTimeout || attempt >= 4) return r;
    LOG_DEBUG("SMB Direct to %s port %u: no establishment within %d ms, retrying", host.c_str(), unsigned(port),
              once.connect_timeout_ms);
    patience *= 2;
  }
}

Result<std::shared_ptr<Endpoint>> Endpoint::connectOnce(rdma::Provider* provider, const std::string& host,
                                                        uint16_t port, const EndpointOptions& o) {
  if (!provider) return err(NtStatus::kNotSupported, "no RDMA provider");
  // The providers take numeric addresses: resolve names here.
  std::string addr = host;
  if (!addr.empty() && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(addr.c_str(), nullptr, &hints, &res) != 0 || !res)
    return err(NtStatus::kBadNetworkPath, "cannot resolve host");
  char buf[INET6_ADDRSTRLEN] = "";
  if (res->ai_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, buf, sizeof buf);
  freeaddrinfo(res);
  addr = buf;

  std::shared_ptr<Endpoint> ep(new Endpoint(Role::kClient, o));
  ep->provider_name_ = std::string(provider->name());
  ep->ch_ = SD_TRY(provider->createCmChannel());
  auto id = SD_TRY(ep->ch_->createId());
  if (auto r = id->resolve(hostPort(addr, port), std::min(o.connect_timeout_ms, 5000)); !r)
    return err(NtStatus::kHostUnreachable, "no RDMA route to the server");
  auto ev = ep->ch_->waitEvent(std::min(o.connect_timeout_ms, 10000));
  if (!ev) return err(NtStatus::kIoTimeout, "RDMA address resolution timed out");
  if (ev->type != rdma::CmEventType::kAddrResolved)
    return err(NtStatus::kHostUnreachable, "no RDMA route to the server");
  SD_CHECK(ep->setup(id));
  rdma::ConnParam cp;
  auto da = ep->id_->device()->attr();
  uint8_t ird = uint8_t(std::min<uint32_t>(o.max_rdma_reads, da.max_qp_rd_atom ? da.max_qp_rd_atom : 16));
  cp.responder_resources = ird;  // the server reads our buffers (WRITE)
  cp.initiator_depth = 1;        // we never read from the server
  if (da.transport == "iWARP") cp.private_data = irdOrdPrivateData(ird, 1);
  SD_CHECK(ep->id_->connect(cp));
  auto est = ep->ch_->waitEvent(o.connect_timeout_ms);
  if (!est) return err(NtStatus::kIoTimeout, "SMB Direct connect timed out");
  if (est->type != rdma::CmEventType::kEstablished) {
    bool refused = est->type == rdma::CmEventType::kRejected ||
                   est->type == rdma::CmEventType::kConnectError ||
                   est->type == rdma::CmEventType::kUnreachable;
    return err(refused ? NtStatus::kConnectionRefused : NtStatus::kUnexpectedNetworkError,
               rdma::cmEventName(est->type));
  }
  ep->ird_ = ep->id_->ird() ? ep->id_->ird() : ird;
  ep->ord_ = ep->id_->ord();
  ep->peer_ = ep->id_->peerAddr();
  ep->local_ = ep->id_->localAddr();
  ep->start();
  SD_CHECK(ep->waitConnected(o.connect_timeout_ms));
  return ep;
}

Result<std::shared_ptr<Endpoint>> Endpoint::accept(rdma::Provider* provider, const rdma::CmEvent& req,
                                                   const EndpointOptions& o) {
  std::shared_ptr<Endpoint> ep(new Endpoint(Role::kServer, o));
  ep->provider_name_ = provider ? std::string(provider->name()) : "";
  Status st = ep->setup(req.id);
  if (!st) {
    (void)req.id->reject({});
    return st.error();
  }
  auto da = ep->id_->device()->attr();
  // The peer's IRD bounds the reads we issue; Linux peers also send {IRD, ORD} on iWARP.
  uint32_t peer_ird = req.initiator_depth, peer_ord = req.responder_resources;
  if (req.private_data.size() >= 8) {
    peer_ird = le32(req.private_data.data());
    peer_ord = le32(req.private_data.data() + 4);
  }
  uint32_t dev_max = da.max_qp_init_rd_atom ? da.max_qp_init_rd_atom : 16;
  uint8_t ord = uint8_t(std::max<uint32_t>(1, std::min({uint32_t(o.max_rdma_reads), dev_max, peer_ird ? peer_ird : 1u})));
  uint8_t ird = uint8_t(std::max<uint32_t>(1, std::min<uint32_t>(o.max_rdma_reads, peer_ord ? peer_ord : 1)));
  rdma::ConnParam cp;
  cp.responder_resources = ird;
  cp.initiator_depth = ord;
  if (da.transport == "iWARP") cp.private_data = irdOrdPrivateData(ird, ord);
  ep->ird_ = ird;
  ep->ord_ = ord;
  ep->peer_ = ep->id_->peerAddr();
  ep->local_ = ep->id_->localAddr();
  // Receives may complete before the established event: the engine runs from now on.
  ep->start();
  if (auto a = ep->id_->accept(cp); !a) {
    ep->close();
    return a.error();
  }
  return ep;
}

void Endpoint::onCmEvent(const rdma::CmEvent& ev) {
  std::lock_guard<std::mutex> lk(mu_);
  switch (ev.type) {
    case rdma::CmEventType::kEstablished:
      if (id_->ord()) ord_ = std::min<uint32_t>(ord_, id_->ord());
      break;
    case rdma::CmEventType::kDisconnected:
    case rdma::CmEventType::kDeviceRemoval:
    case rdma::CmEventType::kConnectError:
    case rdma::CmEventType::kUnreachable:
    case rdma::CmEventType::kRejected:
      failLocked(NtStatus::kConnectionDisconnected, std::string("RDMA ") + rdma::cmEventName(ev.type));
      break;
    default:
      break;
  }
  cv_.notify_all();
  wakeWorker();
}

Status Endpoint::waitConnected(int timeout_ms) {
  std::unique_lock<std::mutex> lk(mu_);
  bool done = cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                           [&] { return core_.connected() || closedLocked(); });
  if (core_.connected() && !closedLocked()) return ok();
  if (!done) return err(NtStatus::kIoTimeout, "SMB Direct negotiate timed out");
  return err(core_.failStatus() == NtStatus::kSuccess ? NtStatus::kConnectionDisconnected : core_.failStatus(),
             "SMB Direct negotiate failed");
}

// The connection ended (the peer, a failed work request, a protocol error): users get errors,
// nothing more is posted, every waiter returns. The worker runs on until close().
void Endpoint::failLocked(NtStatus s, const std::string& why) {
  if (closedLocked()) return;
  life_ = Life::kFailed;
  if (core_.state() != SmbdConnection::State::kFailed) core_.fail(s, why);
  LOG_INFO("SMB Direct %s: connection closed: %s", peer_.c_str(), core_.failReason().c_str());
  if (id_) (void)id_->disconnect();
  closeSeatLocked();
  cv_.notify_all();
  wakeWorker();
}

void Endpoint::close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (life_ == Life::kOpen) {
      core_.fail(NtStatus::kConnectionDisconnected, "closed locally");
      if (id_) (void)id_->disconnect();
      closeSeatLocked();
    }
    life_ = Life::kClosed;  // the worker ends
    cv_.notify_all();
  }
  wakeWorker();
  // close() may run on two threads at once (the server's stop() and the connection's own
  // teardown): one joins, the other waits for it.
  std::lock_guard<std::mutex> jl(join_mu_);
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

bool Endpoint::connected() const {
  std::lock_guard<std::mutex> lk(mu_);
  return core_.connected() && !closedLocked();
}

uint32_t Endpoint::maxReadWriteSize() const {
  std::lock_guard<std::mutex> lk(mu_);
  return core_.maxReadWriteSize();
}

Status Endpoint::send(std::span<const ByteView> parts, uint32_t invalidate_rkey) {
  std::lock_guard<std::mutex> lk(mu_);
  if (closedLocked()) return err(NtStatus::kConnectionDisconnected, "SMB Direct connection closed");
  // Borrowed: what fits the free send buffers is copied straight from `parts` into them, and
  // only what has to wait (no credits or buffers) is copied into the connection.
  SD_CHECK(core_.queueBorrowed(parts, invalidate_rkey));
  pumpLocked();
  core_.keepQueued();
  return ok();
}

Result<Bytes> Endpoint::receive(int timeout_ms) {
  std::unique_lock<std::mutex> lk(mu_);
  auto ready = [&] { return !inbox_.empty() || closedLocked(); };
  auto until = timeout_ms < 0 ? std::chrono::steady_clock::time_point::max()
                              : std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (!waitLocked(lk, until, ready, Expect::kSoon))
    return err(NtStatus::kIoTimeout, "no SMB Direct message");
  if (!inbox_.empty()) {
    Bytes m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  return err(NtStatus::kConnectionDisconnected, "SMB Direct connection closed");
}

Result<std::shared_ptr<rdma::MemoryRegion>> Endpoint::registerMemory(void* addr, size_t len, uint32_t access) {
  return pd_->regMr(addr, len, access);
}

Result<uint64_t> Endpoint::startRdma(rdma::WrOpcode op, uint8_t* local, size_t len, uint32_t lkey,
                                     std::span<const smbdirect::BufferDescriptorV1> remote) {
  std::vector<rdma::Sge> sges;
  std::vector<rdma::SendWr> wrs;
  sges.reserve(remote.size());
  size_t off = 0;
  for (const auto& d : remote) {
    if (off >= len) break;
    uint32_t piece = uint32_t(std::min<size_t>(d.length, len - off));
    if (piece == 0) continue;
    sges.push_back({uint64_t(uintptr_t(local + off)), piece, lkey});
    off += piece;
  }
  if (sges.empty()) return uint64_t(0);
  if (sges.size() > kMaxRdmaWrs) return err(NtStatus::kInvalidParameter, "too many buffer descriptors");
  size_t k = 0;
  for (const auto& d : remote) {
    if (k == sges.size()) break;
    if (std::min<size_t>(d.length, sges[k].length) == 0) continue;
    rdma::SendWr w;
    w.opcode = op;
    w.flags = 0;
    w.remote_addr = d.offset;
    w.rkey = d.token;
    w.sg_list = std::span<const rdma::Sge>(&sges[k], 1);
    wrs.push_back(w);
    k++;
  }
  std::unique_lock<std::mutex> lk(mu_);
  // Held transfers count against the queue: with no room, they must get going first.
  if (rdma_wrs_inflight_ + wrs.size() > kMaxRdmaWrs) ringDoorbellLocked();
  // Room is made by whoever takes completions (the worker, a waiting caller).
  if (!cv_.wait_for(lk, std::chrono::seconds(60),
                    [&] { return closedLocked() || rdma_wrs_inflight_ + wrs.size() <= kMaxRdmaWrs; }))
    return err(NtStatus::kIoTimeout, "RDMA queue full");
  if (closedLocked()) return err(NtStatus::kConnectionDisconnected, "SMB Direct connection closed");
  uint64_t id = next_op_++;
  for (auto& w : wrs) w.wr_id = wrId(kWrRdma, id);
  wrs.back().flags = rdma::kSendSignaled;  // one completion for the whole transfer
  RdmaOp o;
  o.wrs = uint32_t(wrs.size());
  o.bytes = off;
  o.read = op == rdma::WrOpcode::kRdmaRead;
  ops_[id] = o;
  size_t posted = 0;
  rdma_wrs_inflight_ += uint32_t(wrs.size());  // before the post: it may complete at once
  if (auto st = postLocked(wrs, &posted); !st) {
    rdma_wrs_inflight_ -= uint32_t(wrs.size());
    ops_.erase(id);
    failLocked(NtStatus::kConnectionDisconnected, std::string("cannot post an RDMA transfer: ") + st.error().what + " (" +
                                                      ntStatusName(st.error().status) + ")");
    return st.error();
  }
  return id;
}

Status Endpoint::finishRdma(uint64_t id) {
  if (id == 0) return ok();
  std::unique_lock<std::mutex> lk(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return err(NtStatus::kInvalidParameter, "no such RDMA transfer");
  auto finished = [&] { return ops_[id].pending == 0 || closedLocked(); };
  // Small transfers are worth a spin, large ones not.
  bool done = waitLocked(lk, std::chrono::steady_clock::now() + std::chrono::seconds(60), finished,
                         it->second.bytes <= kSpinMaxBytes ? Expect::kSoon : Expect::kBulk);
  RdmaOp res = ops_[id];
  ops_.erase(id);
  if (!done) {
    failLocked(NtStatus::kIoTimeout, "RDMA transfer timed out");
    return err(NtStatus::kIoTimeout, "RDMA transfer timed out");
  }
  if (res.pending) return err(NtStatus::kConnectionDisconnected, "SMB Direct connection closed during RDMA");
  if (res.status != rdma::WcStatus::kSuccess) return err(NtStatus::kUnexpectedNetworkError, rdma::wcStatusName(res.status));
  return ok();
}

bool Endpoint::rdmaDone(uint64_t id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = ops_.find(id);
  return closedLocked() || it == ops_.end() || it->second.pending == 0;
}

Result<uint64_t> Endpoint::rdmaWriteAsync(ByteView local, uint32_t lkey, std::span<const smbdirect::BufferDescriptorV1> remote) {
  uint64_t room = 0;
  for (const auto& d : remote) room += d.length;
  if (local.size() > room) return err(NtStatus::kInvalidParameter, "data larger than the peer's buffers");
  return startRdma(rdma::WrOpcode::kRdmaWrite, const_cast<uint8_t*>(local.data()), local.size(), lkey, remote);
}

Result<uint64_t> Endpoint::rdmaReadAsync(std::span<uint8_t> local, uint32_t lkey,
                                         std::span<const smbdirect::BufferDescriptorV1> remote) {
  uint64_t total = 0;
  for (const auto& d : remote) total += d.length;
  if (total < local.size()) return err(NtStatus::kInvalidParameter, "buffer descriptors smaller than the transfer");
  return startRdma(rdma::WrOpcode::kRdmaRead, local.data(), local.size(), lkey, remote);
}

bool Endpoint::peekMessage(size_t index, Bytes* out, size_t max_size) const {
  std::lock_guard<std::mutex> lk(mu_);
  if (index >= inbox_.size() || inbox_[index].size() > max_size) return false;
  *out = inbox_[index];
  return true;
}

Status Endpoint::rdmaWrite(ByteView local, uint32_t lkey, std::span<const smbdirect::BufferDescriptorV1> remote) {
  return rdmaWait(SD_TRY(rdmaWriteAsync(local, lkey, remote)));
}

Status Endpoint::rdmaRead(std::span<uint8_t> local, uint32_t lkey, std::span<const smbdirect::BufferDescriptorV1> remote) {
  return rdmaWait(SD_TRY(rdmaReadAsync(local, lkey, remote)));
}

EndpointStatus Endpoint::status() const {
  std::lock_guard<std::mutex> lk(mu_);
  EndpointStatus s;
  s.provider = provider_name_;
  s.device = device_name_;
  s.transport = transport_name_;
  s.local = local_;
  s.peer = peer_;
  s.state = closedLocked() ? "closed" : stateName(core_.state());
  s.send_credits = core_.sendCredits();
  s.peer_credits = core_.peerCredits();
  s.receives_posted = core_.receivesPosted();
  s.max_send_size = core_.maxSendSize();
  s.max_receive_size = core_.maxReceiveSize();
  s.max_fragmented_size = core_.peerMaxFragmentedSize();
  s.own_max_fragmented_size = core_.config().max_fragmented_size;
  s.max_read_write_size = core_.maxReadWriteSize();
  s.ird = ird_;
  s.ord = ord_;
  s.stats = core_.stats();
  s.rdma_reads = rdma_reads_;
  s.rdma_writes = rdma_writes_;
  s.rdma_read_bytes = rdma_read_bytes_;
  s.rdma_write_bytes = rdma_write_bytes_;
  return s;
}

}  // namespace sd::smbdirect
