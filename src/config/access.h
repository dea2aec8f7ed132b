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
};

// `in_group(user, group)` resolves "@group" entries; the default uses the system's group
// database (getgrnam/getgrouplist).
using GroupCheck = std::function<bool(std::string_view user, std::string_view group)>;
Access shareAccessFor(const ShareConfig& share, std::string_view user, bool is_guest,
                      const GroupCheck& in_group = nullptr);

}  // namespace sd::config
