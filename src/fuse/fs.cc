#include "fuse/fs.h"

#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "crypto/random.h"
#include "smb2/constants.h"

namespace sd::fuse {

int toErrno(NtStatus s) {
  switch (s) {
    case NtStatus::kObjectNameNotFound:
    case NtStatus::kObjectPathNotFound:
    case NtStatus::kNoSuchFile: return ENOENT;
    case NtStatus::kObjectNameCollision: return EEXIST;
    case NtStatus::kAccessDenied:
    case NtStatus::kMediaWriteProtected: return EACCES;
    case NtStatus::kDirectoryNotEmpty: return ENOTEMPTY;
    case NtStatus::kFileIsADirectory: return EISDIR;
    case NtStatus::kNotADirectory: return ENOTDIR;
    case NtStatus::kSharingViolation: return EBUSY;
    case NtStatus::kDiskFull: return ENOSPC;
    case NtStatus::kObjectNameInvalid:
    case NtStatus::kInvalidParameter: return EINVAL;
    case NtStatus::kNotSupported: return EOPNOTSUPP;
    case NtStatus::kNameTooLong: return ENAMETOOLONG;
    case NtStatus::kInvalidHandle: return EBADF;
    default: return EIO;
  }
}

uint64_t OpenFiles::add(File f) {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t h = next_++;
  files_[h] = std::move(f);
  return h;
}

std::optional<smb2::FileId> OpenFiles::id(uint64_t fh) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = files_.find(fh);
  if (it == files_.end()) return std::nullopt;
  return it->second.id;
}

std::optional<OpenFiles::File> OpenFiles::take(uint64_t fh) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = files_.find(fh);
  if (it == files_.end()) return std::nullopt;
  File f = std::move(it->second);
  files_.erase(it);
  return f;
}

// SMB2 FLUSH needs a handle with write access (MS-SMB2 3.3.5.11): fsync on a read-only open
// flushes another open of the same file that can write (the writeback cache writes through
// any of them), or has nothing to push.
std::optional<smb2::FileId> OpenFiles::writableFor(uint64_t fh, bool* known) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = files_.find(fh);
  *known = it != files_.end();
  if (!*known) return std::nullopt;
  constexpr uint32_t kWrite = smb2::kFileWriteData | smb2::kFileAppendData;
  if (it->second.access & kWrite) return it->second.id;
  for (const auto& [h, of] : files_)
    if (of.path == it->second.path && (of.access & kWrite)) return of.id;
  return std::nullopt;
}

uint64_t OpenFiles::addListing(Listing l) {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t h = next_++;
  dirs_[h] = std::move(l);
  return h;
}

OpenFiles::Listing OpenFiles::listing(uint64_t fh) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = dirs_.find(fh);
  return it == dirs_.end() ? nullptr : it->second;
}

void OpenFiles::dropListing(uint64_t fh) {
  std::lock_guard<std::mutex> lk(mu_);
  dirs_.erase(fh);
}

bool Fs::reconnect(uint64_t seen) {
  std::unique_lock<std::shared_mutex> lk(conn_mu);
  if (generation != seen) return true;  // another worker already did it
  for (int attempt = 0; attempt < 6; attempt++) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(500 << std::min(attempt, 4)));
    Status st = smb.reconnect();
    if (!st) {
      LOG_WARN("reconnect to the server failed: %s", client::describe(st.status()).c_str());
      continue;
    }
    generation++;
    // Handles kept after a close (closetimeo): attached again only to be closed, so that the
    // server does not keep them (and their share modes) until their durable timeout.
    std::vector<std::pair<Ino, smb2::FileId>> kept;
    if (leases)
      for (Ino ino : lease_cache->inos())
        for (const auto& id : lease_cache->takeAllDeferred(ino)) kept.emplace_back(ino, id);
    // The lease state is learnt again from each reconnect or re-open; the kernel's cache of
    // each leased file is dropped by the lease worker (not here: invalidating pages waits for
    // READs that wait for us).
    if (leases) {
      std::lock_guard<std::mutex> wl(work_mu_);
      for (Ino ino : lease_cache->forgetAll()) queueLocked(BreakWork{{}, ino});
    }
    for (const auto& [ino, id] : kept) {
      auto path = inodes.pathOf(ino);
      if (path && reattach(ino, *path, id, true)) {
        (void)closeHandle(id);
        lease_cache->handleClosed(ino);
      }
    }
    files.forEach([&](uint64_t fh, OpenFiles::File& of) {
      if (reattach(of.ino, of.path, of.id, of.leased)) return;
      reopened_by_path++;
      Result<smb2::FileId> o = err(NtStatus::kInvalidHandle, "");
      if (of.leased) {
        auto l = openUnderLease(of.ino, of.path, of.access, smb2::kFileOpen, of.options);
        o = l ? Result<smb2::FileId>(l->id) : Result<smb2::FileId>(l.error());
      } else {
        o = smb.open(of.path, of.access, smb2::kFileOpen, of.options);
      }
      if (!o) {
        LOG_WARN("after reconnect %s could not be re-opened: %s", of.path.c_str(), client::describe(o.status()).c_str());
        return;
      }
      of.id = *o;
      relockAfterReopen(this, fh, of.id);
    });
    return true;
  }
  return false;
}

