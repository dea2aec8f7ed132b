#include "server/lock_table.h"

namespace sd::server {

bool LockTable::overlaps(const ByteRange& a, uint64_t off, uint64_t len) {
  // Zero-length ranges conflict with nothing (MS-FSA 2.1.4.10).
  if (a.length == 0 || len == 0) return false;
  uint64_t a_end = a.offset + a.length - 1, b_end = off + len - 1;
  return a.offset <= b_end && off <= a_end;
}

Status LockTable::lock(const ByteRange& r) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& v = by_file_[r.file_key];
  for (const auto& l : v) {
    if (!overlaps(l, r.offset, r.length)) continue;
    if (!r.exclusive && (!l.exclusive || l.open_id == r.open_id)) continue;  // stacking
    return err(NtStatus::kLockNotGranted, "conflicting lock");
  }
  v.push_back(r);
  return ok();
}

Status LockTable::unlock(const ByteRange& r) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_file_.find(r.file_key);
  if (it != by_file_.end()) {
    auto& v = it->second;
    for (size_t i = 0; i < v.size(); i++) {
      if (v[i].open_id == r.open_id && v[i].offset == r.offset && v[i].length == r.length) {
        v.erase(v.begin() + long(i));
        if (v.empty()) by_file_.erase(it);
        return ok();
      }
    }
  }
  return err(NtStatus::kRangeNotLocked, "no such lock");
}

void LockTable::releaseOpen(uint64_t file_key, uint64_t open_id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_file_.find(file_key);
  if (it == by_file_.end()) return;
  auto& v = it->second;
  for (size_t i = v.size(); i-- > 0;)
    if (v[i].open_id == open_id) v.erase(v.begin() + long(i));
  if (v.empty()) by_file_.erase(it);
}

bool LockTable::ioAllowed(uint64_t file_key, uint64_t open_id, uint64_t offset, uint64_t length,
                          bool write) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_file_.find(file_key);
  if (it == by_file_.end()) return true;
  for (const auto& l : it->second) {
    if (!overlaps(l, offset, length)) continue;
    if (l.exclusive && l.open_id != open_id) return false;
    if (!l.exclusive && write) return false;  // shared locks block every writer
  }
  return true;
}

}  // namespace sd::server
