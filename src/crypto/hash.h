// Hashes and MACs over OpenSSL 3 EVP: SHA-256/512, MD4/MD5 (legacy provider), HMAC-SHA256,
// HMAC-MD5, AES-CMAC. Owned by crypto/; every function is thread-safe.
#pragma once
#include <array>
#include <initializer_list>

#include "base/bytes.h"

namespace sd::crypto {

Bytes sha256(ByteView data);
Bytes sha512(ByteView data);
Bytes md4(ByteView data);
Bytes md5(ByteView data);
// HMACs over the concatenation of `parts`.
Bytes hmacSha256(ByteView key, std::initializer_list<ByteView> parts);
Bytes hmacMd5(ByteView key, std::initializer_list<ByteView> parts);
inline Bytes hmacSha256(ByteView key, ByteView data) { return hmacSha256(key, {data}); }
inline Bytes hmacMd5(ByteView key, ByteView data) { return hmacMd5(key, {data}); }
// AES-128-CMAC (RFC 4493) over the concatenation of `parts`; 16-byte tag.
Bytes aesCmac(ByteView key, std::initializer_list<ByteView> parts);
inline Bytes aesCmac(ByteView key, ByteView data) { return aesCmac(key, {data}); }

// Incremental SHA-512 (for the SMB 3.1.1 preauth integrity chain).
class Sha512 {
 public:
  Sha512();
  ~Sha512();
  Sha512(const Sha512&) = delete;
  Sha512& operator=(const Sha512&) = delete;
  void update(ByteView data);
  std::array<uint8_t, 64> final();

 private:
  void* ctx_;
};

// Constant-time comparison.
bool equalConstantTime(ByteView a, ByteView b);

}  // namespace sd::crypto
