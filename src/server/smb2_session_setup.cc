// SESSION_SETUP (MS-SMB2 3.3.5.5): SPNEGO/NTLMSSP authentication, key derivation (3.1.1 over the
// session's preauth integrity hash), signing and encryption requirements, guest mapping.
#include "auth/spnego.h"
#include "base/log.h"
#include "base/text.h"
#include "smb2/negotiate.h"
#include "server/connection.h"
#include "server/unix_identity.h"
#include "smb2/constants.h"
#include "smb2/security.h"
#include "smb2/session_setup.h"

namespace sd::server {

namespace {

std::unique_ptr<auth::SpnegoServer> newAuth(Connection& c) {
  const auto& g = c.state().global();
  auth::NtlmServerOptions opts;
  opts.netbios_name = g.netbios_name;
  opts.netbios_domain = g.workgroup;
  opts.dns_name = asciiLower(g.netbios_name);
  opts.dns_domain = asciiLower(g.workgroup);
  auto state = c.sharedState();
  return std::make_unique<auth::SpnegoServer>(
      opts, [state](std::string_view user, std::string_view) { return state->lookupUser(user); });
}

// Session binding (MS-SMB2 3.3.5.5.2, 3.3.5.5.3): a client adds this connection as a channel of
// a session it established on another connection (multichannel; e.g. an SMB Direct channel next
// to TCP). The same user authenticates again; the channel gets its own signing key on 3.1.1.
Status bindSession(Connection& c, Request& r, const smb2::SessionSetupRequest& req) {
  auto& neg = c.negotiated();
  if (neg.dialect < smb2::kDialect300 || !c.state().global().server_multi_channel_support)
    return err(NtStatus::kRequestNotAccepted, "multichannel is off");
  auto session = c.state().findSession(r.hdr.session_id);
  if (!session || session->state != Session::State::kValid) return err(NtStatus::kUserSessionDeleted, "no such session");
  if (session->dialect != neg.dialect) return err(NtStatus::kInvalidParameter, "binding with another dialect");
  auto session_user = session->who();
  if (session_user->guest || session_user->anonymous || session->keys.signing_key.empty())
    return err(NtStatus::kRequestNotAccepted, "guest sessions cannot be bound");
  if (c.findSession(session->session_id)) return err(NtStatus::kRequestNotAccepted, "already bound here");
  SD_CHECK(c.roomForSession());
  auto& bindings = c.bindings();
  auto it = bindings.find(session->session_id);
  if (it == bindings.end()) {
    // The first request of a binding is signed with the session's key (3.3.5.5.2).
    if (!(r.hdr.flags & smb2::kFlagSigned) ||
        !smb2::verifySignature(session->signing_algorithm, session->keys.signing_key, r.msg))
      return err(NtStatus::kAccessDenied, "binding request not signed by the session");
    Connection::Binding b;
    b.auth = newAuth(c);
    b.preauth = neg.preauth_hash;
    it = bindings.emplace(session->session_id, std::move(b)).first;
  }
  Connection::Binding& b = it->second;
  bool v311 = neg.dialect == smb2::kDialect311;
  if (v311) smb2::PreauthHash::extend(b.preauth, r.msg);
  auto step = b.auth->step(req.security_buffer);
  if (!step) {
    bindings.erase(it);
    return err(NtStatus::kLogonFailure, "binding authentication failed");
  }
  smb2::SessionSetupResponse resp;
  resp.security_buffer = step->out;
  if (!step->done) {
    smb2::encodeSessionSetupResponse(resp, r.out);
    r.status = NtStatus::kMoreProcessingRequired;
    if (v311) r.preauth_response = &b.preauth;
    return ok();
  }
  const auto& who = b.auth->result();
  if (asciiLower(who.user) != asciiLower(session_user->user)) {
    bindings.erase(it);
    return err(NtStatus::kAccessDenied, "binding by another user");
  }
  Bytes key = v311 ? smb2::deriveKeys(neg.dialect, session->session_key, b.preauth, neg.cipher).signing_key
                   : session->keys.signing_key;
  bindings.erase(it);
  c.setChannelKey(session->session_id, std::move(key));
  c.addSession(session);
  c.authenticated();
  r.session = session;
  r.sign_response = true;  // with the channel's key
  smb2::encodeSessionSetupResponse(resp, r.out);
  LOG_INFO("%s: session %016llx of %s bound as a new channel (%s)", c.transport().info().peer.c_str(),
           (unsigned long long)session->session_id, session_user->user.c_str(), c.transport().info().kind.c_str());
  return ok();
}

// A failed (re-)authentication ends the session and its opens (MS-SMB2 3.3.5.5.3).
void dropSession(Connection& c, const Session& session) {
  c.closeSessionOpens(session.session_id);
  c.removeSession(session.session_id);
  c.state().removeSession(session.session_id);
}

// The session acts for `who` from now on (MS-SMB2 3.3.5.5.3). A re-authentication, as any
// user, remakes each tree connect of the session for the new user (treeFor: access lists, admin
// users, force user and group; a tree the new user may not connect stays, refused); user and
// trees change together under the session's lock. A request that already holds a tree finishes
// as it began, and opens keep the tree (and the identity) they were made through.
void becomeUser(Connection& c, Session& s, const std::shared_ptr<const SessionUser>& who) {
  for (;;) {
    std::map<uint32_t, std::shared_ptr<TreeConnect>> old, remade;
    {
      std::lock_guard<std::mutex> lk(s.mu);
      old = s.trees;
    }
    for (const auto& [id, t] : old) {
      auto made = treeFor(c, t->share, who, true);
      std::shared_ptr<TreeConnect> n;
      if (made) {
        n = *made;
      } else {
        n = std::make_shared<TreeConnect>(*t);
        n->user = who;
        n->identity = who->identity;
        n->refused = true;
      }
      n->tree_id = id;
      n->encrypt = t->encrypt;
      remade[id] = std::move(n);
    }
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.trees != old) continue;  // a tree was connected or disconnected meanwhile: again
    s.trees = std::move(remade);
    s.current_user = who;
    return;
  }
}

// The session a (non-binding) SESSION_SETUP works on: a new one for SessionId 0, else this
// connection's.
Result<std::shared_ptr<Session>> setupSession(Connection& c, Request& r) {
  auto& neg = c.negotiated();
  std::shared_ptr<Session> session;
  if (r.hdr.session_id == 0) {
    SD_CHECK(c.roomForSession());
    session = c.state().newSession();
    if (!session) return err(NtStatus::kInsufficientResources, "max active sessions");
    session->dialect = neg.dialect;
    session->preauth_hash = neg.preauth_hash;
    c.addSession(session);
    r.hdr.session_id = session->session_id;
  } else {
    session = c.findSession(r.hdr.session_id);
    if (!session) return err(NtStatus::kUserSessionDeleted, "unknown session");
    // Re-authentication (MS-SMB2 3.3.5.5.2): its first leg starts a new exchange on the same
    // session (which stays usable meanwhile).
    if ((session->state == Session::State::kValid || session->state == Session::State::kExpired) &&
        !session->auth)
      session->preauth_hash = neg.preauth_hash;
  }
  return session;
}

// "map to guest = bad user": an unknown user becomes the guest account; guest sessions have no
// session key, so they are neither signed nor encrypted (MS-SMB2 3.3.5.5.3).
Status mapToGuest(Connection& c, Request& r, Session& session) {
  const auto& g = c.state().global();
  if (g.smb3_encryption == config::Encryption::kMandatory || c.negotiated().signing_required) {
    dropSession(c, session);
    return err(NtStatus::kLogonFailure, "guest not possible with mandatory signing/encryption");
  }
  auto id = sessionIdentity(g, g.guest_account, true);
  if (!id) {
    dropSession(c, session);
    return err(NtStatus::kLogonFailure, "guest account has no Unix account");
  }
  auto who = std::make_shared<SessionUser>();
  who->identity = std::move(*id);
  who->guest = true;
  who->user = g.guest_account;
  becomeUser(c, session, who);
  session.auth.reset();
  session.state = Session::State::kValid;
  c.authenticated();
  smb2::SessionSetupResponse gresp;
  gresp.session_flags = smb2::kSessionFlagIsGuest;
  smb2::encodeSessionSetupResponse(gresp, r.out);
  LOG_INFO("%s: unknown user mapped to guest (%s)", c.transport().info().peer.c_str(),
           g.guest_account.c_str());
  return ok();
}

// The session of a completed authentication: who it is, and for a new session its keys and
// whether it signs and encrypts (MS-SMB2 3.3.5.5.3).
Status establishSession(Connection& c, Request& r, Session& session, smb2::SessionSetupResponse& resp) {
  auto& neg = c.negotiated();
  const auto& g = c.state().global();
  const auto& who = session.auth->result();
  // The Unix account the user acts as; a re-authentication may name another one (the
  // session's trees are remade for it: becomeUser).
  auto id = sessionIdentity(g, who.user, who.anonymous);
  if (!id) {
    dropSession(c, session);
    return err(NtStatus::kLogonFailure, "no Unix account");
  }
  if (who.anonymous && g.restrict_anonymous) {
    dropSession(c, session);
    return err(NtStatus::kLogonFailure, "anonymous logon refused");
  }
  auto user = std::make_shared<SessionUser>();
  user->identity = std::move(*id);
  user->user = who.user;
  user->domain = who.domain;
  user->anonymous = who.anonymous;
  becomeUser(c, session, user);
  if (who.anonymous) {
    resp.session_flags = smb2::kSessionFlagIsNull;
  } else if (!session.keys.signing_key.empty()) {
    // A re-authentication keeps the session's keys (MS-SMB2 3.3.5.5.3 derives them only for a
    // new session); its final response is signed with them.
    r.sign_response = true;
  } else {
    session.session_key = who.session_key;
    session.cipher = neg.cipher;
    session.signing_algorithm = neg.signing_algorithm;
    session.keys = smb2::deriveKeys(neg.dialect, session.session_key, session.preauth_hash, neg.cipher);
    session.signing_required =
        neg.signing_required || (neg.client_security_mode & smb2::kNegotiateSigningRequired);
    if (g.smb3_encryption == config::Encryption::kMandatory) {
      if (neg.cipher == 0) {
        dropSession(c, session);
        return err(NtStatus::kAccessDenied, "encryption required but the client offers none");
      }
      session.encrypt_data = true;
      resp.session_flags |= smb2::kSessionFlagEncryptData;
    }
    // The final response is signed so that the client can verify the session key (3.3.5.5.3).
    r.sign_response = true;
  }
  session.auth.reset();
  session.state = Session::State::kValid;
  c.authenticated();
  return ok();
}

// PreviousSessionId (MS-SMB2 3.3.5.5.3): the same user's old session ends, on whichever
// connection it was; its durable opens are kept for a reconnect, the others end.
void endPreviousSession(Connection& c, const smb2::SessionSetupRequest& req, const Session& session) {
  if (!req.previous_session_id || req.previous_session_id == session.session_id) return;
  auto old = c.state().findSession(req.previous_session_id);
  if (!old) return;
  auto was = old->who(), now = session.who();
  if (old->state != Session::State::kInProgress && was->user == now->user && was->domain == now->domain &&
      was->anonymous == now->anonymous) {
    for (const auto& o : c.state().opensOfSession(old->session_id)) {
      c.untrackOpen(o->volatile_id);
      dropOpen(c.state(), o, o->connection_id);
    }
    c.removeSession(old->session_id);
    c.state().removeSession(old->session_id);
    old->state = Session::State::kEnded;
  }
}

}  // namespace

