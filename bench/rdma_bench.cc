// Soft iWARP provider over loopback next to raw TCP loopback, in the same run:
//   RDMA Write and RDMA Read bandwidth with 1 MiB messages, Send latency with 64 B (ping-pong),
//   TCP loopback bandwidth (iperf3, one stream) and a 64 B TCP ping-pong.
// The RDMA server runs in a child process (this binary re-executed as `--rdma-tool bw|lat -s`),
// so each side has its own provider thread, as two real peers do. Ratios are printed at the end.
// Targets (docs/rdma.md): bandwidth >= 70% of TCP loopback, latency <= 2x the TCP ping-pong.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "rdma/rdma.h"
#include "tools/rdma/rdma_tool.h"

extern char** environ;

namespace {
using namespace sd::rdma;

std::map<std::string, double> g_results;  // name -> bytes/s or seconds

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t l = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  close(fd);
  return ntohs(a.sin_port);
}

pid_t spawn(std::vector<std::string> args) {
  std::vector<char*> av;
  for (auto& s : args) av.push_back(s.data());
  av.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, av[0], nullptr, nullptr, av.data(), environ) != 0) return -1;
  return pid;
}

bool waitListening(int port) {
  for (int i = 0; i < 200; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Probe with a plain connect: the tool's listener drops a connection without an MPA request.
    bool up = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (up) return true;
    usleep(10000);
  }
  return false;
}

uint64_t be64(const uint8_t* p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }
uint32_t be32(const uint8_t* p) { uint32_t v = 0; for (int i = 0; i < 4; i++) v = v << 8 | p[i]; return v; }

// A client connection to a `--rdma-tool bw|lat -s` child (protocol: rdma_tool.cc perfServer).
struct RdmaPeer {
  pid_t child = -1;
  std::shared_ptr<CmChannel> ch;
  std::shared_ptr<CmId> id;
  std::shared_ptr<ProtectionDomain> pd;
  std::shared_ptr<CompletionQueue> cq;
  std::shared_ptr<QueuePair> qp;
  std::vector<uint8_t> buf, rbuf;
  std::shared_ptr<MemoryRegion> mr, rmr;
  uint64_t peer_addr = 0;
  uint32_t peer_rkey = 0;
  size_t slot = 0;

  bool start(const char* mode, size_t size) {
    int port = freePort();
    child = spawn({"/proc/self/exe", "--rdma-tool", mode, "-s", "-P", "soft", "-a", "127.0.0.1",
                   "-p", std::to_string(port), "-S", std::to_string(size)});
    if (child < 0 || !waitListening(port)) return false;
    Provider* p = findProvider("soft");
    ch = *p->createCmChannel();
    id = *ch->createId();
    if (!id->resolve("127.0.0.1:" + std::to_string(port), 1000)) return false;
    if (!expectEvent(*ch, CmEventType::kAddrResolved, 5000)) return false;
    // The probe connection above may have produced nothing; the server waits for a real request.
    auto dev = id->device();
    pd = *dev->allocPd();
    cq = *dev->createCq(2048);
    QpInitAttr a;
    a.pd = pd;
    a.send_cq = cq;
    a.recv_cq = cq;
    a.caps.max_send_wr = 512;
    a.caps.max_recv_wr = 256;
    a.caps.max_send_sge = 1;
    a.caps.max_recv_sge = 1;
    qp = *id->createQp(a);
    slot = std::max<size_t>(size, 64);
    buf.assign(slot * 2, 0x5A);
    rbuf.assign(slot * 256, 0);
    mr = *pd->regMr(buf.data(), buf.size(), kAccessLocalWrite | kAccessRemoteRead | kAccessRemoteWrite);
    rmr = *pd->regMr(rbuf.data(), rbuf.size(), kAccessLocalWrite);
    for (int i = 0; i < 256; i++) postRecv(uint64_t(i));
    ConnParam cp;
    cp.private_data.resize(16);
    uint64_t addr = reinterpret_cast<uintptr_t>(buf.data());
    for (int i = 0; i < 8; i++) cp.private_data[i] = uint8_t(addr >> (56 - 8 * i));
    for (int i = 0; i < 4; i++) cp.private_data[8 + i] = uint8_t(mr->rkey() >> (24 - 8 * i));
    for (int i = 0; i < 4; i++) cp.private_data[12 + i] = uint8_t(buf.size() >> (24 - 8 * i));
    if (!id->connect(cp)) return false;
    auto est = expectEvent(*ch, CmEventType::kEstablished, 5000);
    if (!est || est->private_data.size() < 16) return false;
    peer_addr = be64(est->private_data.data());
    peer_rkey = be32(est->private_data.data() + 8);
    return true;
  }
  void postRecv(uint64_t i) {
    Sge sg{reinterpret_cast<uintptr_t>(rbuf.data() + i * slot), uint32_t(slot), rmr->lkey()};
    RecvWr r;
    r.wr_id = i;
    r.sg_list = std::span<const Sge>(&sg, 1);
    (void)qp->postRecv(std::span<const RecvWr>(&r, 1));
  }
  // Busy-polls one completion (benchmarks measure the data path, not the event fd).
  bool poll(Wc* wc) {
    for (long spin = 0; spin < 2000000000L; spin++) {
      auto n = cq->poll(std::span<Wc>(wc, 1));
      if (n && *n == 1) return wc->status == WcStatus::kSuccess;
    }
    return false;
  }
  ~RdmaPeer() {
    if (id) (void)id->disconnect();
    qp.reset();
    id.reset();
    if (child > 0) {
      for (int i = 0; i < 100; i++) {
        if (waitpid(child, nullptr, WNOHANG) == child) return;
        usleep(10000);
      }
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    }
  }
};

