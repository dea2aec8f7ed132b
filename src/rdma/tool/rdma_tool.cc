// The rdma tool: devices, ping (rping's wire protocol and flags), bw and lat. Single-threaded:
// the tool waits on its CQ and CM channel fds with poll(2).
#include "rdma/tool/rdma_tool.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "rdma/rdma.h"

namespace sd::rdma {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Opts {
  bool server = false, client = false, verbose = false, validate = false, debug = false;
  std::string addr;
  int port = 7174;
  long count = 0;
  long size = -1;
  std::string provider = "auto";
  std::string op = "write";
  int seconds = 3;
  int depth = 16;
  long iters = 0;
};

// rping-style flags: -s -c -a ADDR -p PORT -C COUNT -S SIZE -v -V -d, plus -P PROVIDER,
// -o OP (send|write|read), -D SECONDS, -q DEPTH, -n ITERS. Values may be glued ("-p7174").
bool parseOpts(int argc, char** argv, int first, Opts* o) {
  for (int i = first; i < argc; i++) {
    std::string a = argv[i];
    if (a.size() < 2 || a[0] != '-') {
      std::fprintf(stderr, "unexpected argument %s\n", a.c_str());
      return false;
    }
    char f = a[1];
    auto value = [&](std::string* out) {
      if (a.size() > 2) {
        *out = a.substr(2);
        return true;
      }
      if (i + 1 >= argc) {
        std::fprintf(stderr, "-%c needs a value\n", f);
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    switch (f) {
      case 's': o->server = true; break;
      case 'c': o->client = true; break;
      case 'v': o->verbose = true; break;
      case 'V': o->validate = true; break;
      case 'd': o->debug = true; break;
      case 'a': if (!value(&o->addr)) return false; break;
      case 'p': if (!value(&v)) return false; o->port = atoi(v.c_str()); break;
      case 'C': if (!value(&v)) return false; o->count = atol(v.c_str()); break;
      case 'S': if (!value(&v)) return false; o->size = atol(v.c_str()); break;
      case 'P': if (!value(&o->provider)) return false; break;
      case 'o': if (!value(&o->op)) return false; break;
      case 'D': if (!value(&v)) return false; o->seconds = atoi(v.c_str()); break;
      case 'q': if (!value(&v)) return false; o->depth = atoi(v.c_str()); break;
      case 'n': if (!value(&v)) return false; o->iters = atol(v.c_str()); break;
      default:
        std::fprintf(stderr, "unknown flag %s\n", a.c_str());
        return false;
    }
  }
  if (o->server == o->client) {
    std::fprintf(stderr, "exactly one of -s (server) and -c (client)\n");
    return false;
  }
  if (o->client && o->addr.empty()) {
    std::fprintf(stderr, "-c needs -a ADDR\n");
    return false;
  }
  return true;
}

Provider* pickProvider(const std::string& name) {
  if (name != "auto") return findProvider(name);
  Provider* v = findProvider("verbs");
  if (v && !v->devices().empty()) return v;
  return findProvider("soft");
}

// Connection establishment may take long against an emulated peer (the kernel lab under TCG):
// SD_RDMA_CONNECT_TIMEOUT_MS overrides the default 60 s.
int connectTimeoutMs() {
  const char* v = getenv("SD_RDMA_CONNECT_TIMEOUT_MS");
  return v ? atoi(v) : 60000;
}

std::string hostPort(const std::string& addr, int port) {
  if (addr.find(':') != std::string::npos) return "[" + addr + "]:" + std::to_string(port);
  return addr + ":" + std::to_string(port);
}

// One endpoint: channel, id, PD, CQ, QP.
struct Endpoint {
  std::shared_ptr<CmChannel> ch;
  std::shared_ptr<CmId> listener;
  std::shared_ptr<CmId> id;
  std::shared_ptr<ProtectionDomain> pd;
  std::shared_ptr<CompletionQueue> cq;
  std::shared_ptr<QueuePair> qp;
  bool disconnected = false;
  CmEvent established;
  CmEvent request;
};

bool makeQp(Endpoint& e, uint32_t sq, uint32_t rq) {
  auto dev = e.id->device();
  if (!dev) return false;
  auto pd = dev->allocPd();
  auto cq = pd ? dev->createCq(sq + rq + 16) : Result<std::shared_ptr<CompletionQueue>>(pd.error());
  if (!pd || !cq) {
    std::fprintf(stderr, "alloc pd/cq failed\n");
    return false;
  }
  e.pd = *pd;
  e.cq = *cq;
  QpInitAttr a;
  a.pd = e.pd;
  a.send_cq = e.cq;
  a.recv_cq = e.cq;
  a.caps.max_send_wr = sq;
  a.caps.max_recv_wr = rq;
  a.caps.max_send_sge = 1;
  a.caps.max_recv_sge = 1;
  auto qp = e.id->createQp(a);
  if (!qp) {
    std::fprintf(stderr, "create qp failed: %s\n", qp.error().what);
    return false;
  }
  e.qp = *qp;
  return true;
}

// Server half of connection setup; `prep` runs after the QP exists and before accept.
bool serverAccept(Provider* p, const std::string& addr, int port, uint32_t sq, uint32_t rq,
                  const ConnParam& cp, Endpoint& e, const std::function<bool(Endpoint&)>& prep,
                  bool quiet = false) {
  auto ch = p->createCmChannel();
  if (!ch) return false;
  e.ch = *ch;
  auto l = e.ch->createId();
  if (!l) return false;
  e.listener = *l;
  if (auto st = e.listener->listen(hostPort(addr.empty() ? "0.0.0.0" : addr, port), 8); !st) {
    std::fprintf(stderr, "listen on %s failed: %s\n", hostPort(addr, port).c_str(),
                 ntStatusName(st.status()));
    return false;
  }
  if (!quiet) std::fprintf(stderr, "listening on %s (%s)\n", e.listener->localAddr().c_str(),
                           std::string(p->name()).c_str());
  for (;;) {
    auto ev = e.ch->waitEvent(3600 * 1000);
    if (!ev) return false;
    if (ev->type != CmEventType::kConnectRequest) continue;
    e.request = *ev;
    e.id = ev->id;
    break;
  }
  if (!makeQp(e, sq, rq) || !prep(e)) return false;
  if (auto st = e.id->accept(cp); !st) {
    std::fprintf(stderr, "accept failed: %s\n", st.error().what);
    return false;
  }
  auto est = e.ch->waitEvent(connectTimeoutMs());
  if (!est || est->type != CmEventType::kEstablished) {
    std::fprintf(stderr, "connection not established (%s)\n",
                 est ? cmEventName(est->type) : "timeout");
    return false;
  }
  e.established = *est;
  return true;
}

bool clientConnect(Provider* p, const std::string& addr, int port, uint32_t sq, uint32_t rq,
                   const ConnParam& cp, Endpoint& e, const std::function<bool(Endpoint&)>& prep) {
  auto ch = p->createCmChannel();
  if (!ch) return false;
  e.ch = *ch;
  auto id = e.ch->createId();
  if (!id) return false;
  e.id = *id;
  if (!e.id->resolve(hostPort(addr, port), 2000)) {
    std::fprintf(stderr, "bad address %s\n", addr.c_str());
    return false;
  }
  auto r = e.ch->waitEvent(5000);
  if (!r || r->type != CmEventType::kAddrResolved) {
    std::fprintf(stderr, "resolve %s failed (%s)\n", addr.c_str(), r ? cmEventName(r->type) : "timeout");
    return false;
  }
  if (!makeQp(e, sq, rq) || !prep(e)) return false;
  if (auto st = e.id->connect(cp); !st) {
    std::fprintf(stderr, "connect failed: %s\n", st.error().what);
    return false;
  }
  auto est = e.ch->waitEvent(connectTimeoutMs());
  if (!est || est->type != CmEventType::kEstablished) {
    std::fprintf(stderr, "connect to %s failed (%s)\n", hostPort(addr, port).c_str(),
                 est ? cmEventName(est->type) : "timeout");
    return false;
  }
  e.established = *est;
  return true;
}

// Waits for the next completion; false on timeout or when the connection went down first.
bool nextWc(Endpoint& e, Wc* out, int timeout_ms = 30000) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto n = e.cq->poll(std::span<Wc>(out, 1));
    if (n && *n == 1) return true;
    (void)e.cq->reqNotify(false);
    n = e.cq->poll(std::span<Wc>(out, 1));
    if (n && *n == 1) return true;
    auto ev = e.ch->getEvent();
    if (ev && (ev->type == CmEventType::kDisconnected || ev->type == CmEventType::kConnectError))
      e.disconnected = true;
    if (Clock::now() > deadline) return false;
    pollfd p[2] = {{e.cq->fd(), POLLIN, 0}, {e.ch->fd(), POLLIN, 0}};
    if (::poll(p, 2, 100) > 0 && (p[0].revents & POLLIN)) (void)e.cq->consumeEvent();
    if (e.disconnected) {
      // Drain what is left (flushed work requests) before reporting.
      auto m = e.cq->poll(std::span<Wc>(out, 1));
      if (m && *m == 1) return true;
      return false;
    }
  }
}

Sge sgeOf(const void* p, size_t len, const MemoryRegion& mr) {
  return Sge{uint64_t(reinterpret_cast<uintptr_t>(p)), uint32_t(len), mr.lkey()};
}

Status postOne(QueuePair& qp, const SendWr& wr) { return qp.postSend(std::span<const SendWr>(&wr, 1)); }
Status postRecvOne(QueuePair& qp, uint64_t id, const Sge& sg) {
  RecvWr r;
  r.wr_id = id;
  r.sg_list = std::span<const Sge>(&sg, 1);
  return qp.postRecv(std::span<const RecvWr>(&r, 1));
}

void putBe64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (56 - 8 * i)); }
void putBe32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (24 - 8 * i)); }
uint64_t getBe64(const uint8_t* p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }
uint32_t getBe32(const uint8_t* p) { uint32_t v = 0; for (int i = 0; i < 4; i++) v = v << 8 | p[i]; return v; }

