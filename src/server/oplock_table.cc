#include "server/oplock_table.h"

#include <optional>

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

uint32_t OplockTable::leaseBreakTo(uint32_t state, int kind) {
  using smb2::kLeaseHandle, smb2::kLeaseWrite;
  switch (kind) {
    case int(OpenKind::kOpen): return state & ~kLeaseWrite;
    case int(OpenKind::kSharingConflict): return state & ~kLeaseHandle;
    default: return 0;  // an overwrite, or a write through another open
  }
}

bool OplockTable::breakLeaseLocked(Holder& h, uint32_t to, std::vector<std::function<void()>>& out) {
  if (h.breaking) {
    // A second break while one awaits its acknowledgment sends nothing now: the
    // acknowledgment continues towards what both leave (MS-SMB2 3.3.4.7).
    h.break_required &= to;
    return true;
  }
  if (to == h.state) return false;
  // Giving up write or handle caching needs the client's acknowledgment (MS-SMB2 3.3.4.7).
  bool ack = h.state & (smb2::kLeaseWrite | smb2::kLeaseHandle);
  if (h.v2) h.epoch++;
  if (ack) h.break_required = to;
  sendLeaseBreakLocked(h, to, ack, out);
  return ack;
}

void OplockTable::sendLeaseBreakLocked(Holder& h, uint32_t to, bool ack, std::vector<std::function<void()>>& out) {
  uint32_t from = h.state;
  if (ack) {
    h.breaking = true;
    h.break_to_state = to;
    h.deadline = std::chrono::steady_clock::now() + timeout_;
  } else {
    h.state = to;
  }
  if (h.lease_notify) out.push_back([n = h.lease_notify, from, to, e = h.epoch, ack] { n(from, to, e, ack); });
}

void OplockTable::continueBreakLocked(Holder& h, std::vector<std::function<void()>>& out) {
  if (h.breaking || !(h.state & ~h.break_required)) return;
  bool ack = h.state & (smb2::kLeaseWrite | smb2::kLeaseHandle);
  sendLeaseBreakLocked(h, h.break_required | (ack ? smb2::kLeaseRead : 0), ack, out);
}

bool OplockTable::breakForOpen(uint64_t file_key, OpenKind kind, Resume resume, const LeaseId* own) {
  const bool overwrite = kind == OpenKind::kOverwrite;
  std::vector<std::function<void()>> notices;
  bool wait = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto [b, e] = by_file_.equal_range(file_key);
    for (auto it = b; it != e;) {
      Holder& h = holders_[it->second];
      if (h.is_lease) {
        auto mine = own ? leases_.find(*own) : leases_.end();
        if (mine == leases_.end() || mine->second != it->second)
          wait |= breakLeaseLocked(h, leaseBreakTo(h.state, int(kind)), notices);
      } else if (h.breaking) {
        wait = true;
      } else if (kind == OpenKind::kSharingConflict ? h.level == smb2::kOplockLevelBatch
                                                     : exclusiveLevel(h.level)) {
        h.breaking = true;
        h.break_to = overwrite ? smb2::kOplockLevelNone : smb2::kOplockLevelII;
        h.deadline = std::chrono::steady_clock::now() + timeout_;
        notices.push_back([n = h.notify, l = h.break_to] { n(l); });
        wait = true;
      } else if (h.level == smb2::kOplockLevelII && overwrite) {
        notices.push_back([n = h.notify] { n(smb2::kOplockLevelNone); });
        uint64_t id = it->second;
        ++it;
        eraseLocked(holders_.find(id));
        continue;
      }
      ++it;
    }
    if (wait && resume) waiters_.emplace(file_key, std::move(resume));
    if (wait && !timer_.joinable()) timer_ = std::thread([this] { timerLoop(); });
  }
  cv_.notify_all();
  for (auto& n : notices) n();
  return wait;
}

bool OplockTable::breakHandleCaching(const std::vector<uint64_t>& file_keys, Resume resume, const LeaseId* own) {
  std::vector<std::function<void()>> notices;
  std::optional<uint64_t> wait_on;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto mine = own ? leases_.find(*own) : leases_.end();
    for (uint64_t key : file_keys) {
      auto [b, e] = by_file_.equal_range(key);
      for (auto it = b; it != e; ++it) {
        Holder& h = holders_[it->second];
        if (!h.is_lease || (mine != leases_.end() && mine->second == it->second)) continue;
        if (breakLeaseLocked(h, h.state & ~smb2::kLeaseHandle, notices) && !wait_on) wait_on = key;
      }
    }
    // Waiting on one file at a time: run again, the request finds the next one still pending.
    if (wait_on && resume) waiters_.emplace(*wait_on, std::move(resume));
    if (wait_on && !timer_.joinable()) timer_ = std::thread([this] { timerLoop(); });
  }
  cv_.notify_all();
  for (auto& n : notices) n();
  return wait_on.has_value();
}

