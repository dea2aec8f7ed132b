// Logging: printf-style, to stderr (default) or syslog; level set once at start-up. Any thread.
#pragma once
#include <cstdarg>

namespace sd {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

void logSetLevel(LogLevel l);
LogLevel logLevel();
void logToSyslog(const char* ident);  // switch sink to syslog(3)
void logSetPrefix(const char* prefix);  // e.g. "smbdirectd"
void logMessage(LogLevel l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace sd

#define SD_LOG(level, ...)                                                      \
  do {                                                                          \
    if (static_cast<int>(level) <= static_cast<int>(::sd::logLevel()))          \
      ::sd::logMessage(level, __VA_ARGS__);                                     \
  } while (0)
#define LOG_ERROR(...) SD_LOG(::sd::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN(...) SD_LOG(::sd::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO(...) SD_LOG(::sd::LogLevel::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) SD_LOG(::sd::LogLevel::kDebug, __VA_ARGS__)
#define LOG_TRACE(...) SD_LOG(::sd::LogLevel::kTrace, __VA_ARGS__)
