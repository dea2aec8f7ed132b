#define FUSE_USE_VERSION 34
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
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "client/smb_client.h"
#include "smb2/constants.h"

namespace sd::fuse {

namespace {

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
    default: return EIO;
  }
}

struct Fs {
  client::SmbClient smb;
  // multichannel: an SMB Direct channel bound to the session; READ and WRITE go through it.
  std::unique_ptr<client::SmbClient> rdma_channel;
  client::SmbClient& data() { return rdma_channel ? *rdma_channel : smb; }
  client::MountOptions opt;
  uid_t uid;
  gid_t gid;
  double ttl;
  std::unordered_map<fuse_ino_t, std::string> paths{{FUSE_ROOT_ID, ""}};
  std::unordered_map<std::string, fuse_ino_t> inos{{"", FUSE_ROOT_ID}};
  fuse_ino_t next_ino = 2;
  struct OpenFile {
    smb2::FileId id;
    std::string path;
    uint32_t access = 0, options = 0;
  };
  std::map<uint64_t, OpenFile> files;
  // Runs a data operation on the SMB Direct channel when there is one; if that channel is gone,
  // it is dropped and the operation runs on the first channel.
  template <class F>
  auto dataOp(F&& f) -> decltype(f(smb)) {
    if (rdma_channel) {
      auto r = f(*rdma_channel);
      if (r || !client::SmbClient::connectionLost(r.status())) return r;
      LOG_WARN("the SMB Direct channel is gone; continuing on the first channel");
      std::lock_guard<std::mutex> lk(mu);
      rdma_channel.reset();
    }
    return f(smb);
  }
  std::mutex mu;  // the connection's identity (reconnect) against the status publisher

  // The connection dropped: reconnect (the server may be restarting: a few tries, backing off,
  // about 30 s in all) and re-open every open file by its path.
  bool reconnect() {
    for (int attempt = 0; attempt < 6; attempt++) {
      if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(500 << std::min(attempt, 4)));
      Status st = ok();
      {
        std::lock_guard<std::mutex> lk(mu);
        st = smb.reconnect();
      }
      if (!st) {
        LOG_WARN("reconnect to %s failed: %s", opt.given.empty() ? "server" : "the server", client::describe(st.status()).c_str());
        continue;
      }
      for (auto& [fh, of] : files) {
        auto o = smb.open(of.path, of.access, smb2::kFileOpen, of.options);
        if (o) of.id = *o;
        else LOG_WARN("after reconnect %s could not be re-opened: %s", of.path.c_str(), client::describe(o.status()).c_str());
      }
      return true;
    }
    return false;
  }
  std::map<uint64_t, std::vector<fscc::FileInfo>> dirs;
  uint64_t next_fh = 1;

  fuse_ino_t inoFor(const std::string& p) {
    auto it = inos.find(p);
    if (it != inos.end()) return it->second;
    fuse_ino_t i = next_ino++;
    inos[p] = i;
    paths[i] = p;
    return i;
  }
  std::string child(fuse_ino_t parent, const char* name) {
    const std::string& p = paths[parent];
    return p.empty() ? std::string(name) : p + "/" + name;
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

// Runs `f`; when the connection turned out to be gone, reconnects once and runs it again (f
// looks up file ids afresh, so re-opened files are used).
template <class F>
auto again(Fs* fs, F&& f) -> decltype(f()) {
  auto r = f();
  if (!r && client::SmbClient::connectionLost(r.status()) && fs->reconnect()) return f();
  return r;
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
  std::string p = fs->child(parent, name);
  auto st = again(fs, [&] { return fs->smb.stat(p); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  replyEntry(req, fs, p, *st);
}

void opGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Fs* fs = fsOf(req);
  auto it = fs->paths.find(ino);
  if (it == fs->paths.end()) return (void)fuse_reply_err(req, ENOENT);
  auto st = again(fs, [&] { return fs->smb.stat(it->second); });
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  struct stat s;
  fs->toStat(*st, ino, &s);
  fuse_reply_attr(req, &s, fs->ttl);
}

void opSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  const std::string path = fs->paths[ino];
  smb2::FileId f;
  bool opened = false;
  if (fi && fs->files.count(fi->fh)) {
    f = fs->files[fi->fh].id;
  } else {
    auto o = fs->smb.open(path, smb2::kFileWriteData | smb2::kFileWriteAttributes | smb2::kFileReadAttributes,
                          smb2::kFileOpen, 0);
    if (!o) return (void)fuse_reply_err(req, toErrno(o.status()));
    f = *o;
    opened = true;
  }
  Status st = ok();
  if (to_set & FUSE_SET_ATTR_SIZE) st = fs->smb.truncate(f, uint64_t(attr->st_size));
  if (st && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
    uint64_t now = filetimeNow();
    uint64_t a = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : (to_set & FUSE_SET_ATTR_ATIME) ? filetimeFromTimespec(attr->st_atim) : 0;
    uint64_t m = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : (to_set & FUSE_SET_ATTR_MTIME) ? filetimeFromTimespec(attr->st_mtim) : 0;
    st = fs->smb.setTimes(f, a, m);
  }
  if (opened) (void)fs->smb.close(f);
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  opGetattr(req, ino, nullptr);
}

void opOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto l = again(fs, [&] { return fs->smb.list(fs->paths[ino]); });
  if (!l) return (void)fuse_reply_err(req, toErrno(l.status()));
  uint64_t h = fs->next_fh++;
  fs->dirs[h] = std::move(*l);
  fi->fh = h;
  fuse_reply_open(req, fi);
}

void opReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto it = fs->dirs.find(fi->fh);
  if (it == fs->dirs.end()) return (void)fuse_reply_err(req, EBADF);
  std::vector<char> buf(size);
  size_t used = 0;
  auto& v = it->second;
  for (size_t i = size_t(off); i < v.size(); i++) {
    struct stat st{};
    const auto& e = v[i];
    std::string p = e.name == "." ? fs->paths[ino] : e.name == ".." ? "" : fs->child(ino, e.name.c_str());
    st.st_ino = (e.name == "." || e.name == "..") ? ino : fs->inoFor(p);
    st.st_mode = (e.file_attributes & smb2::kFileAttributeDirectory) ? S_IFDIR : S_IFREG;
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, off_t(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void opReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fsOf(req)->dirs.erase(fi->fh);
  fuse_reply_err(req, 0);
}

uint32_t accessFor(int flags) {
  uint32_t a = smb2::kFileReadAttributes | smb2::kSynchronize;
  int acc = flags & O_ACCMODE;
  if (acc == O_RDONLY || acc == O_RDWR) a |= smb2::kFileReadData;
  if (acc == O_WRONLY || acc == O_RDWR) a |= smb2::kFileWriteData | smb2::kFileAppendData | smb2::kFileWriteAttributes;
  return a;
}

void opOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  uint32_t disp = (fi->flags & O_TRUNC) ? smb2::kFileOverwrite : smb2::kFileOpen;
  auto f = again(fs, [&] { return fs->smb.open(fs->paths[ino], accessFor(fi->flags), disp, smb2::kFileNonDirectoryFile); });
  if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
  uint64_t h = fs->next_fh++;
  fs->files[h] = Fs::OpenFile{*f, fs->paths[ino], accessFor(fi->flags), smb2::kFileNonDirectoryFile};
  fi->fh = h;
  fi->direct_io = fs->opt.cache == "none";
  fi->keep_cache = fs->opt.cache == "loose";
  fuse_reply_open(req, fi);
}

void opCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  std::string p = fs->child(parent, name);
  uint32_t disp = (fi->flags & O_EXCL) ? smb2::kFileCreate : (fi->flags & O_TRUNC) ? smb2::kFileOverwriteIf : smb2::kFileOpenIf;
  auto f = fs->smb.open(p, accessFor(fi->flags) | smb2::kFileWriteData, disp, smb2::kFileNonDirectoryFile);
  if (!f) return (void)fuse_reply_err(req, toErrno(f.status()));
  auto st = fs->smb.stat(p);
  if (!st) {
    (void)fs->smb.close(*f);
    return (void)fuse_reply_err(req, toErrno(st.status()));
  }
  uint64_t h = fs->next_fh++;
  fs->files[h] = Fs::OpenFile{*f, p, accessFor(fi->flags) | smb2::kFileWriteData, smb2::kFileNonDirectoryFile};
  fi->fh = h;
  fi->direct_io = fs->opt.cache == "none";
  fuse_entry_param e{};
  e.ino = fs->inoFor(p);
  e.attr_timeout = fs->ttl;
  e.entry_timeout = fs->ttl;
  fs->toStat(*st, e.ino, &e.attr);
  fuse_reply_create(req, &e, fi);
}

void opRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto it = fs->files.find(fi->fh);
  if (it == fs->files.end()) return (void)fuse_reply_err(req, EBADF);
  std::vector<uint8_t> buf(size);
  size_t done = 0;
  while (done < size) {
    auto n = again(fs, [&] {
      return fs->dataOp([&](client::SmbClient& c) {
        return c.read(fs->files[fi->fh].id, uint64_t(off) + done, std::span<uint8_t>(buf.data() + done, size - done));
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
  auto it = fs->files.find(fi->fh);
  if (it == fs->files.end()) return (void)fuse_reply_err(req, EBADF);
  size_t done = 0;
  while (done < size) {
    auto n = again(fs, [&] {
      return fs->dataOp([&](client::SmbClient& c) {
        return c.write(fs->files[fi->fh].id, uint64_t(off) + done,
                       ByteView(reinterpret_cast<const uint8_t*>(data) + done, size - done));
      });
    });
    if (!n) return (void)fuse_reply_err(req, toErrno(n.status()));
    if (*n == 0) return (void)fuse_reply_err(req, EIO);
    done += *n;
  }
  fuse_reply_write(req, done);
}

void opFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void opFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto it = fs->files.find(fi->fh);
  if (it == fs->files.end()) return (void)fuse_reply_err(req, EBADF);
  auto st = again(fs, [&] { return fs->smb.flush(fs->files[fi->fh].id); });
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Fs* fs = fsOf(req);
  auto it = fs->files.find(fi->fh);
  if (it != fs->files.end()) {
    (void)fs->smb.close(it->second.id);
    fs->files.erase(it);
  }
  fuse_reply_err(req, 0);
}

void opUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Fs* fs = fsOf(req);
  auto st = fs->smb.unlink(fs->child(parent, name));
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Fs* fs = fsOf(req);
  auto st = fs->smb.rmdir(fs->child(parent, name));
  fuse_reply_err(req, st ? 0 : toErrno(st.status()));
}

void opMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
  Fs* fs = fsOf(req);
  std::string p = fs->child(parent, name);
  auto st = fs->smb.mkdir(p);
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  auto info = fs->smb.stat(p);
  if (!info) return (void)fuse_reply_err(req, toErrno(info.status()));
  replyEntry(req, fs, p, *info);
}

void opRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Fs* fs = fsOf(req);
  if (flags & ~unsigned(RENAME_NOREPLACE)) return (void)fuse_reply_err(req, EINVAL);
  std::string from = fs->child(parent, name), to = fs->child(newparent, newname);
  auto st = fs->smb.rename(from, to, !(flags & RENAME_NOREPLACE));
  if (!st) return (void)fuse_reply_err(req, toErrno(st.status()));
  fs->renamePaths(from, to);
  fuse_reply_err(req, 0);
}

void opStatfs(fuse_req_t req, fuse_ino_t) {
  Fs* fs = fsOf(req);
  auto s = fs->smb.statfs();
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

void opInit(void*, fuse_conn_info* conn) {
  // Large requests: up to 1 MiB per READ/WRITE from the kernel.
  conn->max_write = 1 << 20;
  conn->max_read = 1 << 20;
  conn->max_readahead = 1 << 20;
}

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
      } else {
        std::fprintf(stderr, "smbdirect: multichannel: no SMB Direct channel (%s); staying on TCP\n",
                     client::describe(b.status()).c_str());
      }
    } else {
      std::fprintf(stderr, "smbdirect: multichannel: the server lists no RDMA-capable interface; staying on TCP\n");
    }
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
  std::string fsname = "-ofsname=" + r.source + ",subtype=smbdirect,default_permissions,max_read=1048576";
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
  int rc;
  {
    StatusPublisher status([header, fsp] {
      std::lock_guard<std::mutex> lk(fsp->mu);
      std::string t = header + fsp->smb.statusText();
      if (fsp->rdma_channel) t += "Channel 2 (bound to the session):\n" + fsp->rdma_channel->statusText();
      return t;
    });
    rc = fuse_session_loop(se);
  }
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
