#include "config/config.h"

#include <fstream>
#include <type_traits>
#include <set>
#include <sstream>

#include "base/text.h"
#include "config/hosts.h"

namespace sd::config {

namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) b++;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) e--;
  return std::string(s.substr(b, e - b));
}

// Keys compare case-insensitively with spaces and underscores folded away ("read only" ==
// "readonly" == "Read_Only"), as smb.conf does.
std::string foldKey(std::string_view k) {
  std::string r;
  for (char c : k) {
    if (c == ' ' || c == '_' || c == '\t') continue;
    r.push_back(c >= 'A' && c <= 'Z' ? char(c + 32) : c);
  }
  return r;
}

std::vector<std::string> splitList(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : v) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

struct Ctx {
  const std::string& file;
  int line;
  std::vector<Diagnostic>* diags;
  bool failed = false;
  void error(const std::string& key, const std::string& value, const std::string& why) {
    failed = true;
    if (diags)
      diags->push_back({true, file + ":" + std::to_string(line) + ": invalid value '" + value +
                                  "' for '" + key + "': " + why});
  }
  // A key that would restrict access but has no effect here: accepting it would let in
  // whom its author meant to keep out, so start-up stops.
  void refuse(const std::string& key, const std::string& why) {
    failed = true;
    if (diags)
      diags->push_back({true, file + ":" + std::to_string(line) + ": '" + key +
                                  "' is not supported by smbdirectd and would restrict access: " +
                                  why});
  }
  void warn(const std::string& msg) {
    if (diags) diags->push_back({false, file + ":" + std::to_string(line) + ": " + msg});
  }
};

bool parseBool(std::string_view v, bool* out) {
  std::string s = asciiLower(trim(v));
  if (s == "yes" || s == "true" || s == "1" || s == "on") *out = true;
  else if (s == "no" || s == "false" || s == "0" || s == "off") *out = false;
  else return false;
  return true;
}

bool parseUint(std::string_view v, uint64_t max, uint64_t* out, int base = 10, bool suffixes = false) {
  std::string s = trim(v);
  if (s.empty()) return false;
  uint64_t mult = 1;
  if (suffixes) {
    char c = s.back();
    if (c == 'k' || c == 'K') mult = 1024;
    else if (c == 'm' || c == 'M') mult = 1024 * 1024;
    else if (c == 'g' || c == 'G') mult = 1024ull * 1024 * 1024;
    if (mult != 1) s.pop_back();
  }
  if (s.empty() || s.size() > 20) return false;
  uint64_t r = 0;
  for (char c : s) {
    int d = c - '0';
    if (d < 0 || d >= base) return false;
    r = r * uint64_t(base) + uint64_t(d);
    if (r > max) return false;
  }
  if (r > max / mult) return false;
  *out = r * mult;
  return true;
}

// One key's value being applied: where it goes and how to report a bad one.
struct Apply {
  Ctx& ctx;
  Config& cfg;
  ShareConfig* share;  // null in [global]
  const std::string& k;  // as written
  const std::string& v;
  void refuse(const char* why) { ctx.refuse(k, why); }
  void noEffect() { ctx.warn("parameter '" + k + "' accepted but has no effect in smbdirectd"); }
};
using ApplyFn = void (*)(Apply&);

