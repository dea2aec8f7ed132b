// Internal: cached OpenSSL algorithm fetches and the legacy provider. Thread-safe.
#pragma once
#include <openssl/evp.h>

namespace sd::crypto::detail {

const EVP_MD* md(const char* name);          // "SHA256", "SHA512", "MD4", "MD5"
const EVP_CIPHER* cipher(const char* name);  // "AES-128-CCM", "RC4", ...
EVP_MAC* mac(const char* name);              // "HMAC", "CMAC"

}  // namespace sd::crypto::detail
