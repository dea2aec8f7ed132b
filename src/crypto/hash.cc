#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>

#include "crypto/openssl_util.h"

namespace sd::crypto {

namespace {
Bytes digest(const char* name, ByteView data) {
  const EVP_MD* m = detail::md(name);
  Bytes out(m ? size_t(EVP_MD_get_size(m)) : 0);
  unsigned int len = 0;
  if (!m || !EVP_Digest(data.data(), data.size(), out.data(), &len, m, nullptr)) {
    out.clear();  // callers compare lengths; an empty digest never verifies anything
  }
  return out;
}

Bytes macOver(const char* mac_name, const char* param_name, const char* param_value, ByteView key,
              std::initializer_list<ByteView> parts) {
  EVP_MAC* mac = detail::mac(mac_name);
  Bytes out;
  if (!mac) return out;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  OSSL_PARAM params[2] = {
      OSSL_PARAM_construct_utf8_string(param_name, const_cast<char*>(param_value), 0),
      OSSL_PARAM_construct_end()};
  size_t len = 0;
  out.resize(64);
  if (ctx && EVP_MAC_init(ctx, key.data(), key.size(), params)) {
    bool good = true;
    for (const auto& p : parts) good = good && EVP_MAC_update(ctx, p.data(), p.size());
    if (good && EVP_MAC_final(ctx, out.data(), &len, out.size())) out.resize(len);
    else out.clear();
  } else {
    out.clear();
  }
  EVP_MAC_CTX_free(ctx);
  return out;
}
}  // namespace

Bytes sha256(ByteView d) { return digest("SHA256", d); }
Bytes sha512(ByteView d) { return digest("SHA512", d); }
Bytes md4(ByteView d) { return digest("MD4", d); }
Bytes md5(ByteView d) { return digest("MD5", d); }

Bytes hmacSha256(ByteView key, std::initializer_list<ByteView> parts) {
  return macOver("HMAC", OSSL_MAC_PARAM_DIGEST, "SHA256", key, parts);
}
Bytes hmacMd5(ByteView key, std::initializer_list<ByteView> parts) {
  return macOver("HMAC", OSSL_MAC_PARAM_DIGEST, "MD5", key, parts);
}
Bytes aesCmac(ByteView key, std::initializer_list<ByteView> parts) {
  return macOver("CMAC", OSSL_MAC_PARAM_CIPHER, key.size() == 32 ? "AES-256-CBC" : "AES-128-CBC",
                 key, parts);
}

Sha512::Sha512() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), detail::md("SHA512"), nullptr);
}
Sha512::~Sha512() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha512::update(ByteView d) { EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), d.data(), d.size()); }
std::array<uint8_t, 64> Sha512::final() {
  std::array<uint8_t, 64> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  return out;
}

bool equalConstantTime(ByteView a, ByteView b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sd::crypto
