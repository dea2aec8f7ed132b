#include "server/connection.h"

#include "base/log.h"
#include "fscc/notify_info.h"
#include "server/directory_leases.h"
#include "smb2/compound.h"
#include "smb2/constants.h"
#include "smb2/error.h"
#include "smb2/frame.h"
#include "smb2/negotiate.h"
#include "smb2/security.h"
#include "vfs/identity.h"

namespace sd::server {

namespace {

// Indexed by command code.
const CommandSpec kCommands[] = {
    {.handler = handleNegotiate},
    {.handler = handleSessionSetup},
    {.handler = handleLogoff, .needs_session = true},
    {.handler = handleTreeConnect, .needs_session = true},
    {.handler = handleTreeDisconnect, .needs_session = true, .needs_tree = true},
    {.handler = handleCreate, .needs_session = true, .needs_tree = true},
    {.handler = handleClose, .needs_session = true, .needs_tree = true},
    {.handler = handleFlush, .needs_session = true, .needs_tree = true},
    {.handler = handleRead, .needs_session = true, .needs_tree = true},
    {.handler = handleWrite, .needs_session = true, .needs_tree = true},
    {.handler = handleLock, .needs_session = true, .needs_tree = true},
    {.handler = handleIoctl, .needs_session = true, .needs_tree = true},
    {.handler = handleCancel},
    {.handler = handleEcho},
    {.handler = handleQueryDirectory, .needs_session = true, .needs_tree = true},
    {.handler = handleChangeNotify, .needs_session = true, .needs_tree = true},
    {.handler = handleQueryInfo, .needs_session = true, .needs_tree = true},
    {.handler = handleSetInfo, .needs_session = true, .needs_tree = true},
    {.handler = handleOplockBreak, .needs_session = true, .needs_tree = true},
};
static_assert(std::size(kCommands) == size_t(smb2::Command::kOplockBreak) + 1);

}  // namespace

// One compound chain while it is processed: what a related request inherits from the one
// before it (MS-SMB2 3.3.5.2.7.2), and the responses linked so far (3.3.4.1.3).
struct Connection::Chain {
  bool encrypted = false;
  uint64_t transform_session = 0;
  // Inherited by related requests.
  std::shared_ptr<Session> last_session;
  std::shared_ptr<TreeConnect> last_tree;
  std::optional<std::array<uint64_t, 2>> last_file;
  // A failed CREATE fails the related requests after it with its status (MS-SMB2 3.3.5.2.7.2);
  // other failures do not carry over (Windows, Samba: smbtorture smb2.compound.interim2).
  NtStatus create_err = NtStatus::kSuccess;
  // The responses: the last one is at prev_start, still unpadded and unsigned.
  Bytes out;
  size_t prev_start = 0;
  bool have_prev = false;
  bool prev_sign = false;
  uint16_t prev_sign_alg = 0;
  Bytes prev_sign_key;
  std::shared_ptr<Session> encrypt_for;
  uint32_t invalidate = 0;
  std::vector<std::function<void()>> after_send;  // Request::after_send of its requests
};

namespace {
std::atomic<uint64_t> next_connection_id{1};
}  // namespace

Connection::Connection(std::shared_ptr<ServerState> state, std::shared_ptr<Transport> transport)
    : state_(std::move(state)), transport_(std::move(transport)), id_(next_connection_id.fetch_add(1)) {}

Connection::~Connection() { onDisconnect(); }

std::unique_ptr<MessageHandler> acceptConnection(std::shared_ptr<ServerState> state,
                                                 std::shared_ptr<Transport> transport) {
  if (!state->admitsPeer(transport->info().peer)) {
    LOG_WARN("refusing connection from %s (%s): hosts allow / hosts deny", transport->info().peer.c_str(),
             transport->info().kind.c_str());
    return nullptr;
  }
  auto slot = state->admitConnection(transport->info().peer);
  if (!slot) return nullptr;
  auto c = std::make_unique<Connection>(state, transport);
  c->admission_ = std::move(slot);
  state->closeUnlessAuthenticated(transport, c->authenticated_);
  return c;
}

void Connection::fail(const char* why) {
  LOG_WARN("%s: %s; closing connection", transport_->info().peer.c_str(), why);
  closed_ = true;
  transport_->close();
}

void Connection::onDisconnect() {
  {
    std::lock_guard<std::mutex> lk(life_->mu);  // waits for a resumed request that runs now
    life_->alive = false;
  }
  std::map<uint64_t, std::shared_ptr<Open>> opens;
  std::map<uint64_t, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lk(mu_);
    opens.swap(opens_);
    sessions.swap(sessions_);
    open_sessions_.clear();
    opens_per_session_.clear();
  }
  // Opens attached here (a reconnect may have taken one to another connection): durable ones
  // are kept for a reconnect, the others end.
  for (auto& [id, o] : opens) dropOpen(*state_, o, id_);
  // A session lives on while another channel still has it bound.
  for (auto& [id, s] : sessions) {
    bool last;
    {
      std::lock_guard<std::mutex> lk(s->mu);
      last = --s->channels <= 0;
    }
    if (last) state_->removeSession(id);
  }
  closed_ = true;
}

