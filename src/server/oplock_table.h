// Oplocks (MS-SMB2 3.3.1.10 Open.OplockLevel / OplockState) and leases (3.3.1.13, on files and
// directories): which open of a file holds which oplock level, which lease key which caching
// state (R, H, W), the breaks a new open causes (MS-SMB2 3.3.4.6 with MS-FSA 2.1.5.17's rules,
// whole files), breaks that come while one is pending (3.3.4.7), acknowledgments (3.3.5.22.1,
// 3.3.5.22.2), and the CREATEs that wait for one. A waiting CREATE never blocks a
// thread: it leaves a `Resume` that runs once no break of its file is pending any more, on the
// thread that settled it (an acknowledgment, a close, or the table's timer when the break timed
// out). Any thread; callbacks run without the table's lock.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.h"
#include "smb2/lease.h"

namespace sd::server {

// A file's key in the server's tables: its device (major << 32 | minor) and inode number.
inline uint64_t fileKeyOf(uint64_t device, uint64_t inode) { return device ^ (inode * 0x9E3779B97F4A7C15ull); }

// A lease is the client's (ClientGuid) and its key's (MS-SMB2 3.3.1.4 LeaseTable).
struct LeaseId {
  std::array<uint8_t, 16> client_guid{};
  smb2::LeaseKey key{};
  bool operator<(const LeaseId& o) const {
    return client_guid != o.client_guid ? client_guid < o.client_guid : key < o.key;
  }
  bool operator==(const LeaseId& o) const { return client_guid == o.client_guid && key == o.key; }
};

class OplockTable {
 public:
  using Notify = std::function<void(uint8_t new_level)>;  // sends the break notification
  // Sends a lease break notification (MS-SMB2 2.2.23.2).
  using LeaseNotify = std::function<void(uint32_t current, uint32_t next, uint16_t epoch, bool ack_required)>;
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
  // `own`: the opener's lease, which it does not break.
  bool breakForOpen(uint64_t file_key, OpenKind kind, Resume resume, const LeaseId* own = nullptr);
  // Before a rename of a file, or of a directory above open files (`file_keys`): every lease
  // of those files but `own` gives up Handle caching (MS-SMB2 3.3.1.4; a directory rename
  // breaks the Handle caching of everything below it), so that its holder may close the handles
  // it keeps. Oplocks do not break (smbtorture smb2.oplock.batch19, batch20). True when the rename must
  // wait for an acknowledgment: `resume` then runs once, later.
  bool breakHandleCaching(const std::vector<uint64_t>& file_keys, Resume resume, const LeaseId* own = nullptr);
  // After the open is admitted: the level granted for `requested`. Batch and exclusive only to
  // the file's only open (`only_open`), level II when no one holds more; never while a break
  // of the file is pending.
  uint8_t grant(uint64_t file_key, uint64_t open_id, uint8_t requested, bool only_open, Notify notify);
  // Every level II holder of the file loses it, the writer's own included (a write, a lock, a
  // new end of file): notified, no acknowledgment (MS-SMB2 2.2.24.1).
  // Read-caching leases of other keys than `own` break to none likewise (with an acknowledgment
  // when they also cache handles; the writer does not wait for it).
  void breakLevelII(uint64_t file_key, const LeaseId* own = nullptr);

  // The file changed outside SMB (server/local_changes.h): every oplock and lease of it breaks
  // to none, as for an overwrite; nothing waits for the acknowledgments.
  void breakForLocalChange(uint64_t file_key);
  // Whether any oplock or lease of the file is held.
  bool caches(uint64_t file_key) const;

