// SESSION_SETUP (MS-SMB2 3.3.5.5): SPNEGO/NTLMSSP authentication, key derivation (3.1.1 over the
// session's preauth integrity hash), signing and encryption requirements, guest mapping.
#include "auth/spnego.h"
#include "base/log.h"
#include "base/text.h"
#include "smb2/negotiate.h"
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/security.h"
#include "smb2/session_setup.h"

namespace sd::server {

Status handleSessionSetup(Connection& c, Request& r) {
  auto& neg = c.negotiated();
  auto req = SD_TRY(smb2::decodeSessionSetupRequest(r.msg));
  if (req.flags & smb2::kSessionFlagBinding) {
    // Multichannel session binding arrives with the SMB Direct issue.
    return err(NtStatus::kRequestNotAccepted, "session binding not supported yet");
  }
  const auto& g = c.state().global();
  std::shared_ptr<Session> session;
  if (r.hdr.session_id == 0) {
    session = c.state().newSession();
    session->dialect = neg.dialect;
    session->preauth_hash = neg.preauth_hash;
    c.addSession(session);
    r.hdr.session_id = session->session_id;
  } else {
    session = c.findSession(r.hdr.session_id);
    if (!session) return err(NtStatus::kUserSessionDeleted, "unknown session");
    if (session->state == Session::State::kValid || session->state == Session::State::kExpired) {
      // Re-authentication (MS-SMB2 3.3.5.5.2) starts a new exchange on the same session.
      session->auth.reset();
      session->preauth_hash = neg.preauth_hash;
    }
  }
  r.session = session;
  if (!session->auth) {
    auth::NtlmServerOptions opts;
    opts.netbios_name = g.netbios_name;
    opts.netbios_domain = g.workgroup;
    opts.dns_name = asciiLower(g.netbios_name);
    opts.dns_domain = asciiLower(g.workgroup);
    auto state = c.sharedState();
    session->auth = std::make_unique<auth::SpnegoServer>(
        opts, [state](std::string_view user, std::string_view) { return state->lookupUser(user); });
  }
  bool v311 = neg.dialect == smb2::kDialect311;
  if (v311) smb2::PreauthHash::extend(session->preauth_hash, r.msg);

  auto step = session->auth->step(req.security_buffer);
  auto dropSession = [&] {
    c.removeSession(session->session_id);
    c.state().removeSession(session->session_id);
  };
  bool map_guest = !step && step.status() == NtStatus::kNoSuchUser &&
                   g.map_to_guest == config::MapToGuest::kBadUser;
  if (!step && !map_guest) {
    LOG_INFO("%s: authentication failed: %s", c.transport().info().peer.c_str(),
             ntStatusName(step.status()));
    dropSession();
    return err(NtStatus::kLogonFailure, "authentication failed");
  }
  if (map_guest) {
    // "map to guest = bad user": an unknown user becomes the guest account; guest sessions
    // have no session key, so they are neither signed nor encrypted (MS-SMB2 3.3.5.5.3).
    if (g.smb3_encryption == config::Encryption::kMandatory || neg.signing_required) {
      dropSession();
      return err(NtStatus::kLogonFailure, "guest not possible with mandatory signing/encryption");
    }
    session->guest = true;
    session->user = g.guest_account;
    session->auth.reset();
    session->state = Session::State::kValid;
    smb2::SessionSetupResponse gresp;
    gresp.session_flags = smb2::kSessionFlagIsGuest;
    smb2::encodeSessionSetupResponse(gresp, r.out);
    LOG_INFO("%s: unknown user mapped to guest (%s)", c.transport().info().peer.c_str(),
             g.guest_account.c_str());
    return ok();
  }
  smb2::SessionSetupResponse resp;
  resp.security_buffer = step->out;
  if (!step->done) {
    smb2::encodeSessionSetupResponse(resp, r.out);
    r.status = NtStatus::kMoreProcessingRequired;
    if (v311) r.preauth_response = &session->preauth_hash;
    return ok();
  }

  const auto& who = session->auth->result();
  session->user = who.user;
  session->domain = who.domain;
  session->anonymous = who.anonymous;
  if (who.anonymous) {
    if (g.restrict_anonymous) {
      dropSession();
      return err(NtStatus::kLogonFailure, "anonymous logon refused");
    }
    resp.session_flags = smb2::kSessionFlagIsNull;
  } else {
    session->session_key = who.session_key;
    session->cipher = neg.cipher;
    session->signing_algorithm = neg.signing_algorithm;
    session->keys = smb2::deriveKeys(neg.dialect, session->session_key, session->preauth_hash,
                                     neg.cipher);
    session->signing_required =
        neg.signing_required || (neg.client_security_mode & smb2::kNegotiateSigningRequired);
    if (g.smb3_encryption == config::Encryption::kMandatory) {
      if (neg.cipher == 0) {
        dropSession();
        return err(NtStatus::kAccessDenied, "encryption required but the client offers none");
      }
      session->encrypt_data = true;
      resp.session_flags |= smb2::kSessionFlagEncryptData;
    }
    // The final response is signed so that the client can verify the session key (3.3.5.5.3).
    r.sign_response = true;
  }
  session->auth.reset();
  session->state = Session::State::kValid;
  smb2::encodeSessionSetupResponse(resp, r.out);
  LOG_INFO("%s: session %016llx for %s%s%s (dialect 0x%04x%s)", c.transport().info().peer.c_str(),
           (unsigned long long)session->session_id, session->domain.c_str(),
           session->domain.empty() ? "" : "\\", session->anonymous ? "(anonymous)" : session->user.c_str(),
           neg.dialect, session->encrypt_data ? ", encrypted" : "");
  return ok();
}

Status handleLogoff(Connection& c, Request& r) {
  SD_TRY(smb2::decodeLogoffRequest(r.msg));
  auto s = r.session;
  // Close every open of the session (MS-SMB2 3.3.5.6).
  c.closeSessionOpens(s->session_id);
  c.removeSession(s->session_id);
  c.state().removeSession(s->session_id);
  s->state = Session::State::kExpired;
  smb2::encodeLogoffResponse(smb2::LogoffResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
