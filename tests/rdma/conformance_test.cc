// The provider conformance suite (one suite, parameterised over providers): ordering, completions
// and their errors, RDMA read/write of large scatter lists, remote-access violations (wrong rkey,
// out of bounds, invalidated key), receive-not-ready, disconnect with work outstanding, many QPs,
// private data, reject, CQ events. Every provider must pass it.
//
// soft runs on 127.0.0.1. verbs needs a device and an address of it (rdma_cm refuses loopback on
// siw): SD_RDMA_TEST_ADDR=10.0.2.15 inside the kernel lab; without a device the cases are skipped.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "rdma/rdma.h"

namespace sd::rdma {
namespace {

constexpr int kTimeout = 10000;

std::string testAddr(const std::string& provider) {
  if (const char* a = getenv("SD_RDMA_TEST_ADDR")) return a;
  return provider == "soft" ? "127.0.0.1" : "";
}

struct Side {
  std::shared_ptr<CmId> id;
  std::shared_ptr<ProtectionDomain> pd;
  std::shared_ptr<CompletionQueue> cq;
  std::shared_ptr<QueuePair> qp;
};

struct Buf {
  std::vector<uint8_t> mem;
  std::shared_ptr<MemoryRegion> mr;
  Sge sge(size_t off = 0, size_t len = SIZE_MAX) const {
    if (len == SIZE_MAX) len = mem.size() - off;
    return Sge{uint64_t(reinterpret_cast<uintptr_t>(mem.data() + off)), uint32_t(len), mr->lkey()};
  }
  uint64_t addr(size_t off = 0) const { return reinterpret_cast<uintptr_t>(mem.data() + off); }
};

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    provider_ = findProvider(GetParam());
    if (!provider_) GTEST_SKIP() << "provider " << GetParam() << " not built";
    if (provider_->devices().empty()) GTEST_SKIP() << "no " << GetParam() << " device";
    addr_ = testAddr(GetParam());
    soft_ = GetParam() == "soft";
    iwarp_ = provider_->devices()[0]->attr().transport == "iWARP";
    if (addr_.empty()) GTEST_SKIP() << "set SD_RDMA_TEST_ADDR for " << GetParam();
    auto ch = provider_->createCmChannel();
    ASSERT_TRUE(ch) << ch.error().what;
    sch_ = *ch;
    ch = provider_->createCmChannel();
    ASSERT_TRUE(ch);
    cch_ = *ch;
  }

  QpCaps caps() {
    QpCaps c;
    c.max_send_wr = 256;
    c.max_recv_wr = 256;
    c.max_send_sge = 16;
    c.max_recv_sge = 16;
    c.max_inline_data = 64;
    return c;
  }

  void makeResources(Side& s, const std::shared_ptr<Device>& dev) {
    auto pd = dev->allocPd();
    ASSERT_TRUE(pd) << pd.error().what;
    s.pd = *pd;
    auto cq = dev->createCq(4096);
    ASSERT_TRUE(cq) << cq.error().what;
    s.cq = *cq;
    QpInitAttr a;
    a.pd = s.pd;
    a.send_cq = s.cq;
    a.recv_cq = s.cq;
    a.caps = caps();
    auto qp = s.id->createQp(a);
    ASSERT_TRUE(qp) << qp.error().what;
    s.qp = *qp;
  }

  // Listens on an ephemeral port (soft) or a fixed one (verbs: SD_RDMA_TEST_PORT or 7471+n).
  void listen() {
    auto l = sch_->createId();
    ASSERT_TRUE(l);
    listener_ = *l;
    for (int attempt = 0; attempt < 50; attempt++) {
      int port = GetParam() == "soft" ? 0 : 20000 + (getpid() * 7 + attempt * 13 + counter_++) % 20000;
      auto st = listener_->listen(addr_ + ":" + std::to_string(port), 64);
      if (st) {
        port_ = port ? port : listener_->localPort();
        return;
      }
    }
    FAIL() << "listen failed";
  }

  // Connects a client to the listener; `server_prep` runs after the server QP exists (to post
  // receives before accept), `client_prep` before connect.
  void connectPair(Side& c, Side& s, ConnParam cp = {}, ConnParam sp = {},
                   std::function<void(Side&)> server_prep = {},
                   std::function<void(Side&)> client_prep = {}) {
    auto id = cch_->createId();
    ASSERT_TRUE(id);
    c.id = *id;
    ASSERT_TRUE(c.id->resolve(addr_ + ":" + std::to_string(port_), 2000));
    auto ev = expectEvent(*cch_, CmEventType::kAddrResolved, kTimeout);
    ASSERT_TRUE(ev) << ev.error().what;
    makeResources(c, c.id->device());
    if (client_prep) client_prep(c);
    ASSERT_TRUE(c.id->connect(cp));
    auto req = expectEvent(*sch_, CmEventType::kConnectRequest, kTimeout);
    ASSERT_TRUE(req) << req.error().what;
    last_request_ = *req;
    s.id = req->id;
    makeResources(s, s.id->device());
    if (server_prep) server_prep(s);
    ASSERT_TRUE(s.id->accept(sp));
    auto est = expectEvent(*cch_, CmEventType::kEstablished, kTimeout);
    ASSERT_TRUE(est) << est.error().what;
    last_established_ = *est;
    auto est2 = expectEvent(*sch_, CmEventType::kEstablished, kTimeout);
    ASSERT_TRUE(est2) << est2.error().what;
  }

