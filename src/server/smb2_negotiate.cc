// NEGOTIATE (MS-SMB2 3.3.5.3 for the SMB1 multi-protocol form, 3.3.5.4 for SMB2).
#include <algorithm>

#include "auth/spnego.h"
#include "base/clock.h"
#include "base/log.h"
#include "crypto/random.h"
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/frame.h"
#include "smb2/negotiate.h"
#include "smb2/rdma_transform.h"
#include "smb2/read.h"

namespace sd::server {

namespace {

// Server preference order (Windows prefers AES-128 GCM).
const uint16_t kCipherPreference[] = {smb2::kCipherAes128Gcm, smb2::kCipherAes128Ccm,
                                      smb2::kCipherAes256Gcm, smb2::kCipherAes256Ccm};
const uint16_t kSigningPreference[] = {smb2::kSigningAesGmac, smb2::kSigningAesCmac};

bool encryptionEnabled(const config::Global& g) {
  return g.smb3_encryption != config::Encryption::kDisabled;
}

// The newest dialect both sides speak; 0 when none.
uint16_t chooseDialect(const smb2::NegotiateRequest& req) {
  uint16_t dialect = 0;
  for (uint16_t want : smb2::kDialectsNewestFirst) {
    for (uint16_t d : req.dialects)
      if (d == want && !dialect) dialect = want;
  }
  return dialect;
}

uint32_t serverCapabilities(Connection& c, const smb2::NegotiateRequest& req, uint16_t dialect) {
  const auto& g = c.state().global();
  uint32_t caps = smb2::kCapLargeMtu;
  if (g.server_multi_channel_support) caps |= smb2::kCapMultiChannel;
  if (c.state().leasesOn()) caps |= smb2::kCapLeasing;
  // Directory leases come with leases (every dialect we speak is 3.x), for a client that
  // announces them: impacket, which does not, fails on a server that offers them regardless.
  if (c.state().leasesOn() && (req.capabilities & smb2::kCapDirectoryLeasing)) caps |= smb2::kCapDirectoryLeasing;
  if (dialect < smb2::kDialect311 && encryptionEnabled(g) &&
      (req.capabilities & smb2::kCapEncryption))
    caps |= smb2::kCapEncryption;
  return caps;
}

// SMB 3.1.1's negotiate contexts (MS-SMB2 3.3.5.4): preauth integrity (SHA-512 required),
// cipher and signing algorithm in the server's order of preference, RDMA transforms.
Status negotiateContexts(Connection::Negotiated& neg, const config::Global& g, const smb2::NegotiateRequest& req,
                         bool rdma, smb2::NegotiateResponse& resp) {
  bool have_preauth = false, offers_rdma_encryption = false;
  for (const auto& ctx : req.negotiate_contexts) {
    switch (ctx.context_type) {
      case smb2::kPreauthIntegrityCapabilities: {
        auto p = SD_TRY(smb2::decodePreauthIntegrityCapabilities(ctx.data));
        for (uint16_t h : p.hash_algorithms)
          if (h == smb2::kHashSha512) have_preauth = true;
        break;
      }
      case smb2::kEncryptionCapabilities: {
        auto e = SD_TRY(smb2::decodeEncryptionCapabilities(ctx.data));
        if (!encryptionEnabled(g)) break;
        for (uint16_t pref : kCipherPreference) {
          for (uint16_t ci : e.ciphers)
            if (ci == pref && !neg.cipher) neg.cipher = pref;
        }
        break;
      }
      case smb2::kSigningCapabilities: {
        auto s = SD_TRY(smb2::decodeSigningCapabilities(ctx.data));
        uint16_t chosen = 0xFFFF;
        for (uint16_t pref : kSigningPreference)
          for (uint16_t a : s.signing_algorithms)
            if (a == pref && chosen == 0xFFFF) chosen = pref;
        if (chosen != 0xFFFF) neg.signing_algorithm = chosen;
        resp.signing_algorithm = neg.signing_algorithm;
        break;
      }
      case smb2::kRdmaTransformCapabilities: {
        auto t = SD_TRY(smb2::decodeRdmaTransformCapabilities(ctx.data));
        for (uint16_t id : t.transform_ids) offers_rdma_encryption |= id == smb2::kRdmaTransformEncryption;
        break;
      }
      default:
        break;  // compression, netname, transport: accepted, not answered
    }
  }
  if (!have_preauth) return err(NtStatus::kInvalidParameter, "3.1.1 without SHA-512 preauth");
  // RDMA transforms only on SMB Direct (MS-SMB2 3.3.5.4): encryption of READ/WRITE payloads
  // carried by RDMA, when a cipher was agreed. Signing transforms are not offered.
  if (offers_rdma_encryption && rdma && neg.cipher) {
    neg.rdma_transform_encryption = true;
    resp.extra_contexts.emplace_back(smb2::kRdmaTransformCapabilities,
                                     smb2::encodeRdmaTransformCapabilities({{smb2::kRdmaTransformEncryption}}));
  }
  neg.preauth_hash_id = smb2::kHashSha512;
  resp.preauth_salt = crypto::randomBytes(32);
  resp.cipher = neg.cipher;  // 0 answers "no common cipher" when the client asked
  resp.answer_encryption = true;
  return ok();
}

// The largest READ, in whole pages, whose sealed response fits inline in one SMB Direct message of
// `max_message` bytes (the peer's MaxFragmentedSize).
uint32_t sealedInlineReadMax(uint32_t max_message) {
  constexpr uint32_t kOverhead = uint32_t(smb2::kSealedReadResponseOverhead);
  uint32_t n = max_message > kOverhead ? (max_message - kOverhead) & ~4095u : 0;
  return std::max<uint32_t>(n, 65536);
}

}  // namespace

Status handleNegotiate(Connection& c, Request& r) {
  auto& neg = c.negotiated();
  // A second NEGOTIATE on a connection is a protocol violation (MS-SMB2 3.3.5.4).
  if (neg.done) return fatal(NtStatus::kInvalidParameter, "second NEGOTIATE");
  auto req = SD_TRY(smb2::decodeNegotiateRequest(r.msg));
  const auto& g = c.state().global();

  uint16_t dialect = chooseDialect(req);
  if (!dialect) {
    LOG_INFO("%s: no common dialect (client offers only SMB 2.x or unknown ones)",
             c.transport().info().peer.c_str());
    return err(NtStatus::kNotSupported, "no common dialect");
  }

  smb2::NegotiateResponse resp;
  neg.client_dialects = req.dialects;
  neg.client_guid = req.client_guid;
  neg.client_security_mode = req.security_mode;
  neg.client_capabilities = req.capabilities;
  neg.dialect = dialect;
  neg.signing_required = g.server_signing == config::Signing::kMandatory;
  neg.max_transact = g.smb2_max_trans;
  neg.max_read = g.smb2_max_read;
  neg.max_write = g.smb2_max_write;

  uint32_t caps = serverCapabilities(c, req, dialect);
  if (dialect == smb2::kDialect311) {
    SD_CHECK(negotiateContexts(neg, g, req, c.transport().info().rdma, resp));
  } else {
    neg.signing_algorithm = smb2::kSigningAesCmac;
    if (caps & smb2::kCapEncryption) neg.cipher = smb2::kCipherAes128Ccm;
  }
  neg.server_capabilities = caps;
  // Where every session is sealed (smb3 encryption = mandatory), a client over SMB Direct without
  // the RDMA encryption transform gets its READ data inline, in one message that the peer's
  // MaxFragmentedSize bounds. cifs.ko sizes sealed reads by MaxReadSize alone (it subtracts the
  // headers only when signing), and its MaxFragmentedSize is 170 KiB: MaxReadSize leaves room
  // for them in it. Not for a client that may seal: unsealed RDMA reads keep their size.
  if (c.transport().info().rdma && neg.cipher && !neg.rdma_transform_encryption &&
      g.smb3_encryption == config::Encryption::kMandatory)
    neg.max_read = std::min(neg.max_read, sealedInlineReadMax(c.transport().info().max_message));

  resp.security_mode = smb2::kNegotiateSigningEnabled |
                       (neg.signing_required ? smb2::kNegotiateSigningRequired : 0);
  resp.dialect_revision = dialect;
  resp.server_guid = c.state().serverGuid();
  resp.capabilities = caps;
  resp.max_transact_size = neg.max_transact;
  resp.max_read_size = neg.max_read;
  resp.max_write_size = neg.max_write;
  resp.system_time = filetimeNow();
  resp.server_start_time = 0;
  Bytes hint = auth::negTokenInitHint();
  resp.security_buffer = hint;
  smb2::encodeNegotiateResponse(resp, r.out);

  if (dialect == smb2::kDialect311) {
    // Connection.PreauthIntegrityHashValue covers this request and, once the core has built it,
    // the response (MS-SMB2 3.3.5.4).
    smb2::PreauthHash::extend(neg.preauth_hash, r.msg);
    r.preauth_response = &neg.preauth_hash;
  }
  neg.done = true;
  LOG_DEBUG("%s: negotiated dialect 0x%04x cipher %u signing %u", c.transport().info().peer.c_str(),
            dialect, neg.cipher, neg.signing_algorithm);
  return ok();
}

}  // namespace sd::server