bool Fs::reattach(Ino ino, const std::string& path, const smb2::FileId& id, bool leased) {
  std::optional<smb2::CreateGuid> guid;
  {
    std::lock_guard<std::mutex> lk(durable_mu);
    auto it = durable_guids.find(id.persistent);
    if (it == durable_guids.end()) return false;
    guid = it->second;
  }
  std::optional<smb2::LeaseKey> key;
  if (leased) key = lease_cache->prepareOpen(ino).key;
  auto o = smb.reopenDurable(path, id, *guid, key ? &*key : nullptr);
  if (!o) {
    LOG_INFO("after reconnect the durable handle of %s was not given back (%s): opening it again", path.c_str(),
             client::describe(o.status()).c_str());
    std::lock_guard<std::mutex> lk(durable_mu);
    durable_guids.erase(id.persistent);
    return false;
  }
  if (leased) lease_cache->opened(ino, o->lease_state, o->epoch);
  durable_reconnects++;
  LOG_DEBUG("after reconnect %s has its durable handle back", path.c_str());
  return true;
}

Status Fs::closeHandle(const smb2::FileId& id) {
  {
    std::lock_guard<std::mutex> lk(durable_mu);
    durable_guids.erase(id.persistent);
  }
  return smb.close(id);
}

Result<Fs::LeasedOpen> Fs::openUnderLease(Ino ino, const std::string& path, uint32_t access,
                                          uint32_t disposition, uint32_t options) {
  auto t = lease_cache->prepareOpen(ino);
  std::optional<smb2::DurableRequestV2> durable;
  if (opt.durable) {
    durable.emplace();  // timeout 0: the server's default
    crypto::randomFill(durable->create_guid);
  }
  auto o = SD_TRY(smb.openLeased(path, access, disposition, options, t.key,
                                 smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle, 7,
                                 durable ? &*durable : nullptr));
  if (o.durable) {
    std::lock_guard<std::mutex> lk(durable_mu);
    durable_guids[o.id.persistent] = durable->create_guid;
  }
  uint32_t state = lease_cache->opened(ino, o.lease_state, o.epoch);
  return LeasedOpen{o.id, state, t.covered && (state & smb2::kLeaseRead)};
}

void Fs::closeDeferred(Ino ino) {
  auto ids = lease_cache->takeAllDeferred(ino);
  if (ids.empty()) return;
  std::shared_lock<std::shared_mutex> cl(conn_mu);
  for (auto& id : ids) {
    (void)closeHandle(id);
    deferred_closed++;
    lease_cache->handleClosed(ino);
  }
}

void Fs::releaseLeased(const OpenFiles::File& of) {
  // Deferred close (cifs.ko's closetimeo): while the lease caches the handle (H), keep it for
  // the next open of this file; the lease worker closes it when its time is up or H breaks.
  if (lease_cache->defer(of.ino, of.id, of.access, std::chrono::steady_clock::now())) {
    work_cv_.notify_all();
    return;
  }
  (void)once(this, [&] { return closeHandle(of.id); });
  lease_cache->handleClosed(of.ino);
}

void Fs::startLeaseWorker() { lease_worker_ = std::thread([this] { leaseWorkerLoop(); }); }

// Stops the worker, then closes the kept handles.
void Fs::stopLeaseWorker() {
  if (!lease_worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lk(work_mu_);
    stop_ = true;
    work_cv_.notify_all();
  }
  lease_worker_.join();
  for (Ino ino : lease_cache->inos()) closeDeferred(ino);
}

