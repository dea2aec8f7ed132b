// Minimal ASN.1 DER for SPNEGO (RFC 4178): a bounded TLV reader and a writer that fills in
// lengths. Sans-I/O; any thread.
#pragma once
#include <vector>

#include "base/bytes.h"

namespace sd::auth::der {

struct Tlv {
  uint8_t tag = 0;
  ByteView value;
  ByteView whole;  // tag + length + value
};

// Reads one TLV at the reader's position (definite lengths up to 4 length bytes only).
Result<Tlv> read(ByteReader& r);
// Reads one TLV and checks its tag.
Result<Tlv> expect(ByteReader& r, uint8_t tag);

// Encodes tag + length + value.
Bytes tlv(uint8_t tag, ByteView value);
Bytes concat(std::initializer_list<ByteView> parts);

constexpr uint8_t kSequence = 0x30, kOid = 0x06, kOctetString = 0x04, kEnumerated = 0x0A,
                  kGeneralString = 0x1B, kApplication0 = 0x60;
constexpr uint8_t ctx(int n) { return uint8_t(0xA0 | n); }

}  // namespace sd::auth::der
