// `rdma bw` and `rdma lat`: bandwidth and latency of send, RDMA write and RDMA read.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/rdma/rdma_tool_internal.h"

namespace sd::rdma::tool {
namespace {

// ---------------------------------------------------------------- bw / lat

// Both sides register one buffer and exchange {addr, rkey, len} (rping_rdma_info layout) in the
// connection private data. The client drives; the server serves reads/writes passively and
// answers sends (credits for bw, echoes for lat).
struct PerfSide {
  std::vector<uint8_t> buf;
  std::shared_ptr<MemoryRegion> mr;
  uint64_t peer_addr = 0;
  uint32_t peer_rkey = 0, peer_len = 0;
};

Bytes infoOf(const PerfSide& s) {
  Bytes b(kInfoLen);
  putBe64(b.data(), uint64_t(reinterpret_cast<uintptr_t>(s.buf.data())));
  putBe32(b.data() + 8, s.mr->rkey());
  putBe32(b.data() + 12, uint32_t(s.buf.size()));
  return b;
}

bool readInfo(const Bytes& pd, PerfSide* s) {
  if (pd.size() < kInfoLen) return false;
  s->peer_addr = getBe64(pd.data());
  s->peer_rkey = getBe32(pd.data() + 8);
  s->peer_len = getBe32(pd.data() + 12);
  return true;
}

constexpr int kRecvDepth = 256;

// Registers the side's buffer (remote read/write) and the receive ring (kRecvDepth slots of
// `slot` bytes), and posts a receive on every slot.
bool registerBuffers(Endpoint& ep, PerfSide& s, std::vector<uint8_t>& rbuf, size_t slot,
                     std::shared_ptr<MemoryRegion>* rmr) {
  auto m = ep.pd->regMr(s.buf.data(), s.buf.size(),
                        kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite);
  auto r = ep.pd->regMr(rbuf.data(), rbuf.size(), kAccessLocalWrite);
  if (!m || !r) return false;
  s.mr = *m;
  *rmr = *r;
  for (int i = 0; i < kRecvDepth; i++)
    if (!postRecvOne(*ep.qp, uint64_t(i), sgeOf(rbuf.data() + size_t(i) * slot, slot, **rmr)))
      return false;
  return true;
}

int perfServer(Provider* prov, const Opts& o, bool lat) {
  size_t size = size_t(o.size > 0 ? o.size : (lat ? 64 : 1 << 20));
  PerfSide s;
  s.buf.assign(std::max<size_t>(size, 64) * 2, 0);
  Endpoint e;
  size_t slot = std::max<size_t>(size, 64);
  std::vector<uint8_t> rbuf(slot * kRecvDepth);
  std::shared_ptr<MemoryRegion> rmr;
  auto prep = [&](Endpoint& ep) { return registerBuffers(ep, s, rbuf, slot, &rmr); };
  ConnParam cp;
  Endpoint tmp;
  // The info goes into the accept's private data; it needs the MR, so register before accept.
  ConnParam* cpp = &cp;
  auto prep2 = [&](Endpoint& ep) {
    if (!prep(ep)) return false;
    cpp->private_data = infoOf(s);
    return true;
  };
  if (!serverAccept(prov, o.addr, o.port, 512, kRecvDepth, cp, e, prep2)) return 1;
  readInfo(e.request.private_data, &s);
  long recvs = 0;
  for (;;) {
    Wc wc;
    if (!nextWc(e, &wc, 3600 * 1000)) break;
    if (wc.status != WcStatus::kSuccess) break;
    if (wc.opcode != WcOpcode::kRecv) continue;
    recvs++;
    (void)postRecvOne(*e.qp, wc.wr_id, sgeOf(rbuf.data() + size_t(wc.wr_id) * slot, slot, *rmr));
    // lat: echo the same size back; bw: one credit message per 64 receives.
    if (lat || recvs % 64 == 0) {
      SendWr wr;
      wr.flags = 0;
      Sge sg = sgeOf(rbuf.data() + size_t(wc.wr_id) * slot, lat ? wc.byte_len : 4, *rmr);
      wr.sg_list = std::span<const Sge>(&sg, 1);
      wr.flags = (recvs % 128 == 0) ? uint32_t(kSendSignaled) : 0u;
      (void)postOne(*e.qp, wr);
    }
  }
  (void)e.id->disconnect();
  return 0;
}

// The client's side: one connection, the operation to measure and the receive ring.
struct PerfClient {
  PerfClient(const Opts& o, bool lat)
      : size(size_t(o.size > 0 ? o.size : (lat ? 64 : 1 << 20))), slot(std::max<size_t>(size, 64)),
        rbuf(slot * kRecvDepth), op(o.op) {
    s.buf.assign(slot * 2, 0x5A);
  }

  bool prepare(Endpoint& ep, ConnParam& cp) {
    if (!registerBuffers(ep, s, rbuf, slot, &rmr)) return false;
    cp.private_data = infoOf(s);
    return true;
  }

  void repost(const Wc& wc) {
    (void)postRecvOne(*e.qp, wc.wr_id, sgeOf(rbuf.data() + size_t(wc.wr_id) * slot, slot, *rmr));
  }