Status handleSessionSetup(Connection& c, Request& r) {
  auto& neg = c.negotiated();
  auto req = SD_TRY(smb2::decodeSessionSetupRequest(r.msg));
  if (req.flags & smb2::kSessionFlagBinding) return bindSession(c, r, req);
  const auto& g = c.state().global();
  std::shared_ptr<Session> session = SD_TRY(setupSession(c, r));
  r.session = session;
  if (!session->auth) session->auth = newAuth(c);
  bool v311 = neg.dialect == smb2::kDialect311;
  if (v311) smb2::PreauthHash::extend(session->preauth_hash, r.msg);

  auto step = session->auth->step(req.security_buffer);
  bool map_guest = !step && step.status() == NtStatus::kNoSuchUser &&
                   g.map_to_guest == config::MapToGuest::kBadUser;
  if (!step && !map_guest) {
    LOG_INFO("%s: authentication failed: %s (%s)", c.transport().info().peer.c_str(),
             ntStatusName(step.status()), step.error().what);
    dropSession(c, *session);
    return err(NtStatus::kLogonFailure, "authentication failed");
  }
  if (map_guest) return mapToGuest(c, r, *session);
  smb2::SessionSetupResponse resp;
  resp.security_buffer = step->out;
  if (!step->done) {
    smb2::encodeSessionSetupResponse(resp, r.out);
    r.status = NtStatus::kMoreProcessingRequired;
    if (v311) r.preauth_response = &session->preauth_hash;
    return ok();
  }
  SD_CHECK(establishSession(c, r, *session, resp));
  endPreviousSession(c, req, *session);
  smb2::encodeSessionSetupResponse(resp, r.out);
  auto now = session->who();
  LOG_INFO("%s: session %016llx for %s%s%s (dialect 0x%04x%s)", c.transport().info().peer.c_str(),
           (unsigned long long)session->session_id, now->domain.c_str(),
           now->domain.empty() ? "" : "\\", now->anonymous ? "(anonymous)" : now->user.c_str(),
           neg.dialect, session->encrypt_data ? ", encrypted" : "");
  return ok();
}

Status handleLogoff(Connection& c, Request& r) {
  SD_TRY(smb2::decodeLogoffRequest(r.msg));
  auto s = r.session;
  // Close every open of the session (MS-SMB2 3.3.5.6); durable ones are kept for a reconnect
  // (smbtorture smb2.durable-open.reopen4).
  c.closeSessionOpens(s->session_id, true);
  c.removeSession(s->session_id);
  c.state().removeSession(s->session_id);
  s->state = Session::State::kExpired;
  smb2::encodeLogoffResponse(smb2::LogoffResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
