// Oplocks (MS-SMB2 3.3.1.10 Open.OplockLevel / OplockState): which open of a file holds which
// level, the breaks a new open causes (MS-SMB2 3.3.4.6 with MS-FSA 2.1.5.17's rules, whole files),
// acknowledgments (3.3.5.22.1), and the CREATEs that wait for one. A waiting CREATE never blocks a
// thread: it leaves a `Resume` that runs once no break of its file is pending any more, on the
// thread that settled it (an acknowledgment, a close, or the table's timer when the break timed
// out). Any thread; callbacks run without the table's lock.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.h"

namespace sd::server {

class OplockTable {
 public:
  using Notify = std::function<void(uint8_t new_level)>;  // sends the break notification
  using Resume = std::function<void()>;

  OplockTable() = default;
  ~OplockTable();  // stops the timer thread
  OplockTable(const OplockTable&) = delete;
  OplockTable& operator=(const OplockTable&) = delete;

  // How long a break waits for its acknowledgment (MS-SMB2 3.3.2.1: 35 s by default).
  void setBreakTimeout(std::chrono::milliseconds t);

  // What a new open of a file does to the oplocks others hold.
  enum class OpenKind {
    kOpen,       // batch and exclusive oplocks break to level II
    kOverwrite,  // every oplock breaks to none (the data is replaced)
    kSharingConflict,  // the open would fail on share modes: only batch oplocks break (to level
                       // II), so that their holder may close the file (MS-FSA 2.1.5.1.2.1)
  };
  // Before a new open of `file_key` touches the file: sends the breaks it causes. Returns true
  // when the open must wait for an acknowledgment: `resume` then runs once, later (a null
  // `resume`: the open goes on without waiting); false: go on now.
  bool breakForOpen(uint64_t file_key, OpenKind kind, Resume resume);
  // After the open is admitted: the level granted for `requested`. Batch and exclusive only to
  // the file's only open (`only_open`), level II when no one holds more; never while a break
  // of the file is pending.
  uint8_t grant(uint64_t file_key, uint64_t open_id, uint8_t requested, bool only_open, Notify notify);
  // Every level II holder of the file loses it, the writer's own included (a write, a lock, a
  // new end of file): notified, no acknowledgment (MS-SMB2 2.2.24.1).
  void breakLevelII(uint64_t file_key);
  // An OPLOCK_BREAK acknowledgment: the level the open now holds, or
  // STATUS_INVALID_OPLOCK_PROTOCOL (no break pending on it, or more than the break allows).
  Result<uint8_t> acknowledge(uint64_t open_id, uint8_t level);
  // The open is gone: its oplock too; waiters it held up resume.
  void release(uint64_t open_id);
  uint8_t levelOf(uint64_t open_id) const;

 private:
  struct Holder {
    uint64_t file_key = 0;
    uint8_t level = 0;
    bool breaking = false;
    uint8_t break_to = 0;
    std::chrono::steady_clock::time_point deadline;
    Notify notify;
  };
  // Waiters of files with no break pending, taken out under the lock (run them after).
  std::vector<Resume> takeSettledLocked(uint64_t file_key);
  // Removes a holder from both maps; the next holder.
  std::map<uint64_t, Holder>::iterator eraseLocked(std::map<uint64_t, Holder>::iterator h);
  void timerLoop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::milliseconds timeout_{35000};
  std::map<uint64_t, Holder> holders_;               // by open id
  std::multimap<uint64_t, uint64_t> by_file_;        // file key -> open id
  std::multimap<uint64_t, Resume> waiters_;          // file key -> waiting CREATE
  std::thread timer_;
  bool stop_ = false;
};

}  // namespace sd::server