std::shared_ptr<Session> Connection::findSession(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}
size_t Connection::sessionCount() {
  std::lock_guard<std::mutex> lk(mu_);
  return sessions_.size();
}
Status Connection::roomForSession() {
  if (sessionCount() >= state_->global().max_sessions_per_connection)
    return err(NtStatus::kInsufficientResources, "max sessions per connection");
  return ok();
}
void Connection::addSession(const std::shared_ptr<Session>& s) {
  bool added;
  {
    std::lock_guard<std::mutex> lk(mu_);
    added = sessions_.emplace(s->session_id, s).second;
  }
  if (added) {
    std::lock_guard<std::mutex> lk(s->mu);
    s->channels++;
  }
}
void Connection::removeSession(uint64_t id) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    s = it->second;
    sessions_.erase(it);
    channel_keys_.erase(id);
  }
  std::lock_guard<std::mutex> lk(s->mu);
  s->channels--;
}
void Connection::trackOpen(const std::shared_ptr<Open>& o) {
  o->connection_id = id_;
  std::lock_guard<std::mutex> lk(mu_);
  opens_[o->volatile_id] = o;
  if (open_sessions_.count(o->volatile_id)) return;
  uint64_t sid = o->session_id;
  open_sessions_[o->volatile_id] = sid;
  opens_per_session_[sid]++;
}
void Connection::untrackOpen(uint64_t volatile_id) {
  std::lock_guard<std::mutex> lk(mu_);
  opens_.erase(volatile_id);
  auto it = open_sessions_.find(volatile_id);
  if (it == open_sessions_.end()) return;
  auto n = opens_per_session_.find(it->second);
  if (n != opens_per_session_.end() && --n->second == 0) opens_per_session_.erase(n);
  open_sessions_.erase(it);
}
Status Connection::roomForOpen(uint64_t session_id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto n = opens_per_session_.find(session_id);
  if (n != opens_per_session_.end() && n->second >= state_->global().max_open_files)
    return err(NtStatus::kInsufficientResources, "max open files");
  return ok();
}

std::shared_ptr<Open> Connection::findOpen(Request& req, uint64_t persistent_id,
                                           uint64_t volatile_id) {
  // A related request in a compound may use the FileId of the preceding CREATE (MS-SMB2
  // 3.3.5.2.7.2): all-ones means "the file just opened".
  if (persistent_id == ~0ull && volatile_id == ~0ull && req.created_file_id) {
    persistent_id = (*req.created_file_id)[0];
    volatile_id = (*req.created_file_id)[1];
  }
  std::shared_ptr<Open> o;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = opens_.find(volatile_id);
    if (it != opens_.end()) o = it->second;
  }
  // Opens belong to the session (MS-SMB2 3.3.1.8 OpenTable): one made through another channel
  // of a session bound here is usable on this connection too.
  if (!o && findSession(req.hdr.session_id)) o = state_->findOpen(volatile_id);
  if (!o || o->persistent_id != persistent_id || o->session_id != req.hdr.session_id ||
      (req.tree && o->tree_id != req.tree->tree_id))
    return nullptr;
  return o;
}