  Buf buffer(Side& s, size_t n, uint32_t access, uint8_t fill = 0) {
    Buf b;
    b.mem.assign(n, fill);
    auto mr = s.pd->regMr(b.mem.data(), n, access);
    EXPECT_TRUE(mr) << mr.error().what;
    if (mr) b.mr = *mr;
    return b;
  }

  std::vector<Wc> wait(Side& s, size_t n) {
    auto r = waitCompletions(*s.cq, n, kTimeout);
    EXPECT_TRUE(r) << "waiting for " << n << " completions: " << (r ? "" : r.error().what);
    return r ? *r : std::vector<Wc>{};
  }

  Status post(Side& s, const SendWr& wr) { return s.qp->postSend(std::span<const SendWr>(&wr, 1)); }
  Status postRecv(Side& s, uint64_t id, const std::vector<Sge>& sges) {
    RecvWr r;
    r.wr_id = id;
    r.sg_list = sges;
    return s.qp->postRecv(std::span<const RecvWr>(&r, 1));
  }

  // Where verbs differ by transport (documented in docs/rdma.md): an iWARP device (siw) reports a
  // remote error as a Terminate followed by flushes; InfiniBand/RoCE report the error on the WR.
  bool soft_ = false, iwarp_ = false;
  bool remoteErrorOk(WcStatus st, WcStatus ib_status) const {
    if (st == ib_status) return true;
    return !soft_ && iwarp_ && st == WcStatus::kWrFlushErr;
  }
  Provider* provider_ = nullptr;
  std::string addr_;
  int port_ = 0;
  int counter_ = 0;
  std::shared_ptr<CmChannel> sch_, cch_;
  std::shared_ptr<CmId> listener_;
  CmEvent last_request_, last_established_;
};

constexpr uint32_t kAll = kAccessLocalWrite | kAccessRemoteWrite | kAccessRemoteRead;

TEST_P(Conformance, DeviceAttributesAndPort) {
  auto devs = provider_->devices();
  ASSERT_FALSE(devs.empty());
  DeviceAttr a = devs[0]->attr();
  EXPECT_FALSE(a.name.empty());
  EXPECT_GT(a.max_qp_wr, 0u);
  EXPECT_GT(a.max_send_sge, 0u);
  EXPECT_GT(a.max_cqe, 0u);
  auto port = devs[0]->queryPort(1);
  ASSERT_TRUE(port);
  EXPECT_FALSE(port->state.empty());
}

TEST_P(Conformance, SendRecvOrderingAndContent) {
  listen();
  Side c, s;
  std::vector<Buf> rbufs;
  connectPair(c, s, {}, {}, [&](Side& srv) {
    for (int i = 0; i < 100; i++) {
      rbufs.push_back(buffer(srv, 4096, kAccessLocalWrite));
      ASSERT_TRUE(postRecv(srv, 1000 + i, {rbufs.back().sge()}));
    }
  });
  Buf sb = buffer(c, 100 * 4096, 0);
  for (size_t i = 0; i < sb.mem.size(); i++) sb.mem[i] = uint8_t(i * 7 + i / 4096);
  for (int i = 0; i < 100; i++) {
    SendWr wr;
    wr.wr_id = i;
    wr.opcode = WrOpcode::kSend;
    wr.flags = (i % 10 == 9) ? uint32_t(kSendSignaled) : 0u;  // unsignaled ones produce no completion
    Sge sg = sb.sge(size_t(i) * 4096, size_t(1 + i * 37 % 4096));
    wr.sg_list = std::span<const Sge>(&sg, 1);
    ASSERT_TRUE(post(c, wr));
  }
  auto rw = wait(s, 100);
  ASSERT_EQ(rw.size(), 100u);
  for (int i = 0; i < 100; i++) {
    EXPECT_EQ(rw[i].status, WcStatus::kSuccess);
    EXPECT_EQ(rw[i].opcode, WcOpcode::kRecv);
    EXPECT_EQ(rw[i].wr_id, uint64_t(1000 + i)) << "receives complete in order";
    EXPECT_EQ(rw[i].byte_len, uint32_t(1 + i * 37 % 4096));
    EXPECT_EQ(0, std::memcmp(rbufs[i].mem.data(), sb.mem.data() + i * 4096, rw[i].byte_len));
  }
  auto sw = wait(c, 10);
  ASSERT_EQ(sw.size(), 10u);
  for (int k = 0; k < 10; k++) {
    EXPECT_EQ(sw[k].wr_id, uint64_t(k * 10 + 9)) << "only signaled sends complete, in order";
    EXPECT_EQ(sw[k].status, WcStatus::kSuccess);
    EXPECT_EQ(sw[k].opcode, WcOpcode::kSend);
  }
}

