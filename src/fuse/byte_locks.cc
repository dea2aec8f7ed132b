#include "fuse/byte_locks.h"

namespace sd::fuse {

ByteLocks::Cut ByteLocks::cut(uint64_t fh, uint64_t owner, uint64_t start, uint64_t end) {
  std::lock_guard<std::mutex> lk(mu_);
  Cut c;
  auto it = held_.find(fh);
  if (it == held_.end()) return c;
  auto& v = it->second;
  for (size_t i = 0; i < v.size();) {
    const HeldLock l = v[i];
    if (l.owner != owner || l.end <= start || l.start >= end) {
      i++;
      continue;
    }
    c.removed.push_back(l);
    if (l.start < start) c.kept.push_back({owner, l.start, start, l.exclusive});
    if (l.end > end) c.kept.push_back({owner, end, l.end, l.exclusive});
    v.erase(v.begin() + long(i));
  }
  return c;
}

void ByteLocks::add(uint64_t fh, const HeldLock& l) {
  std::lock_guard<std::mutex> lk(mu_);
  held_[fh].push_back(l);
}

bool ByteLocks::holds(uint64_t fh, uint64_t owner, uint64_t start, uint64_t end) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = held_.find(fh);
  if (it == held_.end()) return false;
  for (const auto& l : it->second)
    if (l.owner == owner && l.end > start && l.start < end) return true;
  return false;
}

std::vector<HeldLock> ByteLocks::of(uint64_t fh) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = held_.find(fh);
  return it == held_.end() ? std::vector<HeldLock>{} : it->second;
}

void ByteLocks::forget(uint64_t fh) {
  std::lock_guard<std::mutex> lk(mu_);
  held_.erase(fh);
}

size_t ByteLocks::count() const {
  std::lock_guard<std::mutex> lk(mu_);
  size_t n = 0;
  for (const auto& [fh, v] : held_) n += v.size();
  return n;
}

}  // namespace sd::fuse
