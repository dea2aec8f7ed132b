#include "smb2/security.h"

#include <cstring>

#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "smb2/constants.h"
#include "smb2/header.h"

namespace sd::smb2 {

namespace {
Bytes label(const char* s) {
  // Labels and contexts include their terminating NUL (MS-SMB2 3.1.4.2).
  return Bytes(reinterpret_cast<const uint8_t*>(s), reinterpret_cast<const uint8_t*>(s) + std::strlen(s) + 1);
}
constexpr size_t kTransformSize = 52;
}  // namespace

crypto::Aead aeadOf(uint16_t cipher) {
  switch (cipher) {
    case kCipherAes128Gcm: return crypto::Aead::kAes128Gcm;
    case kCipherAes256Ccm: return crypto::Aead::kAes256Ccm;
    case kCipherAes256Gcm: return crypto::Aead::kAes256Gcm;
    default: return crypto::Aead::kAes128Ccm;
  }
}

SessionKeys deriveKeys(uint16_t dialect, ByteView session_key, ByteView preauth, uint16_t cipher) {
  SessionKeys k;
  bool big = cipher == kCipherAes256Ccm || cipher == kCipherAes256Gcm;
  uint32_t enc_bits = big ? 256 : 128;
  if (dialect == kDialect311) {
    k.signing_key = crypto::kdfCounterHmacSha256(session_key, label("SMBSigningKey"), preauth, 128);
    k.c2s_key = crypto::kdfCounterHmacSha256(session_key, label("SMBC2SCipherKey"), preauth, enc_bits);
    k.s2c_key = crypto::kdfCounterHmacSha256(session_key, label("SMBS2CCipherKey"), preauth, enc_bits);
    k.application_key = crypto::kdfCounterHmacSha256(session_key, label("SMBAppKey"), preauth, 128);
  } else {
    k.signing_key = crypto::kdfCounterHmacSha256(session_key, label("SMB2AESCMAC"), label("SmbSign"), 128);
    k.c2s_key = crypto::kdfCounterHmacSha256(session_key, label("SMB2AESCCM"), label("ServerIn "), 128);
    k.s2c_key = crypto::kdfCounterHmacSha256(session_key, label("SMB2AESCCM"), label("ServerOut"), 128);
    k.application_key = crypto::kdfCounterHmacSha256(session_key, label("SMB2APP"), label("SmbRpc"), 128);
  }
  return k;
}

namespace {
Bytes computeSignature(uint16_t alg, ByteView key, ByteView msg) {
  // The signature covers the message with its signature field zeroed: feed it in three parts.
  static const uint8_t kZero[16] = {};
  ByteView before = msg.first(kOffSignature), after = msg.subspan(kOffSignature + 16);
  ByteView zero(kZero, 16);
  switch (alg) {
    case kSigningAesGmac: {
      uint8_t nonce[12];
      std::memcpy(nonce, msg.data() + kOffMessageId, 8);
      uint32_t flags = le32(msg.data() + kOffFlags);
      uint16_t cmd = le16(msg.data() + kOffCommand);
      uint32_t role = (flags & kFlagServerToRedir) ? 1 : 0;
      if (cmd == uint16_t(Command::kCancel)) role |= 2;
      store32(nonce + 8, role);
      return crypto::aesGmac(key, ByteView(nonce, 12), {before, zero, after});
    }
    case kSigningHmacSha256: {
      Bytes h = crypto::hmacSha256(key, {before, zero, after});
      h.resize(16);
      return h;
    }
    default:
      return crypto::aesCmac(key, {before, zero, after});
  }
}
}  // namespace

void signMessage(uint16_t alg, ByteView key, std::span<uint8_t> msg) {
  if (msg.size() < kHeaderSize) return;
  store32(msg.data() + kOffFlags, le32(msg.data() + kOffFlags) | kFlagSigned);
  Bytes sig = computeSignature(alg, key, msg);
  std::memset(msg.data() + kOffSignature, 0, 16);
  if (sig.size() >= 16) std::memcpy(msg.data() + kOffSignature, sig.data(), 16);
}

bool verifySignature(uint16_t alg, ByteView key, ByteView msg) {
  if (msg.size() < kHeaderSize) return false;
  Bytes sig = computeSignature(alg, key, msg);
  return sig.size() >= 16 && crypto::equalConstantTime(ByteView(sig).first(16), msg.subspan(kOffSignature, 16));
}

Bytes encryptMessage(uint16_t cipher, ByteView key, uint64_t session_id, ByteView plaintext) {
  crypto::Aead a = aeadOf(cipher);
  Bytes out(kTransformSize + plaintext.size());
  uint8_t* h = out.data();
  h[0] = 0xFD;
  h[1] = 'S';
  h[2] = 'M';
  h[3] = 'B';
  crypto::randomFill(std::span<uint8_t>(h + 20, crypto::aeadNonceSize(a)));
  store32(h + 36, uint32_t(plaintext.size()));
  store16(h + 40, 0);
  store16(h + 42, 0x0001);  // Flags (3.1.1) / EncryptionAlgorithm AES-128-CCM (3.0.x)
  store64(h + 44, session_id);
  std::memcpy(h + kTransformSize, plaintext.data(), plaintext.size());
  (void)crypto::aeadEncrypt(a, key, ByteView(h + 20, crypto::aeadNonceSize(a)), ByteView(h + 20, 32),
                            std::span<uint8_t>(h + kTransformSize, plaintext.size()), h + 4);
  return out;
}

Result<uint64_t> transformSessionId(ByteView frame) {
  if (frame.size() < kTransformSize) return malformed("short transform header");
  return le64(frame.data() + 44);
}

Result<Bytes> decryptMessage(uint16_t cipher, ByteView key, ByteView frame) {
  if (frame.size() < kTransformSize) return malformed("short transform header");
  crypto::Aead a = aeadOf(cipher);
  uint32_t size = le32(frame.data() + 36);
  if (size != frame.size() - kTransformSize || size < kHeaderSize)
    return malformed("OriginalMessageSize mismatch");
  if (le16(frame.data() + 42) != 0x0001) return malformed("transform flags");
  Bytes plain(frame.begin() + kTransformSize, frame.end());
  SD_CHECK(crypto::aeadDecrypt(a, key, frame.subspan(20, crypto::aeadNonceSize(a)),
                               frame.subspan(20, 32), plain, frame.data() + 4));
  return plain;
}

}  // namespace sd::smb2
