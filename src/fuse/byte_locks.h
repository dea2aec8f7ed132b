// POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK) through the mount as SMB byte-range
// locks (MS-SMB2 3.2.4.19), as cifs.ko maps them: each lock is taken on the server on the SMB
// handle of the file descriptor it was set through. POSIX locks merge, split and convert;
// SMB locks are unlocked only whole, so the mount remembers which ranges each lock owner
// (process) holds on each handle and unlocks and re-locks pieces as POSIX asks. This file
// keeps that record (pure state, one mutex); fs_ops.cc sends the LOCKs it asks for.
// Durable handles keep their locks over a reconnect; a handle opened again by name gets them
// again (Fs::reconnect).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace sd::fuse {

// One range [start, end) held by `owner` (FUSE's lock_owner) on a handle.
struct HeldLock {
  uint64_t owner = 0;
  uint64_t start = 0, end = 0;
  bool exclusive = false;
  uint64_t length() const { return end - start; }
};

class ByteLocks {
 public:
  // The locks of `owner` on handle `fh` that overlap [start, end), taken out of the record
  // (`removed`: unlock each on the server), and the parts of them outside the range (`kept`:
  // lock each again, then add it back).
  struct Cut {
    std::vector<HeldLock> removed, kept;
  };
  Cut cut(uint64_t fh, uint64_t owner, uint64_t start, uint64_t end);
  void add(uint64_t fh, const HeldLock& l);
  // Whether `owner` holds a lock on `fh` overlapping [start, end) (F_GETLK does not report
  // the caller's own locks).
  bool holds(uint64_t fh, uint64_t owner, uint64_t start, uint64_t end) const;
  // Every lock held on `fh` (to take again after the handle was opened again).
  std::vector<HeldLock> of(uint64_t fh) const;
  void forget(uint64_t fh);  // the handle is closed: the server dropped its locks
  size_t count() const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::vector<HeldLock>> held_;
};

}  // namespace sd::fuse
