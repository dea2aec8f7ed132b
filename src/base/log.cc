#include "base/log.h"

#include <syslog.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace sd {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_syslog{false};
const char* g_prefix = "smbdirect";
std::mutex g_mu;
}  // namespace

void logSetLevel(LogLevel l) { g_level = static_cast<int>(l); }
LogLevel logLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }
void logSetPrefix(const char* prefix) { g_prefix = prefix; }
void logToSyslog(const char* ident) {
  openlog(ident, LOG_PID, LOG_DAEMON);
  g_syslog = true;
}

void logMessage(LogLevel l, const char* fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_syslog) {
    static const int kPrio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
    syslog(kPrio[static_cast<int>(l)], "%s", msg);
    return;
  }
  static const char* kName[] = {"error", "warning", "info", "debug", "trace"};
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  std::lock_guard<std::mutex> lk(g_mu);
  fprintf(stderr, "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s: %s: %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
          g_prefix, kName[static_cast<int>(l)], msg);
}

}  // namespace sd