// ---------------------------------------------------------------- devices

int cmdDevices(int argc, char** argv) {
  int shown = 0;
  for (Provider* p : providers()) {
    auto devs = p->devices();
    std::printf("provider %s: %zu device(s)\n", std::string(p->name()).c_str(), devs.size());
    for (auto& d : devs) {
      DeviceAttr a = d->attr();
      std::printf("  %-10s transport %-10s node_guid %016" PRIx64 "\n", a.name.c_str(),
                  a.transport.c_str(), a.node_guid);
      std::printf("    limits: max_qp %u max_qp_wr %u max_send_sge %u max_recv_sge %u max_cqe %u "
                  "max_mr %u ird %u ord %u max_inline %u fastreg_pages %u\n",
                  a.max_qp, a.max_qp_wr, a.max_send_sge, a.max_recv_sge, a.max_cqe, a.max_mr,
                  a.max_qp_rd_atom, a.max_qp_init_rd_atom, a.max_inline_data,
                  a.max_fast_reg_page_list_len);
      for (uint8_t port = 1; port <= std::max<uint8_t>(1, a.phys_port_cnt); port++) {
        auto pa = d->queryPort(port);
        if (!pa) continue;
        std::printf("    link %s/%u state %s link_layer %s mtu %u netdev %s\n", a.name.c_str(),
                    port, pa->state.c_str(), pa->link_layer.c_str(), pa->active_mtu,
                    pa->netdev.empty() ? "-" : pa->netdev.c_str());
        for (auto& ad : pa->addresses) std::printf("      addr %s\n", ad.c_str());
      }
      shown++;
    }
  }
  return shown > 0 ? 0 : 1;
}