TEST_P(Conformance, InlineAndSolicitedAndCqEvent) {
  listen();
  Side c, s;
  Buf rb;
  connectPair(c, s, {}, {}, [&](Side& srv) {
    rb = buffer(srv, 8192, kAccessLocalWrite);
    ASSERT_TRUE(postRecv(srv, 1, {rb.sge(0, 4096)}));
    ASSERT_TRUE(postRecv(srv, 2, {rb.sge(4096, 4096)}));
  });
  ASSERT_TRUE(s.cq->reqNotify(true));
  char msg[] = "inline hello";
  Sge sg{uint64_t(reinterpret_cast<uintptr_t>(msg)), sizeof msg, 0};
  SendWr wr;
  wr.wr_id = 1;
  wr.flags = kSendSignaled | kSendInline;
  wr.sg_list = std::span<const Sge>(&sg, 1);
  ASSERT_TRUE(post(c, wr));
  std::memset(msg, 'X', sizeof msg - 1);  // inline data was copied at post time
  auto w1 = wait(c, 1);
  ASSERT_EQ(w1.size(), 1u);
  EXPECT_EQ(w1[0].status, WcStatus::kSuccess);
  // An unsolicited receive does not fire a solicited-only notification.
  for (int i = 0; i < 50; i++) {
    Wc tmp[1];
    auto n = s.cq->poll(tmp);
    ASSERT_TRUE(n);
    if (*n) {
      EXPECT_EQ(tmp[0].wr_id, 1u);
      break;
    }
    usleep(10000);
  }
  pollfd p{s.cq->fd(), POLLIN, 0};
  EXPECT_EQ(0, ::poll(&p, 1, 50)) << "no event for an unsolicited send";
  EXPECT_EQ(0, std::memcmp(rb.mem.data(), "inline hello", 13));
  wr.wr_id = 2;
  wr.flags = kSendSignaled | kSendSolicited;
  Buf sb = buffer(c, 64, 0);
  std::memcpy(sb.mem.data(), "solicited", 10);
  Sge ssg = sb.sge(0, 10);
  wr.sg_list = std::span<const Sge>(&ssg, 1);
  ASSERT_TRUE(post(c, wr));
  // Observed on Linux 6.1 siw: a solicited-only armed CQ is never signalled for a receive (the
  // kernel checks the completion's flags, not the incoming Send with SE); everywhere else it is.
  bool siw_like = !soft_ && iwarp_;
  if (!siw_like) {
    EXPECT_EQ(1, ::poll(&p, 1, kTimeout)) << "solicited event fires";
    ASSERT_TRUE(s.cq->consumeEvent());
  }
  auto w2 = wait(s, 1);
  ASSERT_EQ(w2.size(), 1u);
  EXPECT_EQ(w2[0].wr_id, 2u);
  wait(c, 1);
  // Armed for any completion, the fd fires on the next receive (every provider).
  (void)s.cq->consumeEvent();
  ASSERT_TRUE(postRecv(s, 3, {rb.sge(0, 4096)}));
  ASSERT_TRUE(s.cq->reqNotify(false));
  wr.wr_id = 3;
  wr.flags = kSendSignaled;
  ASSERT_TRUE(post(c, wr));
  EXPECT_EQ(1, ::poll(&p, 1, kTimeout)) << "completion event fires";
  ASSERT_TRUE(s.cq->consumeEvent());
  auto w3 = wait(s, 1);
  ASSERT_EQ(w3.size(), 1u);
  EXPECT_EQ(w3[0].wr_id, 3u);
  wait(c, 1);
}

