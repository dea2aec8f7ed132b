#include "base/unix_account.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstdlib>

namespace sd {

namespace {
constexpr size_t kMaxNssBuffer = 4u << 20;  // a group with very many members still fits

size_t firstBufferSize() {
  long n = sysconf(_SC_GETPW_R_SIZE_MAX);
  return n > 0 ? size_t(n) : 16384;
}
}  // namespace

bool UnixIdentity::inGroup(gid_t g) const {
  return gid == g || std::binary_search(groups.begin(), groups.end(), g);
}

Result<UnixIdentity> lookupUnixAccount(const std::string& name) {
  if (name.empty()) return err(NtStatus::kNoSuchUser, "empty account name");
  std::vector<char> buf(firstBufferSize());
  passwd pw{};
  passwd* found = nullptr;
  int rc;
  while ((rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < kMaxNssBuffer)
    buf.resize(buf.size() * 2);
  if (rc != 0 || !found) return err(NtStatus::kNoSuchUser, "no Unix account");
  UnixIdentity id;
  id.name = found->pw_name;
  id.uid = found->pw_uid;
  id.gid = found->pw_gid;
  int n = 32;
  for (int tries = 0; tries < 8; tries++) {  // getgrouplist says how many it needs
    id.groups.resize(size_t(n));
    int want = n;
    if (getgrouplist(found->pw_name, found->pw_gid, id.groups.data(), &want) >= 0) {
      id.groups.resize(size_t(want));
      break;
    }
    id.groups.clear();
    n = std::max(want, n * 2);
  }
  id.groups.push_back(id.gid);
  std::sort(id.groups.begin(), id.groups.end());
  id.groups.erase(std::unique(id.groups.begin(), id.groups.end()), id.groups.end());
  return id;
}

Result<gid_t> lookupUnixGroup(const std::string& name) {
  if (name.empty()) return err(NtStatus::kNoSuchUser, "empty group name");
  std::vector<char> buf(firstBufferSize());
  group gr{};
  group* found = nullptr;
  int rc;
  while ((rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < kMaxNssBuffer)
    buf.resize(buf.size() * 2);
  if (rc == 0 && found) return found->gr_gid;
  char* end = nullptr;
  unsigned long g = std::strtoul(name.c_str(), &end, 10);
  if (end && *end == 0 && std::isdigit(static_cast<unsigned char>(name[0])) && g < 0xFFFFFFFFul)
    return gid_t(g);
  return err(NtStatus::kNoSuchUser, "no Unix group");
}

bool unixAccountInGroup(const std::string& name, const std::string& group) {
  auto g = lookupUnixGroup(group);
  if (!g) return false;
  auto id = lookupUnixAccount(name);
  return id && id->inGroup(*g);
}

}  // namespace sd
