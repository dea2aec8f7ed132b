// `rdma ping`: rping's wire protocol and flags (interoperates with rping from rdma-core).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/rdma/rdma_tool_internal.h"

namespace sd::rdma::tool {
namespace {

constexpr long kRpingMinSize = 26;  // sizeof("2147483647") + sizeof("rdma-ping-%d: ")
constexpr long kRpingMaxSize = 64 * 1024 - 1;

void rpingFill(std::vector<uint8_t>& b, long ping, int& start) {
  int cc = std::snprintf(reinterpret_cast<char*>(b.data()), b.size(), "rdma-ping-%ld: ", ping);
  unsigned char c = uint8_t(start);
  for (size_t i = size_t(cc); i < b.size(); i++) {
    b[i] = c;
    if (++c > 122) c = 65;
  }
  if (++start > 122) start = 65;
  b[b.size() - 1] = 0;
}

// Checks the rping pattern: "rdma-ping-N: " then letters cycling 'A'..'z' (65..122).
bool rpingValid(const uint8_t* p, size_t len) {
  if (len < 2 || p[len - 1] != 0) return false;
  const char* s = reinterpret_cast<const char*>(p);
  if (std::strncmp(s, "rdma-ping-", 10) != 0) return false;
  const char* colon = std::strstr(s, ": ");
  if (!colon) return false;
  size_t i = size_t(colon - s) + 2;
  if (i >= len - 1) return true;
  unsigned char c = p[i];
  for (; i < len - 1; i++) {
    if (p[i] != c) return false;
    if (++c > 122) c = 65;
  }
  return true;
}

// The server's side of one connection: per ping, the client sends the source buffer's
// {addr, rkey, size} (recv), the server reads it (RDMA Read) and says go ahead (send); the
// client sends the sink buffer's, the server writes the data back (RDMA Write), go ahead.
struct PingServer {
  explicit PingServer(long size)
      : recv_buf(kInfoLen), send_buf(kInfoLen, 0),
        rdma_buf(std::max<long>(size, kRpingMaxSize + 1), 0) {}

  bool prepare(Endpoint& ep) {
    auto a = ep.pd->regMr(recv_buf.data(), recv_buf.size(), kAccessLocalWrite);
    auto b = ep.pd->regMr(send_buf.data(), send_buf.size(), 0);
    auto c = ep.pd->regMr(rdma_buf.data(), rdma_buf.size(),
                          kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite);
    if (!a || !b || !c) return false;
    recv_mr = *a;
    send_mr = *b;
    rdma_mr = *c;
    return bool(postRecvOne(*ep.qp, 1, sgeOf(recv_buf.data(), kInfoLen, *recv_mr)));
  }

  // The client's next {addr, rkey, size}: 1 ok, 0 disconnected, -1 error.
  int waitRecv(Wc* wc) {
    for (;;) {
      if (!nextWc(e, wc, 3600 * 1000)) return e.disconnected ? 0 : -1;
      if (wc->status == WcStatus::kWrFlushErr) return 0;
      if (wc->status != WcStatus::kSuccess) {
        std::fprintf(stderr, "cq completion failed status %d (%s)\n", int(wc->status),
                     wcStatusName(wc->status));
        return -1;
      }
      if (wc->opcode == WcOpcode::kRecv) {
        if (wc->byte_len != kInfoLen) {
          std::fprintf(stderr, "Received bogus data, size %u\n", wc->byte_len);
          return -1;
        }
        return postRecvOne(*e.qp, 1, sgeOf(recv_buf.data(), kInfoLen, *recv_mr)) ? 1 : -1;
      }
    }
  }

  bool waitOp(WcOpcode op) {
    Wc wc;
    for (;;) {
      if (!nextWc(e, &wc)) return false;
      if (wc.status != WcStatus::kSuccess) {
        std::fprintf(stderr, "cq completion failed status %d (%s)\n", int(wc.status),
                     wcStatusName(wc.status));
        return false;
      }
      if (wc.opcode == op) return true;
    }
  }

  bool goAhead() {
    SendWr wr;
    wr.opcode = WrOpcode::kSend;
    Sge sg = sgeOf(send_buf.data(), kInfoLen, *send_mr);
    wr.sg_list = std::span<const Sge>(&sg, 1);
    return bool(postOne(*e.qp, wr)) && waitOp(WcOpcode::kSend);
  }

