// SMB3 message security: key derivation (MS-SMB2 3.3.5.5.3, 3.2.5.3.1), signing with AES-CMAC /
// AES-GMAC / HMAC-SHA256 (3.1.4.1), and encryption in the TRANSFORM_HEADER (2.2.41, 3.1.4.3).
// Sans-I/O; any thread.
#pragma once
#include <span>

#include "base/bytes.h"
#include "crypto/cipher.h"

namespace sd::smb2 {

// The AEAD of a negotiated Cipher (MS-SMB2 2.2.3.1.2); AES-128-CCM for 0 (SMB 3.0/3.0.2).
crypto::Aead aeadOf(uint16_t cipher);

struct SessionKeys {
  Bytes signing_key;
  Bytes c2s_key;  // client -> server encryption key (the server's decryption key)
  Bytes s2c_key;  // server -> client encryption key
  Bytes application_key;
};

// `preauth_hash` is used for 3.1.1 only; `cipher` chooses 128- or 256-bit encryption keys.
SessionKeys deriveKeys(uint16_t dialect, ByteView session_key, ByteView preauth_hash,
                       uint16_t cipher);
inline SessionKeys deriveKeys(uint16_t dialect, ByteView session_key,
                              const std::array<uint8_t, 64>& preauth_hash, uint16_t cipher) {
  return deriveKeys(dialect, session_key, ByteView(preauth_hash.data(), 64), cipher);
}

// Signs one SMB2 message in place: sets SMB2_FLAGS_SIGNED, zeroes the signature field, computes
// the signature over the whole message and stores it.
void signMessage(uint16_t algorithm, ByteView key, std::span<uint8_t> msg);
// Verifies the signature of one SMB2 message (constant-time). `msg` is not modified.
bool verifySignature(uint16_t algorithm, ByteView key, ByteView msg);

// TRANSFORM_HEADER (52 bytes) + ciphertext of `plaintext`.
Bytes encryptMessage(uint16_t cipher, ByteView key, uint64_t session_id, ByteView plaintext);
// Verifies and decrypts a transform message.
Result<Bytes> decryptMessage(uint16_t cipher, ByteView key, ByteView frame);
Result<uint64_t> transformSessionId(ByteView frame);

}  // namespace sd::smb2
