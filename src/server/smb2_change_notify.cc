// CHANGE_NOTIFY (MS-SMB2 3.3.5.19) and OPLOCK_BREAK acknowledgements (3.3.5.22). Change
// notification and oplocks/leases come in a later issue; until then CHANGE_NOTIFY answers
// STATUS_NOT_SUPPORTED (STATUS_INTERNAL_ERROR inside a compound, where it could not go async) and, since no oplock or lease is ever granted, any break acknowledgement
// is answered as MS-SMB2 prescribes for an open without one.
#include "server/connection.h"
#include "smb2/change_notify.h"
#include "smb2/oplock_break.h"

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

Status handleOplockBreak(Connection& c, Request& r) {
  // No oplock or lease is granted, so there is no break to acknowledge (MS-SMB2 3.3.5.22.1:
  // STATUS_INVALID_OPLOCK_PROTOCOL; for leases 3.3.5.22.2: STATUS_OBJECT_NAME_NOT_FOUND).
  if (r.msg.size() >= 64 + 2 && r.msg[64] == 36)
    return err(NtStatus::kObjectNameNotFound, "no lease");
  auto ack = SD_TRY(smb2::decodeOplockBreakAcknowledgment(r.msg));
  auto open = SD_TRY(c.openOf(r, ack.file_id));
  return err(NtStatus::kInvalidOplockProtocol, "no oplock granted");
}

}  // namespace sd::server
