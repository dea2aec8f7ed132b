#include "auth/ntlmssp.h"

#include <cstring>

#include "base/clock.h"
#include "base/text.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace sd::auth {

namespace {

constexpr uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
// MS-NLMP 2.2.2.1 AV_PAIR ids
constexpr uint16_t kMsvAvEol = 0, kMsvAvNbComputerName = 1, kMsvAvNbDomainName = 2,
                   kMsvAvDnsComputerName = 3, kMsvAvDnsDomainName = 4, kMsvAvFlags = 6,
                   kMsvAvTimestamp = 7;
constexpr size_t kAuthMicOffset = 72;

Status checkHeader(ByteReader& r, uint32_t type) {
  auto sig = SD_TRY(r.bytes(8));
  if (std::memcmp(sig.data(), kSignature, 8) != 0) return malformed("not NTLMSSP");
  uint32_t t = SD_TRY(r.u32());
  if (t != type) return malformed("unexpected NTLMSSP message type");
  return ok();
}

// Reads a (Len, MaxLen, Offset) field and resolves it inside the message.
Result<ByteView> readField(ByteReader& r) {
  uint16_t len = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  uint32_t off = SD_TRY(r.u32());
  return r.slice(off, len);
}

struct FieldWriter {
  ByteWriter& w;
  std::vector<std::pair<size_t, Bytes>> pending;
  void field(Bytes data) {
    size_t at = w.reserve(8);
    pending.emplace_back(at, std::move(data));
  }
  void finish() {
    for (auto& [at, data] : pending) {
      w.put16(at, uint16_t(data.size()));
      w.put16(at + 2, uint16_t(data.size()));
      w.put32(at + 4, uint32_t(w.size()));
      w.bytes(data);
    }
  }
};

void writeVersion(ByteWriter& w) {
  // Windows 10-like version with NTLMSSP_REVISION_W2K3 (MS-NLMP 2.2.2.10).
  w.u8(10);
  w.u8(0);
  w.u16(19041);
  w.zeros(3);
  w.u8(15);
}

Bytes avPair(uint16_t id, ByteView v) {
  ByteWriter w;
  w.u16(id);
  w.u16(uint16_t(v.size()));
  w.bytes(v);
  return w.take();
}

// Walks AV pairs; returns false on a malformed list.
template <class F>
bool forEachAv(ByteView list, F f) {
  ByteReader r(list);
  for (int guard = 0; guard < 64; guard++) {
    auto id = r.u16();
    auto len = r.u16();
    if (!id || !len) return false;
    auto v = r.bytes(*len);
    if (!v) return false;
    if (*id == kMsvAvEol) return true;
    f(*id, *v);
  }
  return false;
}

}  // namespace

Bytes ntowfv2(const NtHash& nt, std::string_view user, std::string_view domain) {
  Bytes ud = utf16le(asciiUpper(user) + std::string(domain));
  return crypto::hmacMd5(ByteView(nt.data(), 16), ud);
}

