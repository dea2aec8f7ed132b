// SPNEGO (RFC 4178, MS-SPNG) around NTLMSSP: the negTokenInit2 hint a server puts in its
// NEGOTIATE response, the server's accept loop with mechListMIC, and the client side.
// Sans-I/O; an instance belongs to one authentication exchange.
#pragma once
#include <memory>

#include "auth/ntlmssp.h"

namespace sd::auth {

// negTokenInit2 with mechTypes [NTLMSSP] and the customary negHints.
Bytes negTokenInitHint();

struct Step {
  Bytes out;
  bool done = false;
};

class SpnegoServer {
 public:
  SpnegoServer(NtlmServerOptions opts, UserLookup lookup);
  // One SESSION_SETUP security buffer in, the response buffer out. Errors: kLogonFailure for
  // bad credentials, kInvalidParameter for malformed tokens.
  Result<Step> step(ByteView in);
  const AuthResult& result() const { return result_; }

 private:
  NtlmServer ntlm_;
  bool raw_ = false;
  bool started_ = false;
  Bytes mech_types_;  // DER of the client's MechTypeList, for mechListMIC
  AuthResult result_;
};

class SpnegoClient {
 public:
  SpnegoClient(std::string user, std::string domain, std::string password);
  // First token (negTokenInit with the NTLM NEGOTIATE).
  Bytes initial();
  // Server token in; next token out (done when the server's accept-completed was verified).
  Result<Step> step(ByteView in);
  const Bytes& sessionKey() const { return ntlm_.sessionKey(); }

 private:
  NtlmClient ntlm_;
  Bytes mech_types_;
  std::unique_ptr<NtlmSigner> signer_;
  bool sent_auth_ = false;
};

}  // namespace sd::auth
