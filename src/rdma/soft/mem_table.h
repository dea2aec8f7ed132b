// The STag table of one soft device: memory regions (contiguous, or fast-registered page lists),
// their protection domain, access rights and validity. Owned by rdma/soft; thread-safe (a mutex):
// application threads register and deregister, the provider thread resolves STags while placing
// data. RFC 5040 section 6 (STag validation: invalid STag, base/bounds, access, PD association).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace sd::rdma::soft {

enum class MemCheck : uint8_t { kOk, kInvalidStag, kBounds, kAccess, kPd, kWrap };

struct MrEntry {
  uint32_t stag = 0;  // index << 8 | key
  uint32_t pd = 0;
  uint32_t access = 0;  // sd::rdma::Access bits
  bool valid = false;
  bool fast_reg = false;  // may be invalidated (locally or by Send with Invalidate)
  uint64_t iova = 0;      // first tagged offset of the region
  uint64_t length = 0;
  // Contiguous regions: host address of `iova`. Page lists: pages[], each page_size bytes; the
  // region starts at offset (iova % page_size) of pages[0].
  uint8_t* base = nullptr;
  std::vector<uint64_t> pages;
  uint32_t page_size = 4096;

  // Host address of tagged offset `to` and how many bytes are contiguous from there (<= end).
  uint8_t* translate(uint64_t to, size_t* contiguous) const;
};

using MrRef = std::shared_ptr<const MrEntry>;

class MemTable {
 public:
  // Registers a contiguous region (iova == host address) and returns its STag.
  uint32_t addContiguous(uint32_t pd, uint8_t* addr, uint64_t length, uint32_t access);
  // Reserves an STag for fast registration (invalid until fastReg()).
  uint32_t addFastReg(uint32_t pd);
  void remove(uint32_t stag);
  // Maps a fast-reg entry (STag index from `stag`, key becomes stag's low byte) onto pages.
  MemCheck fastReg(uint32_t stag, uint32_t pd, const uint64_t* pages, size_t npages,
                   uint32_t page_size, uint64_t iova, uint64_t length, uint32_t access);
  // remote: Send with Invalidate (only fast-registered regions may be invalidated remotely).
  MemCheck invalidate(uint32_t stag, uint32_t pd, bool remote);
  // Validates [to, to+len) of `stag` for `access` in `pd`; len 0 checks only the STag.
  MemCheck lookup(uint32_t stag, uint32_t pd, uint32_t access, uint64_t to, uint64_t len,
                  MrRef* out) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<MrEntry>> slots_{nullptr};  // index 0 is never used (STag 0)
  std::vector<uint32_t> free_;
  uint8_t next_key_ = 1;
  uint32_t allocSlot();
};

}  // namespace sd::rdma::soft