Result<std::shared_ptr<Open>> Connection::openOf(Request& req, const smb2::FileId& id) {
  auto o = findOpen(req, id.persistent, id.volatile_);
  if (!o) return err(NtStatus::kFileClosed, "no such open");
  // An open keeps the access it was granted when its session re-authenticates as another
  // user (MS-SMB2 3.3.5.5.3, Windows and Samba): what is done through it acts as the account
  // that opened it, whose rights the kernel checks (the tree it was made through).
  if (o->tree && req.tree && o->tree != req.tree && o->tree->identity != req.tree->identity)
    SD_CHECK(vfs::actAs(o->tree->identity));
  return o;
}

void Connection::onMessage(ByteView m) {
  if (closed_) return;
  if (smb2::isSmb1Negotiate(m)) {
    handleSmb1Negotiate(m);
    return;
  }
  if (smb2::isTransformHeader(m)) {
    const char* why = "";
    auto session = transformSession(m, &why);
    if (!session) return fail(why);
    auto plain = smb2::decryptMessage(session->cipher, session->keys.c2s_key, m);
    if (!plain) {
      // What the transform header said, to tell whose bytes are wrong.
      std::string why = "decryption failed (" + std::string(plain.error().what) + "; " + std::to_string(m.size()) +
                        " bytes, OriginalMessageSize " + std::to_string(le32(m.data() + 36)) + ", flags " +
                        std::to_string(le16(m.data() + 42)) + ")";
      return fail(why.c_str());
    }
    processChain(*plain, true, session->session_id);
    return;
  }
  processChain(m, false, 0);
}

// The session whose key decrypts `m`, a message in a TRANSFORM_HEADER (a session of this
// connection, or bound to it from another); null, with the reason, when there is none.
std::shared_ptr<Session> Connection::transformSession(ByteView m, const char** why) {
  if (!neg_.done || neg_.cipher == 0) return *why = "encrypted message before encryption was negotiated", nullptr;
  auto sid = smb2::transformSessionId(m);
  if (!sid) return *why = "bad transform header", nullptr;
  auto session = findSession(*sid);
  if (!session) session = state_->findSession(*sid);
  if (!session || session->keys.c2s_key.empty()) return *why = "transform for unknown session", nullptr;
  return session;
}

std::optional<Bytes> Connection::peekPlaintext(ByteView m) {
  // Only a request small enough to be a READ or WRITE with an RDMA channel: decrypting a large
  // inline message twice would cost more than the early RDMA Read gains.
  const char* why = "";
  if (m.size() > 2048 || !smb2::isTransformHeader(m)) return std::nullopt;
  auto session = transformSession(m, &why);
  if (!session) return std::nullopt;
  auto plain = smb2::decryptMessage(session->cipher, session->keys.c2s_key, m);
  if (!plain) return std::nullopt;
  return std::move(*plain);
}

Status Connection::checkSession(Request& req) {
  auto session = findSession(req.hdr.session_id);
  if (!session) return err(NtStatus::kUserSessionDeleted, "no such session");
  if (session->state == Session::State::kExpired)
    return err(NtStatus::kNetworkSessionExpired, "session expired");
  if (session->state != Session::State::kValid) return err(NtStatus::kUserSessionDeleted, "in progress");
  req.session = session;
  return ok();
}