void rdmaBw(benchmark::State& state, WrOpcode op, const char* name) {
  const size_t size = 1 << 20;
  RdmaPeer p;
  if (!p.start("bw", size)) {
    state.SkipWithError("rdma server did not start");
    return;
  }
  const int depth = 8;
  Sge sg{reinterpret_cast<uintptr_t>(p.buf.data()), uint32_t(size), p.mr->lkey()};
  SendWr wr;
  wr.opcode = op;
  wr.sg_list = std::span<const Sge>(&sg, 1);
  wr.remote_addr = p.peer_addr;
  wr.rkey = p.peer_rkey;
  int outstanding = 0;
  uint64_t bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    while (outstanding < depth) {
      if (!p.qp->postSend(std::span<const SendWr>(&wr, 1))) {
        state.SkipWithError("post failed");
        return;
      }
      outstanding++;
    }
    Wc wc;
    if (!p.poll(&wc)) {
      state.SkipWithError("completion error");
      return;
    }
    outstanding--;
    bytes += size;
  }
  while (outstanding > 0) {
    Wc wc;
    if (!p.poll(&wc)) break;
    outstanding--;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.SetBytesProcessed(int64_t(bytes));
  g_results[name] = double(bytes) / secs;
  state.counters["Gbit/s"] = double(bytes) * 8 / secs / 1e9;
}

void BM_SoftRdmaWrite1MiB(benchmark::State& s) { rdmaBw(s, WrOpcode::kRdmaWrite, "rdma_write"); }
void BM_SoftRdmaRead1MiB(benchmark::State& s) { rdmaBw(s, WrOpcode::kRdmaRead, "rdma_read"); }

void BM_SoftSendLatency64B(benchmark::State& state) {
  RdmaPeer p;
  if (!p.start("lat", 64)) {
    state.SkipWithError("rdma server did not start");
    return;
  }
  Sge sg{reinterpret_cast<uintptr_t>(p.buf.data()), 64, p.mr->lkey()};
  SendWr wr;
  wr.opcode = WrOpcode::kSend;
  wr.flags = 0;  // unsignaled: the echo is the completion we wait for
  wr.sg_list = std::span<const Sge>(&sg, 1);
  long n = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    wr.flags = (n % 64 == 63) ? uint32_t(kSendSignaled) : 0u;  // keep the SQ from filling
    (void)p.qp->postSend(std::span<const SendWr>(&wr, 1));
    for (;;) {
      Wc wc;
      if (!p.poll(&wc)) {
        state.SkipWithError("completion error");
        return;
      }
      if (wc.opcode == WcOpcode::kRecv) {
        p.postRecv(wc.wr_id);
        break;
      }
    }
    n++;
  }
  double rtt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(n);
  g_results["rdma_send_rtt"] = rtt;
  state.counters["rtt_us"] = rtt * 1e6;
}