// The field a pointer to member of Global or ShareConfig names, in the section being read.
template <class T>
struct MemberOf;
template <class C, class T>
struct MemberOf<T C::*> {
  using Class = C;
};
template <auto M>
auto& field(Apply& a) {
  if constexpr (std::is_same_v<typename MemberOf<decltype(M)>::Class, Global>) return a.cfg.global.*M;
  else return (*a.share).*M;
}
template <auto M>
void text(Apply& a) {
  field<M>(a) = a.v;
}
template <auto M>
void list(Apply& a) {
  field<M>(a) = splitList(a.v);
}
template <auto M>
void flag(Apply& a) {
  if (!parseBool(a.v, &field<M>(a))) a.ctx.error(a.k, a.v, "expected yes or no");
}
// A number up to Max (K/M/G suffixes when Sfx); Min > 0 refuses smaller ones.
template <auto M, uint64_t Max, bool Sfx = false, uint64_t Min = 0>
void number(Apply& a) {
  uint64_t x;
  if (!parseUint(a.v, Max, &x, 10, Sfx)) a.ctx.error(a.k, a.v, "expected a number up to " + std::to_string(Max));
  else if (x < Min) a.ctx.error(a.k, a.v, "expected at least " + std::to_string(Min));
  else field<M>(a) = static_cast<std::remove_reference_t<decltype(field<M>(a))>>(x);
}
template <auto M>
void mode(Apply& a) {
  uint64_t x;
  if (!parseUint(a.v, 07777, &x, 8)) a.ctx.error(a.k, a.v, "expected an octal mode such as 0644");
  else field<M>(a) = uint32_t(x);
}
template <auto M>
void hosts(Apply& a) {
  auto l = splitList(a.v);
  if (auto why = hostsListError(l)) a.ctx.error(a.k, a.v, *why);
  else field<M>(a) = std::move(l);
}
// One of a few words (case-insensitive), each a value of the field's type.
template <class E>
struct Word {
  const char* word;
  E value;
};
template <auto M, auto& Words>
void choice(Apply& a) {
  std::string w = asciiLower(a.v), expected;
  for (const auto& c : Words) {
    if (w == c.word) {
      field<M>(a) = c.value;
      return;
    }
    expected += expected.empty() ? c.word : std::string(", ") + c.word;
  }
  a.ctx.error(a.k, a.v, "expected one of: " + expected);
}
void noEffect(Apply& a) { a.noEffect(); }

constexpr Word<Signing> kSigningWords[] = {
    {"auto", Signing::kAuto},         {"default", Signing::kAuto},       {"enabled", Signing::kAuto},
    {"yes", Signing::kAuto},          {"if_required", Signing::kAuto},   {"mandatory", Signing::kMandatory},
    {"required", Signing::kMandatory}, {"disabled", Signing::kDisabled}, {"no", Signing::kDisabled},
    {"off", Signing::kDisabled}};
constexpr Word<Encryption> kEncryptionWords[] = {
    {"auto", Encryption::kAuto},           {"default", Encryption::kAuto},
    {"if_required", Encryption::kAuto},    {"desired", Encryption::kAuto},
    {"enabled", Encryption::kAuto},        {"yes", Encryption::kAuto},
    {"mandatory", Encryption::kMandatory}, {"required", Encryption::kMandatory},
    {"forced", Encryption::kMandatory},    {"disabled", Encryption::kDisabled},
    {"no", Encryption::kDisabled},         {"off", Encryption::kDisabled}};
constexpr Word<MapToGuest> kMapToGuestWords[] = {
    {"never", MapToGuest::kNever}, {"bad user", MapToGuest::kBadUser}, {"baduser", MapToGuest::kBadUser}};
constexpr Word<SmbDirect> kSmbDirectWords[] = {{"auto", SmbDirect::kAuto}, {"yes", SmbDirect::kYes},
                                               {"true", SmbDirect::kYes},  {"on", SmbDirect::kYes},
                                               {"no", SmbDirect::kNo},     {"false", SmbDirect::kNo},
                                               {"off", SmbDirect::kNo}};
constexpr Word<Leases> kLeasesWords[] = {{"auto", Leases::kAuto}, {"yes", Leases::kYes}, {"true", Leases::kYes},
                                         {"on", Leases::kYes},     {"no", Leases::kNo},   {"false", Leases::kNo},
                                         {"off", Leases::kNo}};
constexpr Word<const char*> kProviderWords[] = {{"auto", "auto"}, {"soft", "soft"}, {"verbs", "verbs"}};

