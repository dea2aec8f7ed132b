// CRC32c (Castagnoli), as MPA (RFC 5044 section 4.4) protects each FPDU. Owned by rdma/soft; pure
// function, any thread. Uses SSE4.2 crc32 instructions when the CPU has them, else slicing-by-8.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sd::rdma::soft {

// Running state: start with kCrc32cInit, feed with crc32cUpdate, finish with crc32cFinal.
constexpr uint32_t kCrc32cInit = 0xFFFFFFFFu;
uint32_t crc32cUpdate(uint32_t state, const uint8_t* p, size_t n);
inline uint32_t crc32cFinal(uint32_t state) { return ~state; }
inline uint32_t crc32c(const uint8_t* p, size_t n) {
  return crc32cFinal(crc32cUpdate(kCrc32cInit, p, n));
}
bool crc32cHardware();  // which implementation runs (for docs/bench output)
uint32_t crc32cUpdateTable(uint32_t state, const uint8_t* p, size_t n);  // for tests

}  // namespace sd::rdma::soft
