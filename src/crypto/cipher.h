// Ciphers over OpenSSL 3 EVP: AES-CCM and AES-GCM AEAD (128 and 256-bit keys, in place),
// AES-GMAC, RC4 (legacy provider, for NTLM key exchange). Owned by crypto/; thread-safe.
#pragma once
#include <span>

#include "base/bytes.h"

namespace sd::crypto {

enum class Aead { kAes128Ccm, kAes128Gcm, kAes256Ccm, kAes256Gcm };
size_t aeadKeySize(Aead a);
size_t aeadNonceSize(Aead a);  // 11 for CCM, 12 for GCM (as SMB3 uses them)

// Encrypts `data` in place and writes the 16-byte tag.
Status aeadEncrypt(Aead a, ByteView key, ByteView nonce, ByteView aad, std::span<uint8_t> data,
                   uint8_t tag[16]);
// Decrypts `data` in place; fails (and leaves garbage) when the tag does not verify.
Status aeadDecrypt(Aead a, ByteView key, ByteView nonce, ByteView aad, std::span<uint8_t> data,
                   const uint8_t tag[16]);
// AES-GMAC: GCM with `data` as AAD and no plaintext; 16-byte tag. Key of 16 bytes.
Bytes aesGmac(ByteView key, ByteView nonce12, std::initializer_list<ByteView> parts);
// RC4 keystream applied to `data` (NTLM KEY_EXCH, NTLM sealing).
Bytes rc4(ByteView key, ByteView data);

// Stateful RC4 for NTLMSSP sealing (the key stream continues across messages).
class Rc4 {
 public:
  explicit Rc4(ByteView key);
  ~Rc4();
  Rc4(const Rc4&) = delete;
  Rc4& operator=(const Rc4&) = delete;
  void apply(std::span<uint8_t> data);

 private:
  void* ctx_;
};

}  // namespace sd::crypto