  // Leases (MS-SMB2 3.3.5.9.8 / 3.3.5.9.11). A CREATE with a lease request of `requested`
  // (R, RH, RW or RWH; anything else is granted nothing) under `id`: the state granted, a new
  // lease's or an upgraded one's (never less than it had). W only when no open of the file
  // without this lease exists (`others`); nothing more while a break of it is pending.
  struct LeaseGrant {
    uint32_t state = 0;
    uint16_t epoch = 0;
    bool breaking = false;  // SMB2_LEASE_FLAG_BREAK_IN_PROGRESS
    bool v2 = false;        // the lease's version (its first request's), which responses keep
  };
  Result<LeaseGrant> grantLease(uint64_t file_key, const LeaseId& id, uint32_t requested, bool v2,
                                uint16_t epoch, bool others, LeaseNotify notify);
  // A directory lease (MS-SMB2 3.3.5.9.11 with SMB2_GLOBAL_CAP_DIRECTORY_LEASING): v2 only,
  // R or RH (W is never granted on a directory), else as grantLease. Broken by
  // breakForDirectoryChange and, like a file's, by a sharing conflict (H).
  Result<LeaseGrant> grantDirectoryLease(uint64_t dir_key, const LeaseId& id, uint32_t requested,
                                         uint16_t epoch, LeaseNotify notify);
  // Something inside the directory `dir_key` changed through SMB (a name created, deleted or
  // renamed in or out; a child's attributes, size or times set, or its data written and
  // closed): every lease of the directory breaks to none and nothing waits for the
  // acknowledgments, except the lease `parent` (the ParentLeaseKey of the open that made the
  // change, with its client: MS-SMB2 2.2.13.2.10, 3.3.5.9.11).
  void breakForDirectoryChange(uint64_t dir_key, const LeaseId* parent);
  // Whether any directory lease is held (callers skip finding the parent directory otherwise).
  bool hasDirectoryLeases() const { return directory_leases_.load(std::memory_order_relaxed) > 0; }
  // A lease key names one file (STATUS_INVALID_PARAMETER for another, MS-SMB2 3.3.5.9.8).
  Status checkLeaseKey(uint64_t file_key, const LeaseId& id) const;
  // An open that carried the lease is gone; the lease ends with its last open.
  void releaseLeaseOpen(const LeaseId& id);
  // A LEASE_BREAK acknowledgment (3.3.5.22.2): the state the lease now has;
  // STATUS_OBJECT_NAME_NOT_FOUND (no such lease), STATUS_UNSUCCESSFUL (no break pending),
  // STATUS_REQUEST_NOT_ACCEPTED (more than the break left).
  Result<uint32_t> acknowledgeLease(const LeaseId& id, uint32_t state);
  uint32_t leaseState(const LeaseId& id) const;
  // The lease as a CREATE's answer shows it (a durable reconnect: MS-SMB2 3.3.5.9.7); nothing
  // when there is no such lease.
  std::optional<LeaseGrant> leaseOf(const LeaseId& id) const;
  // Where the break notifications of an open's oplock, or of a lease, go from now on: a durable
  // open lost its connection, or came back on another one.
  void setNotify(uint64_t open_id, Notify notify);
  void setLeaseNotify(const LeaseId& id, LeaseNotify notify);
  // An OPLOCK_BREAK acknowledgment: the level the open now holds, or
  // STATUS_INVALID_OPLOCK_PROTOCOL (no break pending on it, or more than the break allows).
  Result<uint8_t> acknowledge(uint64_t open_id, uint8_t level);
  // The open is gone: its oplock too; waiters it held up resume.
  void release(uint64_t open_id);
  uint8_t levelOf(uint64_t open_id) const;
  // Whether a break of the open's oplock awaits its acknowledgment.
  bool breakPending(uint64_t open_id) const;

 private:
  struct Holder {
    uint64_t file_key = 0;
    uint8_t level = 0;
    bool breaking = false;
    uint8_t break_to = 0;
    std::chrono::steady_clock::time_point deadline;
    Notify notify;
    // A lease: every open with its key shares it.
    bool is_lease = false;
    uint32_t state = 0, break_to_state = 0;
    // What every break asked for since this one started leaves (MS-SMB2 3.3.1.4
    // Lease.BreakToLeaseState of the breaks that came while one was pending): the
    // acknowledgment of `break_to_state` continues the break towards it.
    uint32_t break_required = 0;
    uint16_t epoch = 0;
    bool v2 = false;
    int opens = 0;
    bool directory = false;  // a directory lease (counted in directory_leases_)
    LeaseNotify lease_notify;
  };
  Result<LeaseGrant> grantLeaseImpl(uint64_t file_key, const LeaseId& id, uint32_t requested, bool v2,
                                    uint16_t epoch, bool others, LeaseNotify notify, bool directory);
  // The break that `kind` (or a write, kWrite) makes of a lease's state: the state left.
  static uint32_t leaseBreakTo(uint32_t state, int kind);
  // Starts a lease break to `to` (under the lock); true when it awaits an acknowledgment. The
  // notification goes into `out`, sent after the lock is released.
  bool breakLeaseLocked(Holder& h, uint32_t to, std::vector<std::function<void()>>& out);
  // After an acknowledgment that left more than the breaks since asked for: the next step
  // (under the lock). Windows breaks in steps, keeping R while W or H goes and the epoch
  // unchanged (smbtorture smb2.lease.breaking3, v2_breaking3).
  // Sends the break of `h` to `to` (into `out`): awaiting the acknowledgment when `ack`, the
  // state changed at once otherwise.
  void sendLeaseBreakLocked(Holder& h, uint32_t to, bool ack, std::vector<std::function<void()>>& out);
  void continueBreakLocked(Holder& h, std::vector<std::function<void()>>& out);
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
  std::map<LeaseId, uint64_t> leases_;               // -> holder id
  uint64_t next_lease_holder_ = 1ull << 63;          // lease holders' ids (opens' ids are small)
  std::thread timer_;
  bool stop_ = false;
  std::atomic<int> directory_leases_{0};
};

}  // namespace sd::server
