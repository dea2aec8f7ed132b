#include "client/options.h"

#include "client/smb_client.h"

#include <fstream>
#include <sstream>

namespace sd::client {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}
std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return r;
}
bool parseU32(std::string_view s, uint32_t* out, int base = 10) {
  if (s.empty() || s.size() > 12) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else return false;
    if (d >= base) return false;
    v = v * uint64_t(base) + uint64_t(d);
    if (v > 0xFFFFFFFFull) return false;
  }
  *out = uint32_t(v);
  return true;
}
std::string percentDecode(std::string_view s) {
  std::string r;
  for (size_t i = 0; i < s.size(); i++) {
    auto hex = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      r.push_back(char(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      r.push_back(s[i]);
    }
  }
  return r;
}
}  // namespace

std::string joinPath(std::string_view a, std::string_view b) {
  std::string r;
  auto add = [&](std::string_view p) {
    size_t i = 0;
    while (i <= p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      auto part = p.substr(i, j - i);
      if (!part.empty() && part != ".") {
        if (!r.empty()) r.push_back('/');
        r.append(part);
      }
      i = j + 1;
    }
  };
  add(a);
  add(b);
  return r;
}

std::string toWirePath(std::string_view p) {
  std::string r(p);
  for (auto& c : r)
    if (c == '/') c = '\\';
  return r;
}

Result<SmbAddress> parseSmbAddress(std::string_view s) {
  SmbAddress a;
  std::string t(s);
  for (auto& c : t)
    if (c == '\\') c = '/';
  std::string_view v(t);
  bool url = false;
  if (v.size() >= 6 && lower(v.substr(0, 6)) == "smb://") {
    v.remove_prefix(6);
    url = true;
  } else if (v.size() >= 2 && v.substr(0, 2) == "//") {
    v.remove_prefix(2);
  } else {
    return err(NtStatus::kObjectPathSyntaxBad, "address must start with // or smb://");
  }
  size_t slash = v.find('/');
  std::string_view authority = v.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? "" : v.substr(slash + 1);
  if (url) {
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view ui = authority.substr(0, at);
      authority = authority.substr(at + 1);
      size_t colon = ui.find(':');
      a.user = percentDecode(ui.substr(0, colon));
      if (colon != std::string_view::npos) {
        a.password = percentDecode(ui.substr(colon + 1));
        a.has_password = true;
      }
      // smb://DOMAIN;user@host
      size_t semi = a.user.find(';');
      if (semi != std::string::npos) a.user = a.user.substr(0, semi) + "\\" + a.user.substr(semi + 1);
    }
  }
  // host, host:port, [v6], [v6]:port
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return err(NtStatus::kObjectPathSyntaxBad, "unclosed [");
    a.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return err(NtStatus::kObjectPathSyntaxBad, "junk after ]");
      uint32_t p;
      if (!parseU32(authority.substr(1), &p) || p == 0 || p > 65535)
        return err(NtStatus::kObjectPathSyntaxBad, "bad port");
      a.port = uint16_t(p);
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) == std::string_view::npos) {
      uint32_t p;
      if (!parseU32(authority.substr(colon + 1), &p) || p == 0 || p > 65535)
        return err(NtStatus::kObjectPathSyntaxBad, "bad port");
      a.port = uint16_t(p);
      authority = authority.substr(0, colon);
    }
    a.host = std::string(authority);
  }
  if (a.host.empty()) return err(NtStatus::kObjectPathSyntaxBad, "no host");
  size_t s2 = rest.find('/');
  a.share = std::string(rest.substr(0, s2));
  if (url) a.share = percentDecode(a.share);
  if (s2 != std::string_view::npos) {
    std::string p = joinPath(rest.substr(s2 + 1), "");
    a.path = url ? percentDecode(p) : p;
  }
  for (size_t i = 0; i <= a.path.size();) {
    size_t j = a.path.find('/', i);
    if (j == std::string::npos) j = a.path.size();
    if (a.path.compare(i, j - i, "..") == 0) return err(NtStatus::kObjectPathSyntaxBad, "'..' in path");
    i = j + 1;
  }
  return a;
}

Credentials parseUserSpec(std::string_view spec) {
  Credentials c;
  size_t pct = spec.find('%');
  std::string_view user = spec.substr(0, pct);
  if (pct != std::string_view::npos) {
    c.password = std::string(spec.substr(pct + 1));
    c.has_password = true;
  }
  size_t sep = user.find_first_of("\\/");
  if (sep != std::string_view::npos) {
    c.domain = std::string(user.substr(0, sep));
    user = user.substr(sep + 1);
  }
  c.user = std::string(user);
  return c;
}