// A caller that waits on the provider itself (waitProgress, where supported) receives what
// arrives; once it stops waiting, the provider takes the connection's input back (the soft
// provider after its owner grace), so a consumer that waits on the CQ's fd still gets the next
// message. Alternated a few times, with the data sent while nobody waits at all.
TEST_P(Conformance, WaitProgressThenTheProviderTakesInputBack) {
  listen();
  Side c, s;
  std::vector<Buf> rbufs;
  constexpr int kRounds = 8;
  connectPair(c, s, {}, {}, [&](Side& srv) {
    for (int i = 0; i < 2 * kRounds; i++) {
      rbufs.push_back(buffer(srv, 64, kAccessLocalWrite));
      ASSERT_TRUE(postRecv(srv, 1000 + i, {rbufs.back().sge()}));
    }
  });
  Buf sb = buffer(c, 64, 0);
  auto send = [&](uint64_t id) {
    SendWr wr;
    wr.wr_id = id;
    wr.opcode = WrOpcode::kSend;
    Sge sg = sb.sge(0, 8);
    wr.sg_list = std::span<const Sge>(&sg, 1);
    return post(c, wr);
  };
  uint64_t next = 1000;
  for (int round = 0; round < kRounds; round++) {
    // 1. The caller waits on the provider; the message is sent a moment later.
    std::thread later([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      EXPECT_TRUE(send(2 * round));
    });
    Wc wc[4];
    int got = 0;
    bool supported = true;
    for (int i = 0; i < 50 && got == 0; i++) {
      if (!s.cq->waitProgress(200, -1)) {
        supported = false;
        break;
      }
      auto n = s.cq->poll(wc);
      ASSERT_TRUE(n);
      got += *n;
    }
    later.join();
    if (!supported) {
      if (soft_) FAIL() << "the soft provider lets callers wait on the socket";
      auto rw = wait(s, 1);
      ASSERT_EQ(rw.size(), 1u);
      wc[0] = rw[0];
      got = 1;
    }
    ASSERT_EQ(got, 1) << "round " << round;
    EXPECT_EQ(wc[0].wr_id, next++);
    EXPECT_EQ(wc[0].status, WcStatus::kSuccess);
    // 2. Nobody waits on the provider now (within the grace, then past it): the next message
    //    completes on the CQ all the same.
    ASSERT_TRUE(send(2 * round + 1));
    auto rw = wait(s, 1);
    ASSERT_EQ(rw.size(), 1u) << "round " << round;
    EXPECT_EQ(rw[0].wr_id, next++);
    if (round % 2) std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
}

TEST_P(Conformance, RdmaWriteAndReadLargeScatterLists) {
  listen();
  Side c, s;
  connectPair(c, s);
  constexpr size_t kN = 16, kSeg = 64 * 1024 + 13;
  // Sixteen separately registered source buffers -> one remote buffer.
  std::vector<Buf> src;
  std::vector<Sge> sges;
  for (size_t i = 0; i < kN; i++) {
    src.push_back(buffer(c, kSeg, kAccessLocalWrite));
    for (size_t k = 0; k < kSeg; k++) src[i].mem[k] = uint8_t(k * 31 + i * 17 + 1);
  }
  for (auto& b : src) sges.push_back(b.sge());
  Buf remote = buffer(s, kN * kSeg + 100, kAll, 0xEE);
  SendWr wr;
  wr.wr_id = 7;
  wr.opcode = WrOpcode::kRdmaWrite;
  wr.sg_list = sges;
  wr.remote_addr = remote.addr(50);
  wr.rkey = remote.mr->rkey();
  ASSERT_TRUE(post(c, wr));
  // A Read issued after the Write observes it (RDMA ordering on one QP).
  Buf back = buffer(c, kN * kSeg, kAccessLocalWrite);
  std::vector<Sge> rs;
  for (size_t i = 0; i < kN; i++) rs.push_back(back.sge(i * kSeg, kSeg));
  SendWr rd;
  rd.wr_id = 8;
  rd.opcode = WrOpcode::kRdmaRead;
  rd.sg_list = rs;
  rd.remote_addr = remote.addr(50);
  rd.rkey = remote.mr->rkey();
  ASSERT_TRUE(post(c, rd));
  auto w = wait(c, 2);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].wr_id, 7u);
  EXPECT_EQ(w[0].opcode, WcOpcode::kRdmaWrite);
  EXPECT_EQ(w[0].status, WcStatus::kSuccess);
  EXPECT_EQ(w[1].wr_id, 8u);
  EXPECT_EQ(w[1].opcode, WcOpcode::kRdmaRead);
  EXPECT_EQ(w[1].status, WcStatus::kSuccess);
  for (size_t i = 0; i < kN; i++) {
    ASSERT_EQ(0, std::memcmp(remote.mem.data() + 50 + i * kSeg, src[i].mem.data(), kSeg)) << i;
    ASSERT_EQ(0, std::memcmp(back.mem.data() + i * kSeg, src[i].mem.data(), kSeg)) << i;
  }
  EXPECT_EQ(remote.mem[49], 0xEE);
  EXPECT_EQ(remote.mem[50 + kN * kSeg], 0xEE);
}

TEST_P(Conformance, ManyOutstandingReadsRespectOrd) {
  listen();
  Side c, s;
  ConnParam p;
  p.initiator_depth = 2;
  p.responder_resources = 2;
  connectPair(c, s, p, p);
  Buf remote = buffer(s, 1 << 20, kAll);
  for (size_t i = 0; i < remote.mem.size(); i++) remote.mem[i] = uint8_t(i ^ (i >> 9));
  Buf local = buffer(c, 1 << 20, kAccessLocalWrite);
  std::vector<SendWr> wrs(64);
  std::vector<Sge> sg(64);
  for (int i = 0; i < 64; i++) {
    sg[i] = local.sge(size_t(i) * 16384, 16384);
    wrs[i].wr_id = i;
    wrs[i].opcode = WrOpcode::kRdmaRead;
    wrs[i].sg_list = std::span<const Sge>(&sg[i], 1);
    wrs[i].remote_addr = remote.addr(size_t(i) * 16384);
    wrs[i].rkey = remote.mr->rkey();
  }
  ASSERT_TRUE(c.qp->postSend(wrs));
  auto w = wait(c, 64);
  ASSERT_EQ(w.size(), 64u);
  for (int i = 0; i < 64; i++) {
    EXPECT_EQ(w[i].wr_id, uint64_t(i));
    EXPECT_EQ(w[i].status, WcStatus::kSuccess);
  }
  EXPECT_EQ(local.mem, remote.mem);
}

