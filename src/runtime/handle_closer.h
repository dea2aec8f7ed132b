// Releases file handles on a background thread, so that a CLOSE answers without waiting for what
// the file system does on the last close of a file: ext4 starts writeback of a file that was
// truncated to 0 and rewritten (auto_da_alloc), which for a freshly written 1 GiB file blocks the
// closer for about 0.4 s here. ksmbd gets the same for free (a kernel thread's fput is deferred to
// a work queue). The SMB state of the open (share modes, locks, delete pending) is gone before
// the handle gets here; only the descriptor lives on. Thread-safe; the thread starts on first use
// (so that a daemon may fork after constructing it).
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "vfs/share.h"

namespace sd::runtime {

class HandleCloser {
 public:
  // At most `max_pending` handles wait; past that close() releases inline (back pressure).
  explicit HandleCloser(size_t max_pending = 256);
  // Releases everything still queued, then joins the thread.
  ~HandleCloser();
  HandleCloser(const HandleCloser&) = delete;
  HandleCloser& operator=(const HandleCloser&) = delete;

  void close(std::unique_ptr<vfs::Handle> h);
  // Returns once every handle queued before the call has been released.
  void drain();
  size_t pending() const;

 private:
  void run();
  const size_t max_pending_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::unique_ptr<vfs::Handle>> queue_;
  bool busy_ = false;  // the thread is releasing a handle taken off the queue
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sd::runtime
