// SP800-108 KDF in counter mode with HMAC-SHA256, as MS-SMB2 3.1.4.2 uses it. Thread-safe.
#pragma once
#include "base/bytes.h"

namespace sd::crypto {

// K = HMAC-SHA256(key, i(=1, 32-bit BE) || label || 0x00 || context || L(32-bit BE)), truncated
// to out_bits (128 or 256; for 256 a second block with i = 2).
Bytes kdfCounterHmacSha256(ByteView key, ByteView label, ByteView context, uint32_t out_bits);

}  // namespace sd::crypto
