// Copy-on-write entries: a fast registration or invalidation replaces the shared_ptr, so data
// placement that already resolved an STag keeps a consistent snapshot without holding the lock.
#include "rdma/soft/mem_table.h"

namespace sd::rdma::soft {

uint8_t* MrEntry::translate(uint64_t to, size_t* contiguous) const {
  uint64_t off = to - iova;
  uint64_t left = length - off;
  if (base) {
    *contiguous = size_t(left);
    return base + off;
  }
  uint64_t pos = off + (iova % page_size);
  size_t idx = size_t(pos / page_size);
  uint64_t in_page = pos % page_size;
  uint64_t n = page_size - in_page;
  if (n > left) n = left;
  *contiguous = size_t(n);
  return reinterpret_cast<uint8_t*>(pages[idx] + in_page);
}

uint32_t MemTable::allocSlot() {
  if (!free_.empty()) {
    uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  slots_.push_back(nullptr);
  return uint32_t(slots_.size() - 1);
}

uint32_t MemTable::addContiguous(uint32_t pd, uint8_t* addr, uint64_t length, uint32_t access) {
  std::lock_guard lk(mu_);
  auto e = std::make_shared<MrEntry>();
  uint32_t idx = allocSlot();
  uint8_t key = next_key_++;
  e->stag = idx << 8 | key;
  e->pd = pd;
  e->access = access;
  e->valid = true;
  e->iova = reinterpret_cast<uint64_t>(addr);
  e->length = length;
  e->base = addr;
  slots_[idx] = e;
  return e->stag;
}

uint32_t MemTable::addFastReg(uint32_t pd) {
  std::lock_guard lk(mu_);
  auto e = std::make_shared<MrEntry>();
  uint32_t idx = allocSlot();
  e->stag = idx << 8 | next_key_++;
  e->pd = pd;
  e->fast_reg = true;
  slots_[idx] = e;
  return e->stag;
}

void MemTable::remove(uint32_t stag) {
  std::lock_guard lk(mu_);
  uint32_t idx = stag >> 8;
  if (idx == 0 || idx >= slots_.size() || !slots_[idx]) return;
  slots_[idx] = nullptr;
  free_.push_back(idx);
}

MemCheck MemTable::fastReg(uint32_t stag, uint32_t pd, const uint64_t* pages, size_t npages,
                           uint32_t page_size, uint64_t iova, uint64_t length, uint32_t access) {
  std::lock_guard lk(mu_);
  uint32_t idx = stag >> 8;
  if (idx == 0 || idx >= slots_.size() || !slots_[idx]) return MemCheck::kInvalidStag;
  const auto& cur = slots_[idx];
  if (!cur->fast_reg) return MemCheck::kInvalidStag;
  if (cur->pd != pd) return MemCheck::kPd;
  if (page_size == 0 || (page_size & (page_size - 1))) return MemCheck::kBounds;
  uint64_t need = (iova % page_size) + length;
  if (need > uint64_t(npages) * page_size) return MemCheck::kBounds;
  auto e = std::make_shared<MrEntry>(*cur);
  e->stag = stag;
  e->valid = true;
  e->access = access;
  e->iova = iova;
  e->length = length;
  e->base = nullptr;
  e->pages.assign(pages, pages + npages);
  e->page_size = page_size;
  slots_[idx] = e;
  return MemCheck::kOk;
}

MemCheck MemTable::invalidate(uint32_t stag, uint32_t pd, bool remote) {
  std::lock_guard lk(mu_);
  uint32_t idx = stag >> 8;
  if (idx == 0 || idx >= slots_.size() || !slots_[idx]) return MemCheck::kInvalidStag;
  const auto& cur = slots_[idx];
  if (cur->stag != stag) return MemCheck::kInvalidStag;
  if (cur->pd != pd) return MemCheck::kPd;
  if (!cur->fast_reg) return MemCheck::kAccess;  // plain MRs cannot be invalidated
  auto e = std::make_shared<MrEntry>(*cur);
  e->valid = false;
  slots_[idx] = e;
  (void)remote;
  return MemCheck::kOk;
}

MemCheck MemTable::lookup(uint32_t stag, uint32_t pd, uint32_t access, uint64_t to, uint64_t len,
                          MrRef* out) const {
  MrRef e;
  {
    std::lock_guard lk(mu_);
    uint32_t idx = stag >> 8;
    if (idx == 0 || idx >= slots_.size() || !slots_[idx]) return MemCheck::kInvalidStag;
    e = slots_[idx];
  }
  if (e->stag != stag || !e->valid) return MemCheck::kInvalidStag;
  if (e->pd != pd) return MemCheck::kPd;
  if ((e->access & access) != access) return MemCheck::kAccess;
  if (to + len < to) return MemCheck::kWrap;
  if (to < e->iova || to + len > e->iova + e->length) return MemCheck::kBounds;
  *out = std::move(e);
  return MemCheck::kOk;
}

}  // namespace sd::rdma::soft
