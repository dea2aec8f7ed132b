// Durable opens that lost their connection or session (MS-SMB2 3.3.1.10 Open.Connection NULL,
// 3.3.7.1 "Durable Open Scavenger Timer"): each waits here for a reconnect (DHnC/DH2C,
// 3.3.5.9.7, 3.3.5.9.12) until its timeout, then the scavenger thread closes it as a CLOSE
// would (delete-on-close applied, locks released, its oplock or lease ended). A break of its
// oplock or lease closes it at once (`purge`): nobody is there to acknowledge, and the open
// that caused the break should not wait for the timeout (Windows, Samba: smbtorture
// smb2.durable-open.lease, .oplock).
// Owned by ServerState; any thread. The close callback runs without the table's lock.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.h"

namespace sd::server {

struct Open;

class DurableTable {
 public:
  using Close = std::function<void(const std::shared_ptr<Open>&)>;
  explicit DurableTable(Close close) : close_(std::move(close)) {}
  ~DurableTable();  // stops the scavenger; opens still kept are dropped without a CLOSE's work
  DurableTable(const DurableTable&) = delete;
  DurableTable& operator=(const DurableTable&) = delete;

  // The open (durable, detached from every connection) is kept for its timeout.
  void park(const std::shared_ptr<Open>& open);
  // A reconnect: the kept open with this persistent id, taken out of the table when `check`
  // (run under the table's lock, so no scavenger or purge can close it meanwhile) says ok;
  // otherwise `check`'s status, or STATUS_OBJECT_NAME_NOT_FOUND when no such open is kept.
  Result<std::shared_ptr<Open>> claim(uint64_t persistent_id, const std::function<Status(const Open&)>& check);
  // Waits (at most `timeout`) until an open with this persistent id is kept: a reconnect that
  // overtakes the server's noticing of the client's old connection going away.
  bool waitKept(uint64_t persistent_id, std::chrono::milliseconds timeout);
  // Closes the kept open soon, on the scavenger thread (from a break notification: the caller
  // may hold locks that closing takes).
  void purge(uint64_t persistent_id);
  // How many opens are kept now.
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<Open> open;
    std::chrono::steady_clock::time_point deadline;
    bool purged = false;
  };
  void scavenge();

  Close close_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> kept_;  // by persistent id
  std::thread scavenger_;           // started by the first park
  bool stop_ = false;
};

}  // namespace sd::server
