// libmount's userspace mount table (/run/mount/utab): the options the user gave a FUSE mount
// (vers=, rdma, ...) are recorded there so that `mount` and `findmnt --mtab` show them, as they
// do for mount.cifs. Best effort: only when /run/mount is writable (root).
#pragma once
#include <string>

namespace sd::fuse {

// Adds (or replaces) the entry for `target`; `opts` must not contain secrets.
void utabAdd(const std::string& source, const std::string& target, const std::string& opts);
void utabRemove(const std::string& target);

}  // namespace sd::fuse
