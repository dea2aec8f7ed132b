#include "config/hosts.h"

#include <arpa/inet.h>

#include <array>
#include <cstdlib>
#include <cstring>

#include "base/text.h"

namespace sd::config {

namespace {

// An address as 16 bytes (IPv4 as ::ffff:a.b.c.d).
using Addr = std::array<uint8_t, 16>;

std::optional<Addr> parseAddr(std::string_view text) {
  std::string s(text);
  Addr a{};
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a[10] = a[11] = 0xff;
    std::memcpy(&a[12], &v4, 4);
    return a;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.data(), &v6, 16);
    return a;
  }
  return std::nullopt;
}

bool isV4(const Addr& a) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kMapped, 12) == 0;
}

// A client address with its port stripped: "1.2.3.4:445", "[::1]:445", "::1", "1.2.3.4".
std::optional<Addr> parseClient(std::string_view s) {
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return parseAddr(s.substr(1, close - 1));
  }
  if (auto a = parseAddr(s)) return a;
  auto colon = s.rfind(':');
  if (colon != std::string_view::npos && s.find(':') == colon) return parseAddr(s.substr(0, colon));
  return std::nullopt;
}

struct Net {
  Addr base{};
  int prefix = 128;  // bits of `base` that must match (IPv4 counted from bit 96)
  bool all = false;
};

bool prefixMatches(const Addr& a, const Net& n) {
  if (n.all) return true;
  int bits = n.prefix;
  for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : uint8_t(0xff << (8 - bits));
    if ((a[i] & mask) != (n.base[i] & mask)) return false;
  }
  return true;
}

int netmaskBits(const Addr& m, bool v4) {
  int bits = 0;
  bool ended = false;
  for (int i = v4 ? 12 : 0; i < 16; i++)
    for (int b = 7; b >= 0; b--) {
      bool set = m[i] & (1 << b);
      if (set && ended) return -1;  // not contiguous
      if (set) bits++;
      else ended = true;
    }
  return bits;
}

std::optional<Net> parseEntry(std::string_view e) {
  Net n;
  if (iequals(e, "ALL")) {
    n.all = true;
    return n;
  }
  auto slash = e.find('/');
  if (slash != std::string_view::npos) {
    auto base = parseAddr(e.substr(0, slash));
    if (!base) return std::nullopt;
    bool v4 = isV4(*base);
    std::string_view len = e.substr(slash + 1);
    int bits;
    if (auto mask = parseAddr(len)) {
      if (isV4(*mask) != v4) return std::nullopt;
      bits = netmaskBits(*mask, v4);
      if (bits < 0) return std::nullopt;
    } else {
      std::string ls(len);
      char* end = nullptr;
      long b = std::strtol(ls.c_str(), &end, 10);
      if (ls.empty() || *end || b < 0 || b > (v4 ? 32 : 128)) return std::nullopt;
      bits = int(b);
    }
    n.base = *base;
    n.prefix = v4 ? 96 + bits : bits;
    return n;
  }
  if (!e.empty() && e.back() == '.') {  // "192.168." : an IPv4 prefix of whole octets
    std::string s(e);
    int octets = 0;
    for (char c : s) octets += c == '.';
    if (octets > 3) return std::nullopt;
    std::string full = s;
    for (int i = octets; i < 4; i++) full += i == 3 ? "0" : "0.";
    auto a = parseAddr(full);
    if (!a) return std::nullopt;
    n.base = *a;
    n.prefix = 96 + 8 * octets;
    return n;
  }
  auto a = parseAddr(e);
  if (!a) return std::nullopt;
  n.base = *a;
  n.prefix = 128;
  return n;
}

// "a b EXCEPT c d" split into its two parts.
void splitExcept(const std::vector<std::string>& list, std::vector<std::string_view>* incl,
                 std::vector<std::string_view>* excl) {
  bool after = false;
  for (const auto& e : list) {
    if (iequals(e, "EXCEPT")) after = true;
    else (after ? excl : incl)->push_back(e);
  }
}

bool anyMatches(const std::vector<std::string_view>& entries, const Addr& a) {
  for (auto e : entries) {
    auto n = parseEntry(e);
    if (n && prefixMatches(a, *n)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> hostsListError(const std::vector<std::string>& list) {
  int excepts = 0;
  for (const auto& e : list) {
    if (iequals(e, "EXCEPT")) {
      if (++excepts > 1) return std::string("EXCEPT given twice");
      continue;
    }
    if (!parseEntry(e))
      return "'" + e + "' is not an address, network (a.b.c.d/len, a.b.c.d/mask, a.b.) or ALL" +
             " (host names are not resolved)";
  }
  return std::nullopt;
}

bool hostsListMatches(const std::vector<std::string>& list, std::string_view addr) {
  auto a = parseClient(addr);
  if (!a) return false;
  std::vector<std::string_view> incl, excl;
  splitExcept(list, &incl, &excl);
  return anyMatches(incl, *a) && !anyMatches(excl, *a);
}

bool hostAllowed(const std::vector<std::string>& allow, const std::vector<std::string>& deny,
                 std::string_view addr) {
  if (allow.empty() && deny.empty()) return true;
  if (!parseClient(addr)) return false;
  if (deny.empty()) return hostsListMatches(allow, addr);
  if (allow.empty()) return !hostsListMatches(deny, addr);
  if (hostsListMatches(allow, addr)) return true;
  return !hostsListMatches(deny, addr);
}

}  // namespace sd::config
