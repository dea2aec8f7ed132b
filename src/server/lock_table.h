// Byte-range locks across all opens of the server (MS-FSA 2.1.5.7 semantics, in memory).
// Thread-safe.
#pragma once
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace sd::server {

struct ByteRange {
  uint64_t file_key = 0;
  uint64_t open_id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool exclusive = false;
};

class LockTable {
 public:
  Status lock(const ByteRange& r);
  Status unlock(const ByteRange& r);
  void releaseOpen(uint64_t file_key, uint64_t open_id);
  // I/O check (MS-FSA 2.1.4.10): may `open_id` read (write) [offset, offset+length)?
  bool ioAllowed(uint64_t file_key, uint64_t open_id, uint64_t offset, uint64_t length,
                 bool write) const;

 private:
  static bool overlaps(const ByteRange& a, uint64_t off, uint64_t len);
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<ByteRange>> by_file_;
};

}  // namespace sd::server
