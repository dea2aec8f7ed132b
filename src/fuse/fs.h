// The mount's state, shared by the FUSE request handlers (fs_ops.cc) and its workers: the
// connection and its guard, the inode table, the open files, the lease cache and the
// lease worker that applies breaks. See docs/ARCHITECTURE.md "Threading of the client and
// the mount".
#pragma once
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "client/options.h"
#include "client/smb_client.h"
#include "fuse/byte_locks.h"
#include "fuse/inode_table.h"
#include "fuse/lease_cache.h"

namespace sd::fuse {

class ChangeWatch;

int toErrno(NtStatus s);

// Open files and directory listings by FUSE handle.
class OpenFiles {
 public:
  struct File {
    smb2::FileId id;
    std::string path;
    uint32_t access = 0, options = 0;
    Ino ino = 0;
    bool leased = false;  // opened under the inode's lease key (counted in the lease cache)
  };
  using Listing = std::shared_ptr<const std::vector<fscc::FileInfo>>;
  uint64_t add(File f);
  std::optional<smb2::FileId> id(uint64_t fh);
  std::optional<File> take(uint64_t fh);
  // A handle that can write to the file of `fh` (itself or another open of the same path).
  std::optional<smb2::FileId> writableFor(uint64_t fh, bool* known);
  // Runs `f(fh, File&)` on every open file (the reconnect re-opens them), under the lock.
  template <class F>
  void forEach(F&& f) {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [fh, of] : files_) f(fh, of);
  }
  uint64_t addListing(Listing l);
  Listing listing(uint64_t fh);
  void dropListing(uint64_t fh);

 private:
  std::mutex mu_;
  std::map<uint64_t, File> files_;
  std::map<uint64_t, Listing> dirs_;
  uint64_t next_ = 1;
};

struct Fs {
  client::SmbClient smb;
  // multichannel: an SMB Direct channel bound to the session; READ and WRITE go through it
  // while rdma_ok (cleared, never re-set, when that channel fails).
  std::unique_ptr<client::SmbClient> rdma_channel;
  std::atomic<bool> rdma_ok{false};
  client::MountOptions opt;
  std::string mount_target;
  std::atomic<bool> readahead_set{false};
  uid_t uid = 0;
  gid_t gid = 0;
  double ttl = 1;
  fuse_session* se = nullptr;  // set before the session loop; workers notify the kernel through it

  // Threads: the FUSE session runs several workers. Each request holds conn_mu shared while it
  // uses the connection (SmbClient is safe for concurrent requests); a reconnect holds it
  // exclusively, so it never runs beside a request. generation counts reconnects, so that of
  // several workers that saw the same connection die only the first reconnects.
  std::shared_mutex conn_mu;
  uint64_t generation = 0;

  InodeTable inodes;  // the kernel caches attributes and entries for actimeo seconds, not this
  OpenFiles files;

  // Leases (cache=strict on a server that offers them).
  bool leases = false;
  std::unique_ptr<LeaseCache> lease_cache;
  std::atomic<uint64_t> cache_invalidations{0}, deferred_closed{0};

  // Durable handles (DH2Q on leased opens unless `nodurable`): the CreateGuid of each durable
  // handle by its persistent id, for the DH2C that attaches it again after a reconnect.
  std::mutex durable_mu;
  std::unordered_map<uint64_t, smb2::CreateGuid> durable_guids;
  std::atomic<uint64_t> durable_reconnects{0}, reopened_by_path{0};
  // CLOSE of a handle of a leased open (a durable one's CreateGuid is forgotten).
  Status closeHandle(const smb2::FileId& id);

  // Record locks held on the server (byte_locks.h); lock_ops_mu orders the LOCKs that change
  // the record.
  ByteLocks byte_locks;
  std::mutex lock_ops_mu;

  // Change notifications (the directory view kept fresh; change_watch.h), when on.
  std::unique_ptr<ChangeWatch> watch;

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
  // be restarting: a few tries, backing off, about 30 s in all), attach every durable handle
  // again (DH2C: the same handle, with its locks and lease) and re-open the others by path.
  // Returns whether the connection is usable again.
  bool reconnect(uint64_t seen);

  // CREATE under the inode's lease key asking for RWH; records the grant and counts the handle.
  // `covered`: the kernel may keep pages it cached earlier (LeaseCache::prepareOpen).
  struct LeasedOpen {
    smb2::FileId id;
    uint32_t state = 0;
    bool covered = false;
  };
  Result<LeasedOpen> openUnderLease(Ino ino, const std::string& path, uint32_t access, uint32_t disposition,
                                    uint32_t options);
  // Closes the kept handles of `ino` now (before an unlink or rename of its path, as cifs.ko
  // does, so that the server need not break our own Handle lease first).
  void closeDeferred(Ino ino);
  // A released leased file: its handle kept for closetimeo, or closed now.
  void releaseLeased(const OpenFiles::File& of);

  // The lease worker: breaks in arrival order, kept handles past closetimeo.
  void startLeaseWorker();
  void stopLeaseWorker();
  void queueBreak(const client::SmbClient::LeaseBreak& b);

  void toStat(const fscc::FileInfo& fi, Ino ino, struct stat* st) const;

 private:
  // A break from the server, or (local_ino) a reconnect's "trust nothing cached" of one inode.
  struct BreakWork {
    client::SmbClient::LeaseBreak b;
    std::optional<Ino> local_ino;
  };
  // DH2C of a durable handle after a reconnect: true when the server gave it back.
  bool reattach(Ino ino, const std::string& path, const smb2::FileId& id, bool leased);
  void leaseWorkerLoop();
  void handleBreak(const BreakWork& w);
  void queueLocked(BreakWork w);
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<BreakWork> break_queue_;
  bool stop_ = false;
  std::thread lease_worker_;
};

inline Fs* fsOf(fuse_req_t req) { return static_cast<Fs*>(fuse_req_userdata(req)); }

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

// The FUSE operations of the mount (fs_ops.cc).
const fuse_lowlevel_ops& smbfsOps();
// Record locks (lock_ops.cc): F_SETLK/F_SETLKW, F_GETLK; at flush the closing process's locks
// go, at release any left; after a re-open by name the handle's locks are taken again.
void opSetlk(fuse_req_t req, Ino ino, fuse_file_info* fi, struct flock* lock, int sleep);
void opGetlk(fuse_req_t req, Ino ino, fuse_file_info* fi, struct flock* lock);
void unlockOwner(Fs* fs, uint64_t fh, uint64_t owner);
void unlockAll(Fs* fs, uint64_t fh);
void relockAfterReopen(Fs* fs, uint64_t fh, const smb2::FileId& id);

}  // namespace sd::fuse
