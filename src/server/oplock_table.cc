#include "server/oplock_table.h"

#include "smb2/constants.h"

namespace sd::server {

namespace {
bool exclusiveLevel(uint8_t l) { return l == smb2::kOplockLevelExclusive || l == smb2::kOplockLevelBatch; }
void runAll(std::vector<OplockTable::Resume>& v) {
  for (auto& r : v) r();
}
}  // namespace

OplockTable::~OplockTable() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void OplockTable::setBreakTimeout(std::chrono::milliseconds t) {
  std::lock_guard<std::mutex> lk(mu_);
  timeout_ = t;
}

bool OplockTable::breakForOpen(uint64_t file_key, OpenKind kind, Resume resume) {
  const bool overwrite = kind == OpenKind::kOverwrite;
  std::vector<std::pair<Notify, uint8_t>> notices;
  bool wait = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto [b, e] = by_file_.equal_range(file_key);
    for (auto it = b; it != e;) {
      Holder& h = holders_[it->second];
      if (h.breaking) {
        wait = true;
      } else if (kind == OpenKind::kSharingConflict ? h.level == smb2::kOplockLevelBatch
                                                     : exclusiveLevel(h.level)) {
        h.breaking = true;
        h.break_to = overwrite ? smb2::kOplockLevelNone : smb2::kOplockLevelII;
        h.deadline = std::chrono::steady_clock::now() + timeout_;
        notices.emplace_back(h.notify, h.break_to);
        wait = true;
      } else if (h.level == smb2::kOplockLevelII && overwrite) {
        notices.emplace_back(h.notify, smb2::kOplockLevelNone);
        uint64_t id = it->second;
        ++it;
        eraseLocked(holders_.find(id));
        continue;
      }
      ++it;
    }
    if (wait && resume) {
      waiters_.emplace(file_key, std::move(resume));
      if (!timer_.joinable()) timer_ = std::thread([this] { timerLoop(); });
    }
  }
  cv_.notify_all();
  for (auto& [notify, level] : notices)
    if (notify) notify(level);
  return wait;
}

uint8_t OplockTable::grant(uint64_t file_key, uint64_t open_id, uint8_t requested, bool only_open,
                           Notify notify) {
  if (requested != smb2::kOplockLevelII && !exclusiveLevel(requested)) return smb2::kOplockLevelNone;
  std::lock_guard<std::mutex> lk(mu_);
  bool others = false;
  auto [b, e] = by_file_.equal_range(file_key);
  for (auto it = b; it != e; ++it) {
    const Holder& h = holders_[it->second];
    if (h.breaking || exclusiveLevel(h.level)) return smb2::kOplockLevelNone;
    others = true;
  }
  uint8_t level = exclusiveLevel(requested) && only_open && !others ? requested : smb2::kOplockLevelII;
  Holder h;
  h.file_key = file_key;
  h.level = level;
  h.notify = std::move(notify);
  holders_[open_id] = std::move(h);
  by_file_.emplace(file_key, open_id);
  return level;
}

void OplockTable::breakLevelII(uint64_t file_key) {
  std::vector<Notify> notices;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto [b, e] = by_file_.equal_range(file_key);
    for (auto it = b; it != e;) {
      auto h = holders_.find(it->second);
      if (h != holders_.end() && h->second.level == smb2::kOplockLevelII && !h->second.breaking) {
        notices.push_back(std::move(h->second.notify));
        ++it;
        eraseLocked(h);
      } else {
        ++it;
      }
    }
  }
  for (auto& n : notices)
    if (n) n(smb2::kOplockLevelNone);
}

std::vector<OplockTable::Resume> OplockTable::takeSettledLocked(uint64_t file_key) {
  auto [b, e] = by_file_.equal_range(file_key);
  for (auto it = b; it != e; ++it)
    if (holders_[it->second].breaking) return {};
  std::vector<Resume> out;
  auto [wb, we] = waiters_.equal_range(file_key);
  for (auto it = wb; it != we; ++it) out.push_back(std::move(it->second));
  waiters_.erase(wb, we);
  return out;
}

std::map<uint64_t, OplockTable::Holder>::iterator OplockTable::eraseLocked(
    std::map<uint64_t, Holder>::iterator h) {
  auto [b, e] = by_file_.equal_range(h->second.file_key);
  for (auto it = b; it != e; ++it)
    if (it->second == h->first) {
      by_file_.erase(it);
      break;
    }
  return holders_.erase(h);
}

Result<uint8_t> OplockTable::acknowledge(uint64_t open_id, uint8_t level) {
  std::vector<Resume> resume;
  bool too_much;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto h = holders_.find(open_id);
    if (h == holders_.end() || !h->second.breaking)
      return err(NtStatus::kInvalidOplockProtocol, "no oplock break pending");
    uint64_t file_key = h->second.file_key;
    // The acknowledged level is the break's or none; anything else ends the oplock all the
    // same (MS-SMB2 3.3.5.22.1).
    too_much = level != smb2::kOplockLevelNone && level != h->second.break_to;
    if (too_much || level == smb2::kOplockLevelNone) {
      eraseLocked(h);
    } else {
      h->second.level = level;
      h->second.breaking = false;
    }
    resume = takeSettledLocked(file_key);
  }
  runAll(resume);
  if (too_much) return err(NtStatus::kInvalidOplockProtocol, "acknowledged more than the break allows");
  return level;
}

void OplockTable::release(uint64_t open_id) {
  std::vector<Resume> resume;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto h = holders_.find(open_id);
    if (h == holders_.end()) return;
    uint64_t file_key = h->second.file_key;
    eraseLocked(h);
    resume = takeSettledLocked(file_key);
  }
  runAll(resume);
}

uint8_t OplockTable::levelOf(uint64_t open_id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto h = holders_.find(open_id);
  return h == holders_.end() ? smb2::kOplockLevelNone : h->second.level;
}

void OplockTable::timerLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<uint64_t> settled_files;
    for (auto it = holders_.begin(); it != holders_.end();) {
      Holder& h = it->second;
      if (h.breaking && h.deadline <= now) {
        // No acknowledgment in time: the break completes as if acknowledged (MS-SMB2 3.3.2.1).
        settled_files.push_back(h.file_key);
        if (h.break_to == smb2::kOplockLevelNone) {
          it = eraseLocked(it);
          continue;
        }
        h.level = h.break_to;
        h.breaking = false;
      } else if (h.breaking && h.deadline < next) {
        next = h.deadline;
      }
      ++it;
    }
    std::vector<Resume> resume;
    for (uint64_t f : settled_files)
      for (auto& r : takeSettledLocked(f)) resume.push_back(std::move(r));
    if (!resume.empty()) {
      lk.unlock();
      runAll(resume);
      lk.lock();
      continue;
    }
    cv_.wait_until(lk, next);
  }
}

}  // namespace sd::server
