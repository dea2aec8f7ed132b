// CLOSE (MS-SMB2 3.3.5.10) and FLUSH (3.3.5.11).
#include "fscc/file_info.h"
#include "server/connection.h"
#include "smb2/close.h"
#include "smb2/constants.h"
#include "smb2/flush.h"

namespace sd::server {

Status handleClose(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeCloseRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  smb2::CloseResponse resp;
  if ((req.flags & smb2::kClosePostqueryAttrib) && open->handle) {
    auto st = open->handle->stat();
    if (st) {
      resp.flags = smb2::kClosePostqueryAttrib;
      resp.creation_time = st->creation_time;
      resp.last_access_time = st->last_access_time;
      resp.last_write_time = st->last_write_time;
      resp.change_time = st->change_time;
      resp.allocation_size = st->allocation_size;
      resp.end_of_file = st->end_of_file;
      resp.file_attributes = st->file_attributes;
    }
  }
  c.closeOpen(open);
  smb2::encodeCloseResponse(resp, r.out);
  return ok();
}

Status handleFlush(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeFlushRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (open->handle && !open->is_directory) {
    if (!(open->granted_access & (smb2::kFileWriteData | smb2::kFileAppendData)))
      return err(NtStatus::kAccessDenied, "flush without write access");
    SD_CHECK(open->handle->fsync());
  }
  smb2::encodeFlushResponse(smb2::FlushResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
