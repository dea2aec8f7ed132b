// Small helpers shared by the files of the SMB client (smb_client.h's SmbClient is defined over
// several .cc files by job). Internal to src/client.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/bytes.h"
#include "base/nt_status.h"

namespace sd::client::internal {

// The credits every request asks for.
constexpr uint16_t kCreditRequest = 512;

// A path as SMB2 names it: backslashes, no leading separator.
inline std::string wire(const std::string& p) {
  std::string r = p;
  for (auto& c : r)
    if (c == '/') c = '\\';
  while (!r.empty() && r[0] == '\\') r.erase(0, 1);
  return r;
}

// Statuses that come with a usable response body.
inline bool isOkStatus(uint32_t s) {
  return s == 0 || s == toWire(NtStatus::kBufferOverflow) || s == toWire(NtStatus::kMoreProcessingRequired);
}

// One printf-style line (at most 255 characters) appended to `o`, for the status report.
template <class... A>
void appendf(std::string& o, const char* fmt, A... a) {
  char line[256];
  std::snprintf(line, sizeof line, fmt, a...);
  o += line;
}

}  // namespace sd::client::internal
