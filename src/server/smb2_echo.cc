// ECHO (MS-SMB2 3.3.5.17) and CANCEL (3.3.5.16).
#include "server/connection.h"
#include "smb2/cancel.h"
#include "smb2/echo.h"

namespace sd::server {

Status handleEcho(Connection& c, Request& r) {
  SD_TRY(smb2::decodeEchoRequest(r.msg));
  smb2::encodeEchoResponse(smb2::EchoResponse{}, r.out);
  return ok();
}

Status handleCancel(Connection& c, Request& r) {
  // No response is ever sent to CANCEL; pending requests it targets complete with
  // STATUS_CANCELLED through their own async path.
  r.drop = true;
  c.cancelPending(r.hdr);
  return ok();
}

}  // namespace sd::server