void BM_TcpPingPong64B(benchmark::State& state) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(lfd, 1);
  socklen_t l = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &l);
  // The echo side is another process, as for the RDMA case.
  pid_t child = fork();
  if (child == 0) {
    int c = accept(lfd, nullptr, nullptr);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char b[64];
    for (;;) {
      size_t got = 0;
      while (got < 64) {
        ssize_t r = read(c, b + got, 64 - got);
        if (r <= 0) _exit(0);
        got += size_t(r);
      }
      if (write(c, b, 64) != 64) _exit(0);
    }
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char b[64] = {1};
  long n = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (write(fd, b, 64) != 64) break;
    size_t got = 0;
    while (got < 64) {
      ssize_t r = read(fd, b + got, 64 - got);
      if (r <= 0) break;
      got += size_t(r);
    }
    n++;
  }
  double rtt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(n);
  g_results["tcp_rtt"] = rtt;
  state.counters["rtt_us"] = rtt * 1e6;
  close(fd);
  close(lfd);
  waitpid(child, nullptr, 0);
}

// iperf3 over loopback, one stream, 3 s: the TCP bandwidth baseline measured in this run.
void BM_TcpIperf3(benchmark::State& state) {
  for (auto _ : state) {
    int port = freePort();
    std::string ps = std::to_string(port);
    pid_t srv = spawn({"/usr/bin/iperf3", "-s", "-1", "-p", ps});
    if (srv < 0) {
      state.SkipWithError("no iperf3");
      return;
    }
    usleep(300000);
    std::string cmd = "/usr/bin/iperf3 -c 127.0.0.1 -p " + ps + " -t 3 -J 2>/dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t k;
    while (f && (k = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, k);
    if (f) pclose(f);
    waitpid(srv, nullptr, 0);
    size_t at = out.find("\"sum_received\"");
    if (at != std::string::npos) at = out.find("\"bits_per_second\"", at);
    if (at == std::string::npos) {
      state.SkipWithError("could not parse iperf3 output");
      return;
    }
    double bps = std::strtod(out.c_str() + out.find(':', at) + 1, nullptr);
    g_results["tcp_bw"] = bps / 8;
    state.counters["Gbit/s"] = bps / 1e9;
  }
}

BENCHMARK(BM_TcpIperf3)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_SoftRdmaWrite1MiB)->MinTime(3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SoftRdmaRead1MiB)->MinTime(3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TcpPingPong64B)->MinTime(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SoftSendLatency64B)->MinTime(2)->Unit(benchmark::kMicrosecond);

void summary() {
  auto get = [](const char* k) {
    auto it = g_results.find(k);
    return it == g_results.end() ? 0.0 : it->second;
  };
  double tcp = get("tcp_bw"), w = get("rdma_write"), r = get("rdma_read");
  double trtt = get("tcp_rtt"), srtt = get("rdma_send_rtt");
  std::printf("\n==== soft iWARP vs TCP loopback (same run) ====\n");
  std::printf("TCP loopback (iperf3)     : %7.2f Gbit/s\n", tcp * 8 / 1e9);
  if (tcp > 0) {
    std::printf("RDMA Write 1 MiB          : %7.2f Gbit/s  = %5.1f%% of TCP (target >= 70%%)\n",
                w * 8 / 1e9, 100 * w / tcp);
    std::printf("RDMA Read  1 MiB          : %7.2f Gbit/s  = %5.1f%% of TCP (target >= 70%%)\n",
                r * 8 / 1e9, 100 * r / tcp);
  }
  std::printf("TCP ping-pong 64 B        : %7.2f us round trip\n", trtt * 1e6);
  if (trtt > 0)
    std::printf("Send ping-pong 64 B       : %7.2f us round trip = %.2fx TCP (target <= 2x)\n",
                srtt * 1e6, srtt / trtt);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--rdma-tool") == 0) {
    static char rdma[] = "rdma";
    argv[1] = rdma;
    return sd::rdma::rdmaToolMain(argc - 1, argv + 1);
  }
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  summary();
  return 0;
}
