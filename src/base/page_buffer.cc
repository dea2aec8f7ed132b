#include "base/page_buffer.h"

#include <sys/mman.h>

#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace sd {

namespace {
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kPage = 4096;

// Large mappings given back, kept for the next buffer of the same size (bounded): a new mapping
// costs a page fault and a zeroed huge page per 2 MiB, several milliseconds per connection's
// pools on a VM whose freed memory goes back to the host.
constexpr size_t kKeepMax = size_t(64) << 20;
struct Kept {
  std::mutex mu;
  std::vector<std::pair<void*, size_t>> maps;
  size_t bytes = 0;
};
Kept& kept() {
  static Kept* k = new Kept;  // never destroyed: buffers may be released during exit
  return *k;
}
void* takeKept(size_t len) {
  Kept& k = kept();
  std::lock_guard lk(k.mu);
  for (size_t i = 0; i < k.maps.size(); i++) {
    if (k.maps[i].second != len) continue;
    void* m = k.maps[i].first;
    k.maps.erase(k.maps.begin() + long(i));
    k.bytes -= len;
    return m;
  }
  return nullptr;
}
bool keep(void* map, size_t len) {
  Kept& k = kept();
  std::lock_guard lk(k.mu);
  if (k.bytes + len > kKeepMax) return false;
  k.maps.emplace_back(map, len);
  k.bytes += len;
  return true;
}
}  // namespace

PageBuffer::PageBuffer(size_t size) {
  if (size == 0) return;
  // From 1 MiB on, whole 2 MiB units (a huge page needs its whole aligned range mapped).
  const bool huge = size >= kHuge / 2;
  const size_t unit = huge ? kHuge : kPage;
  const size_t len = (size + unit - 1) / unit * unit;
  if (huge) {
    if (void* m = takeKept(len)) {
      map_ = m;
      map_size_ = len;
      data_ = static_cast<uint8_t*>(m);
      size_ = size;
      return;
    }
  }
  const size_t extra = huge ? kHuge : 0;  // room to align the start to 2 MiB
  void* m = mmap(nullptr, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  auto base = reinterpret_cast<uintptr_t>(m);
  uintptr_t start = huge ? (base + kHuge - 1) / kHuge * kHuge : base;
  if (huge) {
    // Give back the unaligned head and the tail beyond the buffer.
    if (start > base) munmap(m, start - base);
    size_t tail = (base + len + extra) - (start + len);
    if (tail) munmap(reinterpret_cast<void*>(start + len), tail);
    (void)madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);
  }
  map_ = reinterpret_cast<void*>(start);
  map_size_ = len;
  data_ = reinterpret_cast<uint8_t*>(start);
  size_ = size;
}

PageBuffer::~PageBuffer() { release(); }

size_t PageBuffer::keptBytes() {
  Kept& k = kept();
  std::lock_guard lk(k.mu);
  return k.bytes;
}

PageBuffer::PageBuffer(PageBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      map_(std::exchange(o.map_, nullptr)),
      map_size_(std::exchange(o.map_size_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
  }
  return *this;
}

void PageBuffer::release() {
  if (map_ && !(map_size_ >= kHuge && keep(map_, map_size_))) munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace sd
