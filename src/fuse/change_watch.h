// Keeps the kernel's view of the mounted share fresh from the server's change notifications:
// one CHANGE_NOTIFY with WATCH_TREE on the share's root (MS-SMB2 3.2.4.14), re-issued after each
// answer. Every change names a path; its directory entry and the cached attributes of it and
// of its directory are dropped in the kernel (fuse_lowlevel_notify_inval_entry/_inode), so a
// lookup, stat or ls after another client's change asks the server instead of trusting the
// attribute cache until actimeo. An overflow (STATUS_NOTIFY_ENUM_DIR) drops every known entry.
// A server without CHANGE_NOTIFY (ksmbd) leaves the mount as it was: actimeo alone.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fscc/notify_info.h"

namespace sd::fuse {

struct Fs;

class ChangeWatch {
 public:
  explicit ChangeWatch(Fs& fs) : fs_(fs) {}
  ~ChangeWatch() { stop(); }
  void start();
  // Cancels the outstanding notification, closes the root handle and joins the thread.
  void stop();
  // For the status report.
  std::string statusText() const;

  // What one change asks of the kernel (pure; tested): the entries to drop, as (directory
  // path, name), and the paths whose attributes to drop.
  struct Invalidation {
    std::vector<std::pair<std::string, std::string>> entries;
    std::vector<std::string> attributes;
  };
  static Invalidation invalidationFor(const fscc::NotifyEntry& change);

 private:
  void loop();
  bool waitFor(int ms);  // false once stopping
  void apply(const std::vector<fscc::NotifyEntry>& changes);
  void dropEntry(const std::string& dir, const std::string& name);
  void dropEverything();

  Fs& fs_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<uint64_t> answers_{0}, changes_{0}, overflows_{0};
  std::atomic<bool> active_{false}, unsupported_{false};
};

}  // namespace sd::fuse
