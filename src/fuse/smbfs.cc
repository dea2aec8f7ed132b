#define FUSE_USE_VERSION 312
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fuse/smbfs.h"
#include "fuse/status_file.h"
#include "fuse/utab.h"

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "client/smb_client.h"
#include "crypto/random.h"
#include "smb2/constants.h"
#include "smb2/lease.h"

namespace sd::fuse {

namespace {

// The kernel's readahead window on the mount (its default, 128 KiB, keeps one READ in flight).
constexpr uint32_t kReadaheadBytes = 8u << 20;
// WRITE requests of the mount are cut into pieces of this size, pipelined. Measured with dd
// bs=1M conv=fsync against Samba on loopback: 1 MiB (no split) 167-186 MB/s, 256 KiB 228-233,
// 128 KiB 195-213.
constexpr uint32_t kWritePiece = 256u << 10;

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

struct Fs {
  client::SmbClient smb;
  // multichannel: an SMB Direct channel bound to the session; READ and WRITE go through it
  // while rdma_ok (cleared, never re-set, when that channel fails).
  std::unique_ptr<client::SmbClient> rdma_channel;
  std::atomic<bool> rdma_ok{false};
  client::MountOptions opt;
  std::string mount_target;
  std::atomic<bool> readahead_set{false};
  uid_t uid;
  gid_t gid;
  double ttl;

  // Threads: the FUSE session runs several workers. Each request holds conn_mu shared while it
  // uses the connection (SmbClient is safe for concurrent requests); a reconnect holds it
  // exclusively, so it never runs beside a request. generation counts reconnects, so that of
  // several workers that saw the same connection die only the first reconnects.
  std::shared_mutex conn_mu;
  uint64_t generation = 0;

  // The inode table (tab_mu): inode numbers <-> share paths. The kernel caches attributes and
  // entries for actimeo seconds (attr_timeout/entry_timeout); no attribute is cached here.
  std::mutex tab_mu;
  std::unordered_map<fuse_ino_t, std::string> paths{{FUSE_ROOT_ID, ""}};
  std::unordered_map<std::string, fuse_ino_t> inos{{"", FUSE_ROOT_ID}};
  fuse_ino_t next_ino = 2;

  // Open files and directory listings by handle (files_mu).
  struct OpenFile {
    smb2::FileId id;
    std::string path;
    uint32_t access = 0, options = 0;
    fuse_ino_t ino = 0;
    bool leased = false;  // opened under the inode's lease key (counted in Lease::handles)
  };
  std::mutex files_mu;
  std::map<uint64_t, OpenFile> files;
  std::map<uint64_t, std::shared_ptr<const std::vector<fscc::FileInfo>>> dirs;
  uint64_t next_fh = 1;

  // Leases (cache=strict on a server that offers them; docs/ARCHITECTURE.md "Leases and data
  // caching in the mount"). One lease key per inode, used by every open of that file. lease_mu
  // guards the table, the deferred handles and the work queue; it is never held across a
  // round trip or a call into the kernel.
  struct Lease {
    smb2::LeaseKey key{};
    uint32_t state = 0;        // what the server granted and has not broken
    uint16_t epoch = 0;        // lease v2 epoch of `state`
    bool have_epoch = false;
    uint32_t handles = 0;      // SMB opens under this key: open files + deferred
    struct Deferred {
      smb2::FileId id;
      uint32_t access = 0;
      std::chrono::steady_clock::time_point since;
    };
    std::vector<Deferred> deferred;  // released files whose close waits for closetimeo
  };
  // A break from the server, or (local) a reconnect's "trust nothing cached".
  struct BreakWork {
    client::SmbClient::LeaseBreak b;
    bool local = false;
  };
  bool leases = false;
  std::chrono::seconds closetimeo{5};
  fuse_session* se = nullptr;  // set before the session loop; the lease worker notifies through it
  std::mutex lease_mu;
  std::condition_variable lease_cv;
  std::unordered_map<fuse_ino_t, Lease> lease_of;
  std::map<smb2::LeaseKey, fuse_ino_t> ino_of_key;
  std::deque<BreakWork> break_queue;
  bool lease_stop = false;
  std::thread lease_worker;
  std::atomic<uint64_t> cache_invalidations{0}, deferred_reused{0}, deferred_closed{0};

  // Runs a data operation on the SMB Direct channel when there is one; if that channel is gone,
  // it is abandoned and the operation runs on the first channel.
  template <class F>
  auto dataOp(F&& f) -> decltype(f(smb)) {
    if (rdma_ok.load()) {
      auto r = f(*rdma_channel);
      if (r || !client::SmbClient::connectionLost(r.status())) return r;
      if (rdma_ok.exchange(false)) LOG_WARN("the SMB Direct channel is gone; continuing on the first channel");
    }
    return f(smb);
  }

  // The connection dropped under a request that saw generation `seen`: reconnect (the server may
  // be restarting: a few tries, backing off, about 30 s in all) and re-open every open file by
  // its path. Returns whether the connection is usable again.
  bool reconnect(uint64_t seen) {
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
      // The old session's leases and handles are gone: deferred handles are forgotten, every
      // lease starts again from nothing, and the kernel's cache of each leased file is dropped
      // by the lease worker (not here: invalidating pages waits for READs that wait for us).
      if (leases) {
        std::lock_guard<std::mutex> ll(lease_mu);
        for (auto& [ino, l] : lease_of) {
          l.deferred.clear();
          l.handles = 0;
          l.have_epoch = false;
          BreakWork w;
          w.b.key = l.key;
          w.b.current_state = l.state;
          w.local = true;
          break_queue.push_back(w);
          l.state = 0;
        }
        lease_cv.notify_all();
      }
      std::lock_guard<std::mutex> fl(files_mu);
      for (auto& [fh, of] : files) {
        if (of.leased) {
          auto o = openUnderLease(of.ino, of.path, of.access, smb2::kFileOpen, of.options);
          if (o) of.id = o->id;
          else LOG_WARN("after reconnect %s could not be re-opened: %s", of.path.c_str(), client::describe(o.status()).c_str());
          continue;
        }
        auto o = smb.open(of.path, of.access, smb2::kFileOpen, of.options);
        if (o) of.id = *o;
        else LOG_WARN("after reconnect %s could not be re-opened: %s", of.path.c_str(), client::describe(o.status()).c_str());
      }
      return true;
    }
    return false;
  }

