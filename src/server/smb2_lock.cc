// LOCK (MS-SMB2 3.3.5.14): byte-range locks held in the server's lock table; unlocks,
// fail-immediately locks and multi-element requests applied all-or-nothing.
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/lock.h"

namespace sd::server {

Status handleLock(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeLockRequest(r.msg));
  auto open = c.findOpen(r, req.file_id.persistent, req.file_id.volatile_);
  if (!open) return err(NtStatus::kFileClosed, "no such open");
  if (req.locks.empty()) return err(NtStatus::kInvalidParameter, "no lock elements");
  bool unlock = req.locks[0].flags & smb2::kLockFlagUnlock;
  std::vector<ByteRange> done;
  for (const auto& l : req.locks) {
    uint32_t kind = l.flags & (smb2::kLockFlagShared | smb2::kLockFlagExclusive | smb2::kLockFlagUnlock);
    bool is_unlock = kind == smb2::kLockFlagUnlock;
    // Elements must agree: all unlocks, or all locks (MS-SMB2 3.3.5.14.1/.2).
    if (is_unlock != unlock || (!is_unlock && kind != smb2::kLockFlagShared &&
                                kind != smb2::kLockFlagExclusive) ||
        (is_unlock && (l.flags & smb2::kLockFlagFailImmediately)))
      return err(NtStatus::kInvalidParameter, "lock flags");
    if (l.length && l.offset + l.length - 1 < l.offset)
      return err(NtStatus::kInvalidLockRange, "range wraps");
    ByteRange br{open->file_key, open->volatile_id, l.offset, l.length,
                 kind == smb2::kLockFlagExclusive};
    bool blocking = !is_unlock && req.locks.size() == 1 && !(l.flags & smb2::kLockFlagFailImmediately);
    if (blocking) {
      // MS-SMB2 3.3.5.14.2: wait for the range, answering STATUS_PENDING now.
      uint64_t async_id = c.nextAsyncId();
      auto reply = c.asyncReply(r, async_id);
      auto pending = c.pending();
      auto waiter = SD_TRY(c.state().locks().lockOrWait(br, [reply, pending, async_id](NtStatus st) {
        {
          std::lock_guard<std::mutex> lk(pending->mu);
          pending->by_async_id.erase(async_id);
        }
        ByteWriter w;
        if (st == NtStatus::kSuccess) smb2::encodeLockResponse(smb2::LockResponse{}, w);
        reply->send(st, w.buf());
      }));
      if (waiter == 0) break;  // granted at once
      std::lock_guard<std::mutex> lk(pending->mu);
      pending->by_async_id[async_id] = {r.hdr.message_id, waiter};
      r.async_id = async_id;
      return ok();
    }
    Status st = is_unlock ? c.state().locks().unlock(br) : c.state().locks().lock(br);
    if (!st) {
      // Roll back what this request already locked.
      if (!is_unlock)
        for (const auto& d : done) (void)c.state().locks().unlock(d);
      return st;
    }
    if (!is_unlock) done.push_back(br);
  }
  smb2::encodeLockResponse(smb2::LockResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
