// Sans-I/O tests of the iWARP endpoint: two IwarpStreams wired back to back in memory (with
// optional fragmentation of the byte stream), no sockets or threads.
#include "rdma/soft/iwarp_stream.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "rdma/soft/crc32c.h"

namespace sd::rdma::soft {
namespace {

struct Mr {
  std::vector<uint8_t> mem;
  uint32_t stag;
  Sge sge(size_t off, size_t len) const {
    return Sge{uint64_t(reinterpret_cast<uintptr_t>(mem.data() + off)), uint32_t(len), stag};
  }
  uint64_t addr(size_t off = 0) const { return reinterpret_cast<uintptr_t>(mem.data() + off); }
};

class Wire {
 public:
  explicit Wire(StreamConfig ic = {}, StreamConfig rc = {}) {
    ic.initiator = true;
    rc.initiator = false;
    a = std::make_unique<IwarpStream>(&mem, ic);
    b = std::make_unique<IwarpStream>(&mem, rc);
    QpBinding qa;
    qa.pd = 1;
    qa.qp_num = 10;
    qa.caps.max_send_wr = qa.caps.max_recv_wr = 1024;
    qa.caps.max_send_sge = qa.caps.max_recv_sge = 16;
    qa.caps.max_inline_data = 64;
    a->bindQp(qa);
    QpBinding qb = qa;
    qb.qp_num = 20;
    b->bindQp(qb);
  }
  Mr mr(size_t n, uint32_t access, uint8_t fill = 0) {
    Mr m;
    m.mem.assign(n, fill);
    m.stag = mem.addContiguous(1, m.mem.data(), n, access);
    return m;
  }
  // Moves bytes both ways until quiet. `chunk` limits each delivery (fragmentation); `direct`
  // reads with the stream's receive plan (rxPlan) like the provider shell.
  void run(size_t chunk = SIZE_MAX, bool direct = false) {
    for (int guard = 0; guard < 100000; guard++) {
      bool ab = move(*a, *b, a_to_b, chunk, direct);
      bool ba = move(*b, *a, b_to_a, chunk, direct);
      bool moved = ab || ba;
      if (!moved) return;
    }
    FAIL() << "wire did not settle";
  }
  bool move(IwarpStream& from, IwarpStream& to, Bytes& log, size_t chunk, bool direct) {
    TxSlice sl[64];
    size_t n = from.txGather(sl, 64);
    if (n == 0) return false;
    Bytes bytes;
    for (size_t i = 0; i < n; i++) bytes.insert(bytes.end(), sl[i].data, sl[i].data + sl[i].len);
    from.txConsumed(bytes.size());
    log.insert(log.end(), bytes.begin(), bytes.end());
    size_t off = 0;
    while (off < bytes.size()) {
      if (direct) {
        // As the provider shell reads: one readv into the stream's plan, filled in order.
        RxPiece plan[16];
        size_t cnt = to.rxPlan(scratch, plan, 16);
        size_t want = std::min(chunk, bytes.size() - off), got = 0;
        for (size_t i = 0; i < cnt && got < want; i++) {
          size_t k = std::min(plan[i].len, want - got);
          std::memcpy(plan[i].data, bytes.data() + off + got, k);
          got += k;
        }
        to.rxPlanDone(plan, cnt, got);
        off += got;
        continue;
      }
      size_t k = std::min(chunk, bytes.size() - off);
      to.rxBytes(ByteView(bytes.data() + off, k));
      off += k;
    }
    return true;
  }
  void connect(MpaParams ap = {}, MpaParams bp = {}) {
    a->start(ap);
    run();
    auto eb = b->takeEvents();
    ASSERT_TRUE(eb.request_received);
    ASSERT_TRUE(b->accept(bp));
    run();
    auto ea = a->takeEvents();
    ASSERT_TRUE(ea.established);
    ASSERT_EQ(a->state(), IwarpStream::State::kRts);
  }
  MemTable mem;
  std::unique_ptr<IwarpStream> a, b;
  Bytes a_to_b, b_to_a;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(65536);
};

SendWr sendWr(uint64_t id, const std::vector<Sge>& sg, WrOpcode op = WrOpcode::kSend) {
  SendWr w;
  w.wr_id = id;
  w.opcode = op;
  w.sg_list = sg;
  return w;
}

// An RDMA Read of `remote` (from its start) into `sg`.
SendWr readWr(uint64_t id, const std::vector<Sge>& sg, const Mr& remote) {
  SendWr w = sendWr(id, sg, WrOpcode::kRdmaRead);
  w.remote_addr = remote.addr();
  w.rkey = remote.stag;
  return w;
}

TEST(IwarpStream, MpaRequestGoldenBytes) {
  Wire w;
  MpaParams p;
  p.ird = 32;
  p.ord = 1;
  p.private_data = {1, 2, 3, 4, 5, 6, 7, 8};
  w.a->start(p);
  TxSlice sl[4];
  size_t n = w.a->txGather(sl, 4);
  ASSERT_EQ(n, 1u);
  Bytes got(sl[0].data, sl[0].data + sl[0].len);
  // "MPA ID Req Frame", flags 0x10 (enhanced), rev 2, PD_Length 12, IRD 32, ORD 1, ULP data.
  EXPECT_EQ(toHex(got),
            "4d504120494420526571204672616d65" "1002000c" "00200001" "0102030405060708");
}

TEST(IwarpStream, HandshakeExchangesPrivateDataAndIrdOrd) {
  for (uint8_t rev : {1, 2}) {
    StreamConfig c;
    c.mpa_revision = rev;
    Wire w(c, c);
    MpaParams ap, bp;
    ap.private_data = {'h', 'i'};
    ap.ird = 4;
    ap.ord = 8;
    bp.private_data = {'o', 'k', '!'};
    bp.ird = 16;
    bp.ord = 2;
    w.connect(ap, bp);
    EXPECT_EQ(w.b->peerFrame().private_data, Bytes({'h', 'i'}));
    EXPECT_EQ(w.a->peerFrame().private_data, Bytes({'o', 'k', '!'}));
    if (rev == 2) {
      EXPECT_EQ(w.b->ird(), 16);  // covers the initiator's ORD 8
      EXPECT_EQ(w.b->ord(), 2);   // at most the initiator's IRD 4
      EXPECT_EQ(w.a->ord(), 8);   // min(our ORD 8, responder IRD 16)
    }
  }
}

TEST(IwarpStream, SendRecvAcrossFragmentationWithAndWithoutCrc) {
  for (bool crc : {false, true})
    for (size_t chunk : {size_t(1), size_t(7), size_t(4096), SIZE_MAX})
      for (bool direct : {false, true}) {
        SCOPED_TRACE(testing::Message() << crc << " " << chunk << " " << direct);
        StreamConfig c;
        c.crc = crc;
        c.max_payload = 1000;
        Wire w(c, StreamConfig{});
        w.connect();
        EXPECT_EQ(w.b->crcEnabled(), crc);
        Mr src = w.mr(5000, 0);
        for (size_t i = 0; i < 5000; i++) src.mem[i] = uint8_t(i * 3);
        Mr dst = w.mr(6000, kAccessLocalWrite);
        std::vector<Sge> rs = {dst.sge(0, 1000), dst.sge(3000, 3000)};
        RecvWr r;
        r.wr_id = 5;
        r.sg_list = rs;
        ASSERT_TRUE(w.b->postRecv(r));
        std::vector<Sge> ss = {src.sge(0, 2500), src.sge(2500, 1500)};
        ASSERT_TRUE(w.a->postSend(sendWr(1, ss)));
        w.run(chunk, direct);
        auto eb = w.b->takeEvents();
        ASSERT_EQ(eb.rq.size(), 1u);
        EXPECT_EQ(eb.rq[0].status, WcStatus::kSuccess);
        EXPECT_EQ(eb.rq[0].byte_len, 4000u);
        EXPECT_EQ(0, std::memcmp(dst.mem.data(), src.mem.data(), 1000));
        EXPECT_EQ(0, std::memcmp(dst.mem.data() + 3000, src.mem.data() + 1000, 3000));
        auto ea = w.a->takeEvents();
        ASSERT_EQ(ea.sq.size(), 1u);
        EXPECT_EQ(ea.sq[0].wr_id, 1u);
      }
}

TEST(IwarpStream, CrcErrorTerminates) {
  StreamConfig c;
  c.crc = true;
  Wire w(c, c);
  w.connect();
  Mr src = w.mr(100, 0, 0x41);
  Mr dst = w.mr(100, kAccessLocalWrite);
  std::vector<Sge> rs = {dst.sge(0, 100)};
  RecvWr r;
  r.wr_id = 1;
  r.sg_list = rs;
  ASSERT_TRUE(w.b->postRecv(r));
  std::vector<Sge> ss = {src.sge(0, 100)};
  ASSERT_TRUE(w.a->postSend(sendWr(1, ss)));
  TxSlice sl[8];
  size_t n = w.a->txGather(sl, 8);
  Bytes bytes;
  for (size_t i = 0; i < n; i++) bytes.insert(bytes.end(), sl[i].data, sl[i].data + sl[i].len);
  w.a->txConsumed(bytes.size());
  bytes[30] ^= 1;  // corrupt the payload
  w.b->rxBytes(bytes);
  auto eb = w.b->takeEvents();
  EXPECT_TRUE(eb.closed);
  ASSERT_EQ(eb.rq.size(), 1u);
  EXPECT_EQ(eb.rq[0].status, WcStatus::kWrFlushErr);
  // The Terminate goes out: LLP layer, MPA CRC error.
  n = w.b->txGather(sl, 8);
  Bytes term;
  for (size_t i = 0; i < n; i++) term.insert(term.end(), sl[i].data, sl[i].data + sl[i].len);
  ASSERT_GE(term.size(), 2 + 18 + 4u);
  EXPECT_EQ(term[2], 0x41);  // untagged, last, DDP v1
  EXPECT_EQ(term[3], 0x47);  // RDMAP v1, Terminate
  EXPECT_EQ(term[20], 0x20);  // layer LLP(2), etype 0
  EXPECT_EQ(term[21], term::kLlpCrc);
}

TEST(IwarpStream, ReceiveNotReadyTerminatesWithNoBuffer) {
  Wire w;
  w.connect();
  Mr src = w.mr(100, 0);
  Mr remote = w.mr(100, kAccessLocalWrite | kAccessRemoteRead);
  Mr sink = w.mr(100, kAccessLocalWrite);
  std::vector<Sge> ss = {src.sge(0, 10)};
  ASSERT_TRUE(w.a->postSend(sendWr(1, ss)));
  std::vector<Sge> rs = {sink.sge(0, 10)};
  SendWr rd = readWr(2, rs, remote);
  ASSERT_TRUE(w.a->postSend(rd));
  w.run();
  auto ea = w.a->takeEvents();
  ASSERT_EQ(ea.sq.size(), 2u);
  EXPECT_EQ(ea.sq[0].status, WcStatus::kSuccess);
  EXPECT_EQ(ea.sq[1].status, WcStatus::kRnrRetryExcErr);
  EXPECT_EQ(ea.sq[1].vendor_err, uint32_t(1 << 12 | 2 << 8 | term::kUNoBuffer));
  EXPECT_EQ(w.a->state(), IwarpStream::State::kError);
}

TEST(IwarpStream, ReadOfWrongKeyReportsRemoteAccess) {
  Wire w;
  w.connect();
  Mr remote = w.mr(4096, kAccessLocalWrite | kAccessRemoteRead, 7);
  Mr sink = w.mr(4096, kAccessLocalWrite);
  std::vector<Sge> rs = {sink.sge(0, 4096)};
  SendWr rd = readWr(2, rs, remote);
  ASSERT_TRUE(w.a->postSend(rd));
  w.run(3, true);
  auto ea = w.a->takeEvents();
  ASSERT_EQ(ea.sq.size(), 1u);
  EXPECT_EQ(ea.sq[0].status, WcStatus::kSuccess);
  EXPECT_EQ(sink.mem, remote.mem);
  rd.rkey = remote.stag + 1;  // wrong key byte
  ASSERT_TRUE(w.a->postSend(rd));
  w.run();
  ea = w.a->takeEvents();
  ASSERT_EQ(ea.sq.size(), 1u);
  EXPECT_EQ(ea.sq[0].status, WcStatus::kRemAccessErr);
  // The responder's terminate carried the Read Request header (R bit) for diagnosis.
  auto t = decodeTerminate(ByteView(w.b_to_a).subspan(w.b_to_a.size() - 4 - 52, 52));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->layer, TermLayer::kRdmap);
  EXPECT_EQ(t->etype, term::kRdmapRemoteProtection);
  EXPECT_EQ(t->code, term::kInvalidStag);
  EXPECT_TRUE(t->hdr_r);
}

uint8_t pattern(size_t i) { return uint8_t(i * 7 + (i >> 9)); }

// Multi-FPDU RDMA Read Responses are read with a plan that predicts the next FPDUs (rxPlan):
// whatever the FPDU size, CRC and read fragmentation, the sinks get exactly the remote bytes and
// nothing outside them is touched.
TEST(IwarpStream, ReadResponsesPlannedAcrossFpdus) {
  for (bool crc : {false, true}) {
    for (uint32_t fpdu : {1000u, 4109u, 65472u}) {
      for (size_t chunk : {size_t(7), size_t(5000), size_t(70000), SIZE_MAX}) {
        SCOPED_TRACE(testing::Message() << "crc " << crc << " fpdu " << fpdu << " chunk " << chunk);
        StreamConfig ic, rc;
        ic.crc = crc;
        rc.max_payload = fpdu;
        Wire w(ic, rc);
        w.connect();
        Mr remote = w.mr(250000, kAccessLocalWrite | kAccessRemoteRead);
        for (size_t i = 0; i < remote.mem.size(); i++) remote.mem[i] = pattern(i);
        Mr sink = w.mr(250300, kAccessLocalWrite, 0xEE);
        std::vector<Sge> s1 = {sink.sge(100, 150000)}, s2 = {sink.sge(150100, 100000)};
        SendWr r1 = sendWr(1, s1, WrOpcode::kRdmaRead), r2 = sendWr(2, s2, WrOpcode::kRdmaRead);
        r1.remote_addr = remote.addr();
        r2.remote_addr = remote.addr(150000);
        r1.rkey = r2.rkey = remote.stag;
        ASSERT_TRUE(w.a->postSend(r1));
        ASSERT_TRUE(w.a->postSend(r2));
        w.run(chunk, true);
        auto ea = w.a->takeEvents();
        ASSERT_EQ(ea.sq.size(), 2u);
        EXPECT_EQ(ea.sq[0].status, WcStatus::kSuccess);
        EXPECT_EQ(ea.sq[1].status, WcStatus::kSuccess);
        EXPECT_TRUE(std::equal(remote.mem.begin(), remote.mem.end(), sink.mem.begin() + 100));
        for (size_t i : {size_t(0), size_t(99), size_t(250100), size_t(250299)}) EXPECT_EQ(sink.mem[i], 0xEE);
      }
    }
  }
}

// The plan itself: once an FPDU's header is parsed, one read can take the rest of the response,
// each FPDU's payload straight into the sink.
TEST(IwarpStream, ReadPlanSpansTheResponsesFpdus) {
  Wire w;
  w.connect();
  constexpr size_t kLen = 3 * 65472 + 3584;
  Mr remote = w.mr(kLen, kAccessLocalWrite | kAccessRemoteRead);
  for (size_t i = 0; i < kLen; i++) remote.mem[i] = pattern(i);
  Mr sink = w.mr(kLen, kAccessLocalWrite);
  std::vector<Sge> s = {sink.sge(0, kLen)};
  SendWr rd = readWr(1, s, remote);
  ASSERT_TRUE(w.a->postSend(rd));
  ASSERT_TRUE(w.move(*w.a, *w.b, w.a_to_b, SIZE_MAX, false));  // the Read Request
  TxSlice sl[64];
  size_t n = w.b->txGather(sl, 64);
  Bytes wire;
  for (size_t i = 0; i < n; i++) wire.insert(wire.end(), sl[i].data, sl[i].data + sl[i].len);
  w.b->txConsumed(wire.size());
  ASSERT_EQ(wire.size(), kLen + 4 * (2 + kDdpTaggedHeaderLen + kMpaCrcLen));
  w.a->rxBytes(ByteView(wire.data(), 2 + kDdpTaggedHeaderLen + 1));  // header and a byte
  RxPiece plan[16];
  size_t cnt = w.a->rxPlan(w.scratch, plan, 16);
  ASSERT_EQ(cnt, 8u);  // payload, then (trailer+header, payload) x3, then the tail
  const size_t lens[] = {65471, 20, 65472, 20, 65472, 20, 3584, 64};
  size_t total = 0;
  for (size_t i = 0; i < cnt; i++) {
    EXPECT_EQ(plan[i].len, lens[i]) << i;
    EXPECT_EQ(plan[i].direct, i % 2 == 0 && i + 1 < cnt) << i;
    total += plan[i].len;
  }
  EXPECT_EQ(plan[2].data, sink.mem.data() + 65472);
  size_t at = 2 + kDdpTaggedHeaderLen + 1, got = 0;
  for (size_t i = 0; i < cnt && at + got < wire.size(); i++) {
    size_t k = std::min(plan[i].len, wire.size() - at - got);
    std::memcpy(plan[i].data, wire.data() + at + got, k);
    got += k;
  }
  EXPECT_EQ(got, total - 64 + kMpaCrcLen);  // the tail took only the last trailer
  w.a->rxPlanDone(plan, cnt, got);
  auto ea = w.a->takeEvents();
  ASSERT_EQ(ea.sq.size(), 1u);
  EXPECT_EQ(ea.sq[0].status, WcStatus::kSuccess);
  EXPECT_EQ(sink.mem, remote.mem);
}

// A peer whose FPDUs change size mid-response (here: a page-list region read page by page, the
// first page partial) defeats the prediction; the bytes are re-parsed and land where they belong.
TEST(IwarpStream, ReadResponseWithChangingFpduSizes) {
  for (size_t chunk : {size_t(3000), size_t(70000), SIZE_MAX}) {
    Wire w;
    w.connect();
    constexpr size_t kPages = 24, kPage = 4096, kFirst = 100, kLen = kPages * kPage - kFirst - 50;
    std::vector<std::vector<uint8_t>> pages(kPages, std::vector<uint8_t>(kPage));
    std::vector<uint64_t> addrs;
    Bytes want;
    for (size_t p = 0; p < kPages; p++) {
      std::vector<uint8_t>& pg = pages[kPages - 1 - p];  // pages in reverse memory order
      for (size_t i = 0; i < kPage; i++) pg[i] = pattern(p * kPage + i);
      addrs.push_back(reinterpret_cast<uintptr_t>(pg.data()));
      for (size_t i = p == 0 ? kFirst : 0; i < kPage && want.size() < kLen; i++) want.push_back(pg[i]);
    }
    uint32_t stag = w.mem.addFastReg(1);
    const uint64_t iova = 0x100000 + kFirst;
    ASSERT_EQ(w.mem.fastReg(stag, 1, addrs.data(), addrs.size(), kPage, iova, kLen,
                            kAccessLocalWrite | kAccessRemoteRead),
              MemCheck::kOk);
    Mr sink = w.mr(kLen, kAccessLocalWrite);
    std::vector<Sge> s = {sink.sge(0, kLen)};
    SendWr rd = sendWr(1, s, WrOpcode::kRdmaRead);
    rd.remote_addr = iova;
    rd.rkey = stag;
    ASSERT_TRUE(w.a->postSend(rd));
    w.run(chunk, true);
    auto ea = w.a->takeEvents();
    ASSERT_EQ(ea.sq.size(), 1u);
    EXPECT_EQ(ea.sq[0].status, WcStatus::kSuccess);
    EXPECT_EQ(sink.mem, want);
  }
}

TEST(IwarpStream, PeerToPeerRtrHoldsResponderUntilReady) {
  StreamConfig c;
  c.peer_to_peer = true;
  Wire w(c, StreamConfig{});
  w.a->start({});
  w.run();
  ASSERT_TRUE(w.b->takeEvents().request_received);
  EXPECT_TRUE(w.b->peerFrame().peer_to_peer);
  ASSERT_TRUE(w.b->accept({}));
  EXPECT_EQ(w.b->state(), IwarpStream::State::kAwaitRtr);
  w.run();
  EXPECT_EQ(w.b->state(), IwarpStream::State::kRts);
  EXPECT_TRUE(w.b->takeEvents().established);
}

// The initiator's RTR nudges (zero-length RDMA Writes after the RTR, for a responder that has
// not read the RTR yet): the responder takes them with the RTR and answers the RTR, nothing
// completes on either side, and traffic afterwards is unaffected.
TEST(IwarpStream, RtrNudgesPlaceAndCompleteNothing) {
  StreamConfig c;
  c.peer_to_peer = true;
  Wire w(c, StreamConfig{});
  EXPECT_FALSE(w.a->nudgeRtr()) << "no RTR outstanding before the MPA exchange";
  w.a->start({});
  w.run();
  ASSERT_TRUE(w.b->takeEvents().request_received);
  ASSERT_TRUE(w.b->accept({}));
  ASSERT_TRUE(w.move(*w.b, *w.a, w.b_to_a, SIZE_MAX, false));  // the reply only: A sends its RTR
  ASSERT_EQ(w.a->state(), IwarpStream::State::kAwaitRtr);
  for (int i = 0; i < 4; i++) EXPECT_TRUE(w.a->nudgeRtr());
  // RTR and the nudges reach B together, as they would from a socket it read late.
  ASSERT_TRUE(w.move(*w.a, *w.b, w.a_to_b, SIZE_MAX, false));
  EXPECT_EQ(w.b->state(), IwarpStream::State::kRts);
  w.run();
  EXPECT_EQ(w.a->state(), IwarpStream::State::kRts);
  EXPECT_FALSE(w.a->nudgeRtr()) << "ready: nothing more to nudge";
  auto ea = w.a->takeEvents();
  EXPECT_TRUE(ea.established);
  EXPECT_TRUE(ea.sq.empty()) << "an internal operation completed a work request";
  auto eb = w.b->takeEvents();
  EXPECT_TRUE(eb.established);
  EXPECT_TRUE(eb.sq.empty() && eb.rq.empty()) << "a nudge completed something at the responder";

  Mr src = w.mr(64, kAccessRemoteRead, 0x5C);
  Mr dst = w.mr(64, kAccessLocalWrite);
  std::vector<Sge> s = {dst.sge(0, 64)};
  SendWr rd = readWr(7, s, src);
  ASSERT_TRUE(w.a->postSend(rd));
  w.run();
  ea = w.a->takeEvents();
  ASSERT_EQ(ea.sq.size(), 1u);
  EXPECT_EQ(ea.sq[0].wr_id, 7u);
  EXPECT_EQ(ea.sq[0].status, WcStatus::kSuccess);
  EXPECT_EQ(dst.mem, src.mem);
}

TEST(IwarpStream, RejectCarriesPrivateData) {
  Wire w;
  w.a->start({});
  w.run();
  ASSERT_TRUE(w.b->takeEvents().request_received);
  const uint8_t why[] = {9, 8, 7};
  w.b->reject(ByteView(why, 3));
  w.run();
  auto ea = w.a->takeEvents();
  EXPECT_TRUE(ea.rejected);
  EXPECT_EQ(w.a->peerFrame().private_data, Bytes({9, 8, 7}));
}

TEST(IwarpStream, ResponderRejectsMarkers) {
  Wire w;
  MpaFrame f;
  f.markers = true;
  ByteWriter bw;
  encodeMpaFrame(f, bw);
  w.b->rxBytes(bw.buf());
  auto eb = w.b->takeEvents();
  EXPECT_FALSE(eb.request_received);
  TxSlice sl[2];
  ASSERT_EQ(w.b->txGather(sl, 2), 1u);
  auto rep = decodeMpaFrame(ByteView(sl[0].data, sl[0].len), true);
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->reject);
}