  // Reads the client's ping data (its info is in recv_buf) and says go ahead.
  bool readPing(const Opts& o) {
    uint64_t addr = getBe64(recv_buf.data());
    uint32_t rkey = getBe32(recv_buf.data() + 8);
    uint32_t len = getBe32(recv_buf.data() + 12);
    if (len > rdma_buf.size()) {
      std::fprintf(stderr, "ping size %u larger than our buffer\n", len);
      return false;
    }
    SendWr rd;
    rd.opcode = WrOpcode::kRdmaRead;
    Sge sg = sgeOf(rdma_buf.data(), len, *rdma_mr);
    rd.sg_list = std::span<const Sge>(&sg, 1);
    rd.remote_addr = addr;
    rd.rkey = rkey;
    if (!postOne(*e.qp, rd) || !waitOp(WcOpcode::kRdmaRead)) return false;
    if (rpingValid(rdma_buf.data(), len)) verified++;
    else if (o.validate) std::fprintf(stderr, "ping %ld: data does not follow rping's pattern\n", pings);
    if (o.verbose) std::printf("server ping data: %s\n", reinterpret_cast<char*>(rdma_buf.data()));
    std::fflush(stdout);
    return goAhead();
  }

  // Writes the ping data back to the client's sink (its info is in recv_buf), then go ahead.
  bool writeBack() {
    uint64_t addr = getBe64(recv_buf.data());
    uint32_t rkey = getBe32(recv_buf.data() + 8);
    SendWr wr;
    wr.opcode = WrOpcode::kRdmaWrite;
    size_t n = strnlen(reinterpret_cast<char*>(rdma_buf.data()), rdma_buf.size() - 1) + 1;
    Sge wsg = sgeOf(rdma_buf.data(), n, *rdma_mr);
    wr.sg_list = std::span<const Sge>(&wsg, 1);
    wr.remote_addr = addr;
    wr.rkey = rkey;
    return postOne(*e.qp, wr) && waitOp(WcOpcode::kRdmaWrite) && goAhead();
  }

  // Serves pings until the client leaves or o.count is reached: the exit status.
  int serve(const Opts& o) {
    for (;;) {
      Wc wc;
      int r = waitRecv(&wc);
      if (r <= 0) return r < 0 ? 1 : 0;
      if (!readPing(o)) return 1;
      r = waitRecv(&wc);
      if (r <= 0) return r < 0 ? 1 : 0;
      if (!writeBack()) return 1;
      pings++;
      if (o.count && pings >= o.count) {
        // Wait for the client's disconnect, as rping does.
        Wc last;
        waitRecv(&last);
        return 0;
      }
    }
  }

