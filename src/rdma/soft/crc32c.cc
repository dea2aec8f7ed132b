// CRC32c: slicing-by-8 tables built at first use, or the SSE4.2 crc32 instruction. The
// instruction has a latency of three cycles and a throughput of one per cycle, so long buffers are
// cut into three blocks whose CRCs run interleaved and are then joined: the raw CRC register is
// linear, crc(s, A||B) = shift_|B|(crc(s, A)) ^ crc(0, B), where shift_n (the effect of n zero
// bytes) is applied with four byte-indexed tables per block size, built at first use.
#include "rdma/soft/crc32c.h"

#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace sd::rdma::soft {
namespace {

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

const Tables& tables() {
  static const Tables tb;
  return tb;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crcHw(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = uint32_t(c64);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
// shift_n for a fixed n as four byte tables: shift(x) = t[0][x & 0xff] ^ ... ^ t[3][x >> 24].
struct ShiftTables {
  uint32_t t[4][256];
  explicit ShiftTables(size_t n) {
    // Images of the 32 basis states (one zero-byte run each), then every byte value by linearity.
    std::vector<uint8_t> zeros(n, 0);
    uint32_t basis[32];
    for (int j = 0; j < 32; j++) basis[j] = crcHw(1u << j, zeros.data(), n);
    for (int k = 0; k < 4; k++)
      for (uint32_t v = 0; v < 256; v++) {
        uint32_t r = 0;
        for (int b = 0; b < 8; b++)
          if (v & (1u << b)) r ^= basis[8 * k + b];
        t[k][v] = r;
      }
  }
  uint32_t shift(uint32_t x) const {
    return t[0][x & 0xFF] ^ t[1][(x >> 8) & 0xFF] ^ t[2][(x >> 16) & 0xFF] ^ t[3][x >> 24];
  }
};

// Three blocks of `block` bytes each (a multiple of 8), interleaved.
__attribute__((target("sse4.2"))) uint32_t crcHw3(uint32_t c, const uint8_t* p, size_t block,
                                                    const ShiftTables& sh) {
  uint64_t a = c, b = 0, d = 0;
  const uint8_t* pb = p + block;
  const uint8_t* pd = p + 2 * block;
  for (size_t i = 0; i < block; i += 8) {
    uint64_t va, vb, vd;
    std::memcpy(&va, p + i, 8);
    std::memcpy(&vb, pb + i, 8);
    std::memcpy(&vd, pd + i, 8);
    a = _mm_crc32_u64(a, va);
    b = _mm_crc32_u64(b, vb);
    d = _mm_crc32_u64(d, vd);
  }
  uint32_t ab = sh.shift(uint32_t(a)) ^ uint32_t(b);
  return sh.shift(ab) ^ uint32_t(d);
}

constexpr size_t kLongBlock = 8192, kShortBlock = 256;

uint32_t crcHwFast(uint32_t c, const uint8_t* p, size_t n) {
  static const ShiftTables long_shift(kLongBlock), short_shift(kShortBlock);
  while (n >= 3 * kLongBlock) {
    c = crcHw3(c, p, kLongBlock, long_shift);
    p += 3 * kLongBlock;
    n -= 3 * kLongBlock;
  }
  while (n >= 3 * kShortBlock) {
    c = crcHw3(c, p, kShortBlock, short_shift);
    p += 3 * kShortBlock;
    n -= 3 * kShortBlock;
  }
  return crcHw(c, p, n);
}

bool detectHw() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

uint32_t crc32cUpdateTable(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = tables().t;
  while (n >= 8) {
    uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                       uint32_t(p[3]) << 24);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

bool crc32cHardware() {
#if defined(__x86_64__)
  static const bool hw = detectHw();
  return hw;
#else
  return false;
#endif
}

uint32_t crc32cUpdate(uint32_t state, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  if (crc32cHardware()) return crcHwFast(state, p, n);
#endif
  return crc32cUpdateTable(state, p, n);
}

}  // namespace sd::rdma::soft