void Connection::processChain(ByteView frame, bool encrypted, uint64_t transform_session) {
  auto parts = smb2::splitCompound(frame);
  if (!parts) return fail("malformed compound chain");
  Chain chain;
  chain.out.reserve(512);
  chain.encrypted = encrypted;
  chain.transform_session = transform_session;
  for (size_t i = 0; i < parts->size(); i++) {
    Request req;
    req.msg = (*parts)[i];
    req.encrypted = encrypted;
    req.more_in_chain = i + 1 < parts->size();
    auto hdr = smb2::decodeHeader(req.msg);
    if (!hdr) return fail("malformed SMB2 header");
    req.hdr = *hdr;
    if (req.hdr.flags & smb2::kFlagServerToRedir) return fail("response sent to server");
    uint16_t cmd = uint16_t(req.hdr.command);
    LOG_TRACE("%s: request %s mid %llu (%zu bytes)", transport_->info().peer.c_str(), smb2::commandName(cmd),
              (unsigned long long)req.hdr.message_id, req.msg.size());
    const bool related = (req.hdr.flags & smb2::kFlagRelatedOperations) && i > 0;
    if (related) {
      if (req.hdr.session_id == ~0ull && chain.last_session) req.hdr.session_id = chain.last_session->session_id;
      if (req.hdr.tree_id == ~0u && chain.last_tree) req.hdr.tree_id = chain.last_tree->tree_id;
      req.created_file_id = chain.last_file;
    }
    // Credits and message ids (MS-SMB2 3.3.5.2.3); CANCEL consumes none.
    if (cmd != uint16_t(smb2::Command::kCancel) &&
        !credits_.consume(req.hdr.message_id, req.hdr.credit_charge))
      return fail("message id outside the credit window");
    if (cmd > uint16_t(smb2::Command::kOplockBreak)) {
      req.status = NtStatus::kInvalidParameter;
    } else if (!neg_.done && cmd != uint16_t(smb2::Command::kNegotiate)) {
      return fail("request before NEGOTIATE");
    } else {
      command_count[cmd]++;
      const CommandSpec& spec = kCommands[cmd];
      Status st = admit(req, spec, chain, related, i == 0);
      req.out.buf().reserve(256);
      req.out.zeros(64);
      // The request acts as its tree's Unix account (vfs/identity.h); requests without a tree
      // touch no file and keep whatever the thread acts as.
      if (st && req.tree) st = vfs::actAs(req.tree->identity);
      if (st) st = spec.handler(*this, req);
      if (!st) {
        req.status = st.error().status;
        if (st.error().severity == Severity::kConnection) return fail(st.error().what);
        LOG_DEBUG("%s: command %u failed: %s (%s)", transport_->info().peer.c_str(), cmd,
                  ntStatusName(req.status), st.error().what);
      }
    }
    if (req.after_send) chain.after_send.push_back(std::move(req.after_send));
    if (req.drop) continue;
    inherit(req, chain, related);
    appendResponse(req, chain);
  }
  sendChain(chain);
  for (auto& f : chain.after_send) f();
}