NtHash ntHash(std::string_view password) {
  Bytes h = crypto::md4(utf16le(password));
  NtHash out{};
  if (h.size() == 16) std::memcpy(out.data(), h.data(), 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signing (MS-NLMP 3.4.4.2, extended session security)

struct NtlmSigner::Dir {
  Bytes sign_key;
  std::unique_ptr<crypto::Rc4> seal;
  uint32_t seq = 0;
};

namespace {
Bytes magicKey(ByteView key, const char* magic) {
  Bytes m(reinterpret_cast<const uint8_t*>(magic), reinterpret_cast<const uint8_t*>(magic) + std::strlen(magic) + 1);
  Bytes in(key.begin(), key.end());
  in.insert(in.end(), m.begin(), m.end());
  return crypto::md5(in);
}
}  // namespace

NtlmSigner::NtlmSigner(ByteView key, uint32_t flags, bool server) : flags_(flags) {
  auto make = [&](bool c2s) {
    auto d = std::make_shared<Dir>();
    d->sign_key = magicKey(key, c2s ? "session key to client-to-server signing key magic constant"
                                    : "session key to server-to-client signing key magic constant");
    Bytes seal_key = magicKey(key, c2s ? "session key to client-to-server sealing key magic constant"
                                       : "session key to server-to-client sealing key magic constant");
    d->seal = std::make_unique<crypto::Rc4>(seal_key);
    return d;
  };
  auto c2s = make(true), s2c = make(false);
  out_ = server ? s2c : c2s;
  in_ = server ? c2s : s2c;
}

Bytes NtlmSigner::sign(ByteView message) {
  uint8_t seq[4];
  store32(seq, out_->seq);
  Bytes h = crypto::hmacMd5(out_->sign_key, {ByteView(seq, 4), message});
  h.resize(8);
  if (flags_ & kNegotiateKeyExch) out_->seal->apply(h);
  ByteWriter w;
  w.u32(1);
  w.bytes(h);
  w.u32(out_->seq);
  out_->seq++;
  return w.take();
}

bool NtlmSigner::verify(ByteView message, ByteView m) {
  uint8_t seq[4];
  store32(seq, in_->seq);
  Bytes h = crypto::hmacMd5(in_->sign_key, {ByteView(seq, 4), message});
  h.resize(8);
  if (flags_ & kNegotiateKeyExch) in_->seal->apply(h);
  ByteWriter w;
  w.u32(1);
  w.bytes(h);
  w.u32(in_->seq);
  in_->seq++;
  return crypto::equalConstantTime(w.buf(), m);
}

// ---------------------------------------------------------------------------------------------
// Server

NtlmServer::NtlmServer(NtlmServerOptions opts, UserLookup lookup)
    : opts_(std::move(opts)), lookup_(std::move(lookup)) {}

Result<Bytes> NtlmServer::negotiate(ByteView msg) {
  ByteReader r(msg);
  SD_CHECK(checkHeader(r, 1));
  uint32_t client = SD_TRY(r.u32());
  negotiate_msg_.assign(msg.begin(), msg.end());
  // Answer with what the client offers among what we support (MS-NLMP 3.2.5.1.1).
  uint32_t f = kNegotiateUnicode | kRequestTarget | kNegotiateNtlm | kNegotiateAlwaysSign |
               kTargetTypeServer | kNegotiateExtendedSessionSecurity | kNegotiateTargetInfo |
               kNegotiateVersion;
  f |= client & (kNegotiateSign | kNegotiateSeal | kNegotiateKeyExch | kNegotiate128 | kNegotiate56);
  if (!(client & kNegotiateUnicode)) return err(NtStatus::kNotSupported, "OEM-only NTLM client");
  flags_ = f;
  crypto::randomFill(server_challenge_);

  uint64_t now = opts_.now_filetime ? opts_.now_filetime : filetimeNow();
  uint8_t ts[8];
  store64(ts, now);
  Bytes info;
  for (Bytes b : {avPair(kMsvAvNbDomainName, utf16le(opts_.netbios_domain)),
                  avPair(kMsvAvNbComputerName, utf16le(opts_.netbios_name)),
                  avPair(kMsvAvDnsDomainName, utf16le(opts_.dns_domain)),
                  avPair(kMsvAvDnsComputerName, utf16le(opts_.dns_name)),
                  avPair(kMsvAvTimestamp, ByteView(ts, 8)), avPair(kMsvAvEol, {})})
    info.insert(info.end(), b.begin(), b.end());

  ByteWriter w;
  w.bytes(ByteView(kSignature, 8));
  w.u32(2);
  FieldWriter fw{w, {}};
  fw.field(utf16le(opts_.netbios_name));  // TargetName
  w.u32(f);
  w.bytes(server_challenge_);
  w.zeros(8);
  fw.field(info);  // TargetInfo
  writeVersion(w);
  fw.finish();
  challenge_msg_ = w.take();
  return challenge_msg_;
}

Result<AuthResult> NtlmServer::authenticate(ByteView msg) {
  if (challenge_msg_.empty()) return malformed("AUTHENTICATE before CHALLENGE");
  ByteReader r(msg);
  SD_CHECK(checkHeader(r, 3));
  ByteView lm = SD_TRY(readField(r));
  ByteView nt = SD_TRY(readField(r));
  ByteView dom = SD_TRY(readField(r));
  ByteView usr = SD_TRY(readField(r));
  ByteView ws = SD_TRY(readField(r));
  ByteView enc_key = SD_TRY(readField(r));
  uint32_t flags = SD_TRY(r.u32());
  (void)lm;
  AuthResult res;
  res.flags = flags;
  res.user = SD_TRY(utf16leToUtf8(usr));
  res.domain = SD_TRY(utf16leToUtf8(dom));
  res.workstation = SD_TRY(utf16leToUtf8(ws));
  if (res.user.empty() && nt.empty()) {
    res.anonymous = true;
    return res;
  }
  if (nt.size() < 16 + 28) return err(NtStatus::kLogonFailure, "not an NTLMv2 response");
  auto hash = lookup_(res.user, res.domain);
  // Distinct from a wrong password so that the server can apply "map to guest = bad user".
  if (!hash) return err(NtStatus::kNoSuchUser, "unknown user");
  ByteView proof = nt.first(16), blob = nt.subspan(16);
  Bytes session_base;
  bool good = false;
  for (const std::string& d : {res.domain, std::string(), opts_.netbios_domain}) {
    Bytes key = ntowfv2(*hash, res.user, d);
    Bytes p = crypto::hmacMd5(key, {ByteView(server_challenge_), blob});
    if (crypto::equalConstantTime(p, proof)) {
      session_base = crypto::hmacMd5(key, proof);
      good = true;
      break;
    }
  }
  if (!good) return err(NtStatus::kLogonFailure, "wrong password");
  Bytes exported = session_base;
  if (flags & kNegotiateKeyExch) {
    if (enc_key.size() != 16) return err(NtStatus::kLogonFailure, "bad EncryptedRandomSessionKey");
    exported = crypto::rc4(session_base, enc_key);
  }
  // MIC (MS-NLMP 3.3.2 step 4): present when the client's AV pairs flag it.
  bool mic_present = false;
  if (blob.size() > 28) {
    forEachAv(blob.subspan(28), [&](uint16_t id, ByteView v) {
      if (id == kMsvAvFlags && v.size() == 4 && (le32(v.data()) & 0x2)) mic_present = true;
    });
  }
  if (mic_present) {
    if (msg.size() < kAuthMicOffset + 16) return err(NtStatus::kLogonFailure, "no MIC");
    Bytes copy(msg.begin(), msg.end());
    std::memset(copy.data() + kAuthMicOffset, 0, 16);
    Bytes mic = crypto::hmacMd5(exported, {negotiate_msg_, challenge_msg_, copy});
    if (!crypto::equalConstantTime(mic, msg.subspan(kAuthMicOffset, 16)))
      return err(NtStatus::kLogonFailure, "MIC mismatch");
  }
  res.session_key = exported;
  return res;
}

// ---------------------------------------------------------------------------------------------
// Client

NtlmClient::NtlmClient(std::string user, std::string domain, std::string password,
                       std::string workstation)
    : user_(std::move(user)), domain_(std::move(domain)), password_(std::move(password)),
      workstation_(std::move(workstation)) {}

Bytes NtlmClient::negotiate() {
  ByteWriter w;
  w.bytes(ByteView(kSignature, 8));
  w.u32(1);
  flags_ = kNegotiateUnicode | kRequestTarget | kNegotiateSign | kNegotiateSeal | kNegotiateNtlm |
           kNegotiateAlwaysSign | kNegotiateExtendedSessionSecurity | kNegotiateVersion |
           kNegotiate128 | kNegotiateKeyExch | kNegotiate56;
  w.u32(flags_);
  w.zeros(16);  // Domain, Workstation fields empty
  writeVersion(w);
  negotiate_msg_ = w.take();
  return negotiate_msg_;
}

Result<Bytes> NtlmClient::authenticate(ByteView challenge) {
  ByteReader r(challenge);
  SD_CHECK(checkHeader(r, 2));
  (void)SD_TRY(readField(r));  // TargetName
  uint32_t sflags = SD_TRY(r.u32());
  auto sc = SD_TRY(r.bytes(8));
  SD_CHECK(r.skip(8));
  ByteView info = SD_TRY(readField(r));
  flags_ &= sflags | kNegotiateVersion;
  bool anonymous = user_.empty() && password_.empty();

  ByteWriter w;
  w.bytes(ByteView(kSignature, 8));
  w.u32(3);
  FieldWriter fw{w, {}};
  Bytes lm_resp, nt_resp, enc_key;
  if (!anonymous) {
    // Timestamp from the server's AV pairs when present (MS-NLMP 3.1.5.1.2).
    uint64_t ts = 0;
    Bytes av;
    bool ok_list = forEachAv(info, [&](uint16_t id, ByteView v) {
      if (id == kMsvAvTimestamp && v.size() == 8) ts = le64(v.data());
      if (id == kMsvAvFlags) return;  // we add our own
      Bytes p = avPair(id, v);
      av.insert(av.end(), p.begin(), p.end());
    });
    if (!ok_list) return malformed("server TargetInfo");
    bool have_ts = ts != 0;
    if (!have_ts) ts = filetimeNow();
    uint8_t mic_flag[4];
    store32(mic_flag, 0x2);
    Bytes f = avPair(kMsvAvFlags, ByteView(mic_flag, 4));
    av.insert(av.end(), f.begin(), f.end());
    Bytes eol = avPair(kMsvAvEol, {});
    av.insert(av.end(), eol.begin(), eol.end());

    Bytes cc = crypto::randomBytes(8);
    ByteWriter blob;
    blob.u8(1);
    blob.u8(1);
    blob.zeros(6);
    blob.u64(ts);
    blob.bytes(cc);
    blob.u32(0);
    blob.bytes(av);
    blob.u32(0);
    Bytes key = ntowfv2(ntHash(password_), user_, domain_);
    Bytes proof = crypto::hmacMd5(key, {sc, blob.buf()});
    Bytes base = crypto::hmacMd5(key, proof);
    nt_resp = proof;
    nt_resp.insert(nt_resp.end(), blob.buf().begin(), blob.buf().end());
    lm_resp.assign(24, 0);
    session_key_ = base;
    if (flags_ & kNegotiateKeyExch) {
      session_key_ = crypto::randomBytes(16);
      enc_key = crypto::rc4(base, session_key_);
    }
  } else {
    lm_resp.assign(1, 0);
  }
  fw.field(lm_resp);
  fw.field(nt_resp);
  fw.field(utf16le(domain_));
  fw.field(utf16le(user_));
  fw.field(utf16le(workstation_));
  fw.field(enc_key);
  w.u32(flags_);
  writeVersion(w);
  w.zeros(16);  // MIC
  fw.finish();
  Bytes msg = w.take();
  if (!anonymous) {
    Bytes mic = crypto::hmacMd5(session_key_, {negotiate_msg_, challenge, msg});
    std::memcpy(msg.data() + kAuthMicOffset, mic.data(), 16);
  }
  return msg;
}

}  // namespace sd::auth
