// OPLOCK_BREAK (MS-SMB2 3.3.5.22): acknowledgments of oplock breaks (3.3.5.22.1) and the break
// notifications themselves (3.3.4.6), sent from whichever thread breaks the oplock. Lease break
// acknowledgments (3.3.5.22.2) are answered as for a lease that does not exist: leases are not
// granted yet.
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/oplock_break.h"
#include "smb2/security.h"

namespace sd::server {

Status handleOplockBreak(Connection& c, Request& r) {
  if (r.msg.size() >= 64 + 2 && r.msg[64] == 36) return err(NtStatus::kObjectNameNotFound, "no lease");
  auto ack = SD_TRY(smb2::decodeOplockBreakAcknowledgment(r.msg));
  auto open = SD_TRY(c.openOf(r, ack.file_id));
  uint8_t level = SD_TRY(c.state().oplocks().acknowledge(open->volatile_id, ack.oplock_level));
  smb2::encodeOplockBreak(level, ack.file_id, r.out);
  return ok();
}

OplockTable::Notify oplockBreakNotifier(Connection& c, const Request& r, const Open& open) {
  auto transport = c.sharedTransport();
  auto session = r.session;
  bool encrypt = session && (r.encrypted || session->encrypt_data) && !session->keys.s2c_key.empty();
  smb2::FileId fid{open.persistent_id, open.volatile_id};
  return [transport, session, encrypt, fid](uint8_t level) {
    // MS-SMB2 3.3.4.6: an unsolicited message (MessageId all ones), not signed; encrypted
    // when the session encrypts.
    smb2::Header h;
    h.command = smb2::Command::kOplockBreak;
    h.flags = smb2::kFlagServerToRedir;
    h.message_id = ~0ull;
    h.session_id = session ? session->session_id : 0;
    ByteWriter w;
    smb2::encodeHeader(h, w);
    smb2::encodeOplockBreak(level, fid, w);
    if (encrypt) {
      Bytes enc = smb2::encryptMessage(session->cipher, session->keys.s2c_key, session->session_id, w.buf());
      (void)transport->send(enc);
    } else {
      (void)transport->send(w.buf());
    }
  };
}

}  // namespace sd::server
