#include "crypto/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace sd::crypto {

void randomFill(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), int(out.size())) != 1) {
    // Without randomness nothing we produce (challenges, nonces, ids) is safe: stop.
    std::fprintf(stderr, "smbdirect: RAND_bytes failed\n");
    std::abort();
  }
}

Bytes randomBytes(size_t n) {
  Bytes b(n);
  randomFill(b);
  return b;
}

}  // namespace sd::crypto
