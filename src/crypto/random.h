// Cryptographically secure random bytes (OpenSSL RAND_bytes). Thread-safe.
#pragma once
#include <span>

#include "base/bytes.h"

namespace sd::crypto {

Bytes randomBytes(size_t n);
void randomFill(std::span<uint8_t> out);

}  // namespace sd::crypto
