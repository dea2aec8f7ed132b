#include "crypto/openssl_util.h"

#include <openssl/provider.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace sd::crypto::detail {

namespace {
std::once_flag g_once;
std::mutex g_mu;

OSSL_PROVIDER* g_default = nullptr;  // kept for the process lifetime (reachable, not leaked)
OSSL_PROVIDER* g_legacy = nullptr;

void loadProviders() {
  // MD4 and RC4 (NTLM) live in OpenSSL 3's legacy provider; loading any provider explicitly
  // disables the implicit default one, so load both.
  g_default = OSSL_PROVIDER_load(nullptr, "default");
  g_legacy = OSSL_PROVIDER_load(nullptr, "legacy");
  if (!g_legacy)
    std::fprintf(stderr, "smbdirect: OpenSSL legacy provider unavailable: NTLM (MD4/RC4) will fail\n");
}

template <class T, class F>
T* cached(std::map<std::string, T*>& cache, const char* name, F fetch) {
  std::call_once(g_once, loadProviders);
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  T* v = fetch(name);
  cache[name] = v;
  return v;
}
}  // namespace

const EVP_MD* md(const char* name) {
  static std::map<std::string, EVP_MD*> cache;
  return cached(cache, name, [](const char* n) { return EVP_MD_fetch(nullptr, n, nullptr); });
}

const EVP_CIPHER* cipher(const char* name) {
  static std::map<std::string, EVP_CIPHER*> cache;
  return cached(cache, name, [](const char* n) { return EVP_CIPHER_fetch(nullptr, n, nullptr); });
}

EVP_MAC* mac(const char* name) {
  static std::map<std::string, EVP_MAC*> cache;
  return cached(cache, name, [](const char* n) { return EVP_MAC_fetch(nullptr, n, nullptr); });
}

}  // namespace sd::crypto::detail
