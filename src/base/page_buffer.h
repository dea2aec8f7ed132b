// Large I/O buffers that stay put: registered RDMA pools, transfer slots, staging rings. Each is
// a mapping of its own; from 1 MiB on it is aligned to 2 MiB, sized in whole 2 MiB units and
// offered to transparent huge pages (madvise), so that a pool a transfer sweeps through costs a
// few TLB entries instead of one per 4 KiB page (under nested virtualization, much of what
// copying through a cold multi-MiB pool costs). Large mappings are recycled: one given back is
// kept (up to 64 MiB in all) for the next buffer of the same size, so a connection's pools do not
// cost fresh zeroed pages each time. Contents: zero below 1 MiB and in a new mapping, whatever
// the previous owner left in a recycled one. Movable, not copyable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sd {

class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(size_t size);
  ~PageBuffer();
  PageBuffer(PageBuffer&& o) noexcept;
  PageBuffer& operator=(PageBuffer&& o) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<uint8_t> span() { return {data_, size_}; }
  // Bytes of given-back mappings kept for reuse (process-wide).
  static size_t keptBytes();

 private:
  void release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;  // the whole mapping (data_ is aligned inside it)
  size_t map_size_ = 0;
};

}  // namespace sd
