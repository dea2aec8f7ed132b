// OPLOCK_BREAK (MS-SMB2 3.3.5.22): acknowledgments of oplock breaks (3.3.5.22.1) and of lease
// breaks (3.3.5.22.2), and the break notifications themselves (3.3.4.6, 3.3.4.7), sent from
// whichever thread breaks the oplock or lease.
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/lease.h"
#include "smb2/oplock_break.h"
#include "smb2/security.h"

namespace sd::server {

Status handleOplockBreak(Connection& c, Request& r) {
  if (r.msg.size() >= 64 + 2 && r.msg[64] == smb2::kLeaseBreakAckSize) {
    auto ack = SD_TRY(smb2::decodeLeaseBreakAck(r.msg));
    LeaseId id{c.negotiated().client_guid, ack.lease_key};
    smb2::LeaseBreakAck resp;
    resp.lease_key = ack.lease_key;
    resp.lease_state = SD_TRY(c.state().oplocks().acknowledgeLease(id, ack.lease_state));
    smb2::encodeLeaseBreakAck(resp, r.out);
    return ok();
  }
  auto ack = SD_TRY(smb2::decodeOplockBreakAcknowledgment(r.msg));
  auto open = SD_TRY(c.openOf(r, ack.file_id));
  uint8_t level = SD_TRY(c.state().oplocks().acknowledge(open->volatile_id, ack.oplock_level));
  smb2::encodeOplockBreak(level, ack.file_id, r.out);
  return ok();
}

namespace {

// Sends an unsolicited OPLOCK_BREAK (MessageId all ones), not signed, encrypted when the
// session encrypts (MS-SMB2 3.3.4.6, 3.3.4.7); from any thread.
std::function<void(std::function<void(ByteWriter&)>)> unsolicitedSender(Connection& c, const Request& r) {
  auto transport = c.sharedTransport();
  auto session = r.session;
  bool encrypt = session && (r.encrypted || session->encrypt_data) && !session->keys.s2c_key.empty();
  return [transport, session, encrypt](std::function<void(ByteWriter&)> body) {
    smb2::Header h;
    h.command = smb2::Command::kOplockBreak;
    h.flags = smb2::kFlagServerToRedir;
    h.message_id = ~0ull;
    h.session_id = session ? session->session_id : 0;
    ByteWriter w;
    smb2::encodeHeader(h, w);
    body(w);
    if (encrypt) {
      Bytes enc = smb2::encryptMessage(session->cipher, session->keys.s2c_key, session->session_id, w.buf());
      (void)transport->send(enc);
    } else {
      (void)transport->send(w.buf());
    }
  };
}

}  // namespace

OplockTable::Notify oplockBreakNotifier(Connection& c, const Request& r, const Open& open) {
  smb2::FileId fid{open.persistent_id, open.volatile_id};
  return [send = unsolicitedSender(c, r), fid](uint8_t level) {
    send([&](ByteWriter& w) { smb2::encodeOplockBreak(level, fid, w); });
  };
}

OplockTable::LeaseNotify leaseBreakNotifier(Connection& c, const Request& r, const smb2::LeaseKey& key) {
  return [send = unsolicitedSender(c, r), key](uint32_t current, uint32_t next, uint16_t epoch, bool ack) {
    smb2::LeaseBreakNotification n;
    n.new_epoch = epoch;
    n.flags = ack ? smb2::kNotifyBreakLeaseFlagAckRequired : 0;
    n.lease_key = key;
    n.current_lease_state = current;
    n.new_lease_state = next;
    send([&](ByteWriter& w) { smb2::encodeLeaseBreakNotification(n, w); });
  };
}

}  // namespace sd::server
