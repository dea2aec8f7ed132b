#include "crypto/cipher.h"

#include <openssl/evp.h>

#include "crypto/openssl_util.h"

namespace sd::crypto {

namespace {
const char* aeadName(Aead a) {
  switch (a) {
    case Aead::kAes128Ccm: return "AES-128-CCM";
    case Aead::kAes128Gcm: return "AES-128-GCM";
    case Aead::kAes256Ccm: return "AES-256-CCM";
    case Aead::kAes256Gcm: return "AES-256-GCM";
  }
  return "";
}
bool isCcm(Aead a) { return a == Aead::kAes128Ccm || a == Aead::kAes256Ccm; }

struct CtxGuard {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  ~CtxGuard() { EVP_CIPHER_CTX_free(c); }
};

Status aeadRun(bool enc, Aead a, ByteView key, ByteView nonce, ByteView aad,
               std::span<uint8_t> data, uint8_t* tag) {
  const EVP_CIPHER* ci = detail::cipher(aeadName(a));
  if (!ci || key.size() != aeadKeySize(a) || nonce.size() != aeadNonceSize(a))
    return err(NtStatus::kInvalidParameter, "aead parameters");
  CtxGuard g;
  int len = 0;
  bool ccm = isCcm(a);
  if (!EVP_CipherInit_ex(g.c, ci, nullptr, nullptr, nullptr, enc) ||
      !EVP_CIPHER_CTX_ctrl(g.c, EVP_CTRL_AEAD_SET_IVLEN, int(nonce.size()), nullptr))
    return err(NtStatus::kInternalError, "aead init");
  if (ccm && !EVP_CIPHER_CTX_ctrl(g.c, EVP_CTRL_AEAD_SET_TAG, 16, enc ? nullptr : tag))
    return err(NtStatus::kInternalError, "ccm tag");
  if (!EVP_CipherInit_ex(g.c, nullptr, nullptr, key.data(), nonce.data(), enc))
    return err(NtStatus::kInternalError, "aead key");
  if (ccm && !EVP_CipherUpdate(g.c, nullptr, &len, nullptr, int(data.size())))
    return err(NtStatus::kInternalError, "ccm length");
  if (!aad.empty() && !EVP_CipherUpdate(g.c, nullptr, &len, aad.data(), int(aad.size())))
    return err(NtStatus::kInternalError, "aad");
  if (!ccm && !enc && !EVP_CIPHER_CTX_ctrl(g.c, EVP_CTRL_AEAD_SET_TAG, 16, tag))
    return err(NtStatus::kInternalError, "gcm tag");
  // OpenSSL takes int lengths: feed large buffers in chunks (GCM streams; CCM must be one call).
  size_t off = 0;
  if (ccm) {
    if (data.size() > 0x7FFFFFFF) return err(NtStatus::kInvalidParameter, "ccm too large");
    if (!EVP_CipherUpdate(g.c, data.data(), &len, data.data(), int(data.size())))
      return err(NtStatus::kAccessDenied, "ccm verify failed");
    off = data.size();
  }
  while (off < data.size()) {
    int n = int(std::min<size_t>(data.size() - off, 1u << 30));
    if (!EVP_CipherUpdate(g.c, data.data() + off, &len, data.data() + off, n))
      return err(NtStatus::kInternalError, "aead update");
    off += size_t(n);
  }
  if (!ccm || enc) {
    if (EVP_CipherFinal_ex(g.c, nullptr, &len) <= 0)
      return err(NtStatus::kAccessDenied, "aead verify failed");
  }
  if (enc && !EVP_CIPHER_CTX_ctrl(g.c, EVP_CTRL_AEAD_GET_TAG, 16, tag))
    return err(NtStatus::kInternalError, "get tag");
  return ok();
}
}  // namespace

size_t aeadKeySize(Aead a) { return a == Aead::kAes256Ccm || a == Aead::kAes256Gcm ? 32 : 16; }
size_t aeadNonceSize(Aead a) { return isCcm(a) ? 11 : 12; }

Status aeadEncrypt(Aead a, ByteView key, ByteView nonce, ByteView aad, std::span<uint8_t> data,
                   uint8_t tag[16]) {
  return aeadRun(true, a, key, nonce, aad, data, tag);
}
Status aeadDecrypt(Aead a, ByteView key, ByteView nonce, ByteView aad, std::span<uint8_t> data,
                   const uint8_t tag[16]) {
  uint8_t t[16];
  std::copy(tag, tag + 16, t);
  return aeadRun(false, a, key, nonce, aad, data, t);
}

Bytes aesGmac(ByteView key, ByteView nonce12, std::initializer_list<ByteView> parts) {
  const EVP_CIPHER* ci = detail::cipher(key.size() == 32 ? "AES-256-GCM" : "AES-128-GCM");
  Bytes tag;
  CtxGuard g;
  int len = 0;
  if (!ci || nonce12.size() != 12 || !EVP_EncryptInit_ex(g.c, ci, nullptr, nullptr, nullptr) ||
      !EVP_CIPHER_CTX_ctrl(g.c, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) ||
      !EVP_EncryptInit_ex(g.c, nullptr, nullptr, key.data(), nonce12.data()))
    return tag;
  for (const auto& p : parts) {
    size_t off = 0;
    while (off < p.size()) {
      int n = int(std::min<size_t>(p.size() - off, 1u << 30));
      if (!EVP_EncryptUpdate(g.c, nullptr, &len, p.data() + off, n)) return tag;
      off += size_t(n);
    }
  }
  if (EVP_EncryptFinal_ex(g.c, nullptr, &len) <= 0) return tag;
  tag.resize(16);
  if (!EVP_CIPHER_CTX_ctrl(g.c, EVP_CTRL_AEAD_GET_TAG, 16, tag.data())) tag.clear();
  return tag;
}

Rc4::Rc4(ByteView key) : ctx_(EVP_CIPHER_CTX_new()) {
  auto* c = static_cast<EVP_CIPHER_CTX*>(ctx_);
  const EVP_CIPHER* ci = detail::cipher("RC4");
  if (ci && EVP_EncryptInit_ex(c, ci, nullptr, nullptr, nullptr)) {
    EVP_CIPHER_CTX_set_key_length(c, int(key.size()));
    EVP_EncryptInit_ex(c, nullptr, nullptr, key.data(), nullptr);
  }
}
Rc4::~Rc4() { EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_)); }
void Rc4::apply(std::span<uint8_t> data) {
  int len = 0;
  EVP_EncryptUpdate(static_cast<EVP_CIPHER_CTX*>(ctx_), data.data(), &len, data.data(), int(data.size()));
}

Bytes rc4(ByteView key, ByteView data) {
  Bytes out(data.begin(), data.end());
  Rc4 r(key);
  r.apply(out);
  return out;
}

}  // namespace sd::crypto
