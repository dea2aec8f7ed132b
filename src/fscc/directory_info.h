// Directory information classes returned by SMB2 QUERY_DIRECTORY (MS-SMB2 2.2.34, 3.3.5.18),
// MS-FSCC 2.4: FileDirectoryInformation, FileFullDirectoryInformation,
// FileBothDirectoryInformation, FileNamesInformation, FileIdBothDirectoryInformation,
// FileIdFullDirectoryInformation, FileIdExtdDirectoryInformation,
// FileIdExtdBothDirectoryInformation, FileId64ExtdDirectoryInformation,
// FileId64ExtdBothDirectoryInformation, FileIdAllExtdDirectoryInformation and
// FileIdAllExtdBothDirectoryInformation (entry fitting: MS-FSA 2.1.5.6.3).
// The server packs entries with DirectoryEntryWriter; the client walks them with
// decodeDirectoryEntries. Owned by fscc/; an instance belongs to one thread.
#pragma once
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "fscc/file_info.h"

namespace sd::fscc {

bool isDirectoryInfoClass(uint8_t info_class);
// Bytes up to the FileName field of one entry of `info_class` (0 for a non-directory class).
size_t directoryEntryFixedSize(uint8_t info_class);
// Size of one entry for `fi` without trailing alignment padding.
size_t directoryEntrySize(uint8_t info_class, const FileInfo& fi);

// Appends directory entries to `out`, each starting on an 8-byte boundary (measured from where
// `out` ended at construction) and chained by NextEntryOffset; the last entry's NextEntryOffset
// is 0 and it carries no trailing padding. The whole run never exceeds `max_len` bytes.
class DirectoryEntryWriter {
 public:
  DirectoryEntryWriter(Bytes& out, uint8_t info_class, uint32_t max_len);

  // STATUS_INVALID_INFO_CLASS for a class that is not a directory class, else success.
  Status status() const;
  // Appends `fi`. Returns false, writing nothing, when the entry (plus the padding before it)
  // does not fit in max_len or the class is invalid; the caller keeps the entry for the next call.
  bool add(const FileInfo& fi);
  size_t count() const { return count_; }
  // Bytes written so far (relative to the start of this run).
  size_t size() const { return out_.size() - base_; }

 private:
  Bytes& out_;
  uint8_t info_class_;
  uint32_t max_len_;
  size_t base_;
  size_t last_entry_ = 0;  // offset of the last entry, relative to base_
  size_t count_ = 0;
};

// Walks a QUERY_DIRECTORY output buffer of `info_class`, bounds-checking every entry, name and
// NextEntryOffset (each must move forward past the current entry).
Result<std::vector<FileInfo>> decodeDirectoryEntries(uint8_t info_class, ByteView in);

}  // namespace sd::fscc
