// The pure parts of change notification (MS-SMB2 3.3.5.19): what an inotify event means to SMB,
// and the records one directory open buffers between its CHANGE_NOTIFY requests. Owned by
// server/; no locking (server/change_watcher.h guards them), no I/O.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/nt_status.h"
#include "fscc/notify_info.h"

namespace sd::server {

// An inotify event as SMB reports it: a FILE_ACTION_* and the CompletionFilter bits
// (FILE_NOTIFY_CHANGE_*) it matches; action 0 when SMB has nothing to say about it.
//   IN_CREATE             ADDED       FILE_NAME or DIR_NAME
//   IN_DELETE             REMOVED     FILE_NAME or DIR_NAME
//   IN_MOVED_FROM         REMOVED     FILE_NAME or DIR_NAME (RENAMED_OLD_NAME when paired, below)
//   IN_MOVED_TO           ADDED       FILE_NAME or DIR_NAME (RENAMED_NEW_NAME when paired)
//   IN_MODIFY             MODIFIED    SIZE | LAST_WRITE (a write, a truncation, a new mtime)
//   IN_ATTRIB             MODIFIED    ATTRIBUTES | LAST_WRITE | LAST_ACCESS | CREATION | EA |
//                                     SECURITY (inotify does not say which: mode, owner, both
//                                     times, an xattr - our DOS attributes, EAs and NT ACLs)
// IN_CLOSE_WRITE, IN_OPEN, IN_ACCESS and the events of the watched directory itself map to
// nothing: every close of a descriptor opened for writing raises IN_CLOSE_WRITE, written or not,
// so it would report an SMB CREATE that only opened a file as a modification (Windows does not).
struct FsChange {
  uint32_t action = 0;
  uint32_t filter = 0;
};
FsChange changeOfInotify(uint32_t mask);
// A rename seen as IN_MOVED_FROM + IN_MOVED_TO with one cookie: within one directory
// RENAMED_OLD_NAME + RENAMED_NEW_NAME, across directories REMOVED + ADDED (as Windows reports
// a move to a watcher of both).
struct RenameActions {
  uint32_t from = 0, to = 0;
};
RenameActions renameActions(bool same_directory);

// The records one directory open collects while no CHANGE_NOTIFY waits (MS-SMB2 3.3.1.10 keeps
// no such state; Windows keeps it with the file object): bounded to `max_bytes` of encoded
// records, beyond which it overflows (its records dropped; the next request is answered
// STATUS_NOTIFY_ENUM_DIR, telling the client to enumerate the directory again).
class NotifyBuffer {
 public:
  explicit NotifyBuffer(size_t max_bytes) : max_bytes_(max_bytes) {}
  // Appends a group of records (a rename's two together); a record identical to the one before
  // it is dropped (repeated writes to one file are one modification).
  void add(const std::vector<fscc::NotifyEntry>& group);
  void overflow();
  bool empty() const { return entries_.empty() && !overflowed_; }
  size_t bytes() const { return bytes_; }
  // The answer to a request that accepts `output_length` bytes, emptying the buffer: the
  // records (STATUS_SUCCESS), or STATUS_NOTIFY_ENUM_DIR when they do not fit or were dropped.
  struct Taken {
    NtStatus status = NtStatus::kSuccess;
    Bytes data;  // FILE_NOTIFY_INFORMATION records
  };
  Taken take(uint32_t output_length);

 private:
  size_t max_bytes_;
  size_t bytes_ = 0;
  bool overflowed_ = false;
  std::vector<fscc::NotifyEntry> entries_;
};

}  // namespace sd::server