  std::vector<uint8_t> recv_buf, send_buf, rdma_buf;
  std::shared_ptr<MemoryRegion> recv_mr, send_mr, rdma_mr;
  Endpoint e;
  long pings = 0, verified = 0;
};

int pingServer(Provider* prov, const Opts& o) {
  PingServer s(o.size > 0 ? o.size : 64);
  ConnParam cp;
  cp.responder_resources = 1;
  cp.initiator_depth = 1;
  if (!serverAccept(prov, o.addr, o.port, 16, 2, cp, s.e, [&](Endpoint& ep) { return s.prepare(ep); }))
    return 1;
  if (o.debug) std::fprintf(stderr, "accepted %s\n", s.e.id->peerAddr().c_str());
  int rc = s.serve(o);
  std::fprintf(stderr, "server DISCONNECT EVENT...\n");
  std::fprintf(stderr, "rping server: %ld pings, %ld with verified rping data\n", s.pings, s.verified);
  (void)s.e.id->disconnect();
  if (o.validate && s.verified != s.pings) rc = 1;
  return rc;
}

int pingClient(Provider* prov, const Opts& o) {
  long size = o.size > 0 ? o.size : 64;
  if (size < kRpingMinSize || size > kRpingMaxSize) {
    std::fprintf(stderr, "Invalid size %ld (valid range is %ld to %ld)\n", size, kRpingMinSize,
                 kRpingMaxSize);
    return 1;
  }
  std::vector<uint8_t> recv_buf(kInfoLen), send_buf(kInfoLen);
  std::vector<uint8_t> rdma_buf(size_t(size), 0), start_buf(size_t(size), 0);
  std::shared_ptr<MemoryRegion> recv_mr, send_mr, rdma_mr, start_mr;
  Endpoint e;
  ConnParam cp;
  cp.responder_resources = 1;
  cp.initiator_depth = 1;
  auto prep = [&](Endpoint& ep) {
    uint32_t rw = kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite;
    auto a = ep.pd->regMr(recv_buf.data(), recv_buf.size(), kAccessLocalWrite);
    auto b = ep.pd->regMr(send_buf.data(), send_buf.size(), 0);
    auto c = ep.pd->regMr(rdma_buf.data(), rdma_buf.size(), rw);
    auto d = ep.pd->regMr(start_buf.data(), start_buf.size(), rw);
    if (!a || !b || !c || !d) return false;
    recv_mr = *a;
    send_mr = *b;
    rdma_mr = *c;
    start_mr = *d;
    return bool(postRecvOne(*ep.qp, 1, sgeOf(recv_buf.data(), kInfoLen, *recv_mr)));
  };
  if (!clientConnect(prov, o.addr, o.port, 16, 2, cp, e, prep)) return 1;
  auto sendInfo = [&](const std::vector<uint8_t>& buf, const MemoryRegion& mr) {
    putBe64(send_buf.data(), uint64_t(reinterpret_cast<uintptr_t>(buf.data())));
    putBe32(send_buf.data() + 8, mr.rkey());
    putBe32(send_buf.data() + 12, uint32_t(size));
    SendWr wr;
    Sge sg = sgeOf(send_buf.data(), kInfoLen, *send_mr);
    wr.sg_list = std::span<const Sge>(&sg, 1);
    return bool(postOne(*e.qp, wr));
  };
  // Waits for the server's go-ahead (a receive), reposting the receive.
  auto waitGoAhead = [&]() {
    Wc wc;
    for (;;) {
      if (!nextWc(e, &wc)) {
        std::fprintf(stderr, "no reply from the server%s\n", e.disconnected ? " (disconnected)" : "");
        return false;
      }
      if (wc.status != WcStatus::kSuccess) {
        std::fprintf(stderr, "cq completion failed status %d (%s)\n", int(wc.status),
                     wcStatusName(wc.status));
        return false;
      }
      if (wc.opcode != WcOpcode::kRecv) continue;
      if (wc.byte_len != kInfoLen) {
        std::fprintf(stderr, "Received bogus data, size %u\n", wc.byte_len);
        return false;
      }
      return bool(postRecvOne(*e.qp, 1, sgeOf(recv_buf.data(), kInfoLen, *recv_mr)));
    }
  };
  int start = 65;
  long ping = 0, verified = 0;
  int rc = 0;
  auto t0 = Clock::now();
  for (; !o.count || ping < o.count; ping++) {
    rpingFill(start_buf, ping, start);
    if (!sendInfo(start_buf, *start_mr) || !waitGoAhead() || !sendInfo(rdma_buf, *rdma_mr) ||
        !waitGoAhead()) {
      rc = 1;
      break;
    }
    bool same = std::memcmp(start_buf.data(), rdma_buf.data(), size_t(size)) == 0;
    if (same) verified++;
    if (!same && o.validate) {
      std::fprintf(stderr, "data mismatch!\n");
      rc = 1;
      break;
    }
    if (o.verbose) std::printf("ping data: %s\n", reinterpret_cast<char*>(rdma_buf.data()));
    std::fflush(stdout);
  }
  double s = secondsSince(t0);
  (void)e.id->disconnect();
  std::fprintf(stderr, "rping client: %ld pings, %ld verified, %.1f us per ping\n", ping, verified,
               ping ? s * 1e6 / double(ping) : 0.0);
  if (verified != ping) rc = 1;
  return rc;
}

}  // namespace

int cmdPing(int argc, char** argv) {
  Opts o;
  if (!parseOpts(argc, argv, 2, &o)) {
    std::fprintf(stderr,
                 "usage: rdma ping -s [-vVd] [-S size] [-C count] [-a addr] [-p port] [-P provider]\n"
                 "       rdma ping -c [-vVd] [-S size] [-C count] -a addr [-p port] [-P provider]\n");
    return 2;
  }
  Provider* p = pickProvider(o.provider);
  if (!p) {
    std::fprintf(stderr, "no provider %s\n", o.provider.c_str());
    return 1;
  }
  return o.server ? pingServer(p, o) : pingClient(p, o);
}

}  // namespace sd::rdma::tool