void OplockTable::breakForLocalChange(uint64_t file_key) {
  (void)breakForOpen(file_key, OpenKind::kOverwrite, nullptr);
}

bool OplockTable::caches(uint64_t file_key) const {
  std::lock_guard<std::mutex> lk(mu_);
  return by_file_.count(file_key) != 0;
}

uint8_t OplockTable::grant(uint64_t file_key, uint64_t open_id, uint8_t requested, bool only_open,
                           Notify notify) {
  if (requested != smb2::kOplockLevelII && !exclusiveLevel(requested)) return smb2::kOplockLevelNone;
  std::lock_guard<std::mutex> lk(mu_);
  bool others = false;
  auto [b, e] = by_file_.equal_range(file_key);
  for (auto it = b; it != e; ++it) {
    const Holder& h = holders_[it->second];
    // Beside a lease that caches handles no oplock is granted (smbtorture smb2.lease.oplock).
    if (h.breaking || exclusiveLevel(h.level) || (h.state & (smb2::kLeaseWrite | smb2::kLeaseHandle)))
      return smb2::kOplockLevelNone;
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

void OplockTable::breakLevelII(uint64_t file_key, const LeaseId* own) {
  std::vector<std::function<void()>> notices;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto mine = own ? leases_.find(*own) : leases_.end();
    auto [b, e] = by_file_.equal_range(file_key);
    for (auto it = b; it != e;) {
      auto h = holders_.find(it->second);
      if (h == holders_.end() || (h->second.breaking && !h->second.is_lease)) {
        ++it;
        continue;
      }
      if (h->second.is_lease) {
        if ((mine == leases_.end() || mine->second != h->first) && (h->second.state & smb2::kLeaseRead))
          breakLeaseLocked(h->second, leaseBreakTo(h->second.state, -1), notices);
        ++it;
      } else if (h->second.level == smb2::kOplockLevelII) {
        notices.push_back([n = std::move(h->second.notify)] { n(smb2::kOplockLevelNone); });
        ++it;
        eraseLocked(h);
      } else {
        ++it;
      }
    }
    if (!notices.empty() && !timer_.joinable()) timer_ = std::thread([this] { timerLoop(); });
  }
  cv_.notify_all();
  for (auto& n : notices) n();
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
  if (h->second.directory) directory_leases_.fetch_sub(1, std::memory_order_relaxed);
  if (h->second.is_lease)
    for (auto l = leases_.begin(); l != leases_.end(); ++l)
      if (l->second == h->first) {
        leases_.erase(l);
        break;
      }
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

Status OplockTable::checkLeaseKey(uint64_t file_key, const LeaseId& id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto l = leases_.find(id);
  if (l != leases_.end() && holders_.at(l->second).file_key != file_key)
    return err(NtStatus::kInvalidParameter, "lease key already used for another file");
  return ok();
}

Result<OplockTable::LeaseGrant> OplockTable::grantLease(uint64_t file_key, const LeaseId& id, uint32_t requested,
                                                        bool v2, uint16_t epoch, bool others, LeaseNotify notify) {
  return grantLeaseImpl(file_key, id, requested, v2, epoch, others, std::move(notify), false);
}

Result<OplockTable::LeaseGrant> OplockTable::grantDirectoryLease(uint64_t dir_key, const LeaseId& id,
                                                                 uint32_t requested, uint16_t epoch,
                                                                 LeaseNotify notify) {
  return grantLeaseImpl(dir_key, id, requested & ~smb2::kLeaseWrite, true, epoch, false, std::move(notify), true);
}

void OplockTable::breakForDirectoryChange(uint64_t dir_key, const LeaseId* parent) {
  std::vector<std::function<void()>> notices;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto mine = parent ? leases_.find(*parent) : leases_.end();
    auto [b, e] = by_file_.equal_range(dir_key);
    for (auto it = b; it != e; ++it) {
      Holder& h = holders_[it->second];
      if (!h.is_lease || !h.directory || (mine != leases_.end() && mine->second == it->second)) continue;
      breakLeaseLocked(h, 0, notices);
    }
    if (!notices.empty() && !timer_.joinable()) timer_ = std::thread([this] { timerLoop(); });
  }
  cv_.notify_all();
  for (auto& n : notices) n();
}

Result<OplockTable::LeaseGrant> OplockTable::grantLeaseImpl(uint64_t file_key, const LeaseId& id, uint32_t requested,
                                                            bool v2, uint16_t epoch, bool others, LeaseNotify notify,
                                                            bool directory) {
  using smb2::kLeaseRead, smb2::kLeaseWrite, smb2::kLeaseHandle;
  // Only R, RH, RW and RWH are lease states (MS-SMB2 2.2.13.2.8).
  if (!(requested & kLeaseRead)) requested = 0;
  requested &= kLeaseRead | kLeaseWrite | kLeaseHandle;
  std::lock_guard<std::mutex> lk(mu_);
  auto l = leases_.find(id);
  if (l != leases_.end() && holders_[l->second].file_key != file_key)
    return err(NtStatus::kInvalidParameter, "lease key already used for another file");
  // What the others' caching leaves (smbtorture smb2.lease.break, .oplock): no W beside other
  // opens or other caching, no H beside an oplock, nothing beside a batch or exclusive oplock,
  // a W lease of another key or a break in progress.
  uint32_t allowed = requested;
  if (others) allowed &= ~kLeaseWrite;
  auto [b, e] = by_file_.equal_range(file_key);
  for (auto it = b; it != e; ++it) {
    if (l != leases_.end() && it->second == l->second) continue;
    const Holder& h = holders_[it->second];
    if (h.breaking || exclusiveLevel(h.level) || (h.state & kLeaseWrite)) allowed = 0;
    if (!h.is_lease) allowed &= ~kLeaseHandle;
    allowed &= ~kLeaseWrite;
  }
  if (l == leases_.end()) {
    Holder h;
    h.file_key = file_key;
    h.is_lease = true;
    h.v2 = v2;
    h.state = allowed;
    h.epoch = v2 ? uint16_t(epoch + 1) : 0;
    h.directory = directory;
    if (directory) directory_leases_.fetch_add(1, std::memory_order_relaxed);
    uint64_t hid = next_lease_holder_++;
    holders_[hid] = std::move(h);
    by_file_.emplace(file_key, hid);
    l = leases_.emplace(id, hid).first;
  }
  Holder& h = holders_[l->second];
  h.opens++;
  h.lease_notify = std::move(notify);  // breaks go to the connection of its latest open
  // An existing lease changes only to a superset of its state that can be granted whole (an
  // upgrade, never a downgrade or a sidegrade: smbtorture smb2.lease.upgrade*), and a v2
  // lease's epoch with it.
  if (h.opens > 1 && !h.breaking && requested != h.state && (requested & h.state) == h.state &&
      allowed == requested) {
    if (h.v2) h.epoch++;
    h.state = requested;
  }
  return LeaseGrant{h.state, h.epoch, h.breaking, h.v2};
}

void OplockTable::releaseLeaseOpen(const LeaseId& id) {
  std::vector<Resume> resume;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto l = leases_.find(id);
    if (l == leases_.end()) return;
    auto h = holders_.find(l->second);
    if (--h->second.opens > 0) return;
    uint64_t file_key = h->second.file_key;
    eraseLocked(h);
    resume = takeSettledLocked(file_key);
  }
  runAll(resume);
}

