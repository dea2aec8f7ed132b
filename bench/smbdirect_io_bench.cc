// Throughput (1 MiB I/O, pipelined; writes from the application's memory, uploadFrom) and
// latency (4 KiB, one at a time) of reads and writes through our client to a running
// smbdirectd, over TCP and over SMB Direct, in one run (after an untimed warm-up of each).
// Usage: smbdirect_io_bench --tcp-port N --rdma-port N [--host H] [--user U] [--password P]
//        [--share S] [--size-mb 512] [--ops 2000] [--runs 3] [--only tcp|rdma] [--cases wrl]
//        [--warmup-mb N]   (default: --size-mb) [--overwrite] [--server-pid PID]
// (--overwrite: each run writes over the file of the transport's previous run instead of a new
// one, so that no run depends on how fast the machine hands out fresh page-cache memory)
// (--server-pid: smbdirectd's process, whose CPU time per MiB is reported beside the client's:
// with both on one machine the throughput follows the CPU both spend per MiB)
// (--only and --cases, for profiling: one transport; a subset of write, read, latency)
// Prints one line per case with the median of the runs (the transports take turns going first);
// bench/smbdirect_vs_tcp.sh drives it.
#include <dirent.h>
#include <getopt.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client/smb_client.h"
#include "smb2/constants.h"

using namespace sd;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string host = "127.0.0.1", user = "smbtest", password = "Pass-1234", share = "share";
  int tcp_port = 0, rdma_port = 0, size_mb = 512, ops = 2000, runs = 3;
  std::string only;  // one transport only (for profiling): tcp or rdma
  std::string cases = "wrl";  // w: 1 MiB writes, r: 1 MiB reads, l: 4 KiB latency
  int warmup_mb = -1;         // untimed run of each transport first (0: none; default: size_mb)
  bool overwrite = false;     // write over the previous run's file instead of a new one
  int server_pid = 0;         // smbdirectd, for its CPU time (0: not reported)
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool connect(client::SmbClient& c, const Args& a, bool rdma) {
  client::ConnectOptions o;
  o.host = a.host;
  o.port = uint16_t(rdma ? a.rdma_port : a.tcp_port);
  o.port_explicit = true;
  o.rdma = rdma;
  o.user = a.user;
  o.password = a.password;
  o.max_io = 1 << 20;
  auto st = c.connect(o);
  if (!st) {
    std::fprintf(stderr, "connect (%s): %s\n", rdma ? "rdma" : "tcp", client::describe(st.status()).c_str());
    return false;
  }
  st = c.treeConnect(a.share);
  if (!st) std::fprintf(stderr, "tree connect: %s\n", client::describe(st.status()).c_str());
  return bool(st);
}

struct Result4 {
  double write_mibs = 0, read_mibs = 0, write_lat_us = 0, read_lat_us = 0;
  double write_cpu_ms = 0, read_cpu_ms = 0;  // the client process's CPU (all threads) per 1 MiB case
  double write_srv_ms = 0, read_srv_ms = 0;  // the server's (--server-pid), likewise
};

double cpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

// CPU time of every thread of process `pid` so far (/proc/<pid>/task/*/schedstat, nanoseconds),
// in milliseconds; 0 when there is no such process. A thread that ends between two readings is
// missed; the server's threads for a connection live through the run that uses it.
double processCpuMs(int pid) {
  if (pid <= 0) return 0;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  double ns = 0;
  for (int i = 0; i < 100000; i++) {
    dirent* e = readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.') continue;
    FILE* f = std::fopen((dir + "/" + e->d_name + "/schedstat").c_str(), "r");
    if (!f) continue;
    unsigned long long run = 0;
    if (std::fscanf(f, "%llu", &run) == 1) ns += double(run);
    std::fclose(f);
  }
  closedir(d);
  return ns / 1e6;
}

// Wall time and CPU (the client's, the server's) of one 1 MiB case, from construction to done().
struct Meter {
  int server_pid;
  Clock::time_point t = Clock::now();
  double cpu = cpuMs(), srv = processCpuMs(server_pid);
  // mibs: the throughput, when the case is measured (nullptr: only the CPU).
  void done(uint64_t bytes, double* mibs, double* cpu_ms, double* srv_ms) const {
    if (mibs) *mibs = double(bytes) / (1 << 20) / secondsSince(t);
    *cpu_ms = cpuMs() - cpu;
    *srv_ms = processCpuMs(server_pid) - srv;
  }
};

