// Bounded little-endian reader and growable writer for wire formats. Owned by base/; header-only;
// any thread (an instance belongs to one thread). Every read is bounds-checked and returns a
// Result; nothing casts structs onto buffers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sd {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView asBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Reader over a PDU. `pos` is relative to the start of the view the reader was built on, so
// offsets taken from the wire ("relative to the beginning of the SMB2 header") are resolved by
// slice()/at() against that same base.
class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(ByteView data, size_t pos = 0) : data_(data), pos_(pos) {}

  size_t pos() const { return pos_; }
  size_t size() const { return data_.size(); }
  size_t remaining() const { return pos_ <= data_.size() ? data_.size() - pos_ : 0; }
  ByteView data() const { return data_; }
  ByteView rest() const { return data_.subspan(pos_ <= data_.size() ? pos_ : data_.size()); }

  Result<uint8_t> u8() {
    if (remaining() < 1) return malformed("short u8");
    return data_[pos_++];
  }
  Result<uint16_t> u16() {
    if (remaining() < 2) return malformed("short u16");
    uint16_t v = uint16_t(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  Result<uint32_t> u32() {
    if (remaining() < 4) return malformed("short u32");
    uint32_t v = load32(pos_);
    pos_ += 4;
    return v;
  }
  Result<uint64_t> u64() {
    if (remaining() < 8) return malformed("short u64");
    uint64_t v = uint64_t(load32(pos_)) | (uint64_t(load32(pos_ + 4)) << 32);
    pos_ += 8;
    return v;
  }
  // Big-endian variants (DCE/RPC is LE by default; ASN.1, MPA/DDP and NetBIOS are BE).
  Result<uint16_t> be16() {
    if (remaining() < 2) return malformed("short be16");
    uint16_t v = uint16_t((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> be32() {
    if (remaining() < 4) return malformed("short be32");
    uint32_t v = (uint32_t(data_[pos_]) << 24) | (uint32_t(data_[pos_ + 1]) << 16) |
                 (uint32_t(data_[pos_ + 2]) << 8) | data_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  Result<uint64_t> be64() {
    auto hi = be32();
    if (!hi) return hi.error();
    auto lo = be32();
    if (!lo) return lo.error();
    return (uint64_t(*hi) << 32) | *lo;
  }
  Result<ByteView> bytes(size_t n) {
    if (remaining() < n) return malformed("short bytes");
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  Status skip(size_t n) {
    if (remaining() < n) return malformed("short skip");
    pos_ += n;
    return ok();
  }
  Status seek(size_t pos) {
    if (pos > data_.size()) return malformed("seek past end");
    pos_ = pos;
    return ok();
  }
  Status expectU16(uint16_t want, const char* what = "bad StructureSize") {
    auto v = u16();
    if (!v) return v.error();
    if (*v != want) return malformed(what);
    return ok();
  }

  // Resolves an (offset, length) pair from the wire, relative to this reader's base, and checks
  // that it lies wholly inside it. A zero length yields an empty view whatever the offset.
  Result<ByteView> slice(uint64_t offset, uint64_t length) const {
    if (length == 0) return ByteView{};
    if (offset > data_.size() || length > data_.size() - offset)
      return malformed("offset/length outside PDU");
    return data_.subspan(size_t(offset), size_t(length));
  }

 private:
  uint32_t load32(size_t p) const {
    return uint32_t(data_[p]) | (uint32_t(data_[p + 1]) << 8) | (uint32_t(data_[p + 2]) << 16) |
           (uint32_t(data_[p + 3]) << 24);
  }
  ByteView data_;
  size_t pos_ = 0;
};

// Appending little-endian writer. Offsets it hands out are relative to the start of its buffer
// (for SMB2: the start of the header when the header is written first).
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes& out) : ext_(&out) {}

  Bytes& buf() { return ext_ ? *ext_ : own_; }
  const Bytes& buf() const { return ext_ ? *ext_ : own_; }
  size_t size() const { return buf().size(); }
  Bytes take() { return std::move(buf()); }

  void u8(uint8_t v) { buf().push_back(v); }
  void u16(uint16_t v) {
    uint8_t b[2] = {uint8_t(v), uint8_t(v >> 8)};
    append(b, 2);
  }
  void u32(uint32_t v) {
    uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    append(b, 4);
  }
  void u64(uint64_t v) {
    u32(uint32_t(v));
    u32(uint32_t(v >> 32));
  }
  void be16(uint16_t v) {
    uint8_t b[2] = {uint8_t(v >> 8), uint8_t(v)};
    append(b, 2);
  }
  void be32(uint32_t v) {
    uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    append(b, 4);
  }
  void be64(uint64_t v) {
    be32(uint32_t(v >> 32));
    be32(uint32_t(v));
  }
  void bytes(ByteView v) { append(v.data(), v.size()); }
  void zeros(size_t n) { buf().insert(buf().end(), n, 0); }
  // Pads with zeros to a multiple of `align` measured from the start of the buffer.
  void align(size_t a) {
    size_t r = size() % a;
    if (r) zeros(a - r);
  }
  // Reserves n bytes to fill later (e.g. an offset or length known only after the payload).
  size_t reserve(size_t n) {
    size_t at = size();
    zeros(n);
    return at;
  }
  void put16(size_t at, uint16_t v) {
    buf()[at] = uint8_t(v);
    buf()[at + 1] = uint8_t(v >> 8);
  }
  void put32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) buf()[at + i] = uint8_t(v >> (8 * i));
  }
  void put64(size_t at, uint64_t v) {
    put32(at, uint32_t(v));
    put32(at + 4, uint32_t(v >> 32));
  }
  void putBe32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) buf()[at + i] = uint8_t(v >> (24 - 8 * i));
  }

 private:
  void append(const uint8_t* p, size_t n) { buf().insert(buf().end(), p, p + n); }
  Bytes own_;
  Bytes* ext_ = nullptr;
};

inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }
inline void store16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }
inline void store32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
inline void store64(uint8_t* p, uint64_t v) {
  store32(p, uint32_t(v));
  store32(p + 4, uint32_t(v >> 32));
}

std::string toHex(ByteView b);
Bytes fromHex(std::string_view hex);  // ignores whitespace; for tests and vectors

}  // namespace sd