Status Connection::admit(Request& req, const CommandSpec& spec, const Chain& chain, bool related,
                         bool first) {
  Status st = ok();
  if (related && !chain.last_session && spec.needs_session) {
    // The session a related request inherits did not resolve (MS-SMB2 3.3.5.2.7.2: the
    // related request is invalid; Windows and Samba answer STATUS_INVALID_PARAMETER,
    // smbtorture smb2.compound.invalid2).
    st = err(NtStatus::kInvalidParameter, "related request without a session");
  } else if (related && chain.create_err != NtStatus::kSuccess) {
    // A related request after a failed CREATE fails the same way (MS-SMB2 3.3.5.2.7.2).
    st = err(chain.create_err);
  }
  if (first && (req.hdr.flags & smb2::kFlagRelatedOperations))
    st = err(NtStatus::kInvalidParameter, "first request is related");
  if (st && spec.needs_session) st = checkSession(req);
  if (st && req.session) {
    // Signature check (MS-SMB2 3.3.5.2.4); encrypted requests are authenticated already.
    bool is_signed = req.hdr.flags & smb2::kFlagSigned;
    if (!chain.encrypted && (is_signed || req.session->signing_required) &&
        !req.session->keys.signing_key.empty()) {
      if (!is_signed ||
          !smb2::verifySignature(req.session->signing_algorithm, signingKey(*req.session), req.msg))
        st = err(NtStatus::kAccessDenied, "bad signature");
    }
    if (st && req.session->encrypt_data && !chain.encrypted)
      st = err(NtStatus::kAccessDenied, "session requires encryption");
    if (chain.encrypted && chain.transform_session != req.session->session_id && !related)
      st = err(NtStatus::kAccessDenied, "transform session mismatch");
  }
  if (st && spec.needs_tree) {
    req.tree = req.session->findTree(req.hdr.tree_id);
    if (!req.tree) st = err(NtStatus::kNetworkNameDeleted, "no such tree");
    else if (req.tree->encrypt && !chain.encrypted)
      st = err(NtStatus::kAccessDenied, "share requires encryption");
    // The session re-authenticated as a user who may not connect the share (Samba answers so
    // too); giving up what the tree holds stays possible.
    else if (req.tree->refused && req.hdr.command != smb2::Command::kClose &&
             req.hdr.command != smb2::Command::kTreeDisconnect)
      st = err(NtStatus::kAccessDenied, "the session's user may not use this tree");
  }
  return st;
}

void Connection::inherit(const Request& req, Chain& chain, bool related) {
  if (req.remote_invalidate) chain.invalidate = req.remote_invalidate;
  if (req.session) chain.last_session = req.session;
  else if (!related) chain.last_session = findSession(req.hdr.session_id);
  if (req.tree) chain.last_tree = req.tree;
  // The file a later related request inherits is this request's; an unrelated request
  // without one breaks the chain (Samba resets its chain fsp the same way).
  if (req.created_file_id) chain.last_file = req.created_file_id;
  else if (!related) chain.last_file.reset();
  if (req.hdr.command == smb2::Command::kCreate) chain.create_err = req.status;
  else if (!related) chain.create_err = NtStatus::kSuccess;
  // MS-SMB2 3.3.4.1.4: a response is encrypted when its request was, or when the session
  // encrypts everything, except NEGOTIATE and SESSION_SETUP responses (the client of a session
  // that encrypts because the server requires it has no key until that response arrives).
  bool setup = req.hdr.command == smb2::Command::kNegotiate || req.hdr.command == smb2::Command::kSessionSetup;
  if (req.session && (chain.encrypted || (req.session->encrypt_data && !setup))) chain.encrypt_for = req.session;
}

// Pads the chain's last response to 8 bytes (MS-SMB2 3.3.4.1.3) and signs it if it must be.
static void closeResponse(Bytes& out, size_t start, bool sign, uint16_t alg, const Bytes& key) {
  size_t pad = (8 - (out.size() - start) % 8) % 8;
  out.insert(out.end(), pad, 0);
  if (sign) smb2::signMessage(alg, key, std::span<uint8_t>(out.data() + start, out.size() - start));
}

