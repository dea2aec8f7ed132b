#include "vfs/identity.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/thread_credentials.h"

namespace sd::vfs {

namespace {

// The thread's identity as last set by actAs (nullptr: the server's own account).
thread_local std::shared_ptr<const UnixIdentity> t_current;

// The raw system calls change the calling thread only (glibc's wrappers broadcast setgroups to
// every thread; setfsuid/setfsgid are per thread either way, called raw for symmetry).
bool setThreadGroups(const std::vector<gid_t>& groups) {
  noteThreadCredentialsChanged();
  return syscall(SYS_setgroups, groups.size(), groups.empty() ? nullptr : groups.data()) == 0;
}
bool setThreadFsGid(gid_t g) {
  noteThreadCredentialsChanged();
  syscall(SYS_setfsgid, g);
  return gid_t(syscall(SYS_setfsgid, gid_t(-1))) == g;
}
bool setThreadFsUid(uid_t u) {
  noteThreadCredentialsChanged();
  syscall(SYS_setfsuid, u);
  return uid_t(syscall(SYS_setfsuid, uid_t(-1))) == u;
}

struct ServerAccount {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

const ServerAccount& serverAccount() {
  static const ServerAccount a = [] {
    ServerAccount s;
    s.uid = geteuid();
    s.gid = getegid();
    int n = getgroups(0, nullptr);
    if (n > 0) {
      s.groups.resize(size_t(n));
      n = getgroups(n, s.groups.data());
      s.groups.resize(n > 0 ? size_t(n) : 0);
    }
    return s;
  }();
  return a;
}

}  // namespace

bool identitySwitching() {
  static const bool on = geteuid() == 0;
  return on;
}

Status actAs(const std::shared_ptr<const UnixIdentity>& id) {
  if (!identitySwitching()) return ok();
  const auto& cur = t_current;
  if (cur == id || (cur && id && cur->sameAs(*id))) {
    t_current = id;
    return ok();
  }
  const auto& srv = serverAccount();
  uid_t uid = id ? id->uid : srv.uid;
  gid_t gid = id ? id->gid : srv.gid;
  const std::vector<gid_t>& groups = id ? id->groups : srv.groups;
  // Groups and gid first: with fsuid still 0 nothing is checked against a half-set identity.
  bool done = setThreadFsUid(srv.uid) && setThreadGroups(groups) && setThreadFsGid(gid) &&
              setThreadFsUid(uid);
  if (!done) {
    int e = errno;
    LOG_ERROR("cannot act as uid %u gid %u: %s", unsigned(uid), unsigned(gid), strerror(e));
    // Leave the thread without any account's rights rather than half switched.
    (void)setThreadGroups({});
    (void)setThreadFsGid(gid_t(65534));
    (void)setThreadFsUid(uid_t(65534));
    t_current.reset();
    return err(NtStatus::kAccessDenied, "identity switch refused");
  }
  t_current = id;
  return ok();
}

std::shared_ptr<const UnixIdentity> currentIdentity() { return t_current; }

IdentityScope::IdentityScope(const std::shared_ptr<const UnixIdentity>& id)
    : prev_(t_current), st_(actAs(id)) {}

IdentityScope::~IdentityScope() { (void)actAs(prev_); }

}  // namespace sd::vfs