TEST_P(Conformance, FastRegistrationAndSendWithInvalidate) {
  listen();
  Side c, s;
  Buf rb;
  connectPair(c, s, {}, {}, [&](Side& srv) {
    rb = buffer(srv, 256, kAccessLocalWrite);
    ASSERT_TRUE(postRecv(srv, 1, {rb.sge()}));
  });
  // Server: a fast-registered MR over four non-adjacent pages.
  auto fr = s.pd->allocFastRegMr(16);
  if (!fr && fr.status() == NtStatus::kNotSupported) GTEST_SKIP() << "no fast registration";
  ASSERT_TRUE(fr);
  std::shared_ptr<MemoryRegion> mr = *fr;
  std::vector<uint8_t> backing(16 * 4096 + 4096, 0);
  uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(backing.data()) + 4095) &
                                             ~uintptr_t(4095));
  // Register it as the plain MR too, as verbs needs the pages pinned by registration of the iova.
  std::vector<uint64_t> pages = {uint64_t(reinterpret_cast<uintptr_t>(base + 8 * 4096)),
                                 uint64_t(reinterpret_cast<uintptr_t>(base + 2 * 4096)),
                                 uint64_t(reinterpret_cast<uintptr_t>(base + 12 * 4096)),
                                 uint64_t(reinterpret_cast<uintptr_t>(base + 5 * 4096))};
  SendWr reg;
  reg.wr_id = 50;
  reg.opcode = WrOpcode::kRegMr;
  reg.mr = mr.get();
  reg.pages = pages;
  reg.page_size = 4096;
  reg.iova = 0x10000000ULL + 100;  // starts 100 bytes into the first page
  reg.length = 4 * 4096 - 100;
  reg.access = kAll;
  reg.key = uint8_t((mr->rkey() + 1) & 0xFF);
  ASSERT_TRUE(post(s, reg));
  auto rw = wait(s, 1);
  ASSERT_EQ(rw.size(), 1u);
  ASSERT_EQ(rw[0].status, WcStatus::kSuccess);
  EXPECT_EQ(rw[0].opcode, WcOpcode::kRegMr);
  uint32_t rkey = mr->rkey();
  EXPECT_EQ(rkey & 0xFF, reg.key);
  // Client writes 6000 bytes at iova+4000: crosses into the second and third pages.
  Buf src = buffer(c, 6000, kAccessLocalWrite);
  for (size_t i = 0; i < 6000; i++) src.mem[i] = uint8_t(i * 13 + 5);
  SendWr w;
  w.wr_id = 1;
  w.opcode = WrOpcode::kRdmaWrite;
  Sge sg = src.sge();
  w.sg_list = std::span<const Sge>(&sg, 1);
  w.remote_addr = reg.iova + 4000;
  w.rkey = rkey;
  ASSERT_TRUE(post(c, w));
  // Then Send with Invalidate of that rkey.
  char note[] = "done";
  Buf nb = buffer(c, 8, 0);
  std::memcpy(nb.mem.data(), note, 5);
  SendWr si;
  si.wr_id = 2;
  si.opcode = WrOpcode::kSendWithInv;
  si.invalidate_rkey = rkey;
  Sge nsg = nb.sge(0, 5);
  si.sg_list = std::span<const Sge>(&nsg, 1);
  ASSERT_TRUE(post(c, si));
  auto cw = wait(c, 2);
  ASSERT_EQ(cw.size(), 2u);
  auto sr = wait(s, 1);
  ASSERT_EQ(sr.size(), 1u);
  EXPECT_EQ(sr[0].status, WcStatus::kSuccess);
  EXPECT_TRUE(sr[0].flags & kWcWithInv);
  EXPECT_EQ(sr[0].invalidated_rkey, rkey);
  // Check placement through the page list: iova offset o lives at pages[(o+100)/4096].
  for (size_t i = 0; i < 6000; i++) {
    size_t o = 4000 + i + 100;
    uint8_t* p = reinterpret_cast<uint8_t*>(pages[o / 4096]) + o % 4096;
    ASSERT_EQ(*p, src.mem[i]) << i;
  }
  // The invalidated key now fails: a Write to it and a Read after it report a remote access error.
  Buf back = buffer(c, 64, kAccessLocalWrite);
  w.wr_id = 3;
  ASSERT_TRUE(post(c, w));
  SendWr rd;
  rd.wr_id = 4;
  rd.opcode = WrOpcode::kRdmaRead;
  Sge bsg = back.sge();
  rd.sg_list = std::span<const Sge>(&bsg, 1);
  rd.remote_addr = reg.iova;
  rd.rkey = rkey;
  ASSERT_TRUE(post(c, rd));
  auto ew = wait(c, 2);
  ASSERT_EQ(ew.size(), 2u);
  WcStatus first_err = WcStatus::kSuccess;
  for (auto& x : ew)
    if (x.status != WcStatus::kSuccess) {
      first_err = x.status;
      break;
    }
  EXPECT_EQ(first_err, WcStatus::kRemAccessErr);
  EXPECT_NE(ew[1].status, WcStatus::kSuccess) << "the read after the failure does not succeed";
}