void Connection::appendResponse(Request& req, Chain& chain) {
  // Error responses carry the MS-SMB2 2.2.2 body unless the handler wrote its own
  // (e.g. STATUS_BUFFER_OVERFLOW or MORE_PROCESSING_REQUIRED with data).
  if (req.out.size() <= 64) {
    if (req.out.size() < 64) {
      req.out.buf().clear();
      req.out.zeros(64);
    }
    smb2::encodeErrorResponse(smb2::ErrorResponse{}, req.out);
  }
  smb2::Header rh;
  if (req.async_id) {
    // Interim response (MS-SMB2 3.3.4.2): STATUS_PENDING with the AsyncId; not signed.
    req.status = NtStatus::kPending;
    req.out.buf().resize(64);
    smb2::encodeErrorResponse(smb2::ErrorResponse{}, req.out);
    rh.flags |= smb2::kFlagAsyncCommand;
    rh.async_id = req.async_id;
  }
  rh.credit_charge = req.hdr.credit_charge;
  rh.status = toWire(req.status);
  rh.command = req.hdr.command;
  rh.credit = credits_.grant(req.hdr.credit, req.hdr.credit_charge);
  rh.flags |= smb2::kFlagServerToRedir | (req.hdr.flags & smb2::kFlagRelatedOperations);
  rh.message_id = req.hdr.message_id;
  rh.process_id = req.hdr.process_id;
  rh.tree_id = req.hdr.tree_id;
  rh.session_id = req.hdr.session_id;
  std::shared_ptr<Session> sign_with = req.session ? req.session : findSession(req.hdr.session_id);
  bool sign = !chain.encrypted && !req.async_id && sign_with && !sign_with->keys.signing_key.empty() &&
              ((req.hdr.flags & smb2::kFlagSigned) || sign_with->signing_required || req.sign_response);
  if (sign) rh.flags |= smb2::kFlagSigned;
  Bytes& body = req.out.buf();
  {
    ByteWriter hw;
    smb2::encodeHeader(rh, hw);
    std::copy(hw.buf().begin(), hw.buf().end(), body.begin());
  }
  if (req.preauth_response) smb2::PreauthHash::extend(*req.preauth_response, body);
  // Link into the chain: the previous response gets its padding, NextCommand and signature.
  if (chain.have_prev) {
    size_t pad = (8 - (chain.out.size() - chain.prev_start) % 8) % 8;
    store32(&chain.out[chain.prev_start + 20], uint32_t(chain.out.size() + pad - chain.prev_start));
    closeResponse(chain.out, chain.prev_start, chain.prev_sign, chain.prev_sign_alg, chain.prev_sign_key);
  }
  chain.prev_start = chain.out.size();
  if (chain.out.empty()) chain.out = std::move(body);  // the usual single response: no copy
  else chain.out.insert(chain.out.end(), body.begin(), body.end());
  chain.have_prev = true;
  chain.prev_sign = sign;
  if (sign) {
    chain.prev_sign_alg = sign_with->signing_algorithm;
    chain.prev_sign_key = signingKey(*sign_with);
  }
}

namespace {
constexpr size_t kSpareMin = 256 * 1024;  // smaller buffers are cheap to zero-fill
}  // namespace

void Connection::sendChain(Chain& chain) {
  if (!chain.have_prev) return;
  // The last response of a compound is padded to 8 bytes too, as Windows does (smbtorture
  // smb2.compound.compound-padding); a lone response is sent unpadded.
  if (chain.prev_start > 0) {
    closeResponse(chain.out, chain.prev_start, chain.prev_sign, chain.prev_sign_alg, chain.prev_sign_key);
  } else if (chain.prev_sign) {
    smb2::signMessage(chain.prev_sign_alg, chain.prev_sign_key, chain.out);
  }
  Bytes out = std::move(chain.out);
  const auto& encrypt_for = chain.encrypt_for;
  if (encrypt_for && !encrypt_for->keys.s2c_key.empty())
    out = smb2::encryptMessage(encrypt_for->cipher, encrypt_for->keys.s2c_key, encrypt_for->session_id, out);
  ByteView whole(out);
  Status sent = chain.invalidate ? transport_->sendInvalidate(std::span<const ByteView>(&whole, 1), chain.invalidate)
                                 : transport_->send(whole);
  // A connection that went away loses its responses; one the transport refuses (larger than the
  // peer takes) is a bug to see, not a silent hang of the client.
  if (!sent && sent.status() == NtStatus::kInvalidParameter)
    LOG_WARN("%s: a %zu-byte response could not be sent: %s", transport_->info().peer.c_str(), whole.size(),
             sent.error().what);
  // The transports have copied the message: keep a large buffer for the next READ.
  if (out.capacity() >= kSpareMin) {
    out.resize(out.capacity());  // zero-fills only the tail beyond the message
    std::lock_guard<std::mutex> lk(spare_mu_);
    if (out.size() > spare_.size()) spare_ = std::move(out);
  }
}

