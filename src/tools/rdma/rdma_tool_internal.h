// Shared parts of the rdma tool (rdma_tool.cc: options, connection setup, completions,
// devices; rdma_ping.cc: ping; rdma_perf.cc: bw and lat). Internal to src/tools/rdma.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rdma/rdma.h"

namespace sd::rdma::tool {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t) {
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
bool parseOpts(int argc, char** argv, int first, Opts* o);
Provider* pickProvider(const std::string& name);

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

// Server half of connection setup; `prep` runs after the QP exists and before accept.
bool serverAccept(Provider* p, const std::string& addr, int port, uint32_t sq, uint32_t rq,
                  const ConnParam& cp, Endpoint& e, const std::function<bool(Endpoint&)>& prep,
                  bool quiet = false);
bool clientConnect(Provider* p, const std::string& addr, int port, uint32_t sq, uint32_t rq,
                   const ConnParam& cp, Endpoint& e, const std::function<bool(Endpoint&)>& prep);
// Waits for the next completion; false on timeout or when the connection went down first.
bool nextWc(Endpoint& e, Wc* out, int timeout_ms = 30000);

inline Sge sgeOf(const void* p, size_t len, const MemoryRegion& mr) {
  return Sge{uint64_t(reinterpret_cast<uintptr_t>(p)), uint32_t(len), mr.lkey()};
}
inline Status postOne(QueuePair& qp, const SendWr& wr) { return qp.postSend(std::span<const SendWr>(&wr, 1)); }
Status postRecvOne(QueuePair& qp, uint64_t id, const Sge& sg);

inline void putBe64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (56 - 8 * i)); }
inline void putBe32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (24 - 8 * i)); }
inline uint64_t getBe64(const uint8_t* p) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }
inline uint32_t getBe32(const uint8_t* p) { uint32_t v = 0; for (int i = 0; i < 4; i++) v = v << 8 | p[i]; return v; }

// struct rping_rdma_info { __be64 buf; __be32 rkey; __be32 size; }: ping's messages and the
// private data of bw/lat.
constexpr size_t kInfoLen = 16;

int cmdDevices(int argc, char** argv);
int cmdPing(int argc, char** argv);
int cmdPerf(int argc, char** argv, bool lat);

}  // namespace sd::rdma::tool