// Remote-access violations: each case on a fresh connection (the QP goes to error).
struct Violation {
  const char* name;
  int kind;  // 0 wrong rkey (write), 1 read out of bounds, 2 write without remote-write access
};

TEST_P(Conformance, RemoteAccessViolations) {
  for (int kind = 0; kind < 3; kind++) {
    SCOPED_TRACE(kind);
    // Observed on Linux 6.1 siw: a Write into a region without remote-write access neither
    // completes nor terminates (docs/rdma.md); the case runs on every other provider.
    if (kind == 2 && !soft_ && iwarp_) continue;
    // Fresh channels: on InfiniBand/RoCE the previous case's DISCONNECTED arrives late.
    listener_.reset();
    sch_ = *provider_->createCmChannel();
    cch_ = *provider_->createCmChannel();
    listen();
    Side c, s;
    connectPair(c, s);
    Buf remote = buffer(s, 4096, kind == 2 ? (kAccessLocalWrite | kAccessRemoteRead) : kAll);
    Buf local = buffer(c, 8192, kAccessLocalWrite);
    SendWr a;
    a.wr_id = 1;
    Sge sg = local.sge(0, 4096);
    a.sg_list = std::span<const Sge>(&sg, 1);
    a.rkey = remote.mr->rkey();
    a.remote_addr = remote.addr();
    if (kind == 0) {
      a.opcode = WrOpcode::kRdmaWrite;
      a.rkey ^= 0x5A00;  // another index
    } else if (kind == 1) {
      a.opcode = WrOpcode::kRdmaRead;
      a.remote_addr = remote.addr(1);  // one byte past the end
    } else {
      a.opcode = WrOpcode::kRdmaWrite;
    }
    ASSERT_TRUE(post(c, a));
    SendWr b;  // a good read after it
    b.wr_id = 2;
    b.opcode = WrOpcode::kRdmaRead;
    Sge sg2 = local.sge(4096, 16);
    b.sg_list = std::span<const Sge>(&sg2, 1);
    b.rkey = remote.mr->rkey();
    b.remote_addr = remote.addr();
    ASSERT_TRUE(post(c, b));
    auto w = wait(c, 2);
    ASSERT_EQ(w.size(), 2u);
    WcStatus first_err = WcStatus::kSuccess;
    for (auto& x : w)
      if (x.status != WcStatus::kSuccess) {
        first_err = x.status;
        break;
      }
    EXPECT_TRUE(remoteErrorOk(first_err, WcStatus::kRemAccessErr)) << wcStatusName(first_err);
    EXPECT_NE(w[1].status, WcStatus::kSuccess);
    if (iwarp_) {
      // iWARP: the Terminate tears the connection down; both sides see it.
      auto d1 = expectEvent(*cch_, CmEventType::kDisconnected, kTimeout);
      EXPECT_TRUE(d1) << (d1 ? "" : d1.error().what);
      auto d2 = expectEvent(*sch_, CmEventType::kDisconnected, kTimeout);
      EXPECT_TRUE(d2) << (d2 ? "" : d2.error().what);
    }
    if (soft_) {
      EXPECT_EQ(c.qp->state(), QpState::kError);
    }
  }
}

TEST_P(Conformance, ReceiveNotReady) {
  listen();
  Side c, s;
  connectPair(c, s);
  Buf local = buffer(c, 4096, kAccessLocalWrite);
  Buf remote = buffer(s, 4096, kAll);
  SendWr snd;
  snd.wr_id = 1;
  Sge sg = local.sge(0, 100);
  snd.sg_list = std::span<const Sge>(&sg, 1);
  ASSERT_TRUE(post(c, snd));  // no receive posted at the server
  SendWr rd;
  rd.wr_id = 2;
  rd.opcode = WrOpcode::kRdmaRead;
  Sge sg2 = local.sge(1024, 16);
  rd.sg_list = std::span<const Sge>(&sg2, 1);
  rd.remote_addr = remote.addr();
  rd.rkey = remote.mr->rkey();
  ASSERT_TRUE(post(c, rd));
  auto w = wait(c, 2);
  ASSERT_EQ(w.size(), 2u);
  WcStatus first_err = WcStatus::kSuccess;
  for (auto& x : w)
    if (x.status != WcStatus::kSuccess) {
      first_err = x.status;
      break;
    }
  // InfiniBand/RoCE retry and report RNR_RETRY_EXC; iWARP terminates (DDP "no buffer"), which the
  // soft provider reports the same way.
  EXPECT_TRUE(remoteErrorOk(first_err, WcStatus::kRnrRetryExcErr)) << wcStatusName(first_err);
  EXPECT_NE(w[1].status, WcStatus::kSuccess);
}