Result4 runOnce(const Args& a, bool rdma, const std::vector<uint8_t>& data) {
  Result4 r;
  client::SmbClient c;
  if (!connect(c, a, rdma)) std::exit(1);
  std::string name = std::string("bench-") + (rdma ? "rdma" : "tcp") + ".bin";
  uint64_t size = data.size();
  auto has = [&](char k) { return a.cases.find(k) != std::string::npos; };
  // The file is written even when only reads are measured (without timing then).
  Meter w{a.server_pid};
  // From the application's memory (uploadFrom: no copy on the client, on either transport).
  Status st = ok();
  if (a.overwrite) {
    auto f = c.open(name, smb2::kFileWriteData | smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpenIf,
                    smb2::kFileNonDirectoryFile);
    if (!f) { std::fprintf(stderr, "open: %s\n", client::describe(f.status()).c_str()); std::exit(1); }
    Status stopped = ok();
    auto n = c.writePipelined(*f, 0, ByteView(data.data(), size), 1 << 20, nullptr, &stopped);
    Status closed = c.close(*f);
    st = !n ? n.error() : !stopped ? stopped : *n != size ? err(NtStatus::kDiskFull, "short write") : closed;
  } else {
    st = c.uploadFrom(name, ByteView(data.data(), size));
  }
  if (!st) { std::fprintf(stderr, "upload: %s\n", client::describe(st.status()).c_str()); std::exit(1); }
  w.done(size, has('w') ? &r.write_mibs : nullptr, &r.write_cpu_ms, &r.write_srv_ms);
  if (has('r')) {
    uint64_t got = 0;
    Meter rd{a.server_pid};
    st = c.download(name, [&](ByteView b) -> Status {
      got += b.size();
      return ok();
    });
    if (!st || got != size) { std::fprintf(stderr, "download failed\n"); std::exit(1); }
    rd.done(size, &r.read_mibs, &r.read_cpu_ms, &r.read_srv_ms);
  }
  if (!has('l')) {
    if (!a.overwrite) (void)c.unlink(name);
    (void)c.logoff();
    return r;
  }
  // 4 KiB, one request at a time.
  auto f = c.open(name, smb2::kFileReadData | smb2::kFileWriteData | smb2::kSynchronize, smb2::kFileOpen,
                  smb2::kFileNonDirectoryFile);
  if (!f) { std::fprintf(stderr, "open failed\n"); std::exit(1); }
  std::vector<uint8_t> buf(4096);
  auto t = Clock::now();
  for (int i = 0; i < a.ops; i++) {
    auto n = c.read(*f, uint64_t(i % 1024) * 4096, buf);
    if (!n || *n != 4096) { std::fprintf(stderr, "4 KiB read failed\n"); std::exit(1); }
  }
  r.read_lat_us = secondsSince(t) / a.ops * 1e6;
  t = Clock::now();
  for (int i = 0; i < a.ops; i++) {
    auto n = c.write(*f, uint64_t(i % 1024) * 4096, ByteView(data.data(), 4096));
    if (!n || *n != 4096) { std::fprintf(stderr, "4 KiB write failed\n"); std::exit(1); }
  }
  r.write_lat_us = secondsSince(t) / a.ops * 1e6;
  (void)c.close(*f);
  if (!a.overwrite) (void)c.unlink(name);
  (void)c.logoff();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  static const option kLong[] = {{"host", required_argument, nullptr, 'H'},   {"tcp-port", required_argument, nullptr, 't'},
                                 {"rdma-port", required_argument, nullptr, 'r'}, {"user", required_argument, nullptr, 'u'},
                                 {"password", required_argument, nullptr, 'p'}, {"share", required_argument, nullptr, 's'},
                                 {"size-mb", required_argument, nullptr, 'm'},  {"ops", required_argument, nullptr, 'o'},
                                 {"runs", required_argument, nullptr, 'n'},     {"only", required_argument, nullptr, 'O'},
                                 {"cases", required_argument, nullptr, 'C'},    {"warmup-mb", required_argument, nullptr, 'W'},
                                 {"overwrite", no_argument, nullptr, 'X'},      {"server-pid", required_argument, nullptr, 'P'},
                                 {nullptr, 0, nullptr, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "", kLong, nullptr)) != -1) {
    switch (ch) {
      case 'H': a.host = optarg; break;
      case 't': a.tcp_port = std::atoi(optarg); break;
      case 'r': a.rdma_port = std::atoi(optarg); break;
      case 'u': a.user = optarg; break;
      case 'p': a.password = optarg; break;
      case 's': a.share = optarg; break;
      case 'm': a.size_mb = std::max(1, std::atoi(optarg)); break;
      case 'o': a.ops = std::max(1, std::atoi(optarg)); break;
      case 'n': a.runs = std::max(1, std::atoi(optarg)); break;
      case 'O': a.only = optarg; break;
      case 'C': a.cases = optarg; break;
      case 'X': a.overwrite = true; break;
      case 'P': a.server_pid = std::atoi(optarg); break;
      case 'W': a.warmup_mb = std::max(0, std::atoi(optarg)); break;
      default: std::fprintf(stderr, "see the header of bench/smbdirect_io_bench.cc\n"); return 2;
    }
  }
  if (!a.tcp_port || !a.rdma_port) {
    std::fprintf(stderr, "need --tcp-port and --rdma-port\n");
    return 2;
  }
  auto wanted = [&](int rdma) { return !((a.only == "tcp" && rdma) || (a.only == "rdma" && !rdma)); };
  std::vector<uint8_t> data(size_t(a.size_mb) << 20);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 2654435761u >> 13);
  // Untimed warm-up of both transports first, as large as a timed run: the first run to write
  // this much into the server's page cache gets memory the machine has not touched before, which
  // costs about twice as much per byte on a virtual machine (measured on both transports: the
  // first 1 GiB write after a 64 MiB warm-up, whichever transport made it); later runs reuse the
  // pages the previous run's file gave back.
  if (a.warmup_mb < 0) a.warmup_mb = a.size_mb;
  if (a.warmup_mb > 0) {
    Args w = a;
    w.ops = 200;
    std::vector<uint8_t> warm(data.begin(), data.begin() + long(std::min<size_t>(data.size(), size_t(w.warmup_mb) << 20)));
    for (int rdma = 0; rdma < 2; rdma++)
      if (wanted(rdma)) (void)runOnce(w, rdma, warm);
  }
  // Per transport: write and read MiB/s, 4 KiB write and read latency, then CPU per MiB written
  // and read (client + server, us; with --server-pid).
  std::vector<double> v[2][6];
  const double mib = double(a.size_mb);
  for (int run = 0; run < a.runs; run++) {
    for (int k = 0; k < 2; k++) {
      // Alternate which transport goes first: the second one runs after the first one's writes
      // (page cache, writeback), so a fixed order would favour one of them.
      int rdma = run % 2 ? 1 - k : k;
      if (!wanted(rdma)) continue;
      Result4 r = runOnce(a, rdma, data);
      char srv[96] = "";
      if (a.server_pid)
        std::snprintf(srv, sizeof srv, "; server CPU: write %.0f ms, read %.0f ms", r.write_srv_ms, r.read_srv_ms);
      std::fprintf(stderr,
                   "run %d %-4s: write %.1f MiB/s, read %.1f MiB/s, 4 KiB write %.1f us, read %.1f us "
                   "(client CPU: write %.0f ms, read %.0f ms%s)\n",
                   run + 1, rdma ? "rdma" : "tcp", r.write_mibs, r.read_mibs, r.write_lat_us, r.read_lat_us,
                   r.write_cpu_ms, r.read_cpu_ms, srv);
      v[rdma][0].push_back(r.write_mibs);
      v[rdma][1].push_back(r.read_mibs);
      v[rdma][2].push_back(r.write_lat_us);
      v[rdma][3].push_back(r.read_lat_us);
      v[rdma][4].push_back((r.write_cpu_ms + r.write_srv_ms) * 1e3 / mib);
      v[rdma][5].push_back((r.read_cpu_ms + r.read_srv_ms) * 1e3 / mib);
    }
  }
  if (a.overwrite) {  // the files the runs wrote over
    client::SmbClient c;
    if (connect(c, a, false)) {
      (void)c.unlink("bench-rdma.bin");
      (void)c.unlink("bench-tcp.bin");
      (void)c.logoff();
    }
  }
  const char* names[6] = {"write 1 MiB (MiB/s)", "read 1 MiB (MiB/s)", "write 4 KiB latency (us)",
                          "read 4 KiB latency (us)", "CPU per MiB written (us, client + server)",
                          "CPU per MiB read (us, client + server)"};
  const char* what[6] = {"the throughput", "the throughput", "the latency", "the latency", "the CPU", "the CPU"};
  std::printf("| case | TCP | SMB Direct (soft iWARP) | SMB Direct vs TCP |\n|---|---|---|---|\n");
  for (int k = 0; k < (a.server_pid ? 6 : 4); k++) {
    double tcp = median(v[0][k]), rd = median(v[1][k]);
    // Throughput: SMB Direct / TCP. Latency and CPU: SMB Direct's / TCP's. "Better" means above 1
    // for throughput, below 1 for latency and CPU.
    std::printf("| %s | %.1f | %.1f | %.2fx %s |\n", names[k], tcp, rd, rd / tcp, what[k]);
  }
  return 0;
}
