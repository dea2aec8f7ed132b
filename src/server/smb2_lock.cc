// LOCK (MS-SMB2 3.3.5.14): byte-range locks held in the server's lock table. The first element
// decides whether the request unlocks or locks (3.3.5.14.1/.2). Lock requests are validated whole
// before anything is locked (a multi-element request must be fail-immediately throughout) and are
// all-or-nothing; unlock requests are applied in order and stop at the first failure, leaving
// the earlier unlocks done (Windows behaviour, smbtorture smb2.lock.multiple-unlock).
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/lock.h"

namespace sd::server {

namespace {

constexpr uint32_t kShared = smb2::kLockFlagShared, kExclusive = smb2::kLockFlagExclusive,
                   kUnlock = smb2::kLockFlagUnlock, kFailImmediately = smb2::kLockFlagFailImmediately;

// MS-SMB2 2.2.26.1: the flag combinations a lock element may carry.
bool validLockFlags(uint32_t f) {
  return f == kShared || f == kExclusive || f == (kShared | kFailImmediately) ||
         f == (kExclusive | kFailImmediately);
}

Status checkRange(const smb2::LockElement& l) {
  if (l.length && l.offset + l.length - 1 < l.offset)
    return err(NtStatus::kInvalidLockRange, "range wraps");
  return ok();
}

Status unlockAll(Connection& c, Open& open, const std::vector<smb2::LockElement>& locks) {
  for (const auto& l : locks) {
    if (l.flags != kUnlock) return err(NtStatus::kInvalidParameter, "lock element in an unlock request");
    SD_CHECK(checkRange(l));
    SD_CHECK(c.state().locks().unlock(ByteRange{open.file_key, open.volatile_id, l.offset, l.length, true}));
  }
  return ok();
}

}  // namespace

Status handleLock(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeLockRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (req.locks.empty()) return err(NtStatus::kInvalidParameter, "no lock elements");
  if (req.locks[0].flags == kUnlock) {
    SD_CHECK(unlockAll(c, *open, req.locks));
    smb2::encodeLockResponse(smb2::LockResponse{}, r.out);
    return ok();
  }
  // A byte-range lock breaks level II oplocks, the locker's own too (MS-FSA 2.1.5.7).
  c.state().oplocks().breakLevelII(open->file_key, open->lease ? &*open->lease : nullptr);
  for (const auto& l : req.locks) {
    if (!validLockFlags(l.flags)) return err(NtStatus::kInvalidParameter, "lock flags");
    if (req.locks.size() > 1 && !(l.flags & kFailImmediately))
      return err(NtStatus::kInvalidParameter, "blocking element in a multi-element lock");
  }
  if (req.locks.size() == 1 && !(req.locks[0].flags & kFailImmediately)) {
    const auto& l = req.locks[0];
    SD_CHECK(checkRange(l));
    ByteRange br{open->file_key, open->volatile_id, l.offset, l.length, (l.flags & kExclusive) != 0};
    // MS-SMB2 3.3.5.14.2: wait for the range, answering STATUS_PENDING now.
    uint64_t async_id = c.nextAsyncId();
    auto reply = c.asyncReply(r, async_id);
    auto pending = c.pending();
    auto gate = std::make_shared<InterimGate>();
    // Past `max blocking locks` waiting on this connection, the lock is tried once: one that
    // would wait is answered STATUS_INSUFFICIENT_RESOURCES (MS-SMB2 3.3.4.2: no async).
    size_t waiting;
    {
      std::lock_guard<std::mutex> lk(pending->mu);
      waiting = pending->by_async_id.size() - pending->notifies;
    }
    if (waiting >= c.state().global().max_blocking_locks) {
      Status st = c.state().locks().lock(br);
      if (!st && st.error().status == NtStatus::kLockNotGranted)
        return err(NtStatus::kInsufficientResources, "max blocking locks");
      SD_CHECK(st);
      smb2::encodeLockResponse(smb2::LockResponse{}, r.out);
      return ok();
    }
    auto waiter = SD_TRY(c.state().locks().lockOrWait(br, [reply, pending, async_id, gate](NtStatus st) {
      {
        std::lock_guard<std::mutex> lk(pending->mu);
        pending->by_async_id.erase(async_id);
      }
      ByteWriter w;
      if (st == NtStatus::kSuccess) smb2::encodeLockResponse(smb2::LockResponse{}, w);
      gate->finalReady([reply, st, body = std::move(w.buf())] { reply->send(st, body); });
    }));
    if (waiter != 0) {
      std::lock_guard<std::mutex> lk(pending->mu);
      auto* state = &c.state();
      pending->by_async_id[async_id] = {r.hdr.message_id, r.hdr.session_id, [state, waiter](NtStatus st) {
                                          return state->locks().cancel(waiter, st);
                                        }};
      r.async_id = async_id;
      r.after_send = [gate] { gate->interimSent(); };
      return ok();
    }
    smb2::encodeLockResponse(smb2::LockResponse{}, r.out);
    return ok();
  }
  std::vector<ByteRange> done;
  for (const auto& l : req.locks) {
    ByteRange br{open->file_key, open->volatile_id, l.offset, l.length, (l.flags & kExclusive) != 0};
    Status st = checkRange(l);
    if (st) st = c.state().locks().lock(br);
    if (!st) {
      // All or nothing: roll back what this request already locked, newest first.
      for (auto it = done.rbegin(); it != done.rend(); ++it) (void)c.state().locks().unlock(*it);
      return st;
    }
    done.push_back(br);
  }
  smb2::encodeLockResponse(smb2::LockResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
