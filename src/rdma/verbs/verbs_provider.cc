// rdma-core adapter. Each verb maps onto one libibverbs/librdmacm call; limits come from the
// device (ibv_query_device) and QP capabilities are clamped to them, and what rdma-core reports
// back after creation is what caps() returns. User-space verbs have no fast registration of page
// lists (IB_WR_REG_MR is kernel-only), so allocFastRegMr/kRegMr report kNotSupported.
#include "base/log.h"
#include "base/net.h"
#include "base/thread_credentials.h"
#include "base/thread_name.h"
#include "rdma/verbs/verbs_provider.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <infiniband/verbs.h>
#include <net/if.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

namespace sd::rdma::verbs {
namespace {

Error errnoError(const char* what) { return err(ntStatusFromErrno(errno), what); }

// Runs `f` (an RDMA command that goes through write() on /dev/infiniband) on a thread whose
// credentials the kernel accepts (base/thread_credentials.h): one thread of this provider's,
// started by the first caller that needs it, which never changes them; the caller waits. errno
// travels back with the result.
class CleanThread {
 public:
  static CleanThread& get() {
    static CleanThread* t = new CleanThread();  // lives as long as the process (no join at exit)
    return *t;
  }
  template <class F>
  auto run(F&& f) -> decltype(f()) {
    using R = decltype(f());
    if (t_on_clean_thread) return f();
    std::optional<R> result;
    int saved_errno = 0;
    bool done = false;
    std::unique_lock<std::mutex> lk(mu_);
    tasks_.push_back([&] {
      errno = 0;
      R r = f();
      int e = errno;
      std::lock_guard<std::mutex> g(mu_);
      result.emplace(std::move(r));
      saved_errno = e;
      done = true;
      cv_.notify_all();
    });
    cv_.notify_all();
    cv_.wait(lk, [&] { return done; });
    errno = saved_errno;
    return std::move(*result);
  }

 private:
  CleanThread() {
    std::thread([this] {
      setThreadName("sd-verbs-cmd");
      t_on_clean_thread = true;
      std::unique_lock<std::mutex> lk(mu_);
      for (;;) {
        cv_.wait(lk, [&] { return !tasks_.empty(); });
        auto t = std::move(tasks_.front());
        tasks_.pop_front();
        lk.unlock();
        t();
        lk.lock();
      }
    }).detach();
  }
  static inline thread_local bool t_on_clean_thread = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
};

// A command (registration, teardown, connection management): on the calling thread unless it
// changed its credentials; one that inherited changed credentials from the thread that made it
// (no mark) learns it from the kernel's refusal, which comes before the command does anything,
// and is marked. `f` returns 0 or a pointer on success.
template <class F>
auto clean(F&& f) {
  if (threadCredentialsChanged()) return CleanThread::get().run(f);
  errno = 0;
  auto r = f();
  bool refused = errno == EACCES || errno == EPERM;
  if constexpr (std::is_pointer_v<decltype(r)>) refused = refused && r == nullptr;
  else refused = r != 0 && (refused || r == EACCES || r == EPERM || r == -EACCES || r == -EPERM);
  if (refused) {
    noteThreadCredentialsChanged();
    return CleanThread::get().run(f);
  }
  return r;
}
// Posting work: soft-RoCE and soft-iWARP (rxe, siw) ring their doorbell with a write(), after
// the work request is already queued, so a refusal cannot be retried; their posts from any thread
// but a clean one go to the clean thread. Hardware posts without a system call.
template <class F>
auto cleanPost(bool soft_device, F&& f) {
  if (soft_device || threadCredentialsChanged()) return CleanThread::get().run(f);
  return f();
}

void setNonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

class VerbsMr : public MemoryRegion {
 public:
  explicit VerbsMr(ibv_mr* mr) : mr_(mr) {
    setKeys(mr->lkey, mr->rkey);
    setRange(mr->addr, mr->length, 0);
  }
  ~VerbsMr() override { clean([&] { return ibv_dereg_mr(mr_); }); }