  // CREATE under the inode's lease key asking for RWH; records the grant (unless a break with a
  // later epoch was already applied) and counts the handle. `covered` says whether, before this
  // open, the lease held R with at least one handle open all along: only then may the kernel
  // keep pages it cached earlier.
  struct LeasedOpen {
    smb2::FileId id;
    uint32_t state = 0;
    bool covered = false;
  };
  Result<LeasedOpen> openUnderLease(fuse_ino_t ino, const std::string& path, uint32_t access,
                                    uint32_t disposition, uint32_t options) {
    smb2::LeaseKey key;
    bool covered;
    {
      std::lock_guard<std::mutex> lk(lease_mu);
      auto [it, fresh] = lease_of.try_emplace(ino);
      if (fresh) {
        crypto::randomFill(it->second.key);
        ino_of_key[it->second.key] = ino;
      }
      key = it->second.key;
      covered = it->second.handles > 0 && (it->second.state & smb2::kLeaseRead);
    }
    auto o = SD_TRY(smb.openLeased(path, access, disposition, options, key,
                                   smb2::kLeaseRead | smb2::kLeaseWrite | smb2::kLeaseHandle));
    std::lock_guard<std::mutex> lk(lease_mu);
    Lease& l = lease_of[ino];
    // A break handled while this CREATE was answered has a later epoch than the grant.
    if (!l.have_epoch || int16_t(o.epoch - l.epoch) >= 0) {
      l.state = o.lease_state;
      l.epoch = o.epoch;
      l.have_epoch = o.lease_state != 0;
    }
    l.handles++;
    return LeasedOpen{o.id, l.state, covered && (l.state & smb2::kLeaseRead)};
  }
  // One handle under the lease is closed: when none is left the server has dropped the lease.
  void leaseHandleClosed(fuse_ino_t ino) {
    std::lock_guard<std::mutex> lk(lease_mu);
    auto it = lease_of.find(ino);
    if (it == lease_of.end()) return;
    Lease& l = it->second;
    if (l.handles) l.handles--;
    if (!l.handles) {
      l.state = 0;
      l.have_epoch = false;
    }
  }
  // A deferred handle of this inode with at least `access`, taken out of the deferred list
  // (it stays counted in handles), while the lease still has Handle caching.
  std::optional<smb2::FileId> takeDeferred(fuse_ino_t ino, uint32_t access, bool* covered) {
    std::lock_guard<std::mutex> lk(lease_mu);
    auto it = lease_of.find(ino);
    if (it == lease_of.end() || !(it->second.state & smb2::kLeaseHandle)) return std::nullopt;
    Lease& l = it->second;
    for (size_t i = 0; i < l.deferred.size(); i++) {
      if ((l.deferred[i].access & access) != access) continue;
      smb2::FileId id = l.deferred[i].id;
      l.deferred.erase(l.deferred.begin() + ptrdiff_t(i));
      *covered = (l.state & smb2::kLeaseRead) != 0;
      deferred_reused++;
      return id;
    }
    return std::nullopt;
  }
  // Closes the deferred handles of `ino` now (before an unlink or rename of its path, as
  // cifs.ko does, so that the server need not break our own Handle lease first).
  void closeDeferred(fuse_ino_t ino) {
    std::vector<smb2::FileId> ids;
    {
      std::lock_guard<std::mutex> lk(lease_mu);
      auto it = lease_of.find(ino);
      if (it == lease_of.end()) return;
      for (auto& d : it->second.deferred) ids.push_back(d.id);
      it->second.deferred.clear();
    }
    if (ids.empty()) return;
    std::shared_lock<std::shared_mutex> cl(conn_mu);
    for (auto& id : ids) {
      (void)smb.close(id);
      deferred_closed++;
      leaseHandleClosed(ino);
    }
  }
  // The known inodes of `p` and of every path below it.
  std::vector<fuse_ino_t> knownInosFrom(const std::string& p) {
    std::lock_guard<std::mutex> lk(tab_mu);
    std::vector<fuse_ino_t> out;
    for (auto& [q, i] : inos)
      if (q == p || q.compare(0, p.size() + 1, p + "/") == 0) out.push_back(i);
    return out;
  }
  std::optional<fuse_ino_t> knownIno(const std::string& p) {
    std::lock_guard<std::mutex> lk(tab_mu);
    auto it = inos.find(p);
    if (it == inos.end()) return std::nullopt;
    return it->second;
  }
  void leaseWorkerLoop();
  void handleBreak(const BreakWork& w);

