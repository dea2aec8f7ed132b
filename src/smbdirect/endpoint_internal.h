// Pieces shared by the endpoint's setup (endpoint.cc) and its progress engine
// (endpoint_progress.cc): work request ids, queue limits, the clock the core runs on and the
// packet trace. Not part of the endpoint's API.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "base/bytes.h"

namespace sd::smbdirect::endpoint_internal {

// wr_id: kind in the top byte, index or operation id below.
enum : uint64_t { kWrRecv = 1, kWrSend = 2, kWrRdma = 3 };
inline uint64_t wrId(uint64_t kind, uint64_t v) { return (kind << 56) | v; }
inline uint64_t wrKind(uint64_t id) { return id >> 56; }
inline uint64_t wrVal(uint64_t id) { return id & ((1ull << 56) - 1); }

constexpr uint32_t kMaxRdmaWrs = 32;   // RDMA read/write work requests in flight per endpoint
constexpr uint32_t kSignalEvery = 16;  // sends per signaled send

// The core's time (milliseconds of the steady clock).
inline uint64_t nowMs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

// -vv: one line per MS-SMBD packet (what tshark's smb_direct dissector would show).
void tracePacket(const char* dir, const std::string& peer, ByteView p, uint32_t inv);

}  // namespace sd::smbdirect::endpoint_internal
