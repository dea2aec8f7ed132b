// Time for protocol cores: they never read the clock themselves; callers pass a TimePoint in.
// FILETIME conversion (MS-DTYP 2.3.3). Owned by base/; any thread.
#pragma once
#include <cstdint>
#include <ctime>

namespace sd {

// Monotonic milliseconds, supplied by the runtime (or by a test's virtual clock).
using TimeMs = int64_t;
TimeMs monotonicMs();  // the real clock; used only by runtime/ shells

// 100 ns intervals since 1601-01-01 UTC.
constexpr uint64_t kFiletimeUnixEpoch = 116444736000000000ULL;
inline uint64_t filetimeFromTimespec(const timespec& ts) {
  if (ts.tv_sec < -11644473600LL) return 0;
  return kFiletimeUnixEpoch + uint64_t(int64_t(ts.tv_sec) * 10000000LL + ts.tv_nsec / 100);
}
inline timespec timespecFromFiletime(uint64_t ft) {
  timespec ts{};
  int64_t rel = int64_t(ft - kFiletimeUnixEpoch);
  ts.tv_sec = rel / 10000000LL;
  ts.tv_nsec = (rel % 10000000LL) * 100;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000L;
    ts.tv_sec -= 1;
  }
  return ts;
}
uint64_t filetimeNow();  // the real wall clock, for shells

}  // namespace sd
