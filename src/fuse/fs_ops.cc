// The FUSE low-level operations of the mount: each maps a kernel request to SMB2 requests on
// the mount's connection (fs.h), from one of the session loop's worker threads.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "base/clock.h"
#include "base/log.h"
#include "fuse/fs.h"
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

void replyEntry(fuse_req_t req, Fs* fs, const std::string& path, const fscc::FileInfo& fi) {
  fuse_entry_param e{};
  e.ino = fs->inodes.inoFor(path);
  e.attr_timeout = fs->ttl;
  e.entry_timeout = fs->ttl;
  fs->toStat(fi, e.ino, &e.attr);
  fuse_reply_entry(req, &e);
}

void opLookup(fuse_req_t req, Ino parent, const char* name) {
  Fs* fs = fsOf(req);
  auto p = fs->inodes.child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto st = again(fs, [&] { return fs->smb.stat(*p); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  replyEntry(req, fs, *p, *st);
}

void opGetattr(fuse_req_t req, Ino ino, fuse_file_info*) {
  Fs* fs = fsOf(req);
  auto p = fs->inodes.pathOf(ino);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto st = again(fs, [&] { return fs->smb.stat(*p); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  struct stat s;
  fs->toStat(*st, ino, &s);
  fuse_reply_attr(req, &s, fs->ttl);
}

void opSetattr(fuse_req_t req, Ino ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto path = fs->inodes.pathOf(ino);
  if (!path) return (void)fuse_reply_err(req, ENOENT);
  Status st = again(fs, [&]() -> Status {
    smb2::FileId f;
    bool opened = false, leased = false;
    std::optional<smb2::FileId> have = fi ? fs->files.id(fi->fh) : std::nullopt;
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
      (void)fs->closeHandle(f);
      if (leased) fs->lease_cache->handleClosed(ino);
    }
    return r;
  });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  opGetattr(req, ino, nullptr);
}

void opOpendir(fuse_req_t req, Ino ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto p = fs->inodes.pathOf(ino);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto l = again(fs, [&] { return fs->smb.list(*p); });
  if (!l) return (void)fuse_reply_err(req, toErrno(l.status()));
  fi->fh = fs->files.addListing(std::make_shared<const std::vector<fscc::FileInfo>>(std::move(*l)));
  fuse_reply_open(req, fi);
}

void opReaddir(fuse_req_t req, Ino ino, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto list = fs->files.listing(fi->fh);
  if (!list) return (void)fuse_reply_err(req, EBADF);
  auto self = fs->inodes.pathOf(ino);
  if (!self) return (void)fuse_reply_err(req, ENOENT);
  std::vector<char> buf(size);
  size_t used = 0;
  const auto& v = *list;
  for (size_t i = size_t(off); i < v.size(); i++) {
    struct stat st{};
    const auto& e = v[i];
    bool dots = e.name == "." || e.name == "..";
    st.st_ino = dots ? ino : fs->inodes.inoFor(self->empty() ? e.name : *self + "/" + e.name);
    st.st_mode = (e.file_attributes & smb2::kFileAttributeDirectory) ? S_IFDIR : S_IFREG;
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, off_t(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void opReleasedir(fuse_req_t req, Ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  fs->files.dropListing(fi->fh);
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


void opOpen(fuse_req_t req, Ino ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  // After FUSE_INIT (which lowers the window to what the kernel offered), before the first read.
  if (!fs->readahead_set.exchange(true)) setReadahead(fs->mount_target);
  auto p = fs->inodes.pathOf(ino);
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
      if (auto id = fs->lease_cache->takeDeferred(ino, access, &covered)) {
        LOG_DEBUG("open %s: kept handle reused, %s the page cache", p->c_str(), covered ? "keeping" : "dropping");
        fi->fh = fs->files.add(OpenFiles::File{*id, *p, access, smb2::kFileNonDirectoryFile, ino, true});
        setCaching(fs, fi, covered);
        return (void)fuse_reply_open(req, fi);
      }
    }
    auto f = again(fs, [&] { return fs->openUnderLease(ino, *p, access, disp, smb2::kFileNonDirectoryFile); });
    if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
    if (disp != smb2::kFileOpen) f->covered = false;  // truncated: no cached page is still right
    LOG_DEBUG("open %s: lease %s, %s the page cache", p->c_str(), smb2::leaseStateText(f->state).c_str(),
              f->covered ? "keeping" : "dropping");
    fi->fh = fs->files.add(OpenFiles::File{f->id, *p, access, smb2::kFileNonDirectoryFile, ino, true});
    setCaching(fs, fi, f->covered);
    return (void)fuse_reply_open(req, fi);
  }
  auto f = again(fs, [&] { return fs->smb.open(*p, access, disp, smb2::kFileNonDirectoryFile); });
  if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
  fi->fh = fs->files.add(OpenFiles::File{*f, *p, access, smb2::kFileNonDirectoryFile});
  setCaching(fs, fi);
  fuse_reply_open(req, fi);
}

void opCreate(fuse_req_t req, Ino parent, const char* name, mode_t, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  if (!fs->readahead_set.exchange(true)) setReadahead(fs->mount_target);
  auto p = fs->inodes.child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  uint32_t disp = (fi->flags & O_EXCL) ? smb2::kFileCreate : (fi->flags & O_TRUNC) ? smb2::kFileOverwriteIf : smb2::kFileOpenIf;
  uint32_t access = accessFor(fs, fi->flags) | smb2::kFileWriteData;
  std::optional<fscc::FileInfo> info;
  Ino ino = fs->inodes.inoFor(*p);
  if (fs->leases) fs->closeDeferred(ino);  // O_TRUNC/O_EXCL act on the file, not a kept handle
  auto f = once(fs, [&]() -> Result<smb2::FileId> {
    smb2::FileId o;
    if (fs->leases) o = SD_TRY(fs->openUnderLease(ino, *p, access, disp, smb2::kFileNonDirectoryFile)).id;
    else o = SD_TRY(fs->smb.open(*p, access, disp, smb2::kFileNonDirectoryFile));
    auto st = fs->smb.stat(*p);
    if (!st) {
      (void)fs->closeHandle(o);
      if (fs->leases) fs->lease_cache->handleClosed(ino);
      return st.error();
    }
    info = *st;
    return o;
  });
  if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
  fi->fh = fs->files.add(OpenFiles::File{*f, *p, access, smb2::kFileNonDirectoryFile, ino, fs->leases});
  setCaching(fs, fi);
  fuse_entry_param e{};
  e.ino = ino;
  e.attr_timeout = fs->ttl;
  e.entry_timeout = fs->ttl;
  fs->toStat(*info, e.ino, &e.attr);
  fuse_reply_create(req, &e, fi);
}

void opRead(fuse_req_t req, Ino, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  if (!fs->files.id(fi->fh)) return (void)fuse_reply_err(req, EBADF);
  // Over TCP the reply is sent straight from the READ response (no copy). A READ that the
  // client cut to the negotiated size is completed below; a short one is the end of the file,
  // which the kernel takes from a short reply (no second READ to find it).
  client::SmbClient::ReadReply first;
  auto r = again(fs, [&]() -> Result<bool> {
    auto id = fs->files.id(fi->fh);
    if (!id) return err(NtStatus::kInvalidHandle, "closed");
    return fs->dataOp([&](client::SmbClient& c) -> Result<bool> {
      if (c.info().transport == "rdma") return false;
      first = SD_TRY(c.readReply(*id, uint64_t(off), uint32_t(size)));
      return true;
    });
  });
  if (!r) return (void)fuse_reply_err(req, toErrno(r.status()));
  if (*r && (first.data.size() == size || first.eof))
    return (void)fuse_reply_buf(req, reinterpret_cast<const char*>(first.data.data()), first.data.size());
  std::vector<uint8_t> buf(size);
  size_t done = 0;
  if (*r) {
    std::copy(first.data.begin(), first.data.end(), buf.begin());
    done = first.data.size();
  }
  bool eof = false;
  while (done < size && !eof) {
    auto n = again(fs, [&]() -> Result<size_t> {
      auto id = fs->files.id(fi->fh);
      if (!id) return err(NtStatus::kInvalidHandle, "closed");
      return fs->dataOp([&](client::SmbClient& c) {
        return c.read(*id, uint64_t(off) + done, std::span<uint8_t>(buf.data() + done, size - done), &eof);
      });
    });
    if (!n) return (void)fuse_reply_err(req, toErrno(n.status()));
    if (*n == 0) break;
    done += *n;
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), done);
}

void opWrite(fuse_req_t req, Ino, const char* data, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  if (!fs->files.id(fi->fh)) return (void)fuse_reply_err(req, EBADF);
  size_t done = 0;
  while (done < size) {
    // A large WRITE goes as pieces sent back to back: the server writes one while the next
    // arrives (a qd1 writer's 1 MiB requests otherwise wait for one whole round trip each).
    auto n = again(fs, [&]() -> Result<size_t> {
      auto id = fs->files.id(fi->fh);
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
// close(2) of a descriptor: the closing process's record locks on the file go (POSIX; the
// kernel leaves it to the file system, FUSE_FLUSH names the lock owner).
void opFlush(fuse_req_t req, Ino, fuse_file_info* fi) {
  unlockOwner(fsOf(req), fi->fh, fi->lock_owner);
  fuse_reply_err(req, 0);
}

void opFsync(fuse_req_t req, Ino, int, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  bool known = false;
  (void)fs->files.writableFor(fi->fh, &known);
  if (!known) return (void)fuse_reply_err(req, EBADF);
  auto st = again(fs, [&]() -> Status {
    auto id = fs->files.writableFor(fi->fh, &known);
    if (!known) return err(NtStatus::kInvalidHandle, "closed");
    return id ? fs->smb.flush(*id) : ok();
  });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opRelease(fuse_req_t req, Ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  unlockAll(fs, fi->fh);  // none are left normally: each closing process's went at its flush
  auto of = fs->files.take(fi->fh);
  if (of && of->leased) fs->releaseLeased(*of);
  else if (of) (void)once(fs, [&] { return fs->closeHandle(of->id); });
  fuse_reply_err(req, 0);
}

void opUnlink(fuse_req_t req, Ino parent, const char* name) {
  Fs* fs = fsOf(req);
  auto p = fs->inodes.child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  if (fs->leases)
    if (auto ino = fs->inodes.knownIno(*p)) fs->closeDeferred(*ino);
  auto st = once(fs, [&] { return fs->smb.unlink(*p); });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opRmdir(fuse_req_t req, Ino parent, const char* name) {
  Fs* fs = fsOf(req);
  auto p = fs->inodes.child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto st = once(fs, [&] { return fs->smb.rmdir(*p); });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opMkdir(fuse_req_t req, Ino parent, const char* name, mode_t) {
  Fs* fs = fsOf(req);
  auto p = fs->inodes.child(parent, name);
  if (!p) return (void)fuse_reply_err(req, ENOENT);
  auto info = once(fs, [&]() -> Result<fscc::FileInfo> {
    SD_CHECK(fs->smb.mkdir(*p));
    return fs->smb.stat(*p);
  });
  if (!info) return (void)fuse_reply_err(req, toErrno(info.status()));
  replyEntry(req, fs, *p, *info);
}

void opRename(fuse_req_t req, Ino parent, const char* name, Ino newparent,
              const char* newname, unsigned int flags) {
  Fs* fs = fsOf(req);
  if (flags & ~unsigned(RENAME_NOREPLACE)) return (void)fuse_reply_err(req, EINVAL);
  auto from = fs->inodes.child(parent, name), to = fs->inodes.child(newparent, newname);
  if (!from || !to) return (void)fuse_reply_err(req, ENOENT);
  // Our deferred handles of the source, of anything below it (a directory is not renamed while
  // files below it are open) and of the target close first, as cifs.ko does.
  if (fs->leases) {
    for (auto ino : fs->inodes.knownInosFrom(*from)) fs->closeDeferred(ino);
    if (auto ino = fs->inodes.knownIno(*to)) fs->closeDeferred(*ino);
  }
  auto st = once(fs, [&] { return fs->smb.rename(*from, *to, !(flags & RENAME_NOREPLACE)); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  fs->inodes.rename(*from, *to);
  fuse_reply_err(req, 0);
}

void opStatfs(fuse_req_t req, Ino) {
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

void opForget(fuse_req_t req, Ino, uint64_t) { fuse_reply_none(req); }

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
  // fcntl record locks go to the server as byte-range locks (lock_ops.cc); flock stays local.
  if (conn->capable & FUSE_CAP_POSIX_LOCKS) conn->want |= FUSE_CAP_POSIX_LOCKS;
  if (fs->opt.cache == "loose" && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Without leases: cached pages are dropped when the server reports another mtime (a size
  // change drops them anyway). Under leases the breaks say when pages go stale, and the mtime
  // must not: Samba moves a file's mtime up to 2 s after our own writes (its delayed write
  // time), which would drop the pages we just wrote or read.
  if ((conn->capable & FUSE_CAP_AUTO_INVAL_DATA) && !fs->leases) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  else conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

}  // namespace

const fuse_lowlevel_ops& smbfsOps() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = opInit;
    o.lookup = opLookup;
    o.forget = opForget;
    o.getattr = opGetattr;
    o.setattr = opSetattr;
    o.opendir = opOpendir;
    o.readdir = opReaddir;
    o.releasedir = opReleasedir;
    o.open = opOpen;
    o.create = opCreate;
    o.read = opRead;
    o.write = opWrite;
    o.flush = opFlush;
    o.fsync = opFsync;
    o.release = opRelease;
    o.getlk = opGetlk;
    o.setlk = opSetlk;
    o.unlink = opUnlink;
    o.rmdir = opRmdir;
    o.mkdir = opMkdir;
    o.rename = opRename;
    o.statfs = opStatfs;
    return o;
  }();
  return ops;
}

}  // namespace sd::fuse
