#include "crypto/kdf.h"

#include "crypto/hash.h"

namespace sd::crypto {

Bytes kdfCounterHmacSha256(ByteView key, ByteView label, ByteView context, uint32_t out_bits) {
  Bytes out;
  uint8_t L[4] = {uint8_t(out_bits >> 24), uint8_t(out_bits >> 16), uint8_t(out_bits >> 8),
                  uint8_t(out_bits)};
  uint8_t zero = 0;
  for (uint32_t i = 1; out.size() * 8 < out_bits; i++) {
    uint8_t I[4] = {uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    Bytes k = hmacSha256(key, {ByteView(I, 4), label, ByteView(&zero, 1), context, ByteView(L, 4)});
    out.insert(out.end(), k.begin(), k.end());
  }
  out.resize(out_bits / 8);
  return out;
}

}  // namespace sd::crypto