// A key that would restrict access and has no effect here is refused (start-up stops) unless
// its value restricts nothing.
template <bool Harmless>
bool boolIs(const std::string& v) {
  bool b;
  return parseBool(v, &b) && b == Harmless;
}

struct KeySpec {
  const char* names;  // '|'-separated spellings; the first is the one docs/CONFIG.md uses
  uint8_t where;      // kInGlobal | kInShare
  KeyEffect effect;
  ApplyFn apply;
};
constexpr uint8_t kInGlobal = 1, kInShare = 2, kAnywhere = 3;
constexpr KeyEffect kApplied = KeyEffect::kApplied, kNone = KeyEffect::kNoEffect,
                    kRefused = KeyEffect::kRefused;

// Every key smbdirectd knows, in lookup order: the first entry whose spelling and section match
// applies. docs/CONFIG.md documents each (tests/config/config_test.cc checks it).
const KeySpec kKeys[] = {
    // Keys that restrict access and are not implemented: refused (docs/CONFIG.md "Keys that
    // would restrict access").
    {"follow symlinks", kAnywhere, kRefused, +[](Apply& a) {
       if (!boolIs<true>(a.v)) a.refuse("symbolic links are followed within the share (never out of it)");
     }},
    {"guest only|only guest", kAnywhere, kRefused, +[](Apply& a) {
       if (!boolIs<false>(a.v)) a.refuse("no share forces guest sessions");
     }},
    {"only user|username|user|users", kAnywhere, kRefused, +[](Apply& a) { a.refuse("use 'valid users'"); }},
    {"hide unreadable|hide unwriteable files|access based share enum", kAnywhere, kRefused, +[](Apply& a) {
       if (!boolIs<false>(a.v)) a.refuse("listings are not filtered by access");
     }},
    {"server min protocol|min protocol", kAnywhere, kRefused, +[](Apply& a) {
       std::string s = asciiLower(a.v);
       // At or below what smbdirectd offers (SMB 3.0): no restriction lost.
       for (const char* ok : {"smb2", "smb2_02", "smb2_10", "smb3", "smb3_00", "nt1", "lanman1", "lanman2",
                              "core", "coreplus"})
         if (s == ok) return;
       a.refuse("smbdirectd serves SMB 3.0, 3.0.2 and 3.1.1 and cannot refuse the older two");
     }},
    {"max connections", kInShare, kRefused, +[](Apply& a) {
       uint64_t x = 0;
       if (!parseUint(a.v, 65536, &x, 10, false) || x != 0)
         a.refuse("per-share connection limits are not enforced (the [global] one is)");
     }},
    {"valid users|invalid users|read list|write list|admin users|force user|force group|read only|"
     "writeable|writable|write ok|guest ok|public",
     kInGlobal, kRefused,
     +[](Apply& a) { a.refuse("set it in each share's section ([global] share defaults are not applied)"); }},

    // [global]
    {"netbios name", kInGlobal, kApplied, text<&Global::netbios_name>},
    {"server string", kInGlobal, kApplied, text<&Global::server_string>},
    {"workgroup", kInGlobal, kApplied, text<&Global::workgroup>},
    {"interfaces", kInGlobal, kApplied, list<&Global::interfaces>},
    {"bind interfaces only", kInGlobal, kApplied, flag<&Global::bind_interfaces_only>},
    {"tcp port|smb ports", kInGlobal, kApplied, +[](Apply& a) {
       // smb.conf's "smb ports" is a list: the first port is served.
       auto ports = splitList(a.v);
       std::string first = ports.empty() ? a.v : ports[0];
       Apply one{a.ctx, a.cfg, a.share, a.k, first};
       number<&Global::tcp_port, 65535>(one);
     }},
    {"server multi channel support", kInGlobal, kApplied, flag<&Global::server_multi_channel_support>},
    {"server signing", kInGlobal, kApplied, choice<&Global::server_signing, kSigningWords>},
    {"smb3 encryption|server smb encrypt|smb encrypt", kInGlobal, kApplied,
     choice<&Global::smb3_encryption, kEncryptionWords>},
    {"smb2 max read", kInGlobal, kApplied, number<&Global::smb2_max_read, (8u << 20), true>},
    {"smb2 max write", kInGlobal, kApplied, number<&Global::smb2_max_write, (8u << 20), true>},
    {"smb2 max trans", kInGlobal, kApplied, number<&Global::smb2_max_trans, (8u << 20), true>},
    {"max connections", kInGlobal, kApplied, number<&Global::max_connections, 65536>},
    {"max ip connections", kInGlobal, kApplied, number<&Global::max_ip_connections, 65536>},
    {"unauthenticated timeout", kInGlobal, kApplied, number<&Global::unauthenticated_timeout, 3600>},
    {"max active sessions", kInGlobal, kApplied, number<&Global::max_active_sessions, (1u << 20), false, 1>},
    {"max sessions per connection", kInGlobal, kApplied,
     number<&Global::max_sessions_per_connection, 65536, false, 1>},
    {"max trees per session", kInGlobal, kApplied, number<&Global::max_trees_per_session, 65536, false, 1>},
    {"max open files", kInGlobal, kApplied, number<&Global::max_open_files, (1u << 20), false, 1>},
    {"max locks per open", kInGlobal, kApplied, number<&Global::max_locks_per_open, (1u << 20), false, 1>},
    {"max blocking locks", kInGlobal, kApplied, number<&Global::max_blocking_locks, 65536, false, 1>},
    {"guest account", kInGlobal, kApplied, text<&Global::guest_account>},
    {"map to guest", kInGlobal, kApplied, choice<&Global::map_to_guest, kMapToGuestWords>},
    {"fallback unix account", kInGlobal, kApplied, text<&Global::fallback_unix_account>},
    {"oplock break timeout", kInGlobal, kApplied, number<&Global::oplock_break_timeout, 3600, false, 1>},
    {"smb2 leases", kInGlobal, kApplied, choice<&Global::smb2_leases, kLeasesWords>},
    {"durable handles", kInGlobal, kApplied, flag<&Global::durable_handles>},
    {"change notify", kInGlobal, kApplied, flag<&Global::change_notify>},
    {"max notify requests", kInGlobal, kApplied, number<&Global::max_notify_requests, 65536, false, 1>},
    {"max notify watches", kInGlobal, kApplied, number<&Global::max_notify_watches, (1u << 20), false, 1>},
    {"hosts allow|allow hosts", kInGlobal, kApplied, hosts<&Global::hosts_allow>},
    {"hosts deny|deny hosts", kInGlobal, kApplied, hosts<&Global::hosts_deny>},
    {"restrict anonymous", kInGlobal, kApplied, +[](Apply& a) {
       // yes/no, or Samba's 0-2 (any level above 0 refuses anonymous sessions).
       bool b;
       uint64_t level = 0;
       if (parseBool(a.v, &b)) level = b;
       else if (!parseUint(a.v, 2, &level)) return a.ctx.error(a.k, a.v, "expected yes, no or 0 to 2");
       a.cfg.global.restrict_anonymous = level != 0;
     }},
    {"smb direct", kInGlobal, kApplied, choice<&Global::smb_direct, kSmbDirectWords>},
    {"smb direct port", kInGlobal, kApplied, number<&Global::smb_direct_port, 65535>},
    {"smb direct receive credits", kInGlobal, kApplied,
     number<&Global::smb_direct_receive_credits, 65535, false, 1>},
    {"smb direct send credits", kInGlobal, kApplied, number<&Global::smb_direct_send_credits, 65535, false, 1>},
    {"smb direct max send size", kInGlobal, kApplied,
     number<&Global::smb_direct_max_send_size, (1u << 20), true, 128>},
    {"smb direct max receive size", kInGlobal, kApplied,
     number<&Global::smb_direct_max_receive_size, (1u << 20), true, 128>},
    {"smb direct max fragmented size", kInGlobal, kApplied,
     number<&Global::smb_direct_max_fragmented_size, (16u << 20), true, 131072>},
    {"smb direct max read write size", kInGlobal, kApplied,
     number<&Global::smb_direct_max_read_write_size, (8u << 20), true>},
    {"smb direct provider", kInGlobal, kApplied, choice<&Global::smb_direct_provider, kProviderWords>},
    {"ipc timeout|deadtime|share fake fscaps|kerberos service name|kerberos keytab file|"
     "tcp recv buffer size|tcp send buffer size|root directory|"
     "server max protocol|netbios alias|logging|smb2 max credits",
     kInGlobal, kNone, noEffect},

    // Shares
    {"path", kInShare, kApplied, text<&ShareConfig::path>},
    {"comment", kInShare, kApplied, text<&ShareConfig::comment>},
    {"read only", kInShare, kApplied, flag<&ShareConfig::read_only>},
    {"writeable|writable|write ok", kInShare, kApplied, +[](Apply& a) {
       bool b;
       if (parseBool(a.v, &b)) a.share->read_only = !b;
       else a.ctx.error(a.k, a.v, "expected yes or no");
     }},
    {"browseable|browsable", kInShare, kApplied, flag<&ShareConfig::browseable>},
    {"guest ok|public", kInShare, kApplied, flag<&ShareConfig::guest_ok>},
    {"available", kInShare, kApplied, flag<&ShareConfig::available>},
    {"valid users", kInShare, kApplied, list<&ShareConfig::valid_users>},
    {"invalid users", kInShare, kApplied, list<&ShareConfig::invalid_users>},
    {"read list", kInShare, kApplied, list<&ShareConfig::read_list>},
    {"write list", kInShare, kApplied, list<&ShareConfig::write_list>},
    {"admin users", kInShare, kApplied, list<&ShareConfig::admin_users>},
    {"create mask|create mode", kInShare, kApplied, mode<&ShareConfig::create_mask>},
    {"directory mask|directory mode", kInShare, kApplied, mode<&ShareConfig::directory_mask>},
    {"force create mode", kInShare, kApplied, mode<&ShareConfig::force_create_mode>},
    {"force directory mode", kInShare, kApplied, mode<&ShareConfig::force_directory_mode>},
    {"hide dot files", kInShare, kApplied, flag<&ShareConfig::hide_dot_files>},
    {"veto files", kInShare, kApplied, +[](Apply& a) {
       // Samba syntax: "/pattern1/pattern2/"
       auto& out = a.share->veto_files;
       out.clear();
       std::string cur;
       for (char c : a.v) {
         if (c != '/') {
           cur.push_back(c);
           continue;
         }
         if (!cur.empty()) out.push_back(cur);
         cur.clear();
       }
       if (!cur.empty()) out.push_back(cur);
     }},
    {"oplocks", kInShare, kApplied, flag<&ShareConfig::oplocks>},
    {"force user", kInShare, kApplied, text<&ShareConfig::force_user>},
    {"force group", kInShare, kApplied, text<&ShareConfig::force_group>},
    {"hosts allow|allow hosts", kInShare, kApplied, hosts<&ShareConfig::hosts_allow>},
    {"hosts deny|deny hosts", kInShare, kApplied, hosts<&ShareConfig::hosts_deny>},
    {"vfs objects|inherit owner|inherit smb perms|wide links|crossmount|hide files|cross mount point|"
     "acl xattr|store dos attributes|streams",
     kInShare, kNone, noEffect},
};

