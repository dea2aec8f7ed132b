#include "server/unix_identity.h"

#include <algorithm>

#include "base/log.h"
#include "vfs/identity.h"

namespace sd::server {

Result<IdentityPtr> sessionIdentity(const config::Global& g, std::string_view user, bool guest) {
  if (!vfs::identitySwitching()) return IdentityPtr();
  std::string name(guest ? std::string_view(g.guest_account) : user);
  auto id = lookupUnixAccount(name);
  if (id) return IdentityPtr(std::make_shared<const UnixIdentity>(std::move(*id)));
  if (guest) {
    LOG_WARN("guest account '%s' has no Unix account: guest refused", name.c_str());
    return err(NtStatus::kLogonFailure, "guest account missing");
  }
  if (g.fallback_unix_account.empty()) {
    LOG_WARN("user '%s' has no Unix account: refused (create the account, or set 'fallback unix "
             "account' in [global])", name.c_str());
    return err(NtStatus::kLogonFailure, "no Unix account");
  }
  auto fb = lookupUnixAccount(g.fallback_unix_account);
  if (!fb) {
    LOG_WARN("user '%s' has no Unix account and 'fallback unix account = %s' does not exist: "
             "refused", name.c_str(), g.fallback_unix_account.c_str());
    return err(NtStatus::kLogonFailure, "fallback account missing");
  }
  LOG_DEBUG("user '%s' has no Unix account: acts as '%s'", name.c_str(), fb->name.c_str());
  return IdentityPtr(std::make_shared<const UnixIdentity>(std::move(*fb)));
}

Result<IdentityPtr> treeIdentity(const config::ShareConfig& share, const IdentityPtr& session,
                                 bool admin) {
  if (!session) return IdentityPtr();
  if (admin) {
    UnixIdentity root;
    root.name = "root";
    root.groups = {0};
    return IdentityPtr(std::make_shared<const UnixIdentity>(std::move(root)));
  }
  if (share.force_user.empty() && share.force_group.empty()) return session;
  UnixIdentity id = *session;
  if (!share.force_user.empty()) {
    auto forced = lookupUnixAccount(share.force_user);
    if (!forced) {
      LOG_WARN("share [%s]: force user '%s' has no Unix account", share.name.c_str(),
               share.force_user.c_str());
      return err(NtStatus::kAccessDenied, "force user missing");
    }
    id = std::move(*forced);
  }
  if (!share.force_group.empty()) {
    std::string_view gname = share.force_group;
    if (!gname.empty() && gname[0] == '+') gname.remove_prefix(1);  // Samba: only if a member
    auto g = lookupUnixGroup(std::string(gname));
    if (!g) {
      LOG_WARN("share [%s]: force group '%s' does not exist", share.name.c_str(),
               share.force_group.c_str());
      return err(NtStatus::kAccessDenied, "force group missing");
    }
    if (share.force_group[0] != '+' || id.inGroup(*g)) {
      id.gid = *g;
      if (!id.inGroup(*g)) {
        id.groups.push_back(*g);
        std::sort(id.groups.begin(), id.groups.end());
      }
    }
  }
  return IdentityPtr(std::make_shared<const UnixIdentity>(std::move(id)));
}

config::GroupCheck groupCheckFor(const IdentityPtr& session) {
  if (!session) return nullptr;
  return [session](std::string_view, std::string_view group) {
    auto g = lookupUnixGroup(std::string(group));
    return g && session->inGroup(*g);
  };
}

}  // namespace sd::server
