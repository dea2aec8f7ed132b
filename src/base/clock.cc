#include "base/clock.h"

namespace sd {

TimeMs monotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return TimeMs(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint64_t filetimeNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return filetimeFromTimespec(ts);
}

}  // namespace sd
