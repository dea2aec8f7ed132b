#include "server/lock_table.h"

namespace sd::server {

bool LockTable::overlaps(const ByteRange& a, uint64_t off, uint64_t len) {
  // Zero-length ranges conflict with nothing (MS-FSA 2.1.4.10).
  if (a.length == 0 || len == 0) return false;
  uint64_t a_end = a.offset + a.length - 1, b_end = off + len - 1;
  return a.offset <= b_end && off <= a_end;
}

// Lock against lock (MS-FSA 2.1.5.7): a zero-length lock at X conflicts with a lock whose range
// holds X past its first byte (Windows: {10,0} conflicts with {9,2} but not with {10,2} or
// {9,1}); two zero-length locks never conflict.
bool LockTable::locksOverlap(const ByteRange& a, const ByteRange& b) {
  if (a.length == 0 && b.length == 0) return false;
  if (a.length == 0) return b.offset < a.offset && a.offset - b.offset < b.length;
  if (b.length == 0) return a.offset < b.offset && b.offset - a.offset < a.length;
  return overlaps(a, b.offset, b.length);
}

bool LockTable::conflictsLocked(const ByteRange& r) const {
  auto it = by_file_.find(r.file_key);
  if (it == by_file_.end()) return false;
  for (const auto& l : it->second) {
    if (!locksOverlap(l, r)) continue;
    if (!r.exclusive && (!l.exclusive || l.open_id == r.open_id)) continue;  // stacking
    return true;
  }
  return false;
}

Status LockTable::roomLocked(const ByteRange& r) const {
  uint32_t max = max_per_open_.load(std::memory_order_relaxed), n = 0;
  auto it = by_file_.find(r.file_key);
  if (it != by_file_.end())
    for (const auto& l : it->second) n += l.open_id == r.open_id;
  for (const auto& w : waiters_) n += w.range.open_id == r.open_id;
  if (n >= max) return err(NtStatus::kInsufficientResources, "max locks per open");
  return ok();
}

Status LockTable::lock(const ByteRange& r) {
  std::lock_guard<std::mutex> lk(mu_);
  SD_CHECK(roomLocked(r));
  if (conflictsLocked(r)) return err(NtStatus::kLockNotGranted, "conflicting lock");
  by_file_[r.file_key].push_back(r);
  return ok();
}

Result<uint64_t> LockTable::lockOrWait(const ByteRange& r, Done done) {
  std::lock_guard<std::mutex> lk(mu_);
  SD_CHECK(roomLocked(r));
  if (!conflictsLocked(r)) {
    by_file_[r.file_key].push_back(r);
    return uint64_t(0);
  }
  uint64_t id = next_waiter_++;
  waiters_.push_back({id, r, std::move(done)});
  return id;
}

std::vector<LockTable::Done> LockTable::grantWaitersLocked(uint64_t file_key) {
  std::vector<Done> out;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->range.file_key == file_key && !conflictsLocked(it->range)) {
      by_file_[file_key].push_back(it->range);
      out.push_back(std::move(it->done));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

bool LockTable::cancel(uint64_t waiter_id, NtStatus status) {
  Done d;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->id == waiter_id) {
        d = std::move(it->done);
        waiters_.erase(it);
        break;
      }
    }
  }
  if (!d) return false;
  d(status);
  return true;
}

void LockTable::cancelOpen(uint64_t open_id, NtStatus status) {
  std::vector<Done> ds;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->range.open_id == open_id) {
        ds.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& d : ds) d(status);
}

Status LockTable::unlock(const ByteRange& r) {
  std::vector<Done> granted;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = by_file_.find(r.file_key);
    bool found = false;
    if (it != by_file_.end()) {
      // Stacked locks on one range: the kind `r` names goes first (SMB unlocks name exclusive:
      // MS-FSA 2.1.5.8, smbtorture smb2.lock.unlock), then the other, oldest first.
      auto& v = it->second;
      for (bool exclusive : {r.exclusive, !r.exclusive}) {
        for (size_t i = 0; !found && i < v.size(); i++) {
          if (v[i].open_id == r.open_id && v[i].offset == r.offset && v[i].length == r.length &&
              v[i].exclusive == exclusive) {
            v.erase(v.begin() + long(i));
            found = true;
          }
        }
      }
      if (v.empty()) by_file_.erase(it);
    }
    if (!found) return err(NtStatus::kRangeNotLocked, "no such lock");
    granted = grantWaitersLocked(r.file_key);
  }
  for (auto& d : granted) d(NtStatus::kSuccess);
  return ok();
}

void LockTable::releaseOpen(uint64_t file_key, uint64_t open_id) {
  cancelOpen(open_id, NtStatus::kRangeNotLocked);
  std::vector<Done> granted;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = by_file_.find(file_key);
    if (it == by_file_.end()) return;
    auto& v = it->second;
    for (size_t i = v.size(); i-- > 0;)
      if (v[i].open_id == open_id) v.erase(v.begin() + long(i));
    if (v.empty()) by_file_.erase(it);
    granted = grantWaitersLocked(file_key);
  }
  for (auto& d : granted) d(NtStatus::kSuccess);
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
