#include "base/text.h"

#include <cstdio>

namespace sd {

namespace {
void putUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}
void putUtf16(Bytes& out, uint32_t cp) {
  auto unit = [&](uint32_t u) {
    out.push_back(uint8_t(u));
    out.push_back(uint8_t(u >> 8));
  };
  if (cp < 0x10000) {
    unit(cp);
  } else {
    cp -= 0x10000;
    unit(0xD800 | (cp >> 10));
    unit(0xDC00 | (cp & 0x3FF));
  }
}
// Returns the code point at s[i] and advances i; -1 on invalid input.
int64_t nextUtf8(std::string_view s, size_t& i) {
  uint8_t c = uint8_t(s[i]);
  int n;
  uint32_t cp;
  if (c < 0x80) {
    i++;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    i++;
    return -1;
  }
  if (i + n >= s.size()) {
    i = s.size();
    return -1;
  }
  for (int k = 1; k <= n; k++) {
    uint8_t cc = uint8_t(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      i += k;
      return -1;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += n + 1;
  static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  return cp;
}
}  // namespace

Result<std::string> utf16leToUtf8(ByteView in) {
  if (in.size() % 2) return malformed("odd UTF-16 length");
  std::string out;
  out.reserve(in.size() / 2);
  for (size_t i = 0; i < in.size(); i += 2) {
    uint32_t u = le16(&in[i]);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 3 >= in.size()) return malformed("unpaired surrogate");
      uint32_t lo = le16(&in[i + 2]);
      if (lo < 0xDC00 || lo > 0xDFFF) return malformed("unpaired surrogate");
      u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return malformed("unpaired surrogate");
    }
    putUtf8(out, u);
  }
  return out;
}

Result<Bytes> utf8ToUtf16le(std::string_view in) {
  Bytes out;
  out.reserve(in.size() * 2);
  size_t i = 0;
  while (i < in.size()) {
    int64_t cp = nextUtf8(in, i);
    if (cp < 0) return malformed("invalid UTF-8");
    putUtf16(out, uint32_t(cp));
  }
  return out;
}

Bytes utf16le(std::string_view in) {
  Bytes out;
  out.reserve(in.size() * 2);
  size_t i = 0;
  while (i < in.size()) {
    int64_t cp = nextUtf8(in, i);
    putUtf16(out, cp < 0 ? 0xFFFD : uint32_t(cp));
  }
  return out;
}

void appendUtf16le(ByteWriter& w, std::string_view in) { w.bytes(utf16le(in)); }

std::string asciiUpper(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'a' && c <= 'z') c = char(c - 32);
  return r;
}
std::string asciiLower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  return r;
}
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x + 32);
    if (y >= 'A' && y <= 'Z') y = char(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string toHex(ByteView b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

Bytes fromHex(std::string_view hex) {
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

}  // namespace sd
