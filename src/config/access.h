// Per-share access decisions (valid users, invalid users, read list, write list, guest ok),
// as ksmbd and Samba apply them. Pure; any thread.
#pragma once
#include <functional>
#include <string_view>

#include "config/config.h"

namespace sd::config {

struct Access {
  bool allowed = false;
  bool read_only = true;
  bool admin = false;  // listed in `admin users`: acts as root on the share
};

// `in_group(user, group)` resolves "@group" and "+group" entries; the default asks the system's
// databases whether the Unix account `user` is in the Unix group (base/unix_account.h).
using GroupCheck = std::function<bool(std::string_view user, std::string_view group)>;
Access shareAccessFor(const ShareConfig& share, std::string_view user, bool is_guest,
                      const GroupCheck& in_group = nullptr);

}  // namespace sd::config