TEST_P(Conformance, DisconnectWithWorkOutstanding) {
  listen();
  Side c, s;
  Buf sr, cr;
  connectPair(c, s, {}, {}, [&](Side& srv) {
    sr = buffer(srv, 64 * 1024, kAccessLocalWrite);
    for (int i = 0; i < 8; i++) ASSERT_TRUE(postRecv(srv, 100 + i, {sr.sge(i * 8192, 8192)}));
  });
  cr = buffer(c, 8192, kAccessLocalWrite);
  for (int i = 0; i < 4; i++) ASSERT_TRUE(postRecv(c, 200 + i, {cr.sge(i * 2048, 2048)}));
  // One message goes through, then the client disconnects.
  Buf m = buffer(c, 64, 0);
  SendWr snd;
  snd.wr_id = 1;
  Sge sg = m.sge();
  snd.sg_list = std::span<const Sge>(&sg, 1);
  ASSERT_TRUE(post(c, snd));
  auto w = wait(s, 1);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].wr_id, 100u);
  wait(c, 1);
  ASSERT_TRUE(c.id->disconnect());
  auto d2 = expectEvent(*sch_, CmEventType::kDisconnected, 3 * kTimeout);
  EXPECT_TRUE(d2) << (d2 ? "" : d2.error().what);
  (void)s.id->disconnect();  // as applications do on DISCONNECTED (moves an IB QP to error)
  auto d1 = expectEvent(*cch_, CmEventType::kDisconnected, 3 * kTimeout);
  EXPECT_TRUE(d1) << (d1 ? "" : d1.error().what);
  auto fs = wait(s, 7);
  ASSERT_EQ(fs.size(), 7u);
  for (int i = 0; i < 7; i++) {
    EXPECT_EQ(fs[i].status, WcStatus::kWrFlushErr);
    EXPECT_EQ(fs[i].wr_id, uint64_t(101 + i));
  }
  auto fc = wait(c, 4);
  ASSERT_EQ(fc.size(), 4u);
  for (auto& x : fc) EXPECT_EQ(x.status, WcStatus::kWrFlushErr);
  // Work posted after the disconnect completes as flushed (or, on siw, is refused at post time).
  if (post(c, snd)) {
    auto f2 = wait(c, 1);
    ASSERT_EQ(f2.size(), 1u);
    EXPECT_EQ(f2[0].status, WcStatus::kWrFlushErr);
  } else {
    EXPECT_FALSE(soft_) << "the soft provider accepts and flushes";
  }
}

TEST_P(Conformance, PrivateDataAndReject) {
  listen();
  {
    Side c, s;
    ConnParam cp, sp;
    cp.private_data = {'h', 'e', 'l', 'l', 'o'};
    sp.private_data = {'w', 'o', 'r', 'l', 'd', '!'};
    connectPair(c, s, cp, sp);
    EXPECT_EQ(last_request_.private_data.size() >= 5, true);
    EXPECT_EQ(0, std::memcmp(last_request_.private_data.data(), "hello", 5));
    ASSERT_GE(last_established_.private_data.size(), 6u);
    EXPECT_EQ(0, std::memcmp(last_established_.private_data.data(), "world!", 6));
  }
  // A rejected connection reports REJECTED with the reject's private data.
  Side c;
  auto id = cch_->createId();
  ASSERT_TRUE(id);
  c.id = *id;
  ASSERT_TRUE(c.id->resolve(addr_ + ":" + std::to_string(port_), 2000));
  ASSERT_TRUE(expectEvent(*cch_, CmEventType::kAddrResolved, kTimeout));
  makeResources(c, c.id->device());
  ASSERT_TRUE(c.id->connect({}));
  auto req = expectEvent(*sch_, CmEventType::kConnectRequest, kTimeout);
  ASSERT_TRUE(req);
  const uint8_t why[] = {'n', 'o'};
  ASSERT_TRUE(req->id->reject(ByteView(why, 2)));
  auto rej = cch_->waitEvent(kTimeout);
  ASSERT_TRUE(rej);
  EXPECT_EQ(rej->type, CmEventType::kRejected) << cmEventName(rej->type);
  if (GetParam() == "soft") {
    ASSERT_GE(rej->private_data.size(), 2u);
    EXPECT_EQ(0, std::memcmp(rej->private_data.data(), "no", 2));
  }
}