Result<uint32_t> OplockTable::acknowledgeLease(const LeaseId& id, uint32_t state) {
  std::vector<Resume> resume;
  std::vector<std::function<void()>> notices;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto l = leases_.find(id);
    if (l == leases_.end()) return err(NtStatus::kObjectNameNotFound, "no such lease");
    Holder& h = holders_[l->second];
    if (!h.breaking) return err(NtStatus::kUnsuccessful, "no lease break pending");
    if (state & ~h.break_to_state) return err(NtStatus::kRequestNotAccepted, "more than the break leaves");
    h.state = state;
    h.breaking = false;
    continueBreakLocked(h, notices);
    resume = takeSettledLocked(h.file_key);
  }
  for (auto& n : notices) n();
  runAll(resume);
  return state;
}

uint32_t OplockTable::leaseState(const LeaseId& id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto l = leases_.find(id);
  return l == leases_.end() ? 0 : holders_.at(l->second).state;
}

std::optional<OplockTable::LeaseGrant> OplockTable::leaseOf(const LeaseId& id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto l = leases_.find(id);
  if (l == leases_.end()) return std::nullopt;
  const Holder& h = holders_.at(l->second);
  return LeaseGrant{h.state, h.epoch, h.breaking, h.v2};
}

void OplockTable::setNotify(uint64_t open_id, Notify notify) {
  std::lock_guard<std::mutex> lk(mu_);
  auto h = holders_.find(open_id);
  if (h != holders_.end()) h->second.notify = std::move(notify);
}

void OplockTable::setLeaseNotify(const LeaseId& id, LeaseNotify notify) {
  std::lock_guard<std::mutex> lk(mu_);
  auto l = leases_.find(id);
  if (l != leases_.end()) holders_.at(l->second).lease_notify = std::move(notify);
}

bool OplockTable::breakPending(uint64_t open_id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto h = holders_.find(open_id);
  return h != holders_.end() && h->second.breaking;
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
        // No acknowledgment in time: an oplock break completes as if acknowledged (MS-SMB2
        // 3.3.2.1); a lease loses all caching, as Windows does (smbtorture smb2.lease.timeout).
        settled_files.push_back(h.file_key);
        if (h.is_lease) {
          h.state = 0;
          h.breaking = false;
          ++it;
          continue;
        }
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
