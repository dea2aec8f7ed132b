#include "runtime/handle_closer.h"

namespace sd::runtime {

HandleCloser::HandleCloser(size_t max_pending) : max_pending_(max_pending) {}

HandleCloser::~HandleCloser() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  queue_.clear();  // none when the thread ran; release inline otherwise
}

void HandleCloser::close(std::unique_ptr<vfs::Handle> h) {
  if (!h) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!stopping_ && queue_.size() < max_pending_) {
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
      queue_.push_back(std::move(h));
      cv_.notify_one();
      return;
    }
  }
  h.reset();  // queue full (or shutting down): the caller waits, as without this class
}

void HandleCloser::drain() {
  std::unique_lock<std::mutex> lk(mu_);
  idle_cv_.wait(lk, [this] { return (queue_.empty() && !busy_) || !thread_.joinable(); });
}

size_t HandleCloser::pending() const {
  std::lock_guard<std::mutex> lk(mu_);
  return queue_.size() + (busy_ ? 1 : 0);
}

void HandleCloser::run() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    auto h = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lk.unlock();
    h.reset();
    lk.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace sd::runtime
