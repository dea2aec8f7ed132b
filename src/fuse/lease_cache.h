// The mount's leases (cache=strict on a server that grants them; docs/ARCHITECTURE.md "Leases
// and data caching in the mount"): one lease key per inode, used by every open of that file;
// what the server granted and has not broken; the SMB opens under each key; and the handles
// of released files kept for the next open while the lease caches them (cifs.ko's deferred
// close, closetimeo). Pure state, no I/O: the caller sends the CREATEs, CLOSEs and
// acknowledgments this tells it to. Thread-safe (one mutex, never held across a call out).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fuse/inode_table.h"
#include "smb2/header.h"
#include "smb2/lease.h"

namespace sd::fuse {

class LeaseCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LeaseCache(std::chrono::seconds closetimeo = std::chrono::seconds(5)) : closetimeo_(closetimeo) {}

  // Before a CREATE of `ino`: its lease key (made on first use), and whether the lease held R
  // with at least one handle open all along until now (`covered`: pages the kernel cached
  // earlier are still right if R is still granted after the CREATE).
  struct Ticket {
    smb2::LeaseKey key{};
    bool covered = false;
  };
  Ticket prepareOpen(Ino ino);
  // The CREATE succeeded with `state` at `epoch`: recorded unless a break with a later epoch
  // was applied meanwhile; the handle is counted. Returns the lease's state now.
  uint32_t opened(Ino ino, uint32_t state, uint16_t epoch);
  // One handle under the lease is closed: when none is left the server has dropped the lease.
  void handleClosed(Ino ino);

  // Release of a handle of `ino` with `access`: kept (true) while the lease caches handles (H)
  // and closetimeo is not 0; the caller closes it otherwise.
  bool defer(Ino ino, const smb2::FileId& id, uint32_t access, Clock::time_point now);
  // A kept handle of `ino` with at least `access`, taken back (it stays counted), while the
  // lease still has H; `covered` as for prepareOpen.
  std::optional<smb2::FileId> takeDeferred(Ino ino, uint32_t access, bool* covered);
  // Every kept handle of `ino`, taken out (the caller closes each and calls handleClosed).
  std::vector<smb2::FileId> takeAllDeferred(Ino ino);
  // Kept handles whose closetimeo has passed, taken out; `next` gets the earliest time another
  // one is due (left alone if none is).
  std::vector<std::pair<Ino, smb2::FileId>> takeExpired(Clock::time_point now, Clock::time_point* next);

  // A LEASE_BREAK: the lease keeps `new_state & state`; every kept handle is to be closed (a
  // break means another client wants the file); the kernel's pages must go when R went.
  struct BreakEffect {
    std::optional<Ino> ino;  // none: a key this mount does not know
    bool drop_cache = false;
    std::vector<smb2::FileId> to_close;
  };
  BreakEffect applyBreak(const smb2::LeaseKey& key, uint32_t new_state, uint16_t new_epoch);
  bool hasHandles(Ino ino) const;

  // After a reconnect the old session's leases and handles are gone: every lease starts from
  // nothing. Returns the inodes whose cached pages must be dropped.
  std::vector<Ino> forgetAll();
  std::vector<Ino> inos() const;

  struct Counts {
    size_t held = 0, deferred = 0;
    uint64_t reused = 0;
  };
  Counts counts() const;

 private:
  struct Deferred {
    smb2::FileId id;
    uint32_t access = 0;
    Clock::time_point since;
  };
  struct Lease {
    smb2::LeaseKey key{};
    uint32_t state = 0;     // what the server granted and has not broken
    uint16_t epoch = 0;     // lease v2 epoch of `state`
    bool have_epoch = false;
    uint32_t handles = 0;   // SMB opens under this key: open files + deferred
    std::vector<Deferred> deferred;
  };
  void closedLocked(Lease& l);

  const std::chrono::seconds closetimeo_;
  mutable std::mutex mu_;
  std::unordered_map<Ino, Lease> of_;
  std::map<smb2::LeaseKey, Ino> ino_of_key_;
  uint64_t reused_ = 0;
};

}  // namespace sd::fuse