 private:
  ibv_mr* mr_;
};

class VerbsPd : public ProtectionDomain {
 public:
  explicit VerbsPd(ibv_pd* pd) : pd_(pd) {}
  ~VerbsPd() override { clean([&] { return ibv_dealloc_pd(pd_); }); }
  Result<std::shared_ptr<MemoryRegion>> regMr(void* addr, size_t length, uint32_t access) override {
    ibv_mr* mr = clean([&] { return ibv_reg_mr(pd_, addr, length, int(access)); });
    if (!mr) return errnoError("ibv_reg_mr");
    auto m = std::make_shared<VerbsMr>(mr);
    m->setRange(addr, length, access);
    return std::shared_ptr<MemoryRegion>(m);
  }
  ibv_pd* pd_;
};

class VerbsCq : public CompletionQueue {
 public:
  VerbsCq(ibv_comp_channel* ch, ibv_cq* cq, uint32_t cap) : ch_(ch), cq_(cq), cap_(cap) {}
  ~VerbsCq() override {
    if (unacked_) ibv_ack_cq_events(cq_, unacked_);
    clean([&] { return ibv_destroy_cq(cq_); });
    clean([&] { return ibv_destroy_comp_channel(ch_); });
  }
  Result<int> poll(std::span<Wc> out) override {
    ibv_wc wc[32];
    int total = 0;
    while (size_t(total) < out.size()) {
      int want = int(std::min<size_t>(32, out.size() - size_t(total)));
      int n = ibv_poll_cq(cq_, want, wc);
      if (n < 0) return err(NtStatus::kIoDeviceError, "ibv_poll_cq");
      for (int i = 0; i < n; i++) {
        Wc& w = out[size_t(total + i)];
        w = Wc{};
        w.wr_id = wc[i].wr_id;
        w.status = WcStatus(wc[i].status);
        switch (wc[i].opcode) {
          case IBV_WC_SEND: w.opcode = WcOpcode::kSend; break;
          case IBV_WC_RDMA_WRITE: w.opcode = WcOpcode::kRdmaWrite; break;
          case IBV_WC_RDMA_READ: w.opcode = WcOpcode::kRdmaRead; break;
          case IBV_WC_LOCAL_INV: w.opcode = WcOpcode::kLocalInv; break;
          default: w.opcode = (wc[i].opcode & IBV_WC_RECV) ? WcOpcode::kRecv : WcOpcode::kSend;
        }
        w.byte_len = wc[i].byte_len;
        w.qp_num = wc[i].qp_num;
        w.vendor_err = wc[i].vendor_err;
        if (wc[i].wc_flags & IBV_WC_WITH_INV) {
          w.flags |= kWcWithInv;
          w.invalidated_rkey = wc[i].invalidated_rkey;
        }
      }
      total += n;
      if (n < want) break;
    }
    return total;
  }
  Status reqNotify(bool solicited_only) override {
    if (clean([&] { return ibv_req_notify_cq(cq_, solicited_only ? 1 : 0); })) return errnoError("ibv_req_notify_cq");
    return ok();
  }
  int fd() const override { return ch_->fd; }
  Status consumeEvent() override {
    ibv_cq* cq;
    void* ctx;
    while (ibv_get_cq_event(ch_, &cq, &ctx) == 0) {
      if (++unacked_ >= 64) {
        ibv_ack_cq_events(cq_, unacked_);
        unacked_ = 0;
      }
    }
    return ok();
  }
  uint32_t capacity() const override { return cap_; }
  ibv_comp_channel* ch_;
  ibv_cq* cq_;
  uint32_t cap_;
  unsigned unacked_ = 0;
};

std::string readLine(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// siw/rxe derive the node GUID from the netdev's MAC (EUI-64: ff:fe in the middle, U/L bit
// flipped); find the interface with that MAC when sysfs does not name it.
std::string netdevFromGuid(uint64_t guid) {
  if (((guid >> 24) & 0xFFFF) != 0xFFFE) return {};
  uint8_t mac[6] = {uint8_t((guid >> 56) ^ 0x02), uint8_t(guid >> 48), uint8_t(guid >> 40),
                    uint8_t(guid >> 16), uint8_t(guid >> 8), uint8_t(guid)};
  char want[18];
  std::snprintf(want, sizeof want, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  ifaddrs* ifs = nullptr;
  std::string found;
  if (getifaddrs(&ifs) != 0) return {};
  for (ifaddrs* i = ifs; i && found.empty(); i = i->ifa_next)
    if (readLine(std::string("/sys/class/net/") + i->ifa_name + "/address") == want) found = i->ifa_name;
  freeifaddrs(ifs);
  return found;
}

class VerbsDevice : public Device {
 public:
  explicit VerbsDevice(ibv_context* ctx) : ctx_(ctx) {}
  DeviceAttr attr() const override {
    DeviceAttr a;
    a.name = ibv_get_device_name(ctx_->device);
    a.provider = "verbs";
    ibv_device_attr d{};
    if (ibv_query_device(ctx_, &d) == 0) {
      a.node_guid = be64toh(d.node_guid);
      a.max_mr_size = d.max_mr_size;
      a.max_qp = uint32_t(d.max_qp);
      a.max_qp_wr = uint32_t(d.max_qp_wr);
      a.max_send_sge = uint32_t(d.max_sge);
      a.max_recv_sge = uint32_t(d.max_sge);
      a.max_cq = uint32_t(d.max_cq);
      a.max_cqe = uint32_t(d.max_cqe);
      a.max_mr = uint32_t(d.max_mr);
      a.max_pd = uint32_t(d.max_pd);
      a.max_qp_rd_atom = uint32_t(d.max_qp_rd_atom);
      a.max_qp_init_rd_atom = uint32_t(d.max_qp_init_rd_atom);
      a.phys_port_cnt = d.phys_port_cnt;
    }
    a.max_inline_data = 0;  // not reported by ibv_query_device; probed at QP creation
    a.max_fast_reg_page_list_len = 0;  // no user-space fast registration
    if (ctx_->device->transport_type == IBV_TRANSPORT_IWARP) {
      a.transport = "iWARP";
    } else {
      ibv_port_attr p{};
      a.transport = (ibv_query_port(ctx_, 1, &p) == 0 && p.link_layer == IBV_LINK_LAYER_ETHERNET)
                        ? "RoCE"
                        : "InfiniBand";
    }
    return a;
  }
  Result<PortAttr> queryPort(uint8_t port) const override {
    ibv_port_attr p{};
    if (ibv_query_port(ctx_, port, &p)) return errnoError("ibv_query_port");
    PortAttr out;
    out.port = port;
    out.state = ibv_port_state_str(p.state);
    out.link_layer = p.link_layer == IBV_LINK_LAYER_ETHERNET ? "Ethernet"
                     : p.link_layer == IBV_LINK_LAYER_INFINIBAND ? "InfiniBand"
                                                                  : "unspecified";
    out.active_mtu = uint32_t(128) << int(p.active_mtu);
    std::string name = ibv_get_device_name(ctx_->device);
    std::string base = "/sys/class/infiniband/" + name;
    out.netdev = readLine(base + "/ports/" + std::to_string(port) + "/gid_attrs/ndevs/0");
    if (out.netdev.empty()) out.netdev = readLine(base + "/parent");
    if (out.netdev.empty()) out.netdev = netdevFromGuid(be64toh(ctx_->device ? ibv_get_device_guid(ctx_->device) : 0));
    if (!out.netdev.empty()) {
      ifaddrs* ifs = nullptr;
      if (getifaddrs(&ifs) == 0) {
        for (ifaddrs* i = ifs; i; i = i->ifa_next) {
          if (!i->ifa_addr || out.netdev != i->ifa_name) continue;
          char buf[INET6_ADDRSTRLEN] = {0};
          if (i->ifa_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
          else if (i->ifa_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf, sizeof buf);
          else
            continue;
          out.addresses.push_back(buf);
        }
        freeifaddrs(ifs);
      }
    }
    return out;
  }
  Result<std::shared_ptr<ProtectionDomain>> allocPd() override {
    ibv_pd* pd = ibv_alloc_pd(ctx_);
    if (!pd) return errnoError("ibv_alloc_pd");
    return std::shared_ptr<ProtectionDomain>(std::make_shared<VerbsPd>(pd));
  }
  Result<std::shared_ptr<CompletionQueue>> createCq(uint32_t cqe) override {
    DeviceAttr a = attr();
    if (a.max_cqe && cqe > a.max_cqe) cqe = a.max_cqe;  // adapt to the device
    ibv_comp_channel* ch = ibv_create_comp_channel(ctx_);
    if (!ch) return errnoError("ibv_create_comp_channel");
    setNonblock(ch->fd);
    ibv_cq* cq = ibv_create_cq(ctx_, int(cqe), nullptr, ch, 0);
    if (!cq) {
      auto e = errnoError("ibv_create_cq");
      ibv_destroy_comp_channel(ch);
      return e;
    }
    return std::shared_ptr<CompletionQueue>(std::make_shared<VerbsCq>(ch, cq, uint32_t(cq->cqe)));
  }
  ibv_context* ctx_;
};

std::mutex g_mu;
std::map<ibv_context*, std::shared_ptr<VerbsDevice>> g_devices;

std::shared_ptr<VerbsDevice> deviceFor(ibv_context* ctx) {
  std::lock_guard lk(g_mu);
  auto& d = g_devices[ctx];
  if (!d) d = std::make_shared<VerbsDevice>(ctx);
  return d;
}

// rxe (soft-RoCE) and siw (soft-iWARP): no hardware behind them (a "parent" network device
// instead), or named as `rdma link add NAME type rxe|siw` is usually given.
bool isSoftDevice(ibv_device* d) {
  std::string name = d ? ibv_get_device_name(d) : "";
  if (access(("/sys/class/infiniband/" + name + "/parent").c_str(), F_OK) == 0) return true;
  return name.rfind("rxe", 0) == 0 || name.rfind("siw", 0) == 0;
}

class VerbsQp : public QueuePair {
 public:
  VerbsQp(ibv_qp* qp, QpCaps caps, std::shared_ptr<ProtectionDomain> pd,
          std::shared_ptr<CompletionQueue> s, std::shared_ptr<CompletionQueue> r)
      : qp_(qp), caps_(caps), pd_(std::move(pd)), scq_(std::move(s)), rcq_(std::move(r)),
        soft_(isSoftDevice(qp->context->device)) {}
  Status postSend(std::span<const SendWr> wrs, size_t* posted) override {
    size_t i = 0;
    for (; i < wrs.size(); i++) {
      const SendWr& w = wrs[i];
      // Adapt to the device: an RDMA Read/Write with more SGEs than the QP (or, for reads, the
      // device's max_sge_rd; siw reads only one) becomes several WRs over consecutive remote
      // addresses, only the last signaled.
      uint32_t lim = w.opcode == WrOpcode::kRdmaRead ? std::min(caps_.max_send_sge, max_sge_rd_)
                                                     : caps_.max_send_sge;
      if (lim == 0) lim = 1;
      if (w.sg_list.size() > lim &&
          (w.opcode == WrOpcode::kRdmaRead || w.opcode == WrOpcode::kRdmaWrite)) {
        uint64_t raddr = w.remote_addr;
        for (size_t k = 0; k < w.sg_list.size(); k += lim) {
          SendWr part = w;
          part.sg_list = w.sg_list.subspan(k, std::min<size_t>(lim, w.sg_list.size() - k));
          part.remote_addr = raddr;
          for (const Sge& sg : part.sg_list) raddr += sg.length;
          if (k + lim < w.sg_list.size()) part.flags &= ~uint32_t(kSendSignaled);
          Status st = postSend(std::span<const SendWr>(&part, 1), nullptr);
          if (!st) {
            if (posted) *posted = i;
            return st;
          }
        }
        continue;
      }
      ibv_send_wr wr{};
      ibv_sge sg[32];
      if (w.sg_list.size() > 32) return err(NtStatus::kInvalidParameter, "sge count");
      for (size_t k = 0; k < w.sg_list.size(); k++)
        sg[k] = ibv_sge{w.sg_list[k].addr, w.sg_list[k].length, w.sg_list[k].lkey};
      wr.wr_id = w.wr_id;
      wr.sg_list = sg;
      wr.num_sge = int(w.sg_list.size());
      switch (w.opcode) {
        case WrOpcode::kSend: wr.opcode = IBV_WR_SEND; break;
        case WrOpcode::kSendWithInv:
          wr.opcode = IBV_WR_SEND_WITH_INV;
          wr.invalidate_rkey = w.invalidate_rkey;
          break;
        case WrOpcode::kRdmaWrite: wr.opcode = IBV_WR_RDMA_WRITE; break;
        case WrOpcode::kRdmaRead: wr.opcode = IBV_WR_RDMA_READ; break;
        case WrOpcode::kLocalInv:
          wr.opcode = IBV_WR_LOCAL_INV;
          wr.invalidate_rkey = w.invalidate_rkey;
          break;
        case WrOpcode::kRegMr:
          if (posted) *posted = i;
          return err(NtStatus::kNotSupported, "fast registration (kernel-only verb)");
      }
      wr.wr.rdma.remote_addr = w.remote_addr;
      wr.wr.rdma.rkey = w.rkey;
      if (w.flags & kSendSignaled) wr.send_flags |= IBV_SEND_SIGNALED;
      if (w.flags & kSendSolicited) wr.send_flags |= IBV_SEND_SOLICITED;
      if (w.flags & kSendInline) wr.send_flags |= IBV_SEND_INLINE;
      if (w.flags & kSendFence) wr.send_flags |= IBV_SEND_FENCE;
      ibv_send_wr* bad = nullptr;
      int rc = cleanPost(soft_, [&] { return ibv_post_send(qp_, &wr, &bad); });
      if (rc) {
        LOG_WARN("ibv_post_send: %d (%s), opcode %d, %d SGEs of %u bytes, flags 0x%x", rc, std::strerror(std::abs(rc)),
                 int(wr.opcode), wr.num_sge, wr.num_sge ? wr.sg_list[0].length : 0, wr.send_flags);
        if (posted) *posted = i;
        return err(rc == ENOMEM ? NtStatus::kInsufficientResources : ntStatusFromErrno(rc),
                   "ibv_post_send");
      }
    }
    if (posted) *posted = i;
    return ok();
  }
  Status postRecv(std::span<const RecvWr> wrs, size_t* posted) override {
    size_t i = 0;
    for (; i < wrs.size(); i++) {
      ibv_recv_wr wr{};
      ibv_sge sg[32];
      if (wrs[i].sg_list.size() > 32) return err(NtStatus::kInvalidParameter, "sge count");
      for (size_t k = 0; k < wrs[i].sg_list.size(); k++)
        sg[k] = ibv_sge{wrs[i].sg_list[k].addr, wrs[i].sg_list[k].length, wrs[i].sg_list[k].lkey};
      wr.wr_id = wrs[i].wr_id;
      wr.sg_list = sg;
      wr.num_sge = int(wrs[i].sg_list.size());
      ibv_recv_wr* bad = nullptr;
      int rc = cleanPost(soft_, [&] { return ibv_post_recv(qp_, &wr, &bad); });
      if (rc) {
        if (posted) *posted = i;
        return err(rc == ENOMEM ? NtStatus::kInsufficientResources : ntStatusFromErrno(rc),
                   "ibv_post_recv");
      }
    }
    if (posted) *posted = i;
    return ok();
  }
  uint32_t qpNum() const override { return qp_->qp_num; }
  QpState state() const override {
    ibv_qp_attr a{};
    ibv_qp_init_attr ia{};
    if (ibv_query_qp(qp_, &a, IBV_QP_STATE, &ia)) return QpState::kError;
    switch (a.qp_state) {
      case IBV_QPS_RESET: return QpState::kReset;
      case IBV_QPS_INIT: return QpState::kInit;
      case IBV_QPS_RTR: return QpState::kRtr;
      case IBV_QPS_RTS: return QpState::kRts;
      case IBV_QPS_SQD: return QpState::kSqd;
      case IBV_QPS_SQE: return QpState::kSqe;
      default: return QpState::kError;
    }
  }
  QpCaps caps() const override { return caps_; }
  uint32_t max_sge_rd_ = 1;
  ibv_qp* qp_;
  QpCaps caps_;
  std::shared_ptr<ProtectionDomain> pd_;
  std::shared_ptr<CompletionQueue> scq_, rcq_;
  bool soft_ = false;  // rxe or siw: posts ring a doorbell with a system call
};

std::string addrString(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (!sa) return {};
  if (sa->sa_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(s->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s->sin6_port));
  }
  return {};
}

rdma_conn_param connParam(const ConnParam& p) {
  rdma_conn_param c{};
  c.private_data = p.private_data.empty() ? nullptr : p.private_data.data();
  c.private_data_len = uint8_t(std::min<size_t>(p.private_data.size(), 255));
  c.responder_resources = p.responder_resources;
  c.initiator_depth = p.initiator_depth;
  c.retry_count = 7;
  c.rnr_retry_count = 6;  // finite: a missing receive surfaces as RNR_RETRY_EXC (7 = forever)
  return c;
}

class VerbsCmId : public CmId {
 public:
  explicit VerbsCmId(rdma_cm_id* id) : id_(id) { id_->context = this; }
  ~VerbsCmId() override {
    if (qp_) {
      qp_.reset();
      clean([&] {
        rdma_destroy_qp(id_);
        return 0;
      });
    }
    clean([&] { return rdma_destroy_id(id_); });
  }
  Status listen(std::string_view addr, int backlog) override {
    sockaddr_storage ss;
    if (!parseSockaddr(addr, &ss)) return err(NtStatus::kInvalidParameter, "address");
    if (rdma_bind_addr(id_, reinterpret_cast<sockaddr*>(&ss))) return errnoError("rdma_bind_addr");
    if (rdma_listen(id_, backlog)) return errnoError("rdma_listen");
    return ok();
  }
  Status resolve(std::string_view addr, int timeout_ms) override {
    sockaddr_storage ss;
    if (!parseSockaddr(addr, &ss)) return err(NtStatus::kInvalidParameter, "address");
    timeout_ = timeout_ms;
    if (rdma_resolve_addr(id_, nullptr, reinterpret_cast<sockaddr*>(&ss), timeout_ms))
      return errnoError("rdma_resolve_addr");
    return ok();
  }
  std::shared_ptr<Device> device() const override {
    if (!id_->verbs) return nullptr;
    return deviceFor(id_->verbs);
  }
  Result<std::shared_ptr<QueuePair>> createQp(const QpInitAttr& a) override {
    auto pd = std::dynamic_pointer_cast<VerbsPd>(a.pd);
    auto scq = std::dynamic_pointer_cast<VerbsCq>(a.send_cq);
    auto rcq = std::dynamic_pointer_cast<VerbsCq>(a.recv_cq);
    if (!pd || !scq || !rcq) return err(NtStatus::kInvalidParameter, "pd/cq of another provider");
    DeviceAttr d = deviceFor(id_->verbs)->attr();
    ibv_qp_init_attr ia{};
    ia.qp_type = IBV_QPT_RC;
    ia.send_cq = scq->cq_;
    ia.recv_cq = rcq->cq_;
    ia.sq_sig_all = a.sq_sig_all;
    // Adapt every limit to the device.
    ia.cap.max_send_wr = std::min(a.caps.max_send_wr, d.max_qp_wr);
    ia.cap.max_recv_wr = std::min(a.caps.max_recv_wr, d.max_qp_wr);
    ia.cap.max_send_sge = std::min(a.caps.max_send_sge, d.max_send_sge);
    ia.cap.max_recv_sge = std::min(a.caps.max_recv_sge, d.max_recv_sge);
    ia.cap.max_inline_data = a.caps.max_inline_data;
    int rc = rdma_create_qp(id_, pd->pd_, &ia);
    if (rc && ia.cap.max_inline_data) {  // the device allows less inline data: retry without
      ia.cap.max_inline_data = 0;
      rc = rdma_create_qp(id_, pd->pd_, &ia);
    }
    if (rc) return errnoError("rdma_create_qp");
    QpCaps got;
    got.max_send_wr = ia.cap.max_send_wr;
    got.max_recv_wr = ia.cap.max_recv_wr;
    got.max_send_sge = ia.cap.max_send_sge;
    got.max_recv_sge = ia.cap.max_recv_sge;
    got.max_inline_data = ia.cap.max_inline_data;
    qp_ = std::make_shared<VerbsQp>(id_->qp, got, a.pd, a.send_cq, a.recv_cq);
    ibv_device_attr da{};
    if (ibv_query_device(id_->verbs, &da) == 0 && da.max_sge_rd > 0)
      qp_->max_sge_rd_ = uint32_t(da.max_sge_rd);
    return std::shared_ptr<QueuePair>(qp_);
  }
  std::shared_ptr<QueuePair> qp() const override { return qp_; }
  Status connect(const ConnParam& p) override {
    rdma_conn_param c = connParam(p);
    if (rdma_connect(id_, &c)) return errnoError("rdma_connect");
    return ok();
  }
  Status accept(const ConnParam& p) override {
    rdma_conn_param c = connParam(p);
    if (clean([&] { return rdma_accept(id_, &c); })) return errnoError("rdma_accept");
    return ok();
  }
  Status reject(ByteView pd) override {
    if (rdma_reject(id_, pd.empty() ? nullptr : pd.data(), uint8_t(std::min<size_t>(pd.size(), 255))))
      return errnoError("rdma_reject");
    return ok();
  }
  Status disconnect() override {
    if (clean([&] { return rdma_disconnect(id_); })) return errnoError("rdma_disconnect");
    return ok();
  }
  std::string localAddr() const override { return addrString(rdma_get_local_addr(id_)); }
  std::string peerAddr() const override { return addrString(rdma_get_peer_addr(id_)); }
  uint16_t localPort() const override { return ntohs(rdma_get_src_port(id_)); }
  rdma_cm_id* id_;
  std::shared_ptr<VerbsQp> qp_;
  int timeout_ = 2000;
  uint8_t ird_ = 0, ord_ = 0;
  uint8_t ird() const override { return ird_; }
  uint8_t ord() const override { return ord_; }
};

class VerbsCmChannel : public CmChannel {
 public:
  explicit VerbsCmChannel(rdma_event_channel* ch) : ch_(ch) { setNonblock(ch_->fd); }
  ~VerbsCmChannel() override {
    clean([&] {
      rdma_destroy_event_channel(ch_);
      return 0;
    });
  }
  int fd() const override { return ch_->fd; }
  Result<std::shared_ptr<CmId>> createId() override {
    rdma_cm_id* id = nullptr;
    if (rdma_create_id(ch_, &id, nullptr, RDMA_PS_TCP)) return errnoError("rdma_create_id");
    auto p = std::make_shared<VerbsCmId>(id);
    std::lock_guard lk(mu_);
    ids_[id] = p;
    return std::shared_ptr<CmId>(p);
  }
  Result<CmEvent> getEvent() override {
    for (;;) {
      rdma_cm_event* ev = nullptr;
      if (rdma_get_cm_event(ch_, &ev)) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return err(NtStatus::kPending, "no event");
        return errnoError("rdma_get_cm_event");
      }
      CmEvent out;
      out.status = ev->status;
      const rdma_conn_param& cp = ev->param.conn;
      if (cp.private_data && cp.private_data_len)
        out.private_data.assign(static_cast<const uint8_t*>(cp.private_data),
                                static_cast<const uint8_t*>(cp.private_data) + cp.private_data_len);
      out.responder_resources = cp.responder_resources;
      out.initiator_depth = cp.initiator_depth;
      rdma_cm_id* id = ev->id;
      rdma_cm_id* listen = ev->listen_id;
      rdma_cm_event_type type = ev->event;
      bool skip = false;
      switch (type) {
        case RDMA_CM_EVENT_ADDR_RESOLVED: {
          auto self = lookup(id);
          int to = self ? static_cast<VerbsCmId*>(self.get())->timeout_ : 2000;
          if (rdma_resolve_route(id, to)) {
            out.type = CmEventType::kAddrError;
          } else {
            skip = true;  // surfaced at ROUTE_RESOLVED
          }
          break;
        }
        case RDMA_CM_EVENT_ROUTE_RESOLVED: out.type = CmEventType::kAddrResolved; break;
        case RDMA_CM_EVENT_ADDR_ERROR:
        case RDMA_CM_EVENT_ROUTE_ERROR: out.type = CmEventType::kAddrError; break;
        case RDMA_CM_EVENT_CONNECT_REQUEST: out.type = CmEventType::kConnectRequest; break;
        case RDMA_CM_EVENT_CONNECT_RESPONSE: out.type = CmEventType::kConnectResponse; break;
        case RDMA_CM_EVENT_CONNECT_ERROR: out.type = CmEventType::kConnectError; break;
        case RDMA_CM_EVENT_UNREACHABLE: out.type = CmEventType::kUnreachable; break;
        case RDMA_CM_EVENT_REJECTED: out.type = CmEventType::kRejected; break;
        case RDMA_CM_EVENT_ESTABLISHED: out.type = CmEventType::kEstablished; break;
        case RDMA_CM_EVENT_DISCONNECTED: out.type = CmEventType::kDisconnected; break;
        case RDMA_CM_EVENT_DEVICE_REMOVAL: out.type = CmEventType::kDeviceRemoval; break;
        case RDMA_CM_EVENT_TIMEWAIT_EXIT: out.type = CmEventType::kTimeWaitExit; break;
        default: skip = true;
      }
      rdma_ack_cm_event(ev);
      if (skip) continue;
      if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
        auto child = std::make_shared<VerbsCmId>(id);
        child->ird_ = out.responder_resources;
        child->ord_ = out.initiator_depth;
        {
          std::lock_guard lk(mu_);
          ids_[id] = child;
        }
        out.id = child;
        out.listen_id = lookup(listen);
      } else {
        out.id = lookup(id);
      }
      return out;
    }
  }

 private:
  std::shared_ptr<CmId> lookup(rdma_cm_id* id) {
    std::lock_guard lk(mu_);
    auto it = ids_.find(id);
    if (it == ids_.end()) return nullptr;
    auto p = it->second.lock();
    if (!p) ids_.erase(it);
    return p;
  }
  rdma_event_channel* ch_;
  std::mutex mu_;
  std::map<rdma_cm_id*, std::weak_ptr<CmId>> ids_;
};

class VerbsProvider : public Provider {
 public:
  std::string_view name() const override { return "verbs"; }
  std::vector<std::shared_ptr<Device>> devices() override {
    std::vector<std::shared_ptr<Device>> out;
    // The contexts rdma_cm ids use; kept for the process (rdma_free_devices would release
    // contexts our devices refer to).
    static int n = 0;
    static ibv_context** list = rdma_get_devices(&n);
    if (!list) return out;
    for (int i = 0; i < n; i++) out.push_back(deviceFor(list[i]));
    return out;
  }
  Result<std::shared_ptr<CmChannel>> createCmChannel() override {
    rdma_event_channel* ch = rdma_create_event_channel();
    if (!ch) return errnoError("rdma_create_event_channel");
    return std::shared_ptr<CmChannel>(std::make_shared<VerbsCmChannel>(ch));
  }
};

}  // namespace

Provider* verbsProvider() {
  static VerbsProvider p;
  return &p;
}

}  // namespace sd::rdma::verbs