// ---------------------------------------------------------------- ping (rping's protocol)

// struct rping_rdma_info { __be64 buf; __be32 rkey; __be32 size; }
constexpr size_t kInfoLen = 16;
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

int pingServer(Provider* prov, const Opts& o) {
  long size = o.size > 0 ? o.size : 64;
  std::vector<uint8_t> recv_buf(kInfoLen), send_buf(kInfoLen, 0);
  std::vector<uint8_t> rdma_buf(std::max<long>(size, kRpingMaxSize + 1), 0);
  std::shared_ptr<MemoryRegion> recv_mr, send_mr, rdma_mr;
  Endpoint e;
  ConnParam cp;
  cp.responder_resources = 1;
  cp.initiator_depth = 1;
  auto prep = [&](Endpoint& ep) {
    auto a = ep.pd->regMr(recv_buf.data(), recv_buf.size(), kAccessLocalWrite);
    auto b = ep.pd->regMr(send_buf.data(), send_buf.size(), 0);
    auto c = ep.pd->regMr(rdma_buf.data(), rdma_buf.size(),
                          kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite);
    if (!a || !b || !c) return false;
    recv_mr = *a;
    send_mr = *b;
    rdma_mr = *c;
    return bool(postRecvOne(*ep.qp, 1, sgeOf(recv_buf.data(), kInfoLen, *recv_mr)));
  };
  if (!serverAccept(prov, o.addr, o.port, 16, 2, cp, e, prep)) return 1;
  if (o.debug) std::fprintf(stderr, "accepted %s\n", e.id->peerAddr().c_str());
  long pings = 0, verified = 0;
  int rc = 0;
  auto waitRecv = [&](Wc* wc) -> int {  // 1 ok, 0 disconnected, -1 error
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
  };
  auto waitOp = [&](WcOpcode op) -> bool {
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
  };
  auto goAhead = [&]() {
    SendWr wr;
    wr.opcode = WrOpcode::kSend;
    Sge sg = sgeOf(send_buf.data(), kInfoLen, *send_mr);
    wr.sg_list = std::span<const Sge>(&sg, 1);
    return bool(postOne(*e.qp, wr)) && waitOp(WcOpcode::kSend);
  };
  for (;;) {
    Wc wc;
    int r = waitRecv(&wc);
    if (r <= 0) {
      rc = r < 0 ? 1 : 0;
      break;
    }
    uint64_t addr = getBe64(recv_buf.data());
    uint32_t rkey = getBe32(recv_buf.data() + 8);
    uint32_t len = getBe32(recv_buf.data() + 12);
    if (len > rdma_buf.size()) {
      std::fprintf(stderr, "ping size %u larger than our buffer\n", len);
      rc = 1;
      break;
    }
    SendWr rd;
    rd.opcode = WrOpcode::kRdmaRead;
    Sge sg = sgeOf(rdma_buf.data(), len, *rdma_mr);
    rd.sg_list = std::span<const Sge>(&sg, 1);
    rd.remote_addr = addr;
    rd.rkey = rkey;
    if (!postOne(*e.qp, rd) || !waitOp(WcOpcode::kRdmaRead)) {
      rc = 1;
      break;
    }
    if (rpingValid(rdma_buf.data(), len)) verified++;
    else if (o.validate) std::fprintf(stderr, "ping %ld: data does not follow rping's pattern\n", pings);
    if (o.verbose) std::printf("server ping data: %s\n", reinterpret_cast<char*>(rdma_buf.data()));
    std::fflush(stdout);
    if (!goAhead()) {
      rc = 1;
      break;
    }
    r = waitRecv(&wc);
    if (r <= 0) {
      rc = r < 0 ? 1 : 0;
      break;
    }
    addr = getBe64(recv_buf.data());
    rkey = getBe32(recv_buf.data() + 8);
    SendWr wr;
    wr.opcode = WrOpcode::kRdmaWrite;
    size_t n = strnlen(reinterpret_cast<char*>(rdma_buf.data()), rdma_buf.size() - 1) + 1;
    Sge wsg = sgeOf(rdma_buf.data(), n, *rdma_mr);
    wr.sg_list = std::span<const Sge>(&wsg, 1);
    wr.remote_addr = addr;
    wr.rkey = rkey;
    if (!postOne(*e.qp, wr) || !waitOp(WcOpcode::kRdmaWrite) || !goAhead()) {
      rc = 1;
      break;
    }
    pings++;
    if (o.count && pings >= o.count) {
      // Wait for the client's disconnect, as rping does.
      Wc last;
      waitRecv(&last);
      break;
    }
  }
  std::fprintf(stderr, "server DISCONNECT EVENT...\n");
  std::fprintf(stderr, "rping server: %ld pings, %ld with verified rping data\n", pings, verified);
  (void)e.id->disconnect();
  if (o.validate && verified != pings) rc = 1;
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

int perfServer(Provider* prov, const Opts& o, bool lat) {
  size_t size = size_t(o.size > 0 ? o.size : (lat ? 64 : 1 << 20));
  PerfSide s;
  s.buf.assign(std::max<size_t>(size, 64) * 2, 0);
  Endpoint e;
  size_t slot = std::max<size_t>(size, 64);
  std::vector<uint8_t> rbuf(slot * kRecvDepth);
  std::shared_ptr<MemoryRegion> rmr;
  auto prep = [&](Endpoint& ep) {
    auto m = ep.pd->regMr(s.buf.data(), s.buf.size(),
                          kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite);
    auto r = ep.pd->regMr(rbuf.data(), rbuf.size(), kAccessLocalWrite);
    if (!m || !r) return false;
    s.mr = *m;
    rmr = *r;
    for (int i = 0; i < kRecvDepth; i++)
      if (!postRecvOne(*ep.qp, uint64_t(i), sgeOf(rbuf.data() + size_t(i) * slot, slot, *rmr)))
        return false;
    return true;
  };
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

int perfClient(Provider* prov, const Opts& o, bool lat) {
  size_t size = size_t(o.size > 0 ? o.size : (lat ? 64 : 1 << 20));
  PerfSide s;
  s.buf.assign(std::max<size_t>(size, 64) * 2, 0x5A);
  std::vector<uint8_t> rbuf(std::max<size_t>(size, 64) * kRecvDepth);
  std::shared_ptr<MemoryRegion> rmr;
  Endpoint e;
  ConnParam cp;
  auto prep = [&](Endpoint& ep) {
    auto m = ep.pd->regMr(s.buf.data(), s.buf.size(),
                          kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite);
    auto r = ep.pd->regMr(rbuf.data(), rbuf.size(), kAccessLocalWrite);
    if (!m || !r) return false;
    s.mr = *m;
    rmr = *r;
    size_t slot = std::max<size_t>(size, 64);
    for (int i = 0; i < kRecvDepth; i++)
      if (!postRecvOne(*ep.qp, uint64_t(i), sgeOf(rbuf.data() + size_t(i) * slot, slot, *rmr)))
        return false;
    cp.private_data = infoOf(s);
    return true;
  };
  // The private data must be filled before connect: prep runs first inside clientConnect.
  if (!clientConnect(prov, o.addr, o.port, 512, kRecvDepth, cp, e, prep)) return 1;
  readInfo(e.established.private_data, &s);
  if (s.peer_len < size) {
    std::fprintf(stderr, "server buffer too small\n");
    return 1;
  }
  std::string op = o.op;
  size_t slot = std::max<size_t>(size, 64);
  auto repost = [&](const Wc& wc) {
    (void)postRecvOne(*e.qp, wc.wr_id, sgeOf(rbuf.data() + size_t(wc.wr_id) * slot, slot, *rmr));
  };
  auto makeWr = [&](uint64_t id) {
    SendWr wr;
    wr.wr_id = id;
    wr.opcode = op == "read" ? WrOpcode::kRdmaRead : op == "send" ? WrOpcode::kSend : WrOpcode::kRdmaWrite;
    wr.remote_addr = s.peer_addr;
    wr.rkey = s.peer_rkey;
    return wr;
  };
  Sge sg = sgeOf(s.buf.data(), size, *s.mr);
  int rc = 0;
  if (lat) {
    long iters = o.iters ? o.iters : 10000;
    std::vector<double> samples;
    samples.reserve(size_t(iters));
    for (long i = 0; i < iters; i++) {
      auto t = Clock::now();
      SendWr wr = makeWr(uint64_t(i));
      wr.sg_list = std::span<const Sge>(&sg, 1);
      if (!postOne(*e.qp, wr)) return 1;
      bool got_reply = op != "send", got_local = false;
      while (!got_reply || !got_local) {
        Wc wc;
        if (!nextWc(e, &wc)) return 1;
        if (wc.status != WcStatus::kSuccess) {
          std::fprintf(stderr, "completion error %s\n", wcStatusName(wc.status));
          return 1;
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
  } else {
    int depth = std::max(1, std::min(o.depth, 256));
    long credits = kRecvDepth - 8;
    auto t0 = Clock::now();
    uint64_t bytes = 0;
    long posted = 0, done = 0;
    long limit = o.iters;
    while (true) {
      bool time_up = !limit && secondsSince(t0) >= o.seconds;
      bool count_up = limit && posted >= limit;
      while (!time_up && !count_up && posted - done < depth && (op != "send" || credits > 0)) {
        SendWr wr = makeWr(uint64_t(posted));
        wr.sg_list = std::span<const Sge>(&sg, 1);
        if (!postOne(*e.qp, wr)) return 1;
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
  }
  (void)e.id->disconnect();
  return rc;
}

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

}  // namespace

int rdmaToolMain(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "devices") return cmdDevices(argc, argv);
  if (cmd == "ping") return cmdPing(argc, argv);
  if (cmd == "bw") return cmdPerf(argc, argv, false);
  if (cmd == "lat") return cmdPerf(argc, argv, true);
  // `rdma --help` (or -h, help) is an answer: standard output, status 0; anything else is a
  // usage error.
  bool help = cmd == "--help" || cmd == "-h" || cmd == "help";
  std::fprintf(help ? stdout : stderr,
               "usage: rdma devices\n"
               "       rdma ping -s|-c [-a addr] [-p port] [-C count] [-S size] [-v] [-V]\n"
               "       rdma bw  -s|-c [-a addr] [-p port] [-o send|write|read] [-S size]\n"
               "       rdma lat -s|-c [-a addr] [-p port] [-o send|read] [-S size]\n"
               "       common: -P soft|verbs|auto (default auto: verbs when a device exists)\n");
  return help ? 0 : 2;
}

}  // namespace sd::rdma
