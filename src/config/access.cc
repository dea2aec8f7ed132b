#include "config/access.h"

#include <string>
#include <vector>

#include "base/text.h"
#include "base/unix_account.h"

namespace sd::config {

namespace {

bool systemInGroup(std::string_view user, std::string_view group) {
  return unixAccountInGroup(std::string(user), std::string(group));
}

bool listed(const std::vector<std::string>& list, std::string_view user, const GroupCheck& in_group) {
  for (const auto& e : list) {
    if (!e.empty() && (e[0] == '@' || e[0] == '+')) {
      if (in_group(user, std::string_view(e).substr(1))) return true;
    } else if (iequals(e, user)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Access shareAccessFor(const ShareConfig& s, std::string_view user, bool is_guest,
                      const GroupCheck& in_group_arg) {
  GroupCheck in_group = in_group_arg ? in_group_arg : GroupCheck(systemInGroup);
  Access a;
  if (!s.available) return a;
  if (is_guest) {
    if (!s.guest_ok) return a;
  } else {
    if (listed(s.invalid_users, user, in_group)) return a;
    if (!s.valid_users.empty() && !listed(s.valid_users, user, in_group)) return a;
  }
  a.allowed = true;
  a.read_only = s.read_only;
  if (!is_guest) {
    a.admin = listed(s.admin_users, user, in_group);
    if (a.read_only && listed(s.write_list, user, in_group)) a.read_only = false;
    if (listed(s.read_list, user, in_group)) a.read_only = true;
  }
  return a;
}

}  // namespace sd::config
