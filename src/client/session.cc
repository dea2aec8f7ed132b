// Session setup: the transport, NEGOTIATE (MS-SMB2 3.2.4.2.2.2), SESSION_SETUP with
// SPNEGO/NTLMSSP and the session's keys (3.2.4.2.3), channel binding, reconnect, tree connect and
// logoff; the interface query and srvsvc share listing that go with them. None of these may
// overlap another call on the client (smb_client.h).
#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

#include "auth/spnego.h"
#include "base/log.h"
#include "client/client_internal.h"
#include "client/smb_client.h"
#include "client/transport.h"
#include "crypto/random.h"
#include "rpc/srvsvc_client.h"
#include "smb2/ioctl.h"
#include "smb2/negotiate.h"
#include "smb2/rdma_transform.h"
#include "smb2/read.h"
#include "smb2/security.h"
#include "smb2/session_setup.h"
#include "smb2/tree_connect.h"

namespace sd::client {

using internal::kCreditRequest;

namespace {
// The negotiate contexts of a 3.1.1 offer: preauth integrity (SHA-512), the ciphers and the
// signing algorithms we accept, in order of preference; on SMB Direct the RDMA encryption
// transform (MS-SMB2 2.2.3.1.6).
std::vector<std::pair<uint16_t, Bytes>> negotiateContexts(const std::vector<uint16_t>& dialects, bool rdma_transform) {
  std::vector<std::pair<uint16_t, Bytes>> ctx;
  bool offer311 = std::find(dialects.begin(), dialects.end(), smb2::kDialect311) != dialects.end();
  if (offer311) {
    ByteWriter p;
    p.u16(1);
    p.u16(32);
    p.u16(smb2::kHashSha512);
    p.bytes(crypto::randomBytes(32));
    ctx.emplace_back(smb2::kPreauthIntegrityCapabilities, p.take());
    ByteWriter e2;
    e2.u16(4);
    for (uint16_t c : {smb2::kCipherAes128Gcm, smb2::kCipherAes128Ccm, smb2::kCipherAes256Gcm,
                       smb2::kCipherAes256Ccm})
      e2.u16(c);
    ctx.emplace_back(smb2::kEncryptionCapabilities, e2.take());
    ByteWriter s;
    s.u16(2);
    s.u16(smb2::kSigningAesGmac);
    s.u16(smb2::kSigningAesCmac);
    ctx.emplace_back(smb2::kSigningCapabilities, s.take());
    if (rdma_transform)
      ctx.emplace_back(smb2::kRdmaTransformCapabilities,
                       smb2::encodeRdmaTransformCapabilities({{smb2::kRdmaTransformEncryption}}));
  }
  return ctx;
}
}  // namespace

Status SmbClient::connect(const ConnectOptions& o) {
  opts_ = o;
  {
    std::lock_guard<std::mutex> lk(mu_);
    broken_.reset();
  }
  SD_CHECK(connectTransport(o));
  SD_CHECK(negotiate(o));
  return sessionSetup(o);
}

// SMB Direct or TCP; the transport tells its part of info_.
Status SmbClient::connectTransport(const ConnectOptions& o) {
  auto t = SD_TRY(o.rdma ? connectSmbDirect(o) : connectTcp(o));
  transport_ = std::move(t);
  transport_->describe(info_);
  return ok();
}

Status SmbClient::negotiate(const ConnectOptions& o) {
  // NEGOTIATE (MS-SMB2 3.2.4.2.2.2)
  // A binding channel presents the ClientGuid of the session's first connection.
  // Otherwise one ClientGuid for the client's life: a reconnect keeps its leases' identity
  // (MS-SMB2 3.3.5.9.7 matches durable opens with a lease by it).
  if (o.bind_to) client_guid_ = o.bind_to->client_guid_;
  else if (client_guid_ == std::array<uint8_t, 16>{}) crypto::randomFill(client_guid_);
  security_mode_ = smb2::kNegotiateSigningEnabled | (o.sign ? smb2::kNegotiateSigningRequired : 0);
  capabilities_ = smb2::kCapLargeMtu | smb2::kCapEncryption | smb2::kCapLeasing | smb2::kCapDirectoryLeasing;
  smb2::NegotiateRequest nq;
  nq.security_mode = security_mode_;
  nq.capabilities = capabilities_;
  nq.client_guid = client_guid_;
  nq.dialects = o.dialects;
  std::vector<std::pair<uint16_t, Bytes>> ctx = negotiateContexts(o.dialects, o.rdma && o.rdma_transform);
  uint64_t id;
  Bytes req_bytes;
  {
    smb2::Header h;
    h.command = smb2::Command::kNegotiate;
    h.credit = kCreditRequest;
    ByteWriter w;
    smb2::encodeHeader(h, w);
    smb2::encodeNegotiateRequest(nq, ctx, w);
    req_bytes = w.take();
    SD_CHECK(writeMessage(req_bytes));
    next_message_id_ = 1;
    id = 0;
  }
  Bytes m = SD_TRY(receiveResponse(id));
  uint32_t st = le32(m.data() + smb2::kOffStatus);
  if (st) return err(NtStatus(st), "negotiate refused (no common dialect?)");
  return applyNegotiateResponse(o, req_bytes, m);
}

// The dialect, sizes, capabilities, cipher and signing algorithm the server chose; on 3.1.1 the
// preauth hash over the exchange.
Status SmbClient::applyNegotiateResponse(const ConnectOptions& o, ByteView request, const Bytes& m) {
  auto nr = SD_TRY(smb2::decodeNegotiateResponse(m));
  info_.dialect = nr.dialect_revision;
  if (std::find(o.dialects.begin(), o.dialects.end(), info_.dialect) == o.dialects.end())
    return fatal(NtStatus::kInvalidNetworkResponse, "server chose a dialect we did not offer");
  info_.max_read = std::min<uint32_t>(nr.max_read_size, 8u << 20);
  info_.max_write = std::min<uint32_t>(nr.max_write_size, 8u << 20);
  info_.max_transact = nr.max_transact_size;
  capabilities_ &= nr.capabilities | smb2::kCapLargeMtu;
  if (!(nr.capabilities & smb2::kCapLargeMtu)) {
    capabilities_ &= ~smb2::kCapLargeMtu;
    info_.max_read = std::min<uint32_t>(info_.max_read, 65536);
    info_.max_write = std::min<uint32_t>(info_.max_write, 65536);
  }
  info_.signing_algorithm = smb2::kSigningAesCmac;
  if (info_.dialect == smb2::kDialect311) {
    smb2::PreauthHash::extend(preauth_, request);
    smb2::PreauthHash::extend(preauth_, m);
    for (const auto& c : nr.negotiate_contexts) {
      if (c.context_type == smb2::kEncryptionCapabilities) {
        auto e3 = SD_TRY(smb2::decodeEncryptionCapabilities(c.data));
        info_.cipher = e3.ciphers.empty() ? 0 : e3.ciphers[0];
      } else if (c.context_type == smb2::kSigningCapabilities) {
        auto s3 = SD_TRY(smb2::decodeSigningCapabilities(c.data));
        if (!s3.signing_algorithms.empty()) info_.signing_algorithm = s3.signing_algorithms[0];
      } else if (c.context_type == smb2::kRdmaTransformCapabilities && o.rdma && o.rdma_transform) {
        auto t = SD_TRY(smb2::decodeRdmaTransformCapabilities(c.data));
        for (uint16_t id : t.transform_ids) info_.rdma_transform_encryption |= id == smb2::kRdmaTransformEncryption;
      }
    }
  } else if (nr.capabilities & smb2::kCapEncryption) {
    info_.cipher = smb2::kCipherAes128Ccm;
  }
  sign_all_ = o.sign || (nr.security_mode & smb2::kNegotiateSigningRequired);
  return ok();
}

Status SmbClient::sessionSetup(const ConnectOptions& o) {
  // SESSION_SETUP with SPNEGO/NTLMSSP (MS-SMB2 3.2.4.2.3)
  auth::SpnegoClient spnego(o.user, o.domain, o.password);
  Bytes token = spnego.initial();
  std::array<uint8_t, 64> session_hash = preauth_;
  const SmbClient* bind = o.bind_to;
  if (bind) {
    if (bind->info_.dialect != info_.dialect) return err(NtStatus::kInvalidParameter, "channel dialect differs");
    session_id_ = bind->session_id_;
  }
  for (int round = 0; round < 8; round++) {
    smb2::SessionSetupRequest sq;
    sq.security_mode = uint8_t(security_mode_);
    sq.security_buffer = token;
    if (bind) sq.flags = smb2::kSessionFlagBinding;
    else sq.previous_session_id = previous_session_id_;
    smb2::Header h;
    h.command = smb2::Command::kSessionSetup;
    h.credit = kCreditRequest;
    h.credit_charge = 1;
    h.message_id = next_message_id_++;
    h.session_id = session_id_;
    ByteWriter w;
    smb2::encodeHeader(h, w);
    smb2::encodeSessionSetupRequest(sq, w);
    // The first binding request is signed with the session's key (MS-SMB2 3.2.4.2.3).
    if (bind && round == 0) smb2::signMessage(bind->info_.signing_algorithm, bind->signing_key_, w.buf());
    if (info_.dialect == smb2::kDialect311) smb2::PreauthHash::extend(session_hash, w.buf());
    SD_CHECK(writeMessage(w.buf()));
    Bytes r = SD_TRY(receiveResponse(h.message_id));
    auto rh = SD_TRY(smb2::decodeHeader(r));
    auto rs = SD_TRY(smb2::decodeSessionSetupResponse(r));
    session_id_ = rh.session_id;
    if (rh.status == toWire(NtStatus::kMoreProcessingRequired)) {
      if (info_.dialect == smb2::kDialect311) smb2::PreauthHash::extend(session_hash, r);
      auto step = spnego.step(rs.security_buffer);
      if (!step) return err(NtStatus::kLogonFailure, "authentication failed");
      token = step->out;
      continue;
    }
    if (rh.status != 0) return err(NtStatus(rh.status), "session setup failed");
    if (bind) return bindChannel(*bind, r, rh.flags, session_hash);
    return finishSession(o, spnego, r, rh.flags, rs.session_flags, rs.security_buffer, session_hash);
  }
  return err(NtStatus::kLogonFailure, "too many session setup rounds");
}

// The end of a binding SESSION_SETUP: this connection becomes a channel of bind's session.
Status SmbClient::bindChannel(const SmbClient& bind, const Bytes& r, uint32_t header_flags,
                              const std::array<uint8_t, 64>& session_hash) {
  // The channel signs with a key of its own on 3.1.1 (over this binding exchange), with the
  // session's on 3.0/3.0.2; encryption keys and the tree are the session's.
  session_key_ = bind.session_key_;
  signing_key_ = info_.dialect == smb2::kDialect311
                     ? smb2::deriveKeys(info_.dialect, session_key_, session_hash, info_.cipher).signing_key
                     : bind.signing_key_;
  c2s_key_ = bind.c2s_key_;
  s2c_key_ = bind.s2c_key_;
  if (!(header_flags & smb2::kFlagSigned) || !smb2::verifySignature(info_.signing_algorithm, signing_key_, r))
    return err(NtStatus::kAccessDenied, "binding response not signed with the channel key");
  sign_all_ = bind.sign_all_;
  encrypt_all_ = bind.encrypt_all_;
  info_.signing = bind.info_.signing;
  info_.encryption = bind.info_.encryption;
  info_.cipher = bind.info_.cipher;
  tree_id_ = bind.tree_id_;
  share_ = bind.share_;
  return ok();
}

// The end of a new session's SESSION_SETUP: its keys (unless guest or anonymous), the proof that
// the server has them too, and whether everything is signed or encrypted from now on.
Status SmbClient::finishSession(const ConnectOptions& o, auth::SpnegoClient& spnego, const Bytes& r,
                                uint32_t header_flags, uint16_t session_flags, ByteView security_buffer,
                                const std::array<uint8_t, 64>& session_hash) {
  if (!(session_flags & (smb2::kSessionFlagIsGuest | smb2::kSessionFlagIsNull))) {
    session_key_ = spnego.sessionKey();
    auto keys = smb2::deriveKeys(info_.dialect, spnego.sessionKey(), session_hash, info_.cipher);
    signing_key_ = keys.signing_key;
    c2s_key_ = keys.c2s_key;
    s2c_key_ = keys.s2c_key;
    // The final response proves the server derived the same key (3.1.1 always signs it).
    if ((header_flags & smb2::kFlagSigned) &&
        !smb2::verifySignature(info_.signing_algorithm, signing_key_, r))
      return err(NtStatus::kAccessDenied, "server failed to prove the session key");
    if (info_.dialect == smb2::kDialect311 && !(header_flags & smb2::kFlagSigned))
      return err(NtStatus::kAccessDenied, "final session setup response not signed");
    if (!security_buffer.empty()) {
      auto fin = spnego.step(security_buffer);
      if (!fin) return err(fin.error().status, "server mechListMIC");
    }
  }
  if (session_flags & smb2::kSessionFlagEncryptData) encrypt_all_ = true;
  if (o.seal) {
    if (!info_.cipher) return err(NtStatus::kAccessDenied, "server offers no encryption");
    encrypt_all_ = true;
  }
  info_.signing = sign_all_ && !encrypt_all_;
  info_.encryption = encrypt_all_;
  if (encrypt_all_) sign_all_ = false;
  return ok();
}

Result<std::vector<SmbClient::Interface>> SmbClient::interfaces() {
  smb2::IoctlRequest q;
  q.ctl_code = smb2::kFsctlQueryNetworkInterfaceInfo;
  q.file_id = smb2::FileId{~0ull, ~0ull};
  q.max_output_response = 65536;
  q.flags = smb2::kIoctlIsFsctl;
  auto m = SD_TRY(transact(smb2::Command::kIoctl, [&](ByteWriter& w) { smb2::encodeIoctlRequest(q, w); }));
  auto r = SD_TRY(smb2::decodeIoctlResponse(m));
  auto list = SD_TRY(smb2::decodeNetworkInterfaceInfo(r.output));
  std::vector<Interface> out;
  for (const auto& n : list) {
    Interface i;
    char buf[64] = "";
    inet_ntop(n.family == AF_INET6 ? AF_INET6 : AF_INET, n.address.data(), buf, sizeof buf);
    i.address = buf;
    i.rdma = n.capability & smb2::kRdmaCapable;
    i.rss = n.capability & smb2::kRssCapable;
    i.link_speed = n.link_speed;
    out.push_back(i);
  }
  return out;
}

bool SmbClient::connectionLost(NtStatus s) {
  return s == NtStatus::kConnectionDisconnected || s == NtStatus::kConnectionReset ||
         s == NtStatus::kPipeBroken || s == NtStatus::kConnectionRefused || s == NtStatus::kUnexpectedNetworkError ||
         s == NtStatus::kNetworkNameDeleted || s == NtStatus::kUserSessionDeleted;
}

Status SmbClient::reconnect() {
  // The idle receiver reads the old transport: wake it (a shut down socket reads as closed, a
  // closed endpoint as disconnected) and wait for it before the state below is reset.
  if (transport_) transport_->shutdown();
  stopIdleReceiver();
  transport_.reset();
  if (session_id_) previous_session_id_ = session_id_;  // kept if this attempt fails
  next_message_id_ = 0;
  credits_ = 1;
  session_id_ = 0;
  tree_id_ = 0;
  signing_key_.clear();
  c2s_key_.clear();
  s2c_key_.clear();
  sign_all_ = encrypt_all_ = false;
  preauth_ = {};
  {
    std::lock_guard<std::mutex> lk(mu_);
    early_.clear();
    abandoned_.clear();
    broken_.reset();
    outstanding_ = 0;
    receiving_ = false;
  }
  info_ = ConnectionInfo{};
  std::string share = share_;
  SD_CHECK(connect(opts_));
  previous_session_id_ = 0;
  if (!share.empty()) SD_CHECK(treeConnect(share));
  reconnects_++;
  if (break_handler_ || oplock_break_handler_) startIdleReceiver();
  LOG_INFO("reconnected to %s (reconnect %llu)", info_.server.c_str(), (unsigned long long)reconnects_);
  return ok();
}

Status SmbClient::treeConnect(const std::string& share) {
  if (share != "IPC$") share_ = share;
  std::string path = "\\\\" + opts_.host + "\\" + share;
  auto m = SD_TRY(transact(smb2::Command::kTreeConnect, [&](ByteWriter& w) {
    smb2::encodeTreeConnectRequest({0, path}, w);
  }));
  tree_id_ = SD_TRY(smb2::decodeHeader(m)).tree_id;
  auto tr = SD_TRY(smb2::decodeTreeConnectResponse(m));
  if (tr.share_flags & smb2::kShareFlagEncryptData) {
    if (!info_.cipher) return err(NtStatus::kAccessDenied, "share requires encryption");
    encrypt_all_ = true;
    info_.encryption = true;
  }
  return ok();
}

Status SmbClient::logoff() {
  if (!transport_ || !session_id_) return ok();
  auto m = transact(smb2::Command::kLogoff, [](ByteWriter& w) {
    w.u16(4);
    w.u16(0);
  });
  session_id_ = 0;
  return m ? ok() : Status(m.error());
}

Result<std::vector<std::pair<std::string, std::string>>> SmbClient::shares() {
  uint32_t saved_tree = tree_id_;
  SD_CHECK(treeConnect("IPC$"));
  std::vector<std::pair<std::string, std::string>> out;
  auto run = [&]() -> Status {
    auto f = SD_TRY(open("srvsvc", smb2::kFileReadData | smb2::kFileWriteData | smb2::kSynchronize, smb2::kFileOpen, 0, 3));
    rpc::SrvsvcClient rc(opts_.host);
    auto call = [&](const Bytes& pdu) -> Result<Bytes> {
      smb2::IoctlRequest q;
      q.ctl_code = smb2::kFsctlPipeTransceive;
      q.file_id = f;
      q.input = pdu;
      q.max_output_response = 65536;
      q.flags = smb2::kIoctlIsFsctl;
      auto m = SD_TRY(transact(smb2::Command::kIoctl, [&](ByteWriter& w) { smb2::encodeIoctlRequest(q, w); }));
      auto r = SD_TRY(smb2::decodeIoctlResponse(m));
      Bytes data(r.output.begin(), r.output.end());
      // More of the reply is read with SMB2 READ while the server says BUFFER_OVERFLOW.
      uint32_t st = le32(m.data() + smb2::kOffStatus);
      for (int guard = 0; st == toWire(NtStatus::kBufferOverflow) && guard < 1000; guard++) {
        smb2::ReadRequest rq;
        rq.length = 65536;
        rq.file_id = f;
        auto mm = SD_TRY(transact(smb2::Command::kRead, [&](ByteWriter& w) { smb2::encodeReadRequest(rq, w); }));
        auto rr = SD_TRY(smb2::decodeReadResponse(mm));
        data.insert(data.end(), rr.data.begin(), rr.data.end());
        st = le32(mm.data() + smb2::kOffStatus);
      }
      return data;
    };
    Bytes ack = SD_TRY(call(rc.bindRequest()));
    SD_CHECK(rc.onBindAck(ack));
    Bytes resp = SD_TRY(call(rc.shareEnumRequest()));
    auto list = rc.onShareEnumResponse(resp);
    (void)close(f);
    if (!list) return list.error();
    for (const auto& s : *list) out.emplace_back(s.name, s.comment);
    return ok();
  };
  Status st = run();
  (void)transact(smb2::Command::kTreeDisconnect, [](ByteWriter& w) {
    w.u16(4);
    w.u16(0);
  });
  tree_id_ = saved_tree;
  if (!st) return st.error();
  return out;
}


Status SmbClient::reauthenticate(const std::string& user, const std::string& password, const std::string& domain) {
  auth::SpnegoClient spnego(user, domain, password);
  Bytes token = spnego.initial();
  for (int round = 0; round < 8; round++) {
    smb2::SessionSetupRequest sq;
    sq.security_mode = uint8_t(security_mode_);
    sq.security_buffer = token;
    Bytes r = SD_TRY(transact(smb2::Command::kSessionSetup, [&](ByteWriter& w) { smb2::encodeSessionSetupRequest(sq, w); }));
    auto rs = SD_TRY(smb2::decodeSessionSetupResponse(r));
    if (le32(r.data() + smb2::kOffStatus) != toWire(NtStatus::kMoreProcessingRequired)) return ok();
    auto step = spnego.step(rs.security_buffer);
    if (!step) return err(NtStatus::kLogonFailure, "re-authentication failed");
    token = step->out;
  }
  return err(NtStatus::kLogonFailure, "too many session setup rounds");
}

}  // namespace sd::client
