// NEGOTIATE request/response (MS-SMB2 2.2.3, 2.2.4) and negotiate contexts (2.2.3.1, 2.2.4.1).
// Sans-I/O.
#pragma once
#include <array>
#include <vector>

#include "base/bytes.h"

namespace sd::smb2 {

// MS-SMB2 2.2.3.1
struct NegotiateContext {
  uint16_t context_type = 0;
  ByteView data;
};
// MS-SMB2 2.2.3.1.1
struct PreauthIntegrityCapabilities {
  std::vector<uint16_t> hash_algorithms;
  ByteView salt;
};
// MS-SMB2 2.2.3.1.2
struct EncryptionCapabilities {
  std::vector<uint16_t> ciphers;
};
// MS-SMB2 2.2.3.1.7
struct SigningCapabilities {
  std::vector<uint16_t> signing_algorithms;
};
Result<PreauthIntegrityCapabilities> decodePreauthIntegrityCapabilities(ByteView d);
Result<EncryptionCapabilities> decodeEncryptionCapabilities(ByteView d);
Result<SigningCapabilities> decodeSigningCapabilities(ByteView d);

// MS-SMB2 2.2.3
struct NegotiateRequest {
  uint16_t security_mode = 0;
  uint32_t capabilities = 0;
  std::array<uint8_t, 16> client_guid{};
  std::vector<uint16_t> dialects;
  std::vector<NegotiateContext> negotiate_contexts;  // 3.1.1 only
};
Result<NegotiateRequest> decodeNegotiateRequest(ByteView msg);
// Client side: `contexts` are (type, data) pairs, encoded with 8-byte alignment.
void encodeNegotiateRequest(const NegotiateRequest& req, const std::vector<std::pair<uint16_t, Bytes>>& contexts,
                            ByteWriter& w);

// MS-SMB2 2.2.4
struct NegotiateResponse {
  uint16_t security_mode = 0;
  uint16_t dialect_revision = 0;
  std::array<uint8_t, 16> server_guid{};
  uint32_t capabilities = 0;
  uint32_t max_transact_size = 0, max_read_size = 0, max_write_size = 0;
  uint64_t system_time = 0, server_start_time = 0;
  ByteView security_buffer;
  // 3.1.1 contexts the server answers with (encode side).
  Bytes preauth_salt;             // non-empty: send PREAUTH_INTEGRITY (SHA-512)
  bool answer_encryption = false; // send ENCRYPTION_CAPABILITIES with `cipher`
  uint16_t cipher = 0;
  int32_t signing_algorithm = -1; // >= 0: send SIGNING_CAPABILITIES
  std::vector<std::pair<uint16_t, Bytes>> extra_contexts;
  // Decode side.
  std::vector<NegotiateContext> negotiate_contexts;
};
void encodeNegotiateResponse(const NegotiateResponse& resp, ByteWriter& w);
Result<NegotiateResponse> decodeNegotiateResponse(ByteView msg);

// SHA-512 preauth integrity chain (MS-SMB2 3.3.5.4, 3.3.5.5): H' = SHA-512(H || message).
struct PreauthHash {
  static void extend(std::array<uint8_t, 64>& h, ByteView message);
};

}  // namespace sd::smb2