Bytes Connection::takeResponseBuffer() {
  std::lock_guard<std::mutex> lk(spare_mu_);
  return std::move(spare_);
}

const Bytes& Connection::signingKey(const Session& s) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = channel_keys_.find(s.session_id);
  return it == channel_keys_.end() ? s.keys.signing_key : it->second;
}

void Connection::setChannelKey(uint64_t session_id, Bytes key) {
  std::lock_guard<std::mutex> lk(mu_);
  channel_keys_[session_id] = std::move(key);
}

void Connection::closeSessionOpens(uint64_t session_id, bool keep_durable) {
  std::vector<std::shared_ptr<Open>> victims;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [id, o] : opens_)
      if (o->session_id == session_id) victims.push_back(o);
  }
  for (auto& o : victims) {
    untrackOpen(o->volatile_id);
    if (keep_durable) dropOpen(*state_, o, id_);
    else endOpen(*state_, o);
  }
}

// TREE_DISCONNECT ends every open of the tree, durable ones too (MS-SMB2 3.3.5.8).
void Connection::closeTreeOpens(uint64_t session_id, uint32_t tree_id) {
  std::vector<std::shared_ptr<Open>> victims;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [id, o] : opens_)
      if (o->session_id == session_id && o->tree_id == tree_id) victims.push_back(o);
  }
  for (auto& o : victims) closeOpen(o);
}

void Connection::closeOpen(const std::shared_ptr<Open>& o) {
  untrackOpen(o->volatile_id);
  endOpen(*state_, o);
}

void Connection::cancelPending(const smb2::Header& h) {
  // MS-SMB2 3.3.5.16: the request of this connection with the AsyncId (or MessageId), of the
  // CANCEL's session (as Samba matches); none found: nothing happens.
  std::function<bool(NtStatus)> cancel;
  {
    std::lock_guard<std::mutex> lk(pending_->mu);
    for (const auto& [aid, e] : pending_->by_async_id) {
      bool match = (h.flags & smb2::kFlagAsyncCommand) ? aid == h.async_id : e.message_id == h.message_id;
      if (match && e.session_id == h.session_id) {
        cancel = e.cancel;
        break;
      }
    }
  }
  if (cancel) cancel(NtStatus::kCancelled);
}

std::shared_ptr<AsyncReply> Connection::asyncReply(const Request& req, uint64_t async_id) {
  auto a = std::make_shared<AsyncReply>();
  a->transport = transport_;
  a->session = req.session;
  a->command = req.hdr.command;
  a->message_id = req.hdr.message_id;
  a->async_id = async_id;
  a->session_id = req.hdr.session_id;
  if (req.session) a->signing_key = signingKey(*req.session);
  a->sign = req.session && !req.session->keys.signing_key.empty() &&
            ((req.hdr.flags & smb2::kFlagSigned) || req.session->signing_required);
  a->encrypt = req.session && (req.encrypted || req.session->encrypt_data) &&
               !req.session->keys.s2c_key.empty();
  return a;
}

