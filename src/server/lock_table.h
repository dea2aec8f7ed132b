// Byte-range locks across all opens of the server (MS-FSA 2.1.5.7 semantics, in memory).
// Thread-safe.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace sd::server {

struct ByteRange {
  uint64_t file_key = 0;
  uint64_t open_id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool exclusive = false;
};

class LockTable {
 public:
  using Done = std::function<void(NtStatus)>;

  // Past `max` ranges held or awaited by one open, lock and lockOrWait answer
  // STATUS_INSUFFICIENT_RESOURCES (`max locks per open`).
  void setMaxPerOpen(uint32_t max) { max_per_open_ = max; }
  Status lock(const ByteRange& r);
  // Removes one lock of r's open on exactly r's range: of r's kind if there is one (SMB unlocks
  // pass exclusive, so a stacked exclusive lock goes before shared ones), else of the other.
  Status unlock(const ByteRange& r);
  void releaseOpen(uint64_t file_key, uint64_t open_id);
  // A blocking lock (MS-SMB2 3.3.5.14.2): granted now, or queued until the ranges in its way are
  // released; `done` runs once, from whichever thread granted, cancelled or dropped it, with no
  // table lock held. Returns a waiter id (0 when granted at once, `done` then not called).
  Result<uint64_t> lockOrWait(const ByteRange& r, Done done);
  // Ends a waiter with `status` (STATUS_CANCELLED for CANCEL); false when it already finished.
  bool cancel(uint64_t waiter_id, NtStatus status);
  // Ends every waiter of an open (the open is closing).
  void cancelOpen(uint64_t open_id, NtStatus status);
  // I/O check (MS-FSA 2.1.4.10): may `open_id` read (write) [offset, offset+length)?
  bool ioAllowed(uint64_t file_key, uint64_t open_id, uint64_t offset, uint64_t length,
                 bool write) const;

 private:
  static bool overlaps(const ByteRange& a, uint64_t off, uint64_t len);
  static bool locksOverlap(const ByteRange& a, const ByteRange& b);
  bool conflictsLocked(const ByteRange& r) const;
  Status roomLocked(const ByteRange& r) const;
  std::atomic<uint32_t> max_per_open_{UINT32_MAX};
  // Grants queued waiters of `file_key` that no longer conflict; returns their callbacks.
  std::vector<Done> grantWaitersLocked(uint64_t file_key);
  struct Waiter {
    uint64_t id;
    ByteRange range;
    Done done;
  };
  std::list<Waiter> waiters_;
  uint64_t next_waiter_ = 1;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<ByteRange>> by_file_;
};

}  // namespace sd::server
