// The mount's record-lock operations (fcntl F_SETLK, F_SETLKW, F_GETLK) as SMB byte-range
// locks on the file's handle; see fuse/byte_locks.h.
#include <fcntl.h>

#include <algorithm>
#include <cstdint>

#include "fuse/fs.h"
#include "smb2/constants.h"

namespace sd::fuse {

namespace {

constexpr uint64_t kToTheEnd = UINT64_MAX;  // l_len 0: the lock reaches past every offset

uint32_t lockFlags(bool exclusive) {
  return (exclusive ? smb2::kLockFlagExclusive : smb2::kLockFlagShared) | smb2::kLockFlagFailImmediately;
}

bool isConflict(NtStatus s) { return s == NtStatus::kLockNotGranted || s == NtStatus::kFileLockConflict; }

// One LOCK of `l` on the handle of `fh` (looked up afresh: a reconnect may retry it).
Status lockOn(Fs* fs, uint64_t fh, const HeldLock& l, uint32_t flags) {
  return again(fs, [&]() -> Status {
    auto id = fs->files.id(fh);
    if (!id) return err(NtStatus::kInvalidHandle, "closed");
    return fs->smb.lock(*id, l.start, l.length(), flags);
  });
}

// [start, end) of a struct flock; false for a range POSIX refuses.
bool rangeOf(const struct flock* lock, uint64_t* start, uint64_t* end) {
  if (lock->l_start < 0 || lock->l_len < 0) return false;
  *start = uint64_t(lock->l_start);
  *end = lock->l_len == 0 ? kToTheEnd : *start + uint64_t(lock->l_len);
  return *end > *start;
}

// Takes `l` again (pieces of a split lock, or what a refused conversion had): added back when
// the server grants it.
void retake(Fs* fs, uint64_t fh, const HeldLock& l) {
  if (l.end <= l.start) return;
  if (lockOn(fs, fh, l, lockFlags(l.exclusive))) fs->byte_locks.add(fh, l);
  else LOG_WARN("a byte-range lock at %llu could not be kept", (unsigned long long)l.start);
}

// F_SETLK / F_SETLKW: 0 or an errno. What `owner` held in the range is unlocked first (SMB
// unlocks whole locks only, and converts none); a refused lock gives it back.
int setLock(Fs* fs, uint64_t fh, uint64_t owner, uint64_t start, uint64_t end, int type, bool wait,
            fuse_req_t req) {
  HeldLock want{owner, start, end, type == F_WRLCK};
  ByteLocks::Cut cut;
  {
    std::lock_guard<std::mutex> lk(fs->lock_ops_mu);
    cut = fs->byte_locks.cut(fh, owner, start, end);
    for (const auto& l : cut.removed) (void)lockOn(fs, fh, l, smb2::kLockFlagUnlock);
    for (const auto& l : cut.kept) retake(fs, fh, l);
  }
  if (type == F_UNLCK) return 0;
  auto giveBack = [&] {
    std::lock_guard<std::mutex> lk(fs->lock_ops_mu);
    for (const auto& l : cut.removed)
      retake(fs, fh, {owner, std::max(l.start, start), std::min(l.end, end), l.exclusive});
  };
  // F_SETLKW waits as cifs.ko's mount does for a conflicting lock: it asks again, backing off
  // to 200 ms, until the lock is granted or the waiting process is interrupted.
  for (int attempt = 0;; attempt++) {
    Status st = lockOn(fs, fh, want, lockFlags(want.exclusive));
    if (st) {
      fs->byte_locks.add(fh, want);
      return 0;
    }
    if (!isConflict(st.status())) {
      giveBack();
      return toErrno(st.status());
    }
    if (!wait) {
      giveBack();
      return EAGAIN;
    }
    if (fuse_req_interrupted(req)) return EINTR;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 << std::min(attempt, 5), 200)));
  }
}

}  // namespace

void opSetlk(fuse_req_t req, Ino, fuse_file_info* fi, struct flock* lock, int sleep) {
  uint64_t start, end;
  if (!rangeOf(lock, &start, &end)) return (void)fuse_reply_err(req, EINVAL);
  if (lock->l_type != F_RDLCK && lock->l_type != F_WRLCK && lock->l_type != F_UNLCK)
    return (void)fuse_reply_err(req, EINVAL);
  fuse_reply_err(req, setLock(fsOf(req), fi->fh, fi->lock_owner, start, end, lock->l_type, sleep != 0, req));
}

// F_GETLK: whether the lock could be set now, by trying it on the server and undoing it (SMB
// has no test); the caller's own locks never conflict. The holder's pid is not known (0).
void opGetlk(fuse_req_t req, Ino, fuse_file_info* fi, struct flock* lock) {
  Fs* fs = fsOf(req);
  uint64_t start, end;
  if (!rangeOf(lock, &start, &end)) return (void)fuse_reply_err(req, EINVAL);
  HeldLock probe{fi->lock_owner, start, end, lock->l_type == F_WRLCK};
  if (lock->l_type == F_UNLCK || fs->byte_locks.holds(fi->fh, fi->lock_owner, start, end)) {
    lock->l_type = F_UNLCK;
    return (void)fuse_reply_lock(req, lock);
  }
  Status st = lockOn(fs, fi->fh, probe, lockFlags(probe.exclusive));
  if (st) {
    (void)lockOn(fs, fi->fh, probe, smb2::kLockFlagUnlock);
    lock->l_type = F_UNLCK;
  } else if (isConflict(st.status())) {
    // A shared probe that is refused meets an exclusive lock; an exclusive one may meet either.
    bool shared_ok = false;
    if (probe.exclusive) {
      probe.exclusive = false;
      shared_ok = bool(lockOn(fs, fi->fh, probe, lockFlags(false)));
      if (shared_ok) (void)lockOn(fs, fi->fh, probe, smb2::kLockFlagUnlock);
    }
    lock->l_type = shared_ok ? F_RDLCK : F_WRLCK;
    lock->l_pid = 0;
  } else {
    return (void)fuse_reply_err(req, toErrno(st.status()));
  }
  fuse_reply_lock(req, lock);
}

void unlockOwner(Fs* fs, uint64_t fh, uint64_t owner) {
  std::lock_guard<std::mutex> lk(fs->lock_ops_mu);
  for (const auto& l : fs->byte_locks.cut(fh, owner, 0, kToTheEnd).removed)
    (void)lockOn(fs, fh, l, smb2::kLockFlagUnlock);
}

void unlockAll(Fs* fs, uint64_t fh) {
  std::lock_guard<std::mutex> lk(fs->lock_ops_mu);
  for (const auto& l : fs->byte_locks.of(fh)) (void)lockOn(fs, fh, l, smb2::kLockFlagUnlock);
  fs->byte_locks.forget(fh);
}

void relockAfterReopen(Fs* fs, uint64_t fh, const smb2::FileId& id) {
  for (const auto& l : fs->byte_locks.of(fh)) {
    Status st = fs->smb.lock(id, l.start, l.length(), lockFlags(l.exclusive));
    if (!st)
      LOG_WARN("after reconnect a byte-range lock at %llu could not be taken again: %s", (unsigned long long)l.start,
               client::describe(st.status()).c_str());
  }
}

}  // namespace sd::fuse
