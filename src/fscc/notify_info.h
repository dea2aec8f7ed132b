// FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1): the change records of a CHANGE_NOTIFY response, and
// the CompletionFilter bits and actions of MS-SMB2 2.2.35 / MS-FSCC 2.7.1. Owned by fscc/; pure
// functions, any thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace sd::fscc {

// MS-FSCC 2.7.1 Action
constexpr uint32_t kFileActionAdded = 1, kFileActionRemoved = 2, kFileActionModified = 3,
                   kFileActionRenamedOldName = 4, kFileActionRenamedNewName = 5,
                   kFileActionAddedStream = 6, kFileActionRemovedStream = 7,
                   kFileActionModifiedStream = 8;
// MS-SMB2 2.2.35 CompletionFilter
constexpr uint32_t kNotifyChangeFileName = 0x001, kNotifyChangeDirName = 0x002,
                   kNotifyChangeAttributes = 0x004, kNotifyChangeSize = 0x008,
                   kNotifyChangeLastWrite = 0x010, kNotifyChangeLastAccess = 0x020,
                   kNotifyChangeCreation = 0x040, kNotifyChangeEa = 0x080,
                   kNotifyChangeSecurity = 0x100, kNotifyChangeStreamName = 0x200,
                   kNotifyChangeStreamSize = 0x400, kNotifyChangeStreamWrite = 0x800;
constexpr uint32_t kNotifyChangeName = kNotifyChangeFileName | kNotifyChangeDirName;
constexpr uint32_t kNotifyChangeAll = 0xFFF;

// One record: FileName is relative to the watched directory, '\'-separated on the wire; held
// here as UTF-8 with '/' or '\' (both are sent as '\').
struct NotifyEntry {
  uint32_t action = 0;
  std::string name;
  bool operator==(const NotifyEntry&) const = default;
};

// Bytes a record takes in a response when another follows it (12-byte header, UTF-16 name,
// padded to 4 bytes; the last record of a response is not padded).
size_t notifyEntrySize(const NotifyEntry& e);
// The records chained by NextEntryOffset, each but the last padded to 4 bytes (as Windows and
// Samba send them).
Bytes encodeNotifyInformation(const std::vector<NotifyEntry>& entries);
// Bounded decoder (names come back with '\').
Result<std::vector<NotifyEntry>> decodeNotifyInformation(ByteView in);

}  // namespace sd::fscc