std::function<void()> Connection::rerunLater(const Request& r, uint64_t async_id,
                                             std::shared_ptr<InterimGate> gate,
                                             std::shared_ptr<AsyncReply> reply, std::shared_ptr<Parked> parked,
                                             Status (*handler)(Connection&, Request&)) {
  return [life = life_, conn = this, reply, parked, msg = Bytes(r.msg.begin(), r.msg.end()),
          hdr = r.hdr, session = r.session, tree = r.tree, encrypted = r.encrypted, async_id, gate, handler,
          pending = pending_] {
    std::lock_guard<std::mutex> lk(life->mu);
    if (!life->alive) return;
    int expected = 0;
    if (!parked->state.compare_exchange_strong(expected, 1)) return;  // cancelled
    {
      std::lock_guard<std::mutex> plk(pending->mu);
      auto it = pending->by_async_id.find(async_id);
      if (it != pending->by_async_id.end()) pending->by_async_id.erase(it);
    }
    Request req;
    req.msg = msg;
    req.hdr = hdr;
    req.session = session;
    req.tree = tree;
    req.encrypted = encrypted;
    req.resumed = async_id;
    req.out.zeros(64);
    vfs::IdentityScope as(tree->identity);
    Status st = as.status() ? handler(*conn, req) : as.status();
    if (st && req.async_id) return;  // waits for another break
    auto body = std::make_shared<Bytes>(st ? Bytes(req.out.buf().begin() + 64, req.out.buf().end()) : Bytes());
    NtStatus status = st ? NtStatus::kSuccess : st.error().status;
    gate->finalReady([reply, body, status] { reply->send(status, *body); });
  };
}

bool Connection::parkUntil(Request& r, Status (*handler)(Connection&, Request&),
                           const std::function<bool(std::function<void()>)>& wait) {
  if (r.more_in_chain) {
    (void)wait(nullptr);
    return false;
  }
  uint64_t async_id = r.resumed ? r.resumed : nextAsyncId();
  auto gate = std::make_shared<InterimGate>();
  if (r.resumed) gate->interimSent();  // a resumed request's interim response went out long ago
  auto reply = asyncReply(r, async_id);
  auto parked = std::make_shared<Parked>();
  // Cancelable from now on: the continuation may run (on another thread) as soon as `wait`
  // has registered it.
  {
    std::lock_guard<std::mutex> lk(pending_->mu);
    // (weakly: the table holds this function)
    std::weak_ptr<PendingTable> weak = pending_;
    pending_->by_async_id[async_id] = {r.hdr.message_id, r.hdr.session_id,
                                       [parked, gate, reply, weak, async_id](NtStatus st) {
                                         int expected = 0;
                                         if (!parked->state.compare_exchange_strong(expected, 2)) return false;
                                         if (auto pending = weak.lock()) {
                                           std::lock_guard<std::mutex> plk(pending->mu);
                                           pending->by_async_id.erase(async_id);
                                         }
                                         gate->finalReady([reply, st] { reply->send(st, {}); });
                                         return true;
                                       }};
  }
  if (!wait(rerunLater(r, async_id, gate, reply, parked, handler))) {
    std::lock_guard<std::mutex> lk(pending_->mu);
    pending_->by_async_id.erase(async_id);
    return false;
  }
  r.async_id = async_id;
  if (!r.resumed) r.after_send = [gate] { gate->interimSent(); };
  return true;
}

void AsyncReply::send(NtStatus status, ByteView body) const {
  smb2::Header h;
  h.command = command;
  h.status = toWire(status);
  h.flags = smb2::kFlagServerToRedir | smb2::kFlagAsyncCommand;
  h.message_id = message_id;
  h.async_id = async_id;
  h.session_id = session_id;
  ByteWriter w;
  smb2::encodeHeader(h, w);
  if (body.empty()) smb2::encodeErrorResponse(smb2::ErrorResponse{}, w);
  else w.bytes(body);
  if (sign && !encrypt) smb2::signMessage(session->signing_algorithm, signing_key, w.buf());
  if (encrypt) {
    Bytes enc = smb2::encryptMessage(session->cipher, session->keys.s2c_key, session_id, w.buf());
    (void)transport->send(enc);
  } else {
    (void)transport->send(w.buf());
  }
}

}  // namespace sd::server
