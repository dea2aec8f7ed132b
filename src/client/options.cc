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

namespace {

// One "key[=value]" of a mount option string.
struct MountOption {
  std::string key;  // lower case
  std::string_view val;
  bool has_val = false;
  bool needVal() const { return has_val && !val.empty(); }
  std::string value() const { return std::string(val); }
};

// Options that set a flag, whatever value they are given.
struct FlagOption {
  std::string_view key;
  bool MountOptions::*field;
  bool value;
};
constexpr FlagOption kFlagOptions[] = {
    {"ro", &MountOptions::read_only, true},
    {"rw", &MountOptions::read_only, false},
    {"seal", &MountOptions::seal, true},
    {"sign", &MountOptions::sign, true},
    {"notify", &MountOptions::notify, true},
    {"nonotify", &MountOptions::notify, false},
    {"durable", &MountOptions::durable, true},
    {"nodurable", &MountOptions::durable, false},
    {"multichannel", &MountOptions::multichannel, true},
    {"nomultichannel", &MountOptions::multichannel, false},
    {"rdma", &MountOptions::rdma, true},
    {"rdmatransform", &MountOptions::rdma_transform, true},
    {"nordmatransform", &MountOptions::rdma_transform, false},
};

// Generic mount flags: accepted, handled by mount(8) or meaningless for FUSE.
constexpr std::string_view kGenericFlags[] = {"defaults", "auto",   "noauto", "_netdev", "nofail",
                                              "user_xattr", "nouser_xattr", "exec", "noexec", "suid",
                                              "nosuid", "dev", "nodev", "noatime", "relatime", "atime"};

bool applyFlagOption(const MountOption& m, MountOptions* o) {
  for (const auto& f : kFlagOptions) {
    if (m.key != f.key) continue;
    o->*f.field = f.value;
    return true;
  }
  for (auto g : kGenericFlags)
    if (m.key == g) return true;
  return false;
}

// Who connects, and with which dialects. Whether `m` is one of these options; `failure` says
// why its value is refused, `shown` is cleared for a secret.
bool applyLoginOption(const MountOption& m, MountOptions* o, bool* shown, std::string* failure) {
  const std::string& key = m.key;
  if (key == "vers") {
    auto d = m.needVal() ? parseVers(m.val) : std::nullopt;
    if (!d) {
      *failure = "vers: unsupported version '" + m.value() + "' (use 3.0, 3.0.2 or 3.1.1)";
      return true;
    }
    o->dialects = *d;
    o->vers_text = m.value();
  } else if (key == "username" || key == "user") {
    if (!m.has_val) {
      *failure = key + " needs a value";
      return true;
    }
    Credentials c = parseUserSpec(m.val);
    o->creds.user = c.user;
    if (!c.domain.empty()) o->creds.domain = c.domain;
    if (c.has_password) {
      o->creds.password = c.password;
      o->creds.has_password = true;
    }
  } else if (key == "password" || key == "pass") {
    o->creds.password = m.value();
    o->creds.has_password = true;
    *shown = false;
  } else if (key == "credentials" || key == "cred") {
    if (!m.needVal()) *failure = "credentials needs a file name";
    else o->credentials_file = m.value();
  } else if (key == "domain" || key == "dom" || key == "workgroup") {
    o->creds.domain = m.value();
  } else {
    return false;
  }
  return true;
}

// Numeric options. Whether `m` is one of them; `failure` says why its value is refused.
bool applyNumberOption(const MountOption& m, MountOptions* o, std::string* failure) {
  const std::string& key = m.key;
  const std::string val = m.value();
  uint32_t n = 0;
  auto number = [&](int base = 10) { return m.needVal() && parseU32(m.val, &n, base); };
  if (key == "port" || key == "rdma_port") {
    if (!number() || n == 0 || n > 65535) *failure = key + ": invalid value '" + val + "'";
    else (key == "port" ? o->port : o->rdma_port) = uint16_t(n);
  } else if (key == "uid" || key == "gid") {
    if (!number()) *failure = key + ": invalid value '" + val + "'";
    else (key == "uid" ? o->uid : o->gid) = n;
  } else if (key == "file_mode" || key == "dir_mode") {
    if (!number(8) || n > 07777) *failure = key + ": invalid octal mode '" + val + "'";
    else (key == "file_mode" ? o->file_mode : o->dir_mode) = n;
  } else if (key == "rsize" || key == "wsize") {
    if (!number() || n < 4096) *failure = key + ": invalid size '" + val + "'";
    else (key == "rsize" ? o->rsize : o->wsize) = n;
  } else if (key == "actimeo") {
    if (!number()) *failure = "actimeo: invalid value '" + val + "'";
    else o->actimeo = n;
  } else if (key == "closetimeo") {
    // cifs.ko's deferred close: seconds a released file keeps its handle while a lease with
    // Handle caching is held (0: close at once). cifs.ko's maximum is 2^30 seconds.
    if (!number() || n > (1u << 30)) *failure = "closetimeo: invalid value '" + val + "'";
    else o->closetimeo = n;
  } else if (key == "max_channels") {
    if (!number() || n < 1 || n > 16) *failure = "max_channels: expected 1..16";
    else o->max_channels = n;
  } else {
    return false;
  }
  return true;
}

// Options naming one of a few words. Whether `m` is one of them; `failure` says why its value
// is refused.
bool applyChoiceOption(const MountOption& m, MountOptions* o, std::string* failure) {
  std::string v = lower(m.val);
  if (m.key == "cache") {
    if (v != "strict" && v != "none" && v != "loose") *failure = "cache: expected strict, none or loose";
    else o->cache = v;
  } else if (m.key == "rdma_provider") {
    if (v != "auto" && v != "soft" && v != "verbs") *failure = "rdma_provider: expected auto, soft or verbs";
    else o->rdma_provider = v;
  } else {
    return false;
  }
  return true;
}

}  // namespace

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
    MountOption m;
    m.key = lower(opt.substr(0, eq));
    m.has_val = eq != std::string_view::npos;
    m.val = m.has_val ? opt.substr(eq + 1) : std::string_view();
    bool shown = true;
    std::string failure;
    bool known = applyFlagOption(m, o) || applyLoginOption(m, o, &shown, &failure) ||
                 applyNumberOption(m, o, &failure) || applyChoiceOption(m, o, &failure);
    if (!failure.empty()) return fail(failure);
    if (!known) return fail("unknown mount option '" + std::string(opt.substr(0, eq)) + "'");
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
  o.rdma_transform = m.rdma_transform;
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
