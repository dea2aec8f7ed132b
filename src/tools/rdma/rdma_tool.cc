// The rdma tool: devices, ping (rping's wire protocol and flags), bw and lat. Single-threaded:
// the tool waits on its CQ and CM channel fds with poll(2). This file: options, connection setup,
// completions, devices and the dispatch; ping in rdma_ping.cc, bw and lat in rdma_perf.cc.
#include "tools/rdma/rdma_tool.h"

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
#include "tools/rdma/rdma_tool_internal.h"

namespace sd::rdma {
namespace tool {
namespace {

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


}  // namespace

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

bool serverAccept(Provider* p, const std::string& addr, int port, uint32_t sq, uint32_t rq,
                  const ConnParam& cp, Endpoint& e, const std::function<bool(Endpoint&)>& prep,
                  bool quiet) {
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
bool nextWc(Endpoint& e, Wc* out, int timeout_ms) {
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

Status postRecvOne(QueuePair& qp, uint64_t id, const Sge& sg) {
  RecvWr r;
  r.wr_id = id;
  r.sg_list = std::span<const Sge>(&sg, 1);
  return qp.postRecv(std::span<const RecvWr>(&r, 1));
}

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


}  // namespace tool

int rdmaToolMain(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "devices") return tool::cmdDevices(argc, argv);
  if (cmd == "ping") return tool::cmdPing(argc, argv);
  if (cmd == "bw") return tool::cmdPerf(argc, argv, false);
  if (cmd == "lat") return tool::cmdPerf(argc, argv, true);
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