  std::optional<std::string> pathOf(fuse_ino_t ino) {
    std::lock_guard<std::mutex> lk(tab_mu);
    auto it = paths.find(ino);
    if (it == paths.end()) return std::nullopt;
    return it->second;
  }
  fuse_ino_t inoFor(const std::string& p) {
    std::lock_guard<std::mutex> lk(tab_mu);
    auto it = inos.find(p);
    if (it != inos.end()) return it->second;
    fuse_ino_t i = next_ino++;
    inos[p] = i;
    paths[i] = p;
    return i;
  }
  std::optional<std::string> child(fuse_ino_t parent, const char* name) {
    auto p = pathOf(parent);
    if (!p) return std::nullopt;
    return p->empty() ? std::string(name) : *p + "/" + name;
  }
  std::optional<smb2::FileId> fileId(uint64_t fh) {
    std::lock_guard<std::mutex> lk(files_mu);
    auto it = files.find(fh);
    if (it == files.end()) return std::nullopt;
    return it->second.id;
  }
  uint64_t addFile(OpenFile of) {
    std::lock_guard<std::mutex> lk(files_mu);
    uint64_t h = next_fh++;
    files[h] = std::move(of);
    return h;
  }
  void toStat(const fscc::FileInfo& fi, fuse_ino_t ino, struct stat* st) {
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
  // Re-keys every path under `from` after a rename.
  void renamePaths(const std::string& from, const std::string& to) {
    std::lock_guard<std::mutex> lk(tab_mu);
    std::vector<std::pair<std::string, fuse_ino_t>> moved;
    for (auto& [p, i] : inos)
      if (p == from || p.compare(0, from.size() + 1, from + "/") == 0) moved.emplace_back(p, i);
    for (auto& [p, i] : moved) {
      std::string np = to + p.substr(from.size());
      inos.erase(p);
      auto old = inos.find(np);
      if (old != inos.end()) paths.erase(old->second);
      inos[np] = i;
      paths[i] = np;
    }
  }
};

Fs* fsOf(fuse_req_t req) { return static_cast<Fs*>(fuse_req_userdata(req)); }

// The lease worker: applies breaks in arrival order and closes deferred handles whose
// closetimeo has passed. A break is handled as cifs.ko does: nothing to write back when W goes
// (writes go through to the server before they are answered), the kernel's pages and
// attributes of the inode dropped when R goes, the deferred handles closed when H goes, then
// the acknowledgment with the new state. Each wait is bounded (1 s), so stopping is prompt.
void Fs::leaseWorkerLoop() {
  std::unique_lock<std::mutex> lk(lease_mu);
  while (!lease_stop) {
    if (!break_queue.empty()) {
      BreakWork w = break_queue.front();
      break_queue.pop_front();
      lk.unlock();
      handleBreak(w);
      lk.lock();
      continue;
    }
    // Deferred handles past their time.
    auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::seconds(1);
    std::vector<std::pair<fuse_ino_t, smb2::FileId>> expired;
    for (auto& [ino, l] : lease_of) {
      for (size_t i = 0; i < l.deferred.size();) {
        auto due = l.deferred[i].since + closetimeo;
        if (due <= now) {
          expired.emplace_back(ino, l.deferred[i].id);
          l.deferred.erase(l.deferred.begin() + ptrdiff_t(i));
        } else {
          next = std::min(next, due);
          i++;
        }
      }
    }
    if (!expired.empty()) {
      lk.unlock();
      {
        std::shared_lock<std::shared_mutex> cl(conn_mu);
        for (auto& [ino, id] : expired) (void)smb.close(id);
      }
      for (auto& [ino, id] : expired) {
        deferred_closed++;
        leaseHandleClosed(ino);
      }
      lk.lock();
      continue;
    }
    lease_cv.wait_until(lk, next);
  }
}

void Fs::handleBreak(const BreakWork& w) {
  std::optional<fuse_ino_t> ino;
  std::vector<smb2::FileId> to_close;
  bool drop_cache = w.local;
  {
    std::lock_guard<std::mutex> lk(lease_mu);
    auto k = ino_of_key.find(w.b.key);
    if (k != ino_of_key.end()) {
      ino = k->second;
      Lease& l = lease_of[*ino];
      if (!w.local) {
        drop_cache = (l.state & smb2::kLeaseRead) && !(w.b.new_state & smb2::kLeaseRead);
        l.state &= w.b.new_state;
        l.epoch = w.b.new_epoch;
        l.have_epoch = true;
        // Every break closes the kept handles, not only one that takes H: a break means another
        // client wants the file, and a kept handle would, e.g., keep a file it deleted (delete
        // on close) on the server until closetimeo (Samba breaks only W for that open).
        for (auto& d : l.deferred) to_close.push_back(d.id);
        l.deferred.clear();
      }
    }
  }
  LOG_DEBUG("lease break %s -> %s%s", smb2::leaseStateText(w.b.current_state).c_str(),
            smb2::leaseStateText(w.b.new_state).c_str(), w.local ? " (reconnect)" : "");
  if (ino && drop_cache && se) {
    // Pages and attributes of the inode: the next read goes to the server.
    int rc = fuse_lowlevel_notify_inval_inode(se, *ino, 0, 0);
    if (rc != 0 && rc != -ENOENT) LOG_WARN("invalidating inode %llu: %s", (unsigned long long)*ino, std::strerror(-rc));
    cache_invalidations++;
  }
  if (w.local) return;
  std::shared_lock<std::shared_mutex> cl(conn_mu);
  for (auto& id : to_close) {
    (void)smb.close(id);
    deferred_closed++;
    leaseHandleClosed(*ino);
  }
  bool any_left = true;
  if (ino) {
    std::lock_guard<std::mutex> lk(lease_mu);
    any_left = lease_of[*ino].handles > 0;
  }
  // Closing the lease's last handle ends it and with it the break (MS-SMB2 3.3.4.7 and
  // 3.3.5.22.2: the server answers an acknowledgment of a lease it no longer has with
  // STATUS_OBJECT_NAME_NOT_FOUND): acknowledge only a lease that still has opens.
  if (w.b.ack_required && any_left) {
    Status st = smb.ackLeaseBreak(w.b.key, w.b.new_state);
    if (!st) LOG_WARN("lease break acknowledgment: %s", client::describe(st.status()).c_str());
  }
}

// Runs `f` with the connection held (shared); when the connection turned out to be gone,
// reconnects once and runs it again (f looks up file ids afresh, so re-opened files are used).
template <class F>
auto again(Fs* fs, F&& f) -> decltype(f()) {
  uint64_t seen;
  {
    std::shared_lock<std::shared_mutex> lk(fs->conn_mu);
    seen = fs->generation;
    auto r = f();
    if (r || !client::SmbClient::connectionLost(r.status())) return r;
  }
  if (!fs->reconnect(seen)) return err(NtStatus::kConnectionDisconnected, "reconnect failed");
  std::shared_lock<std::shared_mutex> lk(fs->conn_mu);
  return f();
}
// Runs `f` with the connection held, without a retry (for operations that are not idempotent:
// create, remove, rename; the next request reconnects).
template <class F>
auto once(Fs* fs, F&& f) -> decltype(f()) {
  std::shared_lock<std::shared_mutex> lk(fs->conn_mu);
  return f();
}

void replyEntry(fuse_req_t req, Fs* fs, const std::string& path, const fscc::FileInfo& fi) {
  fuse_entry_param e{};
  e.ino = fs->inoFor(path);
  e.attr_timeout = fs->ttl;
  e.entry_timeout = fs->ttl;
  fs->toStat(fi, e.ino, &e.attr);
  fuse_reply_entry(req, &e);
}

void opLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Fs* fs = fsOf(req);
  auto p = fs->child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto st = again(fs, [&] { return fs->smb.stat(*p); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  replyEntry(req, fs, *p, *st);
}

void opGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Fs* fs = fsOf(req);
  auto p = fs->pathOf(ino);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto st = again(fs, [&] { return fs->smb.stat(*p); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  struct stat s;
  fs->toStat(*st, ino, &s);
  fuse_reply_attr(req, &s, fs->ttl);
}

void opSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto path = fs->pathOf(ino);
  if (!path) return (void)fuse_reply_err(req, ENOENT);
  Status st = again(fs, [&]() -> Status {
    smb2::FileId f;
    bool opened = false, leased = false;
    std::optional<smb2::FileId> have = fi ? fs->fileId(fi->fh) : std::nullopt;
    if (have) {
      f = *have;
    } else {
      uint32_t acc = smb2::kFileWriteData | smb2::kFileWriteAttributes | smb2::kFileReadAttributes;
      if (fs->leases) {
        // Under the file's own lease key: another key would break our lease.
        auto o = fs->openUnderLease(ino, *path, acc, smb2::kFileOpen, 0);
        if (!o) return o.error();
        f = o->id;
        leased = true;
      } else {
        auto o = fs->smb.open(*path, acc, smb2::kFileOpen, 0);
        if (!o) return o.error();
        f = *o;
      }
      opened = true;
    }
    Status r = ok();
    if (to_set & FUSE_SET_ATTR_SIZE) r = fs->smb.truncate(f, uint64_t(attr->st_size));
    if (r && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
      uint64_t now = filetimeNow();
      uint64_t a = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : (to_set & FUSE_SET_ATTR_ATIME) ? filetimeFromTimespec(attr->st_atim) : 0;
      uint64_t m = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : (to_set & FUSE_SET_ATTR_MTIME) ? filetimeFromTimespec(attr->st_mtim) : 0;
      r = fs->smb.setTimes(f, a, m);
    }
    if (opened) {
      (void)fs->smb.close(f);
      if (leased) fs->leaseHandleClosed(ino);
    }
    return r;
  });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  opGetattr(req, ino, nullptr);
}

void opOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto p = fs->pathOf(ino);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto l = again(fs, [&] { return fs->smb.list(*p); });
  if (!l) return (void)fuse_reply_err(req, toErrno(l.status()));
  auto list = std::make_shared<const std::vector<fscc::FileInfo>>(std::move(*l));
  {
    std::lock_guard<std::mutex> lk(fs->files_mu);
    fi->fh = fs->next_fh++;
    fs->dirs[fi->fh] = std::move(list);
  }
  fuse_reply_open(req, fi);
}

void opReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  std::shared_ptr<const std::vector<fscc::FileInfo>> list;
  {
    std::lock_guard<std::mutex> lk(fs->files_mu);
    auto it = fs->dirs.find(fi->fh);
    if (it != fs->dirs.end()) list = it->second;
  }
  if (!list) return (void)fuse_reply_err(req, EBADF);
  auto self = fs->pathOf(ino);
  if (!self) return (void)fuse_reply_err(req, ENOENT);
  std::vector<char> buf(size);
  size_t used = 0;
  const auto& v = *list;
  for (size_t i = size_t(off); i < v.size(); i++) {
    struct stat st{};
    const auto& e = v[i];
    bool dots = e.name == "." || e.name == "..";
    st.st_ino = dots ? ino : fs->inoFor(self->empty() ? e.name : *self + "/" + e.name);
    st.st_mode = (e.file_attributes & smb2::kFileAttributeDirectory) ? S_IFDIR : S_IFREG;
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, off_t(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void opReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  {
    std::lock_guard<std::mutex> lk(fs->files_mu);
    fs->dirs.erase(fi->fh);
  }
  fuse_reply_err(req, 0);
}

uint32_t accessFor(const Fs* fs, int flags) {
  uint32_t a = smb2::kFileReadAttributes | smb2::kSynchronize;
  int acc = flags & O_ACCMODE;
  // With the writeback cache (cache=loose) the kernel reads around partial-page writes, so a
  // write-only open must be able to read.
  if (acc == O_RDONLY || acc == O_RDWR || fs->opt.cache == "loose") a |= smb2::kFileReadData;
  if (acc == O_WRONLY || acc == O_RDWR) a |= smb2::kFileWriteData | smb2::kFileAppendData | smb2::kFileWriteAttributes;
  return a;
}

// cache=none: every read and write goes to the server (direct_io). cache=strict: the kernel
// page cache serves reads within one open (readahead runs several READs at once) but is dropped
// at every open, and writes go through to the server: another client's change is seen at the
// next open, as cifs.ko without an oplock. cache=loose: the page cache is kept across opens and
// writes are cached (writeback cache, pushed at flush/fsync/close).
// With a lease (cache=strict on a server that grants them) the page cache is kept across opens
// while R was held without a gap (`covered`), as cifs.ko caches under a lease.
void setCaching(const Fs* fs, fuse_file_info* fi, bool covered = false) {
  fi->direct_io = fs->opt.cache == "none";
  fi->keep_cache = fs->opt.cache == "loose" || covered;
}

// FUSE caps the readahead window at the bdi default (128 KiB) whatever max_readahead says; the
// bdi of the new mount (its st_dev, found in mountinfo so that no FUSE request is needed yet) is
// widened as cifs.ko sizes its own. Best effort: needs root.
void setReadahead(const std::string& target) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(mi, line)) {
    // "36 35 0:52 / /mnt ..." : the third field is major:minor, the fifth the mount point.
    char dev[32], mnt[4096];
    if (std::sscanf(line.c_str(), "%*s %*s %31s %*s %4095s", dev, mnt) == 2 && target == mnt) found = dev;
  }
  if (found.empty()) return;
  std::ofstream ra("/sys/class/bdi/" + found + "/read_ahead_kb");
  if (ra) ra << (kReadaheadBytes >> 10) << "\n";
}


void opOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  // After FUSE_INIT (which lowers the window to what the kernel offered), before the first read.
  if (!fs->readahead_set.exchange(true)) setReadahead(fs->mount_target);
  auto p = fs->pathOf(ino);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  // With the writeback cache the kernel truncates and appends itself.
  int flags = fi->flags;
  if (fs->opt.cache == "loose") flags &= ~O_APPEND;
  uint32_t disp = (flags & O_TRUNC) ? smb2::kFileOverwrite : smb2::kFileOpen;
  uint32_t access = accessFor(fs, flags);
  if (fs->leases) {
    // A handle kept by a recent close of this file (deferred close) serves the open with no
    // round trip; otherwise a CREATE under the file's lease key.
    bool covered = false;
    if (disp == smb2::kFileOpen) {
      if (auto id = fs->takeDeferred(ino, access, &covered)) {
        LOG_DEBUG("open %s: kept handle reused, %s the page cache", p->c_str(), covered ? "keeping" : "dropping");
        fi->fh = fs->addFile(Fs::OpenFile{*id, *p, access, smb2::kFileNonDirectoryFile, ino, true});
        setCaching(fs, fi, covered);
        return (void)fuse_reply_open(req, fi);
      }
    }
    auto f = again(fs, [&] { return fs->openUnderLease(ino, *p, access, disp, smb2::kFileNonDirectoryFile); });
    if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
    if (disp != smb2::kFileOpen) f->covered = false;  // truncated: no cached page is still right
    LOG_DEBUG("open %s: lease %s, %s the page cache", p->c_str(), smb2::leaseStateText(f->state).c_str(),
              f->covered ? "keeping" : "dropping");
    fi->fh = fs->addFile(Fs::OpenFile{f->id, *p, access, smb2::kFileNonDirectoryFile, ino, true});
    setCaching(fs, fi, f->covered);
    return (void)fuse_reply_open(req, fi);
  }
  auto f = again(fs, [&] { return fs->smb.open(*p, access, disp, smb2::kFileNonDirectoryFile); });
  if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
  fi->fh = fs->addFile(Fs::OpenFile{*f, *p, access, smb2::kFileNonDirectoryFile});
  setCaching(fs, fi);
  fuse_reply_open(req, fi);
}

void opCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  if (!fs->readahead_set.exchange(true)) setReadahead(fs->mount_target);
  auto p = fs->child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  uint32_t disp = (fi->flags & O_EXCL) ? smb2::kFileCreate : (fi->flags & O_TRUNC) ? smb2::kFileOverwriteIf : smb2::kFileOpenIf;
  uint32_t access = accessFor(fs, fi->flags) | smb2::kFileWriteData;
  std::optional<fscc::FileInfo> info;
  fuse_ino_t ino = fs->inoFor(*p);
  if (fs->leases) fs->closeDeferred(ino);  // O_TRUNC/O_EXCL act on the file, not a kept handle
  auto f = once(fs, [&]() -> Result<smb2::FileId> {
    smb2::FileId o;
    if (fs->leases) o = SD_TRY(fs->openUnderLease(ino, *p, access, disp, smb2::kFileNonDirectoryFile)).id;
    else o = SD_TRY(fs->smb.open(*p, access, disp, smb2::kFileNonDirectoryFile));
    auto st = fs->smb.stat(*p);
    if (!st) {
      (void)fs->smb.close(o);
      if (fs->leases) fs->leaseHandleClosed(ino);
      return st.error();
    }
    info = *st;
    return o;
  });
  if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
  fi->fh = fs->addFile(Fs::OpenFile{*f, *p, access, smb2::kFileNonDirectoryFile, ino, fs->leases});
  setCaching(fs, fi);
  fuse_entry_param e{};
  e.ino = ino;
  e.attr_timeout = fs->ttl;
  e.entry_timeout = fs->ttl;
  fs->toStat(*info, e.ino, &e.attr);
  fuse_reply_create(req, &e, fi);
}

void opRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  if (!fs->fileId(fi->fh)) return (void)fuse_reply_err(req, EBADF);
  // Over TCP the reply is sent straight from the READ response (no copy); a short READ before
  // the end of the file is completed below (the kernel takes a short reply for end of file).
  client::SmbClient::ReadReply first;
  auto r = again(fs, [&]() -> Result<bool> {
    auto id = fs->fileId(fi->fh);
    if (!id) return err(NtStatus::kInvalidHandle, "closed");
    return fs->dataOp([&](client::SmbClient& c) -> Result<bool> {
      if (c.info().transport == "rdma") return false;
      first = SD_TRY(c.readReply(*id, uint64_t(off), uint32_t(size)));
      return true;
    });
  });
  if (!r) return (void)fuse_reply_err(req, toErrno(r.status()));
  if (*r && (first.data.size() == size || first.data.empty()))
    return (void)fuse_reply_buf(req, reinterpret_cast<const char*>(first.data.data()), first.data.size());
  std::vector<uint8_t> buf(size);
  size_t done = 0;
  if (*r) {
    std::copy(first.data.begin(), first.data.end(), buf.begin());
    done = first.data.size();
  }
  while (done < size) {
    auto n = again(fs, [&]() -> Result<size_t> {
      auto id = fs->fileId(fi->fh);
      if (!id) return err(NtStatus::kInvalidHandle, "closed");
      return fs->dataOp([&](client::SmbClient& c) {
        return c.read(*id, uint64_t(off) + done, std::span<uint8_t>(buf.data() + done, size - done));
      });
    });
    if (!n) return (void)fuse_reply_err(req, toErrno(n.status()));
    if (*n == 0) break;
    done += *n;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), done);
}

void opWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  if (!fs->fileId(fi->fh)) return (void)fuse_reply_err(req, EBADF);
  size_t done = 0;
  while (done < size) {
    // A large WRITE goes as pieces sent back to back: the server writes one while the next
    // arrives (a qd1 writer's 1 MiB requests otherwise wait for one whole round trip each).
    auto n = again(fs, [&]() -> Result<size_t> {
      auto id = fs->fileId(fi->fh);
      if (!id) return err(NtStatus::kInvalidHandle, "closed");
      return fs->dataOp([&](client::SmbClient& c) {
        return c.writePipelined(*id, uint64_t(off) + done,
                                ByteView(reinterpret_cast<const uint8_t*>(data) + done, size - done), kWritePiece);
      });
    });
    if (!n) return (void)fuse_reply_err(req, toErrno(n.status()));
    if (*n == 0) return (void)fuse_reply_err(req, EIO);
    done += *n;
  }
  fuse_reply_write(req, done);
}

// The kernel has pushed this file's cached writes (writeback cache) before FLUSH; nothing is
// buffered here, every WRITE was answered by the server before its reply.
void opFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

// SMB2 FLUSH needs a handle with write access (MS-SMB2 3.3.5.11): fsync on a read-only open
// flushes another open of the same file that can write (the writeback cache writes through
// any of them), or has nothing to push.
std::optional<smb2::FileId> flushHandle(Fs* fs, uint64_t fh, bool* known) {
  std::lock_guard<std::mutex> lk(fs->files_mu);
  auto it = fs->files.find(fh);
  *known = it != fs->files.end();
  if (!*known) return std::nullopt;
  constexpr uint32_t kWrite = smb2::kFileWriteData | smb2::kFileAppendData;
  if (it->second.access & kWrite) return it->second.id;
  for (const auto& [h, of] : fs->files)
    if (of.path == it->second.path && (of.access & kWrite)) return of.id;
  return std::nullopt;
}

void opFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  bool known = false;
  (void)flushHandle(fs, fi->fh, &known);
  if (!known) return (void)fuse_reply_err(req, EBADF);
  auto st = again(fs, [&]() -> Status {
    auto id = flushHandle(fs, fi->fh, &known);
    if (!known) return err(NtStatus::kInvalidHandle, "closed");
    return id ? fs->smb.flush(*id) : ok();
  });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  std::optional<Fs::OpenFile> of;
  {
    std::lock_guard<std::mutex> lk(fs->files_mu);
    auto it = fs->files.find(fi->fh);
    if (it != fs->files.end()) {
      of = std::move(it->second);
      fs->files.erase(it);
    }
  }
  if (of && of->leased) {
    // Deferred close (cifs.ko's closetimeo): while the lease caches the handle (H), keep it for
    // the next open of this file; the lease worker closes it when its time is up or H breaks.
    std::lock_guard<std::mutex> lk(fs->lease_mu);
    auto it = fs->lease_of.find(of->ino);
    if (fs->closetimeo.count() > 0 && it != fs->lease_of.end() && (it->second.state & smb2::kLeaseHandle)) {
      it->second.deferred.push_back({of->id, of->access, std::chrono::steady_clock::now()});
      fs->lease_cv.notify_all();
      return (void)fuse_reply_err(req, 0);
    }
  }
  if (of) (void)once(fs, [&] { return fs->smb.close(of->id); });
  if (of && of->leased) fs->leaseHandleClosed(of->ino);
  fuse_reply_err(req, 0);
}

void opUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Fs* fs = fsOf(req);
  auto p = fs->child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  if (fs->leases)
    if (auto ino = fs->knownIno(*p)) fs->closeDeferred(*ino);
  auto st = once(fs, [&] { return fs->smb.unlink(*p); });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Fs* fs = fsOf(req);
  auto p = fs->child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto st = once(fs, [&] { return fs->smb.rmdir(*p); });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
  Fs* fs = fsOf(req);
  auto p = fs->child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto info = once(fs, [&]() -> Result<fscc::FileInfo> {
    SD_CHECK(fs->smb.mkdir(*p));
    return fs->smb.stat(*p);
  });
  if (!info) return (void)fuse_reply_err(req, toErrno(info.status()));
  replyEntry(req, fs, *p, *info);
}

void opRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Fs* fs = fsOf(req);
  if (flags & ~unsigned(RENAME_NOREPLACE)) return (void)fuse_reply_err(req, EINVAL);
  auto from = fs->child(parent, name), to = fs->child(newparent, newname);
  if (!from || !to) return (void)fuse_reply_err(req, ENOENT);
  // Our deferred handles of the source, of anything below it (a directory is not renamed while
  // files below it are open) and of the target close first, as cifs.ko does.
  if (fs->leases) {
    for (auto ino : fs->knownInosFrom(*from)) fs->closeDeferred(ino);
    if (auto ino = fs->knownIno(*to)) fs->closeDeferred(*ino);
  }
  auto st = once(fs, [&] { return fs->smb.rename(*from, *to, !(flags & RENAME_NOREPLACE)); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  fs->renamePaths(*from, *to);
  fuse_reply_err(req, 0);
}

void opStatfs(fuse_req_t req, fuse_ino_t) {
  Fs* fs = fsOf(req);
  auto s = again(fs, [&] { return fs->smb.statfs(); });
  if (!s) return (void)fuse_reply_err(req, toErrno(s.status()));
  struct statvfs v{};
  v.f_bsize = v.f_frsize = s->unit_bytes ? s->unit_bytes : 4096;
  v.f_blocks = s->total_units;
  v.f_bfree = s->free_units;
  v.f_bavail = s->avail_units;
  v.f_namemax = 255;
  fuse_reply_statfs(req, &v);
}

void opForget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

// cifs.ko's I/O shape: READ/WRITE of rsize/wsize (1 MiB, the most a FUSE request carries),
// reads answered out of order (ASYNC_READ) so readahead keeps several in flight, and enough
// background requests for the readahead window.
void opInit(void* userdata, fuse_conn_info* conn) {
  Fs* fs = static_cast<Fs*>(userdata);
  uint32_t io = 1u << 20;
  conn->max_write = fs->opt.wsize ? std::min(fs->opt.wsize, io) : io;
  conn->max_read = fs->opt.rsize ? std::min(fs->opt.rsize, io) : io;
  conn->max_readahead = kReadaheadBytes;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (fs->opt.cache == "loose" && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Without leases: cached pages are dropped when the server reports another mtime (a size
  // change drops them anyway). Under leases the breaks say when pages go stale, and the mtime
  // must not: Samba moves a file's mtime up to 2 s after our own writes (its delayed write
  // time), which would drop the pages we just wrote or read.
  if ((conn->capable & FUSE_CAP_AUTO_INVAL_DATA) && !fs->leases) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  else conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

constexpr unsigned kWorkers = 16;

}  // namespace

namespace {

// Connects, mounts and serves; `notify_fd` (background mode) gets one byte, 0, once mounted.
int mountAndServe(const MountRequest& r, int notify_fd) {
  auto addr = client::parseSmbAddress(r.source);
  if (!addr || addr->share.empty()) {
    std::fprintf(stderr, "smbdirect mount: bad source '%s' (use //server/share)\n", r.source.c_str());
    return 2;
  }
  auto fs = std::make_unique<Fs>();
  fs->opt = r.options;
  fs->uid = r.options.uid ? *r.options.uid : getuid();
  fs->gid = r.options.gid ? *r.options.gid : getgid();
  fs->ttl = double(r.options.actimeo);
  client::ConnectOptions o;
  o.host = addr->host;
  o.port = r.options.port ? r.options.port : addr->port ? addr->port : 445;
  o.port_explicit = r.options.port || addr->port;
  o.rdma = r.options.rdma;
  o.rdma_provider = r.options.rdma_provider;
  if (!r.options.dialects.empty()) o.dialects = r.options.dialects;
  o.user = r.options.creds.user;
  o.domain = r.options.creds.domain;
  o.password = r.options.creds.password;
  o.sign = r.options.sign;
  o.seal = r.options.seal;
  if (r.options.rsize) o.max_io = r.options.rsize;
  auto st = fs->smb.connect(o);
  if (!st) {
    std::fprintf(stderr, "smbdirect mount: %s: %s\n", r.source.c_str(), client::describe(st.status()).c_str());
    return client::exitCodeFor(st.status());
  }
  st = fs->smb.treeConnect(addr->share);
  if (!st) {
    std::fprintf(stderr, "smbdirect mount: %s: %s\n", r.source.c_str(), client::describe(st.status()).c_str());
    return client::exitCodeFor(st.status());
  }
  // multichannel over TCP (as Windows clients do): when the server lists an RDMA-capable
  // interface, bind an SMB Direct channel to the session and move READ/WRITE to it.
  if (r.options.multichannel && r.options.max_channels > 1 && !r.options.rdma) {
    auto ifs = fs->smb.interfaces();
    bool rdma_capable = false;
    if (ifs)
      for (const auto& i : *ifs) rdma_capable |= i.rdma;
    if (rdma_capable) {
      auto ch = std::make_unique<client::SmbClient>();
      client::ConnectOptions o2 = o;
      o2.rdma = true;
      o2.port = r.options.rdma_port;
      o2.port_explicit = r.options.rdma_port != 0;
      o2.bind_to = &fs->smb;
      Status b = ch->connect(o2);
      if (b) {
        std::fprintf(stderr, "smbdirect: multichannel: SMB Direct channel bound (%s provider); reads and writes use it\n",
                     ch->info().rdma_provider.c_str());
        fs->rdma_channel = std::move(ch);
        fs->rdma_ok = true;
      } else {
        std::fprintf(stderr, "smbdirect: multichannel: no SMB Direct channel (%s); staying on TCP\n",
                     client::describe(b.status()).c_str());
      }
    } else {
      std::fprintf(stderr, "smbdirect: multichannel: the server lists no RDMA-capable interface; staying on TCP\n");
    }
  }

  // Leases: cache=strict on a server that offers them (cache=none/loose keep their behaviour).
  fs->leases = r.options.cache == "strict" && fs->smb.leasesSupported();
  fs->closetimeo = std::chrono::seconds(r.options.closetimeo);
  if (fs->leases) {
    Fs* fsp = fs.get();
    // Called on the client's receiving thread: only queue the work.
    fs->smb.setLeaseBreakHandler([fsp](const client::SmbClient::LeaseBreak& b) {
      std::lock_guard<std::mutex> lk(fsp->lease_mu);
      fsp->break_queue.push_back(Fs::BreakWork{b, false});
      fsp->lease_cv.notify_all();
    });
  }

  fuse_lowlevel_ops ops{};
  ops.init = opInit;
  ops.lookup = opLookup;
  ops.forget = opForget;
  ops.getattr = opGetattr;
  ops.setattr = opSetattr;
  ops.opendir = opOpendir;
  ops.readdir = opReaddir;
  ops.releasedir = opReleasedir;
  ops.open = opOpen;
  ops.create = opCreate;
  ops.read = opRead;
  ops.write = opWrite;
  ops.flush = opFlush;
  ops.fsync = opFsync;
  ops.release = opRelease;
  ops.unlink = opUnlink;
  ops.rmdir = opRmdir;
  ops.mkdir = opMkdir;
  ops.rename = opRename;
  ops.statfs = opStatfs;

  // /proc/mounts shows "//server/share /mnt fuse.smbdirect"; the given options follow in the
  // subtype-independent fsname so that findmnt's SOURCE is the share.
  uint32_t max_read = r.options.rsize ? std::min<uint32_t>(r.options.rsize, 1u << 20) : 1u << 20;
  std::string fsname = "-ofsname=" + r.source + ",subtype=smbdirect,default_permissions,max_read=" + std::to_string(max_read);
  if (r.options.read_only) fsname += ",ro";
  if (getuid() == 0) fsname += ",allow_other";
  std::vector<std::string> argv_s = {"smbdirect", fsname};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, fs.get());
  if (!se) {
    std::fprintf(stderr, "smbdirect mount: cannot create the FUSE session\n");
    return 1;
  }
  if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, r.mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "smbdirect mount: cannot mount on %s\n", r.mountpoint.c_str());
    fuse_session_destroy(se);
    return 1;
  }
  std::string target = r.mountpoint;
  if (char* rp = realpath(r.mountpoint.c_str(), nullptr)) {
    target = rp;
    free(rp);
  }
  utabAdd(r.source, target, client::displayMountOptions(r.options));
  fs->mount_target = target;
  std::string transport = fs->smb.info().transport == "rdma"
                              ? "SMB Direct, " + fs->smb.info().rdma_provider + " provider"
                              : std::string("tcp");
  std::fprintf(stderr, "smbdirect: mounted %s on %s (SMB dialect 0x%04x%s%s, %s)\n", r.source.c_str(),
               r.mountpoint.c_str(), fs->smb.info().dialect, fs->smb.info().signing ? ", signed" : "",
               fs->smb.info().encryption ? ", sealed" : "", transport.c_str());
  if (notify_fd >= 0) {
    // Background: tell the waiting parent we are mounted, then detach from the terminal.
    uint8_t okb = 0;
    (void)!::write(notify_fd, &okb, 1);
    ::close(notify_fd);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
      if (devnull > 2) ::close(devnull);
    }
    (void)!chdir("/");
  }
  std::string header = "Mount: " + r.source + " on " + target + " (pid " + std::to_string(getpid()) +
                       ")\nOptions: " + client::displayMountOptions(r.options) + "\n";
  Fs* fsp = fs.get();
  fs->se = se;
  if (fs->leases) fs->lease_worker = std::thread([fsp] { fsp->leaseWorkerLoop(); });
  int rc;
  {
    StatusPublisher status([header, fsp] {
      std::shared_lock<std::shared_mutex> lk(fsp->conn_mu);
      std::string t = header + fsp->smb.statusText();
      if (fsp->leases) {
        size_t held = 0, deferred = 0;
        {
          std::lock_guard<std::mutex> ll(fsp->lease_mu);
          for (auto& [ino, l] : fsp->lease_of) {
            held += l.state != 0;
            deferred += l.deferred.size();
          }
        }
        t += "Leases held: " + std::to_string(held) + "  deferred closes pending: " + std::to_string(deferred) +
             "  reused: " + std::to_string(fsp->deferred_reused.load()) +
             "  closed: " + std::to_string(fsp->deferred_closed.load()) +
             "  cache invalidations: " + std::to_string(fsp->cache_invalidations.load()) + "\n";
      } else {
        t += "Leases: not used (" + std::string(fsp->opt.cache != "strict" ? "cache=" + fsp->opt.cache : "the server offers none") + ")\n";
      }
      if (fsp->rdma_channel) t += "Channel 2 (bound to the session):\n" + fsp->rdma_channel->statusText();
      return t;
    });
    // Worker threads: requests run concurrently on the one connection (the kernel's readahead
    // and parallel jobs keep several READ/WRITE in flight).
    fuse_loop_config* lc = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(lc, 0);
    fuse_loop_cfg_set_max_threads(lc, kWorkers);
    fuse_loop_cfg_set_idle_threads(lc, kWorkers);
    rc = fuse_session_loop_mt(se, lc);
    fuse_loop_cfg_destroy(lc);
  }
  // The lease worker stops before the session goes; then the kept handles are closed.
  if (fs->lease_worker.joinable()) {
    {
      std::lock_guard<std::mutex> lk(fs->lease_mu);
      fs->lease_stop = true;
      fs->lease_cv.notify_all();
    }
    fs->lease_worker.join();
    std::vector<fuse_ino_t> inos;
    {
      std::lock_guard<std::mutex> lk(fs->lease_mu);
      for (auto& [ino, l] : fs->lease_of) inos.push_back(ino);
    }
    for (fuse_ino_t ino : inos) fs->closeDeferred(ino);
    // No break reaches the mount's lease state after this (it is destroyed before the client).
    fs->smb.setLeaseBreakHandler(nullptr);
  }
  fs->se = nullptr;
  fuse_session_unmount(se);
  utabRemove(target);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  (void)fs->smb.logoff();
  return rc == 0 ? 0 : 1;
}

}  // namespace

// The mount runs in the background unless -f: fork first, before any connection exists (the
// SMB Direct provider and endpoint run threads, which a fork after connecting would lose); the
// parent waits until the child mounted or failed and exits with its status.
int runMount(const MountRequest& r) {
  if (r.foreground) return mountAndServe(r, -1);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return mountAndServe(r, -1);
  pid_t pid = fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return mountAndServe(r, -1);
  }
  if (pid == 0) {
    ::close(p[0]);
    setsid();
    _exit(mountAndServe(r, p[1]));
  }
  ::close(p[1]);
  uint8_t code = 1;
  ssize_t n;
  do n = ::read(p[0], &code, 1); while (n < 0 && errno == EINTR);
  ::close(p[0]);
  if (n == 1) return code;
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

}  // namespace sd::fuse
