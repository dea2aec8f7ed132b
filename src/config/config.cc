#include "config/config.h"

#include <fstream>
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

}  // namespace

Result<Config> loadConfigString(std::string_view text, const std::string& name,
                                std::vector<Diagnostic>* diags) {
  Config cfg;
  ShareConfig* share = nullptr;
  bool in_global = false;
  std::set<std::string> seen_shares;
  Ctx ctx{name, 0, diags};

  auto setBool = [&](bool* dst, const std::string& k, const std::string& v) {
    if (!parseBool(v, dst)) ctx.error(k, v, "expected yes or no");
  };
  auto setU32 = [&](uint32_t* dst, const std::string& k, const std::string& v, uint64_t max, bool sfx) {
    uint64_t x;
    if (!parseUint(v, max, &x, 10, sfx)) ctx.error(k, v, "expected a number up to " + std::to_string(max));
    else *dst = uint32_t(x);
  };
  auto setMode = [&](uint32_t* dst, const std::string& k, const std::string& v) {
    uint64_t x;
    if (!parseUint(v, 07777, &x, 8)) ctx.error(k, v, "expected an octal mode such as 0644");
    else *dst = uint32_t(x);
  };

  auto setHosts = [&](std::vector<std::string>* dst, const std::string& k, const std::string& v) {
    auto list = splitList(v);
    if (auto why = hostsListError(list)) ctx.error(k, v, *why);
    else *dst = std::move(list);
  };
  // Keys that restrict access and that smbdirectd does not implement: an error, never a warning
  // (the value that would not restrict is accepted: "follow symlinks = yes").
  auto refuseRestrictive = [&](const std::string& key, const std::string& k, const std::string& v,
                               bool global) -> bool {
    bool b = false;
    bool is_bool = parseBool(v, &b);
    if (key == "followsymlinks") {
      if (is_bool && b) return true;
      ctx.refuse(k, "symbolic links are followed within the share (never out of it)");
    } else if (key == "guestonly" || key == "onlyguest") {
      if (is_bool && !b) return true;
      ctx.refuse(k, "no share forces guest sessions");
    } else if (key == "onlyuser" || key == "username" || key == "user" || key == "users") {
      ctx.refuse(k, "use 'valid users'");
    } else if (key == "hideunreadable" || key == "hideunwriteablefiles" ||
               key == "accessbasedshareenum") {
      if (is_bool && !b) return true;
      ctx.refuse(k, "listings are not filtered by access");
    } else if (key == "serverminprotocol" || key == "minprotocol") {
      std::string s = asciiLower(v);
      if (s == "smb2" || s == "smb2_02" || s == "smb2_10" || s == "smb3" || s == "smb3_00" ||
          s == "nt1" || s == "lanman1" || s == "lanman2" || s == "core" || s == "coreplus")
        return true;  // at or below what smbdirectd offers (SMB 3.0): no restriction lost
      ctx.refuse(k, "smbdirectd serves SMB 3.0, 3.0.2 and 3.1.1 and cannot refuse the older two");
    } else if (key == "maxconnections" && !global) {
      uint64_t x = 0;
      if (parseUint(v, 65536, &x, 10, false) && x == 0) return true;
      ctx.refuse(k, "per-share connection limits are not enforced (the [global] one is)");
    } else if (global && (key == "validusers" || key == "invalidusers" || key == "readlist" ||
                          key == "writelist" || key == "adminusers" || key == "forceuser" ||
                          key == "forcegroup" || key == "readonly" || key == "writeable" ||
                          key == "writable" || key == "writeok" || key == "guestok" ||
                          key == "public")) {
      ctx.refuse(k, "set it in each share's section ([global] share defaults are not applied)");
    } else {
      return false;
    }
    return true;
  };

  auto applyGlobal = [&](const std::string& key, const std::string& k, const std::string& v) -> bool {
    Global& g = cfg.global;
    if (refuseRestrictive(key, k, v, true)) return true;
    if (key == "hostsallow" || key == "allowhosts") {
      setHosts(&g.hosts_allow, k, v);
      return true;
    }
    if (key == "hostsdeny" || key == "denyhosts") {
      setHosts(&g.hosts_deny, k, v);
      return true;
    }
    if (key == "netbiosname") g.netbios_name = v;
    else if (key == "serverstring") g.server_string = v;
    else if (key == "workgroup") g.workgroup = v;
    else if (key == "interfaces") g.interfaces = splitList(v);
    else if (key == "bindinterfacesonly") setBool(&g.bind_interfaces_only, k, v);
    else if (key == "tcpport" || key == "smbports") {
      uint32_t p = 0;
      auto ports = splitList(v);
      setU32(&p, k, ports.empty() ? v : ports[0], 65535, false);
      g.tcp_port = uint16_t(p);
    } else if (key == "servermultichannelsupport") setBool(&g.server_multi_channel_support, k, v);
    else if (key == "serversigning") {
      std::string s = asciiLower(v);
      if (s == "auto" || s == "default" || s == "enabled" || s == "yes" || s == "if_required") g.server_signing = Signing::kAuto;
      else if (s == "mandatory" || s == "required") g.server_signing = Signing::kMandatory;
      else if (s == "disabled" || s == "no" || s == "off") g.server_signing = Signing::kDisabled;
      else ctx.error(k, v, "expected auto, mandatory or disabled");
    } else if (key == "smb3encryption" || key == "serversmbencrypt" || key == "smbencrypt") {
      std::string s = asciiLower(v);
      if (s == "auto" || s == "default" || s == "if_required" || s == "desired" || s == "enabled" || s == "yes") g.smb3_encryption = Encryption::kAuto;
      else if (s == "mandatory" || s == "required" || s == "forced") g.smb3_encryption = Encryption::kMandatory;
      else if (s == "disabled" || s == "no" || s == "off") g.smb3_encryption = Encryption::kDisabled;
      else ctx.error(k, v, "expected auto, mandatory or disabled");
    } else if (key == "smb2maxread") setU32(&g.smb2_max_read, k, v, 8u << 20, true);
    else if (key == "smb2maxwrite") setU32(&g.smb2_max_write, k, v, 8u << 20, true);
    else if (key == "smb2maxtrans") setU32(&g.smb2_max_trans, k, v, 8u << 20, true);
    else if (key == "smb2maxcredits") setU32(&g.smb2_max_credits, k, v, 65535, false);
    else if (key == "maxconnections") setU32(&g.max_connections, k, v, 65536, false);
    else if (key == "guestaccount") g.guest_account = v;
    else if (key == "maptoguest") {
      std::string s = asciiLower(v);
      if (s == "never") g.map_to_guest = MapToGuest::kNever;
      else if (s == "bad user" || s == "baduser") g.map_to_guest = MapToGuest::kBadUser;
      else ctx.error(k, v, "expected never or bad user");
    } else if (key == "fallbackunixaccount") {
      g.fallback_unix_account = v;
    } else if (key == "restrictanonymous") {
      uint32_t x = 0;
      bool b;
      if (parseBool(v, &b)) g.restrict_anonymous = b;
      else { setU32(&x, k, v, 2, false); g.restrict_anonymous = x != 0; }
    } else if (key == "smbdirect") {
      std::string s = asciiLower(v);
      if (s == "auto") g.smb_direct = SmbDirect::kAuto;
      else if (s == "yes" || s == "true" || s == "on") g.smb_direct = SmbDirect::kYes;
      else if (s == "no" || s == "false" || s == "off") g.smb_direct = SmbDirect::kNo;
      else ctx.error(k, v, "expected auto, yes or no");
    } else if (key == "smbdirectport") {
      uint32_t p = 0;
      setU32(&p, k, v, 65535, false);
      g.smb_direct_port = uint16_t(p);
    } else if (key == "smbdirectreceivecredits" || key == "smbdirectsendcredits") {
      uint32_t x = 0;
      setU32(&x, k, v, 65535, false);
      if (x == 0) ctx.error(k, v, "expected 1 to 65535");
      else (key == "smbdirectreceivecredits" ? g.smb_direct_receive_credits : g.smb_direct_send_credits) = x;
    } else if (key == "smbdirectmaxsendsize" || key == "smbdirectmaxreceivesize") {
      uint32_t x = 0;
      setU32(&x, k, v, 1u << 20, true);
      if (x < 128) ctx.error(k, v, "expected at least 128 (MS-SMBD)");
      else (key == "smbdirectmaxsendsize" ? g.smb_direct_max_send_size : g.smb_direct_max_receive_size) = x;
    } else if (key == "smbdirectmaxfragmentedsize") {
      uint32_t x = 0;
      setU32(&x, k, v, 16u << 20, true);
      if (x < 131072) ctx.error(k, v, "expected at least 128K (MS-SMBD)");
      else g.smb_direct_max_fragmented_size = x;
    } else if (key == "smbdirectmaxreadwritesize") {
      setU32(&g.smb_direct_max_read_write_size, k, v, 8u << 20, true);
    } else if (key == "smbdirectprovider") {
      std::string s = asciiLower(v);
      if (s != "auto" && s != "soft" && s != "verbs") ctx.error(k, v, "expected auto, soft or verbs");
      else g.smb_direct_provider = s;
    } else if (key == "ipctimeout" || key == "deadtime" || key == "sharefakefscaps" ||
               key == "kerberosservicename" || key == "kerberoskeytabfile" || key == "tcprecvbuffersize" ||
               key == "tcpsendbuffersize" || key == "rootdirectory" || key == "durablehandles" ||
               key == "smb2leases" || key == "servermaxprotocol" ||
               key == "maxactivesessions" || key == "maxopenfiles" || key == "netbiosalias" ||
               key == "logging") {
      ctx.warn("parameter '" + k + "' accepted but has no effect in smbdirectd");
    } else {
      return false;
    }
    return true;
  };

  auto applyShare = [&](ShareConfig& s, const std::string& key, const std::string& k, const std::string& v) -> bool {
    bool b;
    if (refuseRestrictive(key, k, v, false)) return true;
    if (key == "path") s.path = v;
    else if (key == "comment") s.comment = v;
    else if (key == "readonly") setBool(&s.read_only, k, v);
    else if (key == "writeable" || key == "writable" || key == "writeok") {
      if (parseBool(v, &b)) s.read_only = !b;
      else ctx.error(k, v, "expected yes or no");
    } else if (key == "browseable" || key == "browsable") setBool(&s.browseable, k, v);
    else if (key == "guestok" || key == "public") setBool(&s.guest_ok, k, v);
    else if (key == "available") setBool(&s.available, k, v);
    else if (key == "validusers") s.valid_users = splitList(v);
    else if (key == "invalidusers") s.invalid_users = splitList(v);
    else if (key == "readlist") s.read_list = splitList(v);
    else if (key == "writelist") s.write_list = splitList(v);
    else if (key == "adminusers") s.admin_users = splitList(v);
    else if (key == "createmask" || key == "createmode") setMode(&s.create_mask, k, v);
    else if (key == "directorymask" || key == "directorymode") setMode(&s.directory_mask, k, v);
    else if (key == "forcecreatemode") setMode(&s.force_create_mode, k, v);
    else if (key == "forcedirectorymode") setMode(&s.force_directory_mode, k, v);
    else if (key == "hidedotfiles") setBool(&s.hide_dot_files, k, v);
    else if (key == "vetofiles") {
      // Samba syntax: "/pattern1/pattern2/"
      s.veto_files.clear();
      std::string cur;
      for (char c : v) {
        if (c == '/') {
          if (!cur.empty()) s.veto_files.push_back(cur);
          cur.clear();
        } else {
          cur.push_back(c);
        }
      }
      if (!cur.empty()) s.veto_files.push_back(cur);
    } else if (key == "maxconnections") setU32(&s.max_connections, k, v, 65536, false);
    else if (key == "storedosattributes") setBool(&s.store_dos_attributes, k, v);
    else if (key == "oplocks") setBool(&s.oplocks, k, v);
    else if (key == "streams") setBool(&s.streams, k, v);
    else if (key == "forceuser") s.force_user = v;
    else if (key == "forcegroup") s.force_group = v;
    else if (key == "hostsallow" || key == "allowhosts") setHosts(&s.hosts_allow, k, v);
    else if (key == "hostsdeny" || key == "denyhosts") setHosts(&s.hosts_deny, k, v);
    else if (key == "vfsobjects" || key == "inheritowner" || key == "inheritsmbperms" ||
             key == "widelinks" || key == "crossmount" ||
             key == "hidefiles" || key == "crossmountpoint" || key == "aclxattr") {
      ctx.warn("parameter '" + k + "' accepted but has no effect in smbdirectd");
    } else {
      return false;
    }
    return true;
  };

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
    std::string key = foldKey(k);
    bool known;
    if (in_global) known = applyGlobal(key, k, v);
    else if (share) known = applyShare(*share, key, k, v);
    else {
      ctx.warn("parameter '" + k + "' outside any section ignored");
      continue;
    }
    if (!known) ctx.warn("unknown parameter '" + k + "' ignored");
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