TEST(IwarpStream, GarbageNeverCrashes) {
  // Feed pseudo-random bytes after a valid handshake: the stream must end in an error state
  // (an FPDU whose CRC or header is wrong terminates it) and deliver nothing.
  uint32_t x = 12345;
  for (int round = 0; round < 200; round++) {
    Wire w;
    w.connect();
    ASSERT_EQ(w.b->state(), IwarpStream::State::kRts);
    Bytes junk(512);
    for (auto& b : junk) {
      x = x * 1103515245 + 12345;
      b = uint8_t(x >> 16);
    }
    w.b->rxBytes(junk);
    (void)w.b->takeEvents();
    EXPECT_EQ(w.b->state(), IwarpStream::State::kError) << "round " << round;
  }
}

TEST(IwarpStream, RevisionOneResponderAnswersEnhancedInitiator) {
  StreamConfig i;
  i.peer_to_peer = true;
  StreamConfig r;
  r.mpa_revision = 1;
  Wire w(i, r);
  w.connect();
  EXPECT_EQ(w.a->peerFrame().revision, 1);
  EXPECT_FALSE(w.a->peerFrame().enhanced);
  EXPECT_EQ(w.b->state(), IwarpStream::State::kRts);
  Mr src = w.mr(16, 0, 0x33);
  Mr dst = w.mr(16, kAccessLocalWrite);
  std::vector<Sge> rs = {dst.sge(0, 16)};
  RecvWr rw;
  rw.wr_id = 1;
  rw.sg_list = rs;
  ASSERT_TRUE(w.b->postRecv(rw));
  std::vector<Sge> ss = {src.sge(0, 16)};
  ASSERT_TRUE(w.a->postSend(sendWr(1, ss)));
  w.run();
  auto eb = w.b->takeEvents();
  ASSERT_EQ(eb.rq.size(), 1u) << "no RTR FPDU was sent to a revision 1 peer";
  EXPECT_EQ(dst.mem, src.mem);
}

