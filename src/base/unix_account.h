// Unix accounts and groups from the system's databases (NSS: /etc/passwd, /etc/group, LDAP...),
// looked up with the reentrant calls so any thread may ask. Owned by base/; any thread.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace sd {

// The Unix identity an SMB user acts with on the file system.
struct UnixIdentity {
  std::string name;  // the account's name (for logs)
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (sorted), the primary gid included

  bool isRoot() const { return uid == 0; }
  bool inGroup(gid_t g) const;
  bool sameAs(const UnixIdentity& o) const {
    return uid == o.uid && gid == o.gid && groups == o.groups;
  }
};

// The account `name` (getpwnam_r) with its groups (getgrouplist); STATUS_NO_SUCH_USER when the
// system has no such account.
Result<UnixIdentity> lookupUnixAccount(const std::string& name);
// The group `name` (getgrnam_r; a number is taken as a gid); STATUS_NO_SUCH_USER when none.
Result<gid_t> lookupUnixGroup(const std::string& name);
// Is the account `name` a member of the group `group` (primary or supplementary)?
bool unixAccountInGroup(const std::string& name, const std::string& group);

}  // namespace sd