Result<Credentials> parseCredentialsText(std::string_view text, std::string* error) {
  Credentials c;
  size_t line_no = 0, i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view line = text.substr(i, j - i);
    i = j + 1;
    line_no++;
    // Passwords keep inner and trailing spaces except the line end (as mount.cifs does).
    while (!line.empty() && (line.back() == '\r')) line.remove_suffix(1);
    std::string_view tl = trim(line);
    if (tl.empty() || tl[0] == '#' || tl[0] == ';') continue;
    size_t eq = tl.find('=');
    if (eq == std::string_view::npos) {
      if (error) *error = "line " + std::to_string(line_no) + ": expected key=value";
      return err(NtStatus::kInvalidParameter, "credentials syntax");
    }
    std::string key = lower(trim(tl.substr(0, eq)));
    std::string_view val = tl.substr(eq + 1);
    if (key == "username" || key == "user") {
      Credentials u = parseUserSpec(trim(val));
      c.user = u.user;
      if (!u.domain.empty()) c.domain = u.domain;
      if (u.has_password) {
        c.password = u.password;
        c.has_password = true;
      }
    } else if (key == "password" || key == "pass") {
      c.password = std::string(line.substr(line.find('=') + 1));  // spaces are part of it
      c.has_password = true;
    } else if (key == "domain" || key == "dom" || key == "workgroup") {
      c.domain = std::string(trim(val));
    } else {
      if (error) *error = "line " + std::to_string(line_no) + ": unknown key '" + key + "'";
      return err(NtStatus::kInvalidParameter, "credentials key");
    }
  }
  return c;
}

Result<Credentials> loadCredentialsFile(const std::string& path, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    if (error) *error = "cannot open " + path;
    return err(NtStatus::kObjectNameNotFound, "credentials file");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string e;
  auto c = parseCredentialsText(ss.str(), &e);
  if (!c && error) *error = path + ": " + e;
  return c;
}

std::optional<std::vector<uint16_t>> parseVers(std::string_view v) {
  std::string s = lower(v);
  if (s == "3.1.1" || s == "3.11") return std::vector<uint16_t>{0x0311};
  if (s == "3.0.2" || s == "3.02") return std::vector<uint16_t>{0x0302};
  if (s == "3.0") return std::vector<uint16_t>{0x0300};
  if (s == "3" || s == "default" || s == "3.x" || s.empty())
    return std::vector<uint16_t>{smb2::kDialectsNewestFirst.begin(), smb2::kDialectsNewestFirst.end()};
  return std::nullopt;
}

