// NDR 2.0 marshalling helpers for stub data: alignment, unique/full pointer referent ids,
// conformant arrays and conformant varying UTF-16 strings ([string] wchar_t*). Owned by rpc/;
// an instance belongs to one thread. Implements C706 chapter 14 (NDR) as profiled by MS-RPCE
// 2.2.5 (little-endian, 32-bit pointers). Alignment is measured from the start of the stub.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace sd::rpc {

class NdrWriter {
 public:
  void align(size_t n) { w_.align(n); }
  void u8(uint8_t v) { w_.u8(v); }
  void u16(uint16_t v) {
    align(2);
    w_.u16(v);
  }
  void u32(uint32_t v) {
    align(4);
    w_.u32(v);
  }
  // A unique or full pointer's referent id (C706 14.3.10): a fresh non-zero id, or 0 for NULL.
  // Returns `present` so callers can write `if (w.pointer(x)) deferred...`.
  bool pointer(bool present) {
    u32(present ? nextReferent() : 0);
    return present;
  }
  // [string] wchar_t* body (C706 14.3.4.2): max_count, offset 0, actual_count (both counting the
  // terminating NUL), then the UTF-16LE characters. Invalid UTF-8 becomes U+FFFD.
  void conformantVaryingString(std::string_view utf8);
  // Conformant array header (C706 14.3.3.2): max_count.
  void conformance(uint32_t count) { u32(count); }

  size_t size() const { return w_.size(); }
  ByteWriter& raw() { return w_; }
  Bytes take() { return w_.take(); }

 private:
  uint32_t nextReferent() {
    referent_ += 4;
    return referent_;
  }
  ByteWriter w_;
  uint32_t referent_ = 0x0001fffc;  // first id 0x00020000, as Windows numbers them
};

class NdrReader {
 public:
  explicit NdrReader(ByteView stub) : r_(stub) {}

  Status align(size_t n) {
    size_t pad = (n - r_.pos() % n) % n;
    return r_.skip(pad);
  }
  Result<uint8_t> u8() { return r_.u8(); }
  Result<uint16_t> u16() {
    SD_CHECK(align(2));
    return r_.u16();
  }
  Result<uint32_t> u32() {
    SD_CHECK(align(4));
    return r_.u32();
  }
  // A pointer's referent id; 0 means NULL.
  Result<uint32_t> pointer() { return u32(); }
  // Reads a [string] wchar_t* body, rejecting offset != 0, actual_count > max_count, more than
  // `max_chars` characters, and invalid UTF-16. A trailing NUL is dropped.
  Result<std::string> conformantVaryingString(size_t max_chars = 4096);
  // A conformant array's max_count, rejected if `count * min_element_size` cannot fit in what is
  // left (so callers may reserve() on it safely).
  Result<uint32_t> conformance(size_t min_element_size);

  size_t pos() const { return r_.pos(); }
  size_t remaining() const { return r_.remaining(); }

 private:
  ByteReader r_;
};

}  // namespace sd::rpc