namespace sd::server {

// MS-SMB2 3.3.5.3.1: an SMB1 NEGOTIATE offering "SMB 2.???" is answered with an SMB2 NEGOTIATE
// response carrying the wildcard dialect 0x02FF; the client then sends an SMB2 NEGOTIATE
// (message id 1).
void Connection::handleSmb1Negotiate(ByteView msg) {
  auto dialects = smb2::smb1NegotiateDialects(msg);
  bool wildcard = false;
  if (dialects)
    for (const auto& d : *dialects) wildcard |= d == "SMB 2.???";
  if (!dialects || !wildcard || neg_.done) {
    fail("SMB1 negotiate without SMB 2.??? (SMB1 is not supported)");
    return;
  }
  if (!credits_.consume(0, 1)) {
    fail("SMB1 negotiate after SMB2 traffic");
    return;
  }
  smb2::Header h;
  h.command = smb2::Command::kNegotiate;
  h.flags = smb2::kFlagServerToRedir;
  h.credit = credits_.grant(1, 1);
  ByteWriter w;
  smb2::encodeHeader(h, w);
  smb2::NegotiateResponse resp;
  resp.security_mode = smb2::kNegotiateSigningEnabled;
  resp.dialect_revision = smb2::kDialectWildcard;
  resp.server_guid = state_->serverGuid();
  const auto& g = state_->global();
  resp.max_transact_size = g.smb2_max_trans;
  resp.max_read_size = g.smb2_max_read;
  resp.max_write_size = g.smb2_max_write;
  resp.system_time = filetimeNow();
  Bytes hint = auth::negTokenInitHint();
  resp.security_buffer = hint;
  smb2::encodeNegotiateResponse(resp, w);
  (void)transport_->send(w.buf());
}

}  // namespace sd::server
