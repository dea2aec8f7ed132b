#include "base/net.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace sd {

bool parseSockaddr(std::string_view s, sockaddr_storage* out, socklen_t* len) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    size_t e = s.find(']');
    if (e == std::string_view::npos || e + 1 >= s.size() || s[e + 1] != ':') return false;
    host = std::string(s.substr(1, e - 1));
    port = std::string(s.substr(e + 2));
  } else {
    size_t c = s.rfind(':');
    if (c == std::string_view::npos) return false;
    host = std::string(s.substr(0, c));
    port = std::string(s.substr(c + 1));
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) return false;
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(p));
    if (len) *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(p));
    if (len) *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

void advanceIov(iovec*& cur, size_t& n, size_t written) {
  while (n > 0 && written >= cur->iov_len) {
    written -= cur->iov_len;
    cur++;
    n--;
  }
  if (n > 0) {
    cur->iov_base = static_cast<uint8_t*>(cur->iov_base) + written;
    cur->iov_len -= written;
  }
}

}  // namespace sd