void Fs::queueLocked(BreakWork w) {
  break_queue_.push_back(std::move(w));
  work_cv_.notify_all();
}

void Fs::queueBreak(const client::SmbClient::LeaseBreak& b) {
  std::lock_guard<std::mutex> lk(work_mu_);
  queueLocked(BreakWork{b, std::nullopt});
}

// Applies breaks in arrival order and closes kept handles whose closetimeo has passed. A break
// is handled as cifs.ko does: nothing to write back when W goes (writes go through to the
// server before they are answered), the kernel's pages and attributes of the inode dropped
// when R goes, the kept handles closed, then the acknowledgment with the new state. Each wait
// is bounded (1 s), so stopping is prompt.
void Fs::leaseWorkerLoop() {
  std::unique_lock<std::mutex> lk(work_mu_);
  while (!stop_) {
    if (!break_queue_.empty()) {
      BreakWork w = break_queue_.front();
      break_queue_.pop_front();
      lk.unlock();
      handleBreak(w);
      lk.lock();
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::seconds(1);
    auto expired = lease_cache->takeExpired(now, &next);
    if (!expired.empty()) {
      lk.unlock();
      {
        std::shared_lock<std::shared_mutex> cl(conn_mu);
        for (auto& [ino, id] : expired) (void)closeHandle(id);
      }
      for (auto& [ino, id] : expired) {
        deferred_closed++;
        lease_cache->handleClosed(ino);
      }
      lk.lock();
      continue;
    }
    work_cv_.wait_until(lk, next);
  }
}

void Fs::handleBreak(const BreakWork& w) {
  LeaseCache::BreakEffect e;
  if (w.local_ino) {
    e.ino = w.local_ino;
    e.drop_cache = true;
  } else {
    e = lease_cache->applyBreak(w.b.key, w.b.new_state, w.b.new_epoch);
    LOG_DEBUG("lease break %s -> %s", smb2::leaseStateText(w.b.current_state).c_str(),
              smb2::leaseStateText(w.b.new_state).c_str());
  }
  if (e.ino && e.drop_cache && se) {
    // Pages and attributes of the inode: the next read goes to the server.
    int rc = fuse_lowlevel_notify_inval_inode(se, *e.ino, 0, 0);
    if (rc != 0 && rc != -ENOENT) LOG_WARN("invalidating inode %llu: %s", (unsigned long long)*e.ino, std::strerror(-rc));
    cache_invalidations++;
  }
  if (w.local_ino) return;
  std::shared_lock<std::shared_mutex> cl(conn_mu);
  for (auto& id : e.to_close) {
    (void)closeHandle(id);
    deferred_closed++;
    lease_cache->handleClosed(*e.ino);
  }
  // Closing the lease's last handle ends it and with it the break (MS-SMB2 3.3.4.7 and
  // 3.3.5.22.2: the server answers an acknowledgment of a lease it no longer has with
  // STATUS_OBJECT_NAME_NOT_FOUND): acknowledge only a lease that still has opens.
  bool any_left = !e.ino || lease_cache->hasHandles(*e.ino);
  if (w.b.ack_required && any_left) {
    Status st = smb.ackLeaseBreak(w.b.key, w.b.new_state);
    if (!st) LOG_WARN("lease break acknowledgment: %s", client::describe(st.status()).c_str());
  }
}

void Fs::toStat(const fscc::FileInfo& fi, Ino ino, struct stat* st) const {
  std::memset(st, 0, sizeof *st);
  st->st_ino = ino;
  bool dir = fi.file_attributes & smb2::kFileAttributeDirectory;
  st->st_mode = dir ? (S_IFDIR | (opt.dir_mode & 07777)) : (S_IFREG | (opt.file_mode & 07777));
  if (!dir && (fi.file_attributes & smb2::kFileAttributeReadonly)) st->st_mode &= ~0222u;
  st->st_nlink = dir ? 2 : 1;
  st->st_uid = uid;
  st->st_gid = gid;
  st->st_size = off_t(fi.end_of_file);
  st->st_blksize = 1 << 20;
  st->st_blocks = blkcnt_t((fi.allocation_size + 511) / 512);
  st->st_atim = timespecFromFiletime(fi.last_access_time);
  st->st_mtim = timespecFromFiletime(fi.last_write_time);
  st->st_ctim = timespecFromFiletime(fi.change_time);
}

}  // namespace sd::fuse
