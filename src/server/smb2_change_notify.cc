// CHANGE_NOTIFY (MS-SMB2 3.3.5.19). Change notification comes in a later issue; until then it
// answers STATUS_NOT_SUPPORTED (STATUS_INTERNAL_ERROR inside a compound, where it could not go
// async).
#include "server/connection.h"
#include "smb2/change_notify.h"

namespace sd::server {

Status handleChangeNotify(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeChangeNotifyRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (!open->is_directory) return err(NtStatus::kInvalidParameter, "not a directory");
  // A NOTIFY can only complete asynchronously; inside a compound, before its last request,
  // Windows fails what would go async with STATUS_INTERNAL_ERROR (MS-SMB2 3.3.4.2 <159>,
  // smbtorture smb2.compound.interim2).
  if (r.more_in_chain) return err(NtStatus::kInternalError, "async request inside a compound");
  return err(NtStatus::kNotSupported, "change notify");
}

}  // namespace sd::server