// The spellings of one entry, folded as keys are ("read only" -> "readonly").
std::vector<std::string> spellings(const KeySpec& k) {
  std::vector<std::string> out;
  std::string_view rest = k.names;
  while (!rest.empty()) {
    size_t bar = rest.find('|');
    out.push_back(std::string(rest.substr(0, bar)));
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  return out;
}

const KeySpec* findKey(const std::string& folded, bool global) {
  for (const auto& k : kKeys) {
    if (!(k.where & (global ? kInGlobal : kInShare))) continue;
    for (const auto& n : spellings(k))
      if (foldKey(n) == folded) return &k;
  }
  return nullptr;
}

}  // namespace

std::vector<KeyDoc> knownKeys() {
  std::vector<KeyDoc> out;
  for (const auto& k : kKeys)
    out.push_back({spellings(k), (k.where & kInGlobal) != 0, (k.where & kInShare) != 0, k.effect});
  return out;
}

Result<Config> loadConfigString(std::string_view text, const std::string& name,
                                std::vector<Diagnostic>* diags) {
  Config cfg;
  ShareConfig* share = nullptr;
  bool in_global = false;
  std::set<std::string> seen_shares;
  Ctx ctx{name, 0, diags};

  std::istringstream in{std::string(text)};
  std::string raw;
  std::string pending;
  int line_no = 0, start_line = 0;
  while (std::getline(in, raw)) {
    line_no++;
    if (pending.empty()) start_line = line_no;
    std::string t = trim(raw);
    if (!t.empty() && t.back() == '\\') {  // continuation
      t.pop_back();
      pending += trim(t) + " ";
      continue;
    }
    t = pending + t;
    pending.clear();
    ctx.line = start_line;
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      auto close = t.find(']');
      if (close == std::string::npos) {
        ctx.error("section", t, "missing ']'");
        continue;
      }
      std::string sec = trim(t.substr(1, close - 1));
      std::string lk = asciiLower(sec);
      if (lk == "global") {
        in_global = true;
        share = nullptr;
        continue;
      }
      in_global = false;
      if (sec.empty() || sec.size() > 80) {
        ctx.error("section", sec, "share names must be 1 to 80 characters");
        share = nullptr;
        continue;
      }
      if (seen_shares.count(lk)) {
        ctx.error("section", sec, "duplicate share");
        share = nullptr;
        continue;
      }
      seen_shares.insert(lk);
      cfg.shares.emplace_back();
      share = &cfg.shares.back();
      share->name = sec;
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      ctx.warn("line ignored (no '='): " + t);
      continue;
    }
    std::string k = trim(t.substr(0, eq)), v = trim(t.substr(eq + 1));
    if (!in_global && !share) {
      ctx.warn("parameter '" + k + "' outside any section ignored");
      continue;
    }
    const KeySpec* spec = findKey(foldKey(k), in_global);
    if (!spec) {
      ctx.warn("unknown parameter '" + k + "' ignored");
      continue;
    }
    Apply a{ctx, cfg, share, k, v};
    spec->apply(a);
  }
  for (const auto& s : cfg.shares) {
    if (asciiLower(s.name) == "ipc$") continue;
    if (s.path.empty()) {
      ctx.failed = true;
      if (diags) diags->push_back({true, name + ": share [" + s.name + "] has no path"});
    } else if (s.path[0] != '/') {
      ctx.failed = true;
      if (diags) diags->push_back({true, name + ": share [" + s.name + "]: path '" + s.path + "' is not absolute"});
    }
  }
  if (ctx.failed) return err(NtStatus::kInvalidParameter, "invalid configuration");
  return cfg;
}

Result<Config> loadConfigFile(const std::string& path, std::vector<Diagnostic>* diags) {
  std::ifstream f(path);
  if (!f) {
    if (diags) diags->push_back({true, path + ": cannot open"});
    return err(NtStatus::kObjectNameNotFound, "cannot open configuration");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return loadConfigString(ss.str(), path, diags);
}

}  // namespace sd::config
