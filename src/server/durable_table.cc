#include "server/durable_table.h"

#include "base/log.h"
#include "server/session.h"

namespace sd::server {

DurableTable::~DurableTable() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (scavenger_.joinable()) scavenger_.join();
}

void DurableTable::park(const std::shared_ptr<Open>& open) {
  auto timeout = std::chrono::milliseconds(open->durable ? open->durable->timeout_ms : 0);
  {
    std::lock_guard<std::mutex> lk(mu_);
    kept_[open->persistent_id] = Entry{open, std::chrono::steady_clock::now() + timeout};
    if (!scavenger_.joinable()) scavenger_ = std::thread([this] { scavenge(); });
  }
  cv_.notify_all();
  LOG_DEBUG("durable open %llu (%s) kept for %lld ms", (unsigned long long)open->persistent_id,
            open->path().c_str(), (long long)timeout.count());
}

Result<std::shared_ptr<Open>> DurableTable::claim(uint64_t persistent_id,
                                                  const std::function<Status(const Open&)>& check) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = kept_.find(persistent_id);
  if (it == kept_.end()) return err(NtStatus::kObjectNameNotFound, "no durable open kept with this id");
  SD_CHECK(check(*it->second.open));
  auto open = std::move(it->second.open);
  kept_.erase(it);
  return open;
}

bool DurableTable::waitKept(uint64_t persistent_id, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return kept_.count(persistent_id) != 0 || stop_; }) && !stop_;
}

void DurableTable::purge(uint64_t persistent_id) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = kept_.find(persistent_id);
    if (it == kept_.end()) return;
    it->second.deadline = std::chrono::steady_clock::time_point::min();
    it->second.purged = true;
  }
  cv_.notify_all();
}

size_t DurableTable::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return kept_.size();
}

void DurableTable::scavenge() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    std::vector<Entry> due;
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto it = kept_.begin(); it != kept_.end();) {
      if (it->second.deadline <= now) {
        due.push_back(std::move(it->second));
        it = kept_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      lk.unlock();
      for (const auto& e : due) {
        LOG_INFO("durable open %llu (%s) closed: %s", (unsigned long long)e.open->persistent_id,
                 e.open->path().c_str(), e.purged ? "its oplock or lease broke" : "not reconnected in time");
        close_(e.open);
      }
      lk.lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max()) cv_.wait(lk);
    else cv_.wait_until(lk, next);
  }
}

}  // namespace sd::server
