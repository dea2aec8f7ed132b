#include "server/notify_buffer.h"

#include <sys/inotify.h>

namespace sd::server {

using namespace sd::fscc;

FsChange changeOfInotify(uint32_t mask) {
  const uint32_t name = (mask & IN_ISDIR) ? kNotifyChangeDirName : kNotifyChangeFileName;
  if (mask & (IN_CREATE | IN_MOVED_TO)) return {kFileActionAdded, name};
  if (mask & (IN_DELETE | IN_MOVED_FROM)) return {kFileActionRemoved, name};
  if (mask & IN_MODIFY) {
    if (mask & IN_ISDIR) return {};
    return {kFileActionModified, kNotifyChangeSize | kNotifyChangeLastWrite};
  }
  if (mask & IN_ATTRIB)
    return {kFileActionModified, kNotifyChangeAttributes | kNotifyChangeLastWrite | kNotifyChangeLastAccess |
                                     kNotifyChangeCreation | kNotifyChangeEa | kNotifyChangeSecurity};
  return {};
}

RenameActions renameActions(bool same_directory) {
  if (same_directory) return {kFileActionRenamedOldName, kFileActionRenamedNewName};
  return {kFileActionRemoved, kFileActionAdded};
}

void NotifyBuffer::add(const std::vector<NotifyEntry>& group) {
  if (overflowed_) return;
  for (const auto& e : group) {
    if (!entries_.empty() && entries_.back() == e) continue;
    bytes_ += notifyEntrySize(e);
    if (bytes_ > max_bytes_) {
      overflow();
      return;
    }
    entries_.push_back(e);
  }
}

void NotifyBuffer::overflow() {
  overflowed_ = true;
  entries_.clear();
  bytes_ = 0;
}

NotifyBuffer::Taken NotifyBuffer::take(uint32_t output_length) {
  Taken t;
  if (overflowed_ || entries_.empty()) {
    t.status = NtStatus::kNotifyEnumDir;
  } else {
    t.data = encodeNotifyInformation(entries_);
    if (t.data.size() > output_length) {
      t.status = NtStatus::kNotifyEnumDir;
      t.data.clear();
    }
  }
  overflowed_ = false;
  entries_.clear();
  bytes_ = 0;
  return t;
}

}  // namespace sd::server
