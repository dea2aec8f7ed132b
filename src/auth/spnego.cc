#include "auth/spnego.h"

#include <cstring>

#include "auth/der.h"

namespace sd::auth {

namespace {

// 1.3.6.1.5.5.2 (SPNEGO) and 1.3.6.1.4.1.311.2.2.10 (NTLMSSP)
const uint8_t kSpnegoOid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
const uint8_t kNtlmOid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

Bytes ntlmOid() { return der::tlv(der::kOid, ByteView(kNtlmOid, sizeof kNtlmOid)); }
Bytes mechTypeList() { return der::tlv(der::kSequence, ntlmOid()); }

bool isNtlmssp(ByteView b) { return b.size() >= 8 && std::memcmp(b.data(), "NTLMSSP", 8) == 0; }

// negTokenResp (RFC 4178 4.2.2)
Bytes negTokenResp(int state, bool with_mech, ByteView token, ByteView mic) {
  Bytes body;
  if (state >= 0) {
    uint8_t e = uint8_t(state);
    Bytes x = der::tlv(der::ctx(0), der::tlv(der::kEnumerated, ByteView(&e, 1)));
    body.insert(body.end(), x.begin(), x.end());
  }
  if (with_mech) {
    Bytes x = der::tlv(der::ctx(1), ntlmOid());
    body.insert(body.end(), x.begin(), x.end());
  }
  if (!token.empty()) {
    Bytes x = der::tlv(der::ctx(2), der::tlv(der::kOctetString, token));
    body.insert(body.end(), x.begin(), x.end());
  }
  if (!mic.empty()) {
    Bytes x = der::tlv(der::ctx(3), der::tlv(der::kOctetString, mic));
    body.insert(body.end(), x.begin(), x.end());
  }
  return der::tlv(der::ctx(1), der::tlv(der::kSequence, body));
}

struct RespFields {
  int state = -1;
  ByteView token, mic;
};

Result<RespFields> parseNegTokenResp(ByteView in) {
  ByteReader r(in);
  auto outer = SD_TRY(der::expect(r, der::ctx(1)));
  ByteReader sr(outer.value);
  auto seq = SD_TRY(der::expect(sr, der::kSequence));
  ByteReader fr(seq.value);
  RespFields f;
  for (int guard = 0; fr.remaining() && guard < 8; guard++) {
    auto t = SD_TRY(der::read(fr));
    ByteReader inner(t.value);
    if (t.tag == der::ctx(0)) {
      auto e = SD_TRY(der::expect(inner, der::kEnumerated));
      if (e.value.size() != 1) return malformed("negState");
      f.state = e.value[0];
    } else if (t.tag == der::ctx(2)) {
      f.token = SD_TRY(der::expect(inner, der::kOctetString)).value;
    } else if (t.tag == der::ctx(3)) {
      f.mic = SD_TRY(der::expect(inner, der::kOctetString)).value;
    }
  }
  return f;
}

}  // namespace

Bytes negTokenInitHint() {
  static const char kHint[] = "not_defined_in_RFC4178@please_ignore";
  Bytes mech = der::tlv(der::ctx(0), mechTypeList());
  Bytes hints = der::tlv(der::ctx(3),
                         der::tlv(der::kSequence,
                                  der::tlv(der::ctx(0), der::tlv(der::kGeneralString,
                                                                 asBytes(kHint)))));
  Bytes init = der::tlv(der::ctx(0), der::tlv(der::kSequence, der::concat({mech, hints})));
  return der::tlv(der::kApplication0,
                  der::concat({der::tlv(der::kOid, ByteView(kSpnegoOid, sizeof kSpnegoOid)), init}));
}

SpnegoServer::SpnegoServer(NtlmServerOptions opts, UserLookup lookup)
    : ntlm_(std::move(opts), std::move(lookup)) {}

Result<Step> SpnegoServer::step(ByteView in) {
  Step s;
  if (!started_) {
    started_ = true;
    ByteView token;
    if (isNtlmssp(in)) {
      raw_ = true;
      token = in;
    } else {
      // InitialContextToken: [APPLICATION 0] { OID spnego, [0] NegTokenInit }
      ByteReader r(in);
      auto app = SD_TRY(der::expect(r, der::kApplication0));
      ByteReader ar(app.value);
      auto oid = SD_TRY(der::expect(ar, der::kOid));
      if (oid.value.size() != sizeof kSpnegoOid || std::memcmp(oid.value.data(), kSpnegoOid, sizeof kSpnegoOid))
        return malformed("not SPNEGO");
      auto init = SD_TRY(der::expect(ar, der::ctx(0)));
      ByteReader ir(init.value);
      auto seq = SD_TRY(der::expect(ir, der::kSequence));
      ByteReader fr(seq.value);
      bool ntlm_offered = false;
      for (int guard = 0; fr.remaining() && guard < 8; guard++) {
        auto t = SD_TRY(der::read(fr));
        ByteReader inner(t.value);
        if (t.tag == der::ctx(0)) {
          auto list = SD_TRY(der::expect(inner, der::kSequence));
          mech_types_.assign(list.whole.begin(), list.whole.end());
          ByteReader lr(list.value);
          for (int g2 = 0; lr.remaining() && g2 < 16; g2++) {
            auto m = SD_TRY(der::expect(lr, der::kOid));
            if (m.value.size() == sizeof kNtlmOid && !std::memcmp(m.value.data(), kNtlmOid, sizeof kNtlmOid))
              ntlm_offered = true;
          }
        } else if (t.tag == der::ctx(2)) {
          token = SD_TRY(der::expect(inner, der::kOctetString)).value;
        }
      }
      if (!ntlm_offered) return err(NtStatus::kNotSupported, "client does not offer NTLMSSP");
      if (token.empty()) {
        // No optimistic token: ask for it (accept-incomplete with our mech).
        s.out = negTokenResp(1, true, {}, {});
        return s;
      }
    }
    Bytes challenge = SD_TRY(ntlm_.negotiate(token));
    s.out = raw_ ? challenge : negTokenResp(1, true, challenge, {});
    return s;
  }

  ByteView token = in;
  ByteView client_mic;
  if (!raw_) {
    auto f = SD_TRY(parseNegTokenResp(in));
    token = f.token;
    client_mic = f.mic;
  }
  if (token.empty()) return malformed("no NTLMSSP token");
  if (!isNtlmssp(token)) return malformed("not NTLMSSP");
  // A NEGOTIATE after "accept-incomplete with no token" (the client did not send one
  // optimistically).
  if (token.size() >= 12 && token[8] == 1) {
    Bytes challenge = SD_TRY(ntlm_.negotiate(token));
    s.out = raw_ ? challenge : negTokenResp(1, false, challenge, {});
    return s;
  }
  result_ = SD_TRY(ntlm_.authenticate(token));
  s.done = true;
  if (raw_) return s;
  Bytes server_mic;
  if (!client_mic.empty() && !result_.anonymous && !mech_types_.empty()) {
    NtlmSigner signer(result_.session_key, result_.flags, /*server=*/true);
    if (!signer.verify(mech_types_, client_mic))
      return err(NtStatus::kLogonFailure, "mechListMIC mismatch");
    server_mic = signer.sign(mech_types_);
  }
  s.out = negTokenResp(0, false, {}, server_mic);
  return s;
}

SpnegoClient::SpnegoClient(std::string user, std::string domain, std::string password)
    : ntlm_(std::move(user), std::move(domain), std::move(password)) {}

Bytes SpnegoClient::initial() {
  mech_types_ = mechTypeList();
  Bytes neg = ntlm_.negotiate();
  Bytes init = der::tlv(der::ctx(0),
                        der::tlv(der::kSequence,
                                 der::concat({der::tlv(der::ctx(0), mech_types_),
                                              der::tlv(der::ctx(2), der::tlv(der::kOctetString, neg))})));
  return der::tlv(der::kApplication0,
                  der::concat({der::tlv(der::kOid, ByteView(kSpnegoOid, sizeof kSpnegoOid)), init}));
}

Result<Step> SpnegoClient::step(ByteView in) {
  auto f = SD_TRY(parseNegTokenResp(in));
  Step s;
  if (!sent_auth_) {
    if (f.state == 2) return err(NtStatus::kLogonFailure, "server rejected");
    if (f.token.empty()) return malformed("no challenge");
    Bytes auth = SD_TRY(ntlm_.authenticate(f.token));
    sent_auth_ = true;
    Bytes mic;
    if (!ntlm_.sessionKey().empty()) {
      signer_ = std::make_unique<NtlmSigner>(ntlm_.sessionKey(), ntlm_.flags(), /*server=*/false);
      mic = signer_->sign(mech_types_);
    }
    s.out = negTokenResp(-1, false, auth, mic);
    return s;
  }
  if (f.state != 0) return err(NtStatus::kLogonFailure, "server did not accept");
  if (signer_ && !f.mic.empty() && !signer_->verify(mech_types_, f.mic))
    return err(NtStatus::kAccessDenied, "server mechListMIC mismatch");
  s.done = true;
  return s;
}

}  // namespace sd::auth
