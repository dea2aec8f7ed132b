// Which Unix account each SMB request acts as (docs/CONFIG.md, "Users and Unix accounts").
//
// A session acts as the Unix account named like its user (ksmbd's and Samba's mapping), a
// guest or anonymous session as `guest account`; a user with no account is refused unless
// `fallback unix account` names one to act as. A tree connect refines the session's identity
// with its share: `admin users` act as root, `force user` replaces the account (uid, primary
// group and groups), `force group` the primary group. The connection switches the serving
// thread to the tree's identity before each request (vfs/identity.h). When smbdirectd does
// not run as root it cannot switch: every identity is null and everyone is its account.
// Pure lookups; any thread.
#pragma once
#include <memory>
#include <string_view>

#include "base/result.h"
#include "base/unix_account.h"
#include "config/access.h"
#include "config/config.h"

namespace sd::server {

using IdentityPtr = std::shared_ptr<const UnixIdentity>;

// The identity of a session of `user` (guest: of `guest account`); null without switching.
// STATUS_LOGON_FAILURE when neither the account nor the fallback exists.
Result<IdentityPtr> sessionIdentity(const config::Global& g, std::string_view user, bool guest);

// The identity of a tree connect of a session acting as `session` on `share`; `admin` when
// the user is in the share's `admin users`. STATUS_ACCESS_DENIED when a forced account or
// group does not exist.
Result<IdentityPtr> treeIdentity(const config::ShareConfig& share, const IdentityPtr& session,
                                 bool admin);

// "@group" in the share's user lists: membership by the session's Unix groups (the system's
// databases by name when the session has no identity).
config::GroupCheck groupCheckFor(const IdentityPtr& session);

}  // namespace sd::server