TEST_P(Conformance, ConnectToNothingFails) {
  auto id = cch_->createId();
  ASSERT_TRUE(id);
  ASSERT_TRUE((*id)->resolve(addr_ + ":1", 2000));
  auto ev = cch_->waitEvent(kTimeout);
  ASSERT_TRUE(ev);
  // Some providers fail already at resolve: that is the failure this test expects.
  if (ev->type != CmEventType::kAddrResolved) {
    EXPECT_TRUE(ev->type == CmEventType::kAddrError || ev->type == CmEventType::kUnreachable)
        << cmEventName(ev->type);
    return;
  }
  Side c;
  c.id = *id;
  makeResources(c, c.id->device());
  if (!c.id->connect({})) return;  // siw connects synchronously and fails right here: expected
  auto e2 = cch_->waitEvent(kTimeout);
  ASSERT_TRUE(e2);
  EXPECT_TRUE(e2->type == CmEventType::kRejected || e2->type == CmEventType::kUnreachable ||
              e2->type == CmEventType::kConnectError)
      << cmEventName(e2->type);
}

TEST_P(Conformance, ManyQpsAtOnce) {
  listen();
  constexpr int kQps = 32, kRounds = 20;
  std::vector<Side> cs(kQps), ss(kQps);
  std::vector<Buf> cb(kQps), sb(kQps);
  for (int q = 0; q < kQps; q++) {
    connectPair(cs[q], ss[q], {}, {}, [&](Side& srv) {
      sb[q] = buffer(srv, kRounds * 256, kAccessLocalWrite);
      for (int r = 0; r < kRounds; r++) ASSERT_TRUE(postRecv(srv, r, {sb[q].sge(r * 256, 256)}));
    });
    if (HasFatalFailure()) return;
    cb[q] = buffer(cs[q], 256, 0);
  }
  // Interleave: every round, every QP sends one message.
  for (int r = 0; r < kRounds; r++)
    for (int q = 0; q < kQps; q++) {
      std::snprintf(reinterpret_cast<char*>(cb[q].mem.data()), 256, "qp %d round %d", q, r);
      SendWr wr;
      wr.wr_id = uint64_t(q) << 32 | r;
      wr.flags = kSendSignaled | kSendInline;
      Sge sg = cb[q].sge(0, 64);
      wr.sg_list = std::span<const Sge>(&sg, 1);
      ASSERT_TRUE(post(cs[q], wr));
    }
  for (int q = 0; q < kQps; q++) {
    auto w = wait(ss[q], kRounds);
    ASSERT_EQ(w.size(), size_t(kRounds));
    for (int r = 0; r < kRounds; r++) {
      EXPECT_EQ(w[r].status, WcStatus::kSuccess);
      EXPECT_EQ(w[r].qp_num, ss[q].qp->qpNum());
      char want[64];
      std::snprintf(want, sizeof want, "qp %d round %d", q, r);
      EXPECT_STREQ(reinterpret_cast<char*>(sb[q].mem.data() + r * 256), want);
    }
    auto cw = wait(cs[q], kRounds);
    EXPECT_EQ(cw.size(), size_t(kRounds));
  }
}

TEST_P(Conformance, PostBeyondQueueDepthFails) {
  listen();
  Side c, s;
  connectPair(c, s);
  Buf b = buffer(c, 64, kAccessLocalWrite);
  size_t depth = c.qp->caps().max_recv_wr;
  size_t ok_count = 0;
  bool failed = false;
  // Providers may round queues up (rxe does); at least the granted depth fits, and posting never
  // succeeds without bound.
  for (size_t i = 0; i < 2 * depth + 64 && !failed; i++) {
    if (postRecv(c, i, {b.sge()})) ok_count++;
    else failed = true;
  }
  EXPECT_TRUE(failed);
  EXPECT_GE(ok_count, depth);
  if (soft_) {
    EXPECT_EQ(ok_count, depth);
  }
}

std::vector<std::string> providerNames() {
  std::vector<std::string> v = {"soft"};
  if (findProvider("verbs")) v.push_back("verbs");
  return v;
}

INSTANTIATE_TEST_SUITE_P(Providers, Conformance, ::testing::ValuesIn(providerNames()),
                         [](const auto& info) { return info.param; });

TEST(RdmaApi, BaseOpsReportNotSupported) {
  // rdma-core's dummy_ops: a provider that lacks a verb reports "not supported".
  struct Bare : ProtectionDomain {};
  Bare pd;
  auto r = pd.regMr(nullptr, 0, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status(), NtStatus::kNotSupported);
  struct BareQp : QueuePair {};
  BareQp qp;
  SendWr wr;
  EXPECT_EQ(qp.postSend(std::span<const SendWr>(&wr, 1)).status(), NtStatus::kNotSupported);
  struct BareCq : CompletionQueue {};
  BareCq cq;
  Wc wc[1];
  EXPECT_EQ(cq.poll(wc).status(), NtStatus::kNotSupported);
}

}  // namespace
}  // namespace sd::rdma
