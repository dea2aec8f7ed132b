// QUERY_DIRECTORY (MS-SMB2 3.3.5.18): enumeration with patterns, restart/reopen, single entry,
// index, and the information classes Windows, macOS and Linux clients use.
#include "fscc/directory_info.h"
#include "server/connection.h"
#include "server/file_info_util.h"
#include "smb2/constants.h"
#include "smb2/query_directory.h"

namespace sd::server {

Status handleQueryDirectory(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeQueryDirectoryRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (!open->is_directory || !open->handle) return err(NtStatus::kInvalidParameter, "not a directory");
  if (!(open->granted_access & smb2::kFileListDirectory))
    return err(NtStatus::kAccessDenied, "no list access");
  if (!fscc::isDirectoryInfoClass(req.file_information_class))
    return err(NtStatus::kInvalidInfoClass, "directory info class");
  if (req.output_buffer_length > c.negotiated().max_transact)
    return err(NtStatus::kInvalidParameter, "output buffer too large");

  std::lock_guard<std::mutex> lk(open->mu);
  bool reopen = req.flags & smb2::kReopen;
  bool restart = reopen || (req.flags & smb2::kRestartScans);
  std::string pattern = req.file_name.empty() ? "*" : req.file_name;
  if (!open->dir || reopen || (restart && pattern != open->search_pattern)) {
    open->dir = SD_TRY(open->tree->share->fs->openDir(*open->handle, pattern));
    open->search_pattern = pattern;
    open->enum_done = false;
    open->enum_any = false;
  } else if (restart) {
    SD_CHECK(open->dir->rewind());
    open->enum_done = false;
    open->enum_any = false;
  }
  if (open->enum_done) return err(NtStatus::kNoMoreFiles);

  Bytes entries;
  fscc::DirectoryEntryWriter w(entries, req.file_information_class, req.output_buffer_length);
  bool single = req.flags & smb2::kReturnSingleEntry;
  size_t bounded = 0;
  while (bounded++ < 1000000) {
    auto e = SD_TRY(open->dir->peek());
    if (!e) {
      open->enum_done = true;
      break;
    }
    if (!w.add(toFileInfo(e->stat, e->name))) {
      if (w.count() == 0) return err(NtStatus::kBufferTooSmall, "entry does not fit");
      break;  // stays peeked for the next call
    }
    open->dir->consume();
    if (single) break;
  }
  if (w.count() == 0) {
    // First call finding nothing is NO_SUCH_FILE, later ones NO_MORE_FILES (MS-SMB2 3.3.5.18).
    return err(open->enum_any ? NtStatus::kNoMoreFiles : NtStatus::kNoSuchFile);
  }
  open->enum_any = true;
  smb2::QueryDirectoryResponse resp;
  resp.buffer = entries;
  smb2::encodeQueryDirectoryResponse(resp, r.out);
  return ok();
}

}  // namespace sd::server