TEST(Crc32c, KnownVectors) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t*>(s), 9), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);  // RFC 3720 B.4
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  std::vector<uint8_t> big(100000);
  for (size_t i = 0; i < big.size(); i++) big[i] = uint8_t(i * 7);
  EXPECT_EQ(crc32cUpdate(kCrc32cInit, big.data(), big.size()),
            crc32cUpdateTable(kCrc32cInit, big.data(), big.size()));
}

// The interleaved (three-block) path must agree with the table at every length around its block
// boundaries, from any running state and any alignment.
TEST(Crc32c, InterleavedBlocksMatchTable) {
  std::vector<uint8_t> buf(3 * 8192 * 2 + 3 * 256 * 2 + 64);
  uint32_t x = 12345;
  for (auto& b : buf) b = uint8_t((x = x * 1103515245u + 12345u) >> 16);
  std::vector<size_t> lengths;
  for (size_t base : {size_t(0), size_t(3 * 256), size_t(3 * 8192), size_t(2 * 3 * 8192)})
    for (size_t d = 0; d < 20; d++) {
      if (base + d <= buf.size() - 8) lengths.push_back(base + d);
      if (base >= d) lengths.push_back(base - d);
    }
  lengths.push_back(65536);
  for (size_t n : lengths)
    for (size_t align : {size_t(0), size_t(3)}) {
      if (n + align > buf.size()) continue;
      for (uint32_t state : {kCrc32cInit, 0u, 0x12345678u})
        ASSERT_EQ(crc32cUpdate(state, buf.data() + align, n), crc32cUpdateTable(state, buf.data() + align, n))
            << "length " << n << " align " << align;
    }
}

}  // namespace
}  // namespace sd::rdma::soft