Status parseMountOptions(std::string_view text, MountOptions* o, std::string* error) {
  size_t i = 0;
  auto fail = [&](const std::string& m) -> Status {
    if (error) *error = m;
    return err(NtStatus::kInvalidParameter, "mount option");
  };
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view opt = text.substr(i, j - i);
    i = j + 1;
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    std::string key = lower(opt.substr(0, eq));
    std::string_view val = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
    bool has_val = eq != std::string_view::npos;
    auto needVal = [&]() { return has_val && !val.empty(); };
    uint32_t n = 0;
    bool shown = true;
    if (key == "vers") {
      auto d = needVal() ? parseVers(val) : std::nullopt;
      if (!d) return fail("vers: unsupported version '" + std::string(val) + "' (use 3.0, 3.0.2 or 3.1.1)");
      o->dialects = *d;
      o->vers_text = std::string(val);
    } else if (key == "username" || key == "user") {
      if (!has_val) return fail(key + " needs a value");
      Credentials c = parseUserSpec(val);
      o->creds.user = c.user;
      if (!c.domain.empty()) o->creds.domain = c.domain;
      if (c.has_password) {
        o->creds.password = c.password;
        o->creds.has_password = true;
      }
    } else if (key == "password" || key == "pass") {
      o->creds.password = std::string(val);
      o->creds.has_password = true;
      shown = false;
    } else if (key == "credentials" || key == "cred") {
      if (!needVal()) return fail("credentials needs a file name");
      o->credentials_file = std::string(val);
    } else if (key == "domain" || key == "dom" || key == "workgroup") {
      o->creds.domain = std::string(val);
    } else if (key == "port") {
      if (!needVal() || !parseU32(val, &n) || n == 0 || n > 65535) return fail("port: invalid value '" + std::string(val) + "'");
      o->port = uint16_t(n);
    } else if (key == "uid" || key == "gid") {
      if (!needVal() || !parseU32(val, &n)) return fail(key + ": invalid value '" + std::string(val) + "'");
      (key == "uid" ? o->uid : o->gid) = n;
    } else if (key == "file_mode" || key == "dir_mode") {
      if (!needVal() || !parseU32(val, &n, 8) || n > 07777) return fail(key + ": invalid octal mode '" + std::string(val) + "'");
      (key == "file_mode" ? o->file_mode : o->dir_mode) = n;
    } else if (key == "ro") {
      o->read_only = true;
    } else if (key == "rw") {
      o->read_only = false;
    } else if (key == "rsize" || key == "wsize") {
      if (!needVal() || !parseU32(val, &n) || n < 4096) return fail(key + ": invalid size '" + std::string(val) + "'");
      (key == "rsize" ? o->rsize : o->wsize) = n;
    } else if (key == "actimeo") {
      if (!needVal() || !parseU32(val, &n)) return fail("actimeo: invalid value '" + std::string(val) + "'");
      o->actimeo = n;
    } else if (key == "closetimeo") {
      // cifs.ko's deferred close: seconds a released file keeps its handle while a lease with
      // Handle caching is held (0: close at once). cifs.ko's maximum is 2^30 seconds.
      if (!needVal() || !parseU32(val, &n) || n > (1u << 30)) return fail("closetimeo: invalid value '" + std::string(val) + "'");
      o->closetimeo = n;
    } else if (key == "cache") {
      std::string v = lower(val);
      if (v != "strict" && v != "none" && v != "loose") return fail("cache: expected strict, none or loose");
      o->cache = v;
    } else if (key == "seal") {
      o->seal = true;
    } else if (key == "sign") {
      o->sign = true;
    } else if (key == "notify") {
      o->notify = true;
    } else if (key == "nonotify") {
      o->notify = false;
    } else if (key == "multichannel") {
      o->multichannel = true;
    } else if (key == "nomultichannel") {
      o->multichannel = false;
    } else if (key == "max_channels") {
      if (!needVal() || !parseU32(val, &n) || n < 1 || n > 16) return fail("max_channels: expected 1..16");
      o->max_channels = n;
    } else if (key == "rdma") {
      o->rdma = true;
    } else if (key == "rdma_port") {
      if (!needVal() || !parseU32(val, &n) || n == 0 || n > 65535) return fail("rdma_port: invalid value '" + std::string(val) + "'");
      o->rdma_port = uint16_t(n);
    } else if (key == "rdma_provider") {
      std::string v = lower(val);
      if (v != "auto" && v != "soft" && v != "verbs") return fail("rdma_provider: expected auto, soft or verbs");
      o->rdma_provider = v;
    } else if (key == "defaults" || key == "auto" || key == "noauto" || key == "_netdev" ||
               key == "nofail" || key == "user_xattr" || key == "nouser_xattr" || key == "exec" ||
               key == "noexec" || key == "suid" || key == "nosuid" || key == "dev" ||
               key == "nodev" || key == "noatime" || key == "relatime" || key == "atime") {
      // Generic mount flags: accepted, handled by mount(8) or meaningless for FUSE.
    } else {
      return fail("unknown mount option '" + std::string(opt.substr(0, eq)) + "'");
    }
    if (shown) o->given.push_back(std::string(opt));
  }
  return ok();
}

std::string displayMountOptions(const MountOptions& o) {
  std::string r;
  for (const auto& g : o.given) {
    if (!r.empty()) r.push_back(',');
    r += g;
  }
  return r;
}

ConnectOptions connectOptionsFor(const SmbAddress& addr, const MountOptions& m) {
  ConnectOptions o;
  o.host = addr.host;
  o.port = m.port ? m.port : addr.port ? addr.port : 445;
  o.port_explicit = m.port || addr.port;
  o.rdma = m.rdma;
  o.rdma_provider = m.rdma_provider;
  if (!m.dialects.empty()) o.dialects = m.dialects;
  o.user = m.creds.user;
  o.domain = m.creds.domain;
  o.password = m.creds.password;
  o.sign = m.sign;
  o.seal = m.seal;
  if (m.rsize) o.max_io = m.rsize;
  return o;
}

}  // namespace sd::client