  // The next work request of the measured operation, on the whole test size.
  SendWr makeWr(uint64_t id, const Sge& sg) const {
    SendWr wr;
    wr.wr_id = id;
    wr.opcode = op == "read" ? WrOpcode::kRdmaRead : op == "send" ? WrOpcode::kSend : WrOpcode::kRdmaWrite;
    wr.remote_addr = s.peer_addr;
    wr.rkey = s.peer_rkey;
    wr.sg_list = std::span<const Sge>(&sg, 1);
    return wr;
  }

  // lat: one operation at a time (a send waits for the server's echo): 0, or -1 on failure.
  int latency(const Opts& o, const Sge& sg) {
    long iters = o.iters ? o.iters : 10000;
    std::vector<double> samples;
    samples.reserve(size_t(iters));
    for (long i = 0; i < iters; i++) {
      auto t = Clock::now();
      if (!postOne(*e.qp, makeWr(uint64_t(i), sg))) return -1;
      bool got_reply = op != "send", got_local = false;
      while (!got_reply || !got_local) {
        Wc wc;
        if (!nextWc(e, &wc)) return -1;
        if (wc.status != WcStatus::kSuccess) {
          std::fprintf(stderr, "completion error %s\n", wcStatusName(wc.status));
          return -1;
        }
        if (wc.opcode == WcOpcode::kRecv) {
          got_reply = true;
          repost(wc);
        } else {
          got_local = true;
        }
      }
      samples.push_back(secondsSince(t) * 1e6);
    }
    std::sort(samples.begin(), samples.end());
    double sum = 0;
    for (double x : samples) sum += x;
    std::printf("lat %s %zu B: %ld iterations, round trip avg %.2f us, median %.2f us, p99 %.2f us "
                "(one-way %.2f us)\n",
                op.c_str(), size, iters, sum / double(samples.size()), samples[samples.size() / 2],
                samples[samples.size() * 99 / 100], samples[samples.size() / 2] / 2);
    return 0;
  }

  // bw: up to o.depth operations in flight (sends within the server's credits), for o.seconds
  // or o.iters operations: 0, 1 when a completion failed, -1 when a post failed.
  int bandwidth(const Opts& o, const Sge& sg) {
    int depth = std::max(1, std::min(o.depth, 256));
    long credits = kRecvDepth - 8;
    auto t0 = Clock::now();
    uint64_t bytes = 0;
    long posted = 0, done = 0;
    long limit = o.iters;
    int rc = 0;
    while (true) {
      bool time_up = !limit && secondsSince(t0) >= o.seconds;
      bool count_up = limit && posted >= limit;
      while (!time_up && !count_up && posted - done < depth && (op != "send" || credits > 0)) {
        if (!postOne(*e.qp, makeWr(uint64_t(posted), sg))) return -1;
        posted++;
        if (op == "send") credits--;
        count_up = limit && posted >= limit;
      }
      if (done == posted && (time_up || count_up)) break;
      Wc wc;
      if (!nextWc(e, &wc)) {
        rc = 1;
        break;
      }
      if (wc.status != WcStatus::kSuccess) {
        std::fprintf(stderr, "completion error %s\n", wcStatusName(wc.status));
        rc = 1;
        break;
      }
      if (wc.opcode == WcOpcode::kRecv) {
        credits += 64;
        repost(wc);
        continue;
      }
      done++;
      bytes += size;
    }
    double secs = secondsSince(t0);
    std::printf("bw %s %zu B x %ld: %.3f GB/s (%.2f Gbit/s) in %.2f s\n", op.c_str(), size, done,
                double(bytes) / secs / 1e9, double(bytes) * 8 / secs / 1e9, secs);
    return rc;
  }

  size_t size, slot;
  PerfSide s;
  std::vector<uint8_t> rbuf;
  std::shared_ptr<MemoryRegion> rmr;
  std::string op;
  Endpoint e;
};

int perfClient(Provider* prov, const Opts& o, bool lat) {
  PerfClient c(o, lat);
  ConnParam cp;
  // The private data must be filled before connect: prep runs first inside clientConnect.
  if (!clientConnect(prov, o.addr, o.port, 512, kRecvDepth, cp, c.e,
                     [&](Endpoint& ep) { return c.prepare(ep, cp); }))
    return 1;
  readInfo(c.e.established.private_data, &c.s);
  if (c.s.peer_len < c.size) {
    std::fprintf(stderr, "server buffer too small\n");
    return 1;
  }
  Sge sg = sgeOf(c.s.buf.data(), c.size, *c.s.mr);
  int rc = lat ? c.latency(o, sg) : c.bandwidth(o, sg);
  if (rc < 0) return 1;  // a failed post (or latency completion) ends without a disconnect
  (void)c.e.id->disconnect();
  return rc;
}

}  // namespace

int cmdPerf(int argc, char** argv, bool lat) {
  Opts o;
  o.port = 18515;
  if (!parseOpts(argc, argv, 2, &o) || (o.op != "send" && o.op != "write" && o.op != "read")) {
    std::fprintf(stderr,
                 "usage: rdma %s -s [-a addr] [-p port] [-P provider] [-S size]\n"
                 "       rdma %s -c -a addr [-p port] [-o send|write|read] [-S size] [-D secs] "
                 "[-n iters] [-q depth]\n",
                 lat ? "lat" : "bw", lat ? "lat" : "bw");
    return 2;
  }
  if (lat && o.op == "write") o.op = "send";
  Provider* p = pickProvider(o.provider);
  if (!p) return 1;
  return o.server ? perfServer(p, o, lat) : perfClient(p, o, lat);
}

}  // namespace sd::rdma::tool
