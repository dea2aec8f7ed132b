// NTLMSSP (MS-NLMP) with NTLMv2: the server side (challenge, AUTHENTICATE verification, key
// exchange, MIC) and the client side, plus the message signing used for SPNEGO's mechListMIC
// (MS-NLMP 3.4.4.2). Sans-I/O; an instance belongs to one authentication exchange.
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"

namespace sd::auth {

using NtHash = std::array<uint8_t, 16>;
// Looks up a user's NT hash by user name (and the domain the client sent).
using UserLookup = std::function<std::optional<NtHash>(std::string_view user, std::string_view domain)>;

NtHash ntHash(std::string_view password);
// NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5(NT hash, UTF-16LE(UPPER(user) + domain)).
Bytes ntowfv2(const NtHash& nt, std::string_view user, std::string_view domain);

// MS-NLMP 2.2.2.5
constexpr uint32_t kNegotiateUnicode = 0x00000001, kNegotiateOem = 0x00000002,
                   kRequestTarget = 0x00000004, kNegotiateSign = 0x00000010,
                   kNegotiateSeal = 0x00000020, kNegotiateLmKey = 0x00000080,
                   kNegotiateNtlm = 0x00000200, kNegotiateAnonymous = 0x00000800,
                   kNegotiateAlwaysSign = 0x00008000, kTargetTypeDomain = 0x00010000,
                   kTargetTypeServer = 0x00020000, kNegotiateExtendedSessionSecurity = 0x00080000,
                   kNegotiateTargetInfo = 0x00800000, kNegotiateVersion = 0x02000000,
                   kNegotiate128 = 0x20000000, kNegotiateKeyExch = 0x40000000,
                   kNegotiate56 = 0x80000000;

struct NtlmServerOptions {
  std::string netbios_name = "SMBDIRECT";
  std::string netbios_domain = "WORKGROUP";
  std::string dns_name = "smbdirect";
  std::string dns_domain = "";
  uint64_t now_filetime = 0;  // 0: the real clock
};

struct AuthResult {
  std::string user, domain, workstation;
  Bytes session_key;  // ExportedSessionKey (16 bytes); empty for anonymous
  bool anonymous = false;
  uint32_t flags = 0;
};

// NTLMSSP message signing state for one direction pair (MS-NLMP 3.4.4.2, extended session
// security).
class NtlmSigner {
 public:
  NtlmSigner(ByteView exported_session_key, uint32_t flags, bool server);
  // MAC for a message we send (server: server-to-client keys).
  Bytes sign(ByteView message);
  // Checks the peer's MAC (server: client-to-server keys).
  bool verify(ByteView message, ByteView mac);

 private:
  struct Dir;
  std::shared_ptr<Dir> out_, in_;
  uint32_t flags_;
};

class NtlmServer {
 public:
  NtlmServer(NtlmServerOptions opts, UserLookup lookup);
  // NEGOTIATE_MESSAGE -> CHALLENGE_MESSAGE
  Result<Bytes> negotiate(ByteView negotiate_message);
  // AUTHENTICATE_MESSAGE -> result (kLogonFailure on a bad user or password)
  Result<AuthResult> authenticate(ByteView authenticate_message);

 private:
  NtlmServerOptions opts_;
  UserLookup lookup_;
  Bytes negotiate_msg_, challenge_msg_;
  std::array<uint8_t, 8> server_challenge_{};
  uint32_t flags_ = 0;
};

class NtlmClient {
 public:
  NtlmClient(std::string user, std::string domain, std::string password,
             std::string workstation = "SMBDIRECT");
  Bytes negotiate();
  // CHALLENGE_MESSAGE -> AUTHENTICATE_MESSAGE
  Result<Bytes> authenticate(ByteView challenge_message);
  const Bytes& sessionKey() const { return session_key_; }
  uint32_t flags() const { return flags_; }

 private:
  std::string user_, domain_, password_, workstation_;
  Bytes negotiate_msg_;
  Bytes session_key_;
  uint32_t flags_ = 0;
};

}  // namespace sd::auth
