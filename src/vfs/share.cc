#include "vfs/share.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"

namespace sd::vfs {

namespace {

// FILE_ATTRIBUTE_* (MS-FSCC 2.6)
constexpr uint32_t kAttrReadonly = 0x1, kAttrHidden = 0x2, kAttrSystem = 0x4,
                   kAttrDirectory = 0x10, kAttrArchive = 0x20, kAttrNormal = 0x80;
// Our persisted DOS state: attributes (u32 LE) + creation time (u64 LE). Not ksmbd's NDR
// "user.DOSATTRIB", which we leave untouched (docs/ARCHITECTURE.md).
constexpr const char* kAttrXattr = "user.smbdirect.dosattrib";
// The stored NT security descriptor (Share::readSecurity).
constexpr const char* kNtAclXattr = "user.smbdirect.ntacl";
// Largest descriptor we store: MS-DTYP ACLs are at most 64 KiB (AclSize is 16 bits), and a
// descriptor holds two of them plus two SIDs.
constexpr size_t kMaxNtAcl = 2 * 65536 + 2 * 68 + 20;

// `force create mode` / `force directory mode`: bits the new object must have whatever the
// requested mode, the masks and the umask left (Samba sets them the same way, after creation).
void applyForcedMode(int fd, uint32_t force) {
  struct stat st;
  if (!(force & 07777) || fstat(fd, &st) != 0 || (st.st_mode & force & 07777) == (force & 07777))
    return;
  (void)fchmod(fd, (st.st_mode | force) & 07777);
}

Error fromErrno(int e, const char* what) {
  // An escape attempt through "..", an absolute symlink or a magic link: refuse as access denied.
  if (e == EXDEV) return err(NtStatus::kAccessDenied, "path leaves the share");
  if (e == ELOOP) return err(NtStatus::kAccessDenied, "symlink loop or refused link");
  return err(ntStatusFromErrno(e), what);
}

std::string join(const std::string& a, std::string_view b) {
  if (a.empty()) return std::string(b);
  return a + "/" + std::string(b);
}

std::pair<std::string, std::string> splitLeaf(const std::string& p) {
  auto s = p.rfind('/');
  if (s == std::string::npos) return {"", p};
  return {p.substr(0, s), p.substr(s + 1)};
}

uint64_t tsToFt(const struct statx_timestamp& t) {
  timespec ts{t.tv_sec, long(t.tv_nsec)};
  return filetimeFromTimespec(ts);
}

bool validCreateName(std::string_view leaf) {
  if (leaf.empty() || leaf.size() > 255) return false;
  for (unsigned char c : leaf) {
    if (c < 0x20 || c == '*' || c == '?' || c == '<' || c == '>' || c == '|' || c == '"' ||
        c == ':' || c == '\\')
      return false;
  }
  return true;
}

// Layout: attributes u32, creation FILETIME u64, then (optional) a client-set change time and
// the mtime (FILETIME) it was set at: the set value is reported until the file is modified.
struct DosState {
  uint32_t attributes = 0;
  uint64_t creation = 0;
  uint64_t change = 0;
  uint64_t change_mtime = 0;
  bool present = false;
};

DosState decodeDos(const uint8_t* buf, ssize_t n) {
  DosState d;
  if (n == 12 || n == 28) {
    d.attributes = le32(buf);
    d.creation = le64(buf + 4);
    d.present = true;
  }
  if (n == 28) {
    d.change = le64(buf + 12);
    d.change_mtime = le64(buf + 20);
  }
  return d;
}

DosState readDos(int fd) {
  uint8_t buf[28];
  ssize_t n = fgetxattr(fd, kAttrXattr, buf, sizeof buf);
  return decodeDos(buf, n);
}

Status writeDos(int fd, const DosState& d) {
  uint8_t buf[28];
  store32(buf, d.attributes);
  store64(buf + 4, d.creation);
  store64(buf + 12, d.change);
  store64(buf + 20, d.change_mtime);
  if (fsetxattr(fd, kAttrXattr, buf, sizeof buf, 0) != 0 && errno != ENOTSUP && errno != EPERM)
    return fromErrno(errno, "fsetxattr");
  return ok();
}

FileStat statOf(const struct statx& sx, const DosState& dos, bool hidden_name) {
  FileStat st;
  st.directory = S_ISDIR(sx.stx_mode);
  st.last_access_time = tsToFt(sx.stx_atime);
  st.last_write_time = tsToFt(sx.stx_mtime);
  st.change_time = tsToFt(sx.stx_ctime);
  if (dos.present && dos.change && dos.change_mtime == st.last_write_time) st.change_time = dos.change;
  if (dos.present && dos.creation) st.creation_time = dos.creation;
  else if (sx.stx_mask & STATX_BTIME) st.creation_time = tsToFt(sx.stx_btime);
  else st.creation_time = std::min(st.last_write_time, st.change_time);
  st.end_of_file = st.directory ? 0 : sx.stx_size;
  st.allocation_size = st.directory ? 0 : sx.stx_blocks * 512;
  st.file_id = sx.stx_ino;
  st.device = (uint64_t(sx.stx_dev_major) << 32) | sx.stx_dev_minor;
  st.number_of_links = sx.stx_nlink;
  st.uid = sx.stx_uid;
  st.gid = sx.stx_gid;
  st.mode = sx.stx_mode;
  uint32_t a = dos.present ? (dos.attributes & (kAttrHidden | kAttrSystem | kAttrArchive)) : 0;
  if (st.directory) a |= kAttrDirectory;
  else if (!dos.present) a |= kAttrArchive;
  if (!st.directory && !(sx.stx_mode & S_IWUSR)) a |= kAttrReadonly;
  if (hidden_name) a |= kAttrHidden;
  if (a == 0) a = kAttrNormal;
  st.file_attributes = a;
  return st;
}

Result<FileStat> statxFd(int fd, bool hidden_name) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return fromErrno(errno, "statx");
  DosState dos = S_ISREG(sx.stx_mode) || S_ISDIR(sx.stx_mode) ? readDos(fd) : DosState{};
  return statOf(sx, dos, hidden_name);
}

class PosixHandle : public Handle {
 public:
  PosixHandle(int fd, bool hidden) : fd_(fd), hidden_(hidden) {}
  ~PosixHandle() override { ::close(fd_); }
  int fd() const override { return fd_; }

  Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override {
    size_t done = 0;
    for (int guard = 0; done < out.size() && guard < 1 << 20; guard++) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fromErrno(errno, "pread");
      }
      if (n == 0) break;
      done += size_t(n);
    }
    return done;
  }
  Result<size_t> pwrite(uint64_t offset, ByteView data) override {
    size_t done = 0;
    for (int guard = 0; done < data.size() && guard < 1 << 20; guard++) {
      ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, off_t(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return fromErrno(errno, "pwrite");
      }
      done += size_t(n);
    }
    return done;
  }
  Status fsync() override {
    if (::fsync(fd_) != 0) return fromErrno(errno, "fsync");
    return ok();
  }
  Result<FileStat> stat() override { return statxFd(fd_, hidden_); }
  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, off_t(size)) != 0) return fromErrno(errno, "ftruncate");
    return ok();
  }
  Status setAllocationSize(uint64_t size) override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return fromErrno(errno, "fstat");
    if (size < uint64_t(st.st_size)) return truncate(size);  // MS-FSA: shrinking truncates
    if (size > 0 && fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, off_t(size)) != 0 && errno != EOPNOTSUPP)
      return fromErrno(errno, "fallocate");
    return ok();
  }
  Status zeroRange(uint64_t offset, uint64_t length) override {
    if (length == 0) return ok();
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(length)) == 0)
      return ok();
    if (errno != EOPNOTSUPP) return fromErrno(errno, "fallocate");
    struct stat st;
    if (fstat(fd_, &st) != 0) return fromErrno(errno, "fstat");
    uint64_t end = std::min<uint64_t>(offset + length, uint64_t(st.st_size));
    Bytes zeros(std::min<uint64_t>(1 << 20, end > offset ? end - offset : 0));
    for (uint64_t o = offset; o < end; o += zeros.size())
      SD_TRY(pwrite(o, ByteView(zeros).first(std::min<uint64_t>(zeros.size(), end - o))));
    return ok();
  }
  Result<std::vector<std::pair<uint64_t, uint64_t>>> allocatedRanges(uint64_t offset,
                                                                      uint64_t length) override {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    struct stat st;
    if (fstat(fd_, &st) != 0) return fromErrno(errno, "fstat");
    uint64_t end = std::min<uint64_t>(offset + length, uint64_t(st.st_size));
    uint64_t pos = offset;
    for (int guard = 0; pos < end && guard < 100000; guard++) {
      off_t d = lseek(fd_, off_t(pos), SEEK_DATA);
      if (d < 0 || uint64_t(d) >= end) break;
      off_t h = lseek(fd_, d, SEEK_HOLE);
      if (h < 0) h = off_t(end);
      uint64_t he = std::min<uint64_t>(uint64_t(h), end);
      out.emplace_back(uint64_t(d), he - uint64_t(d));
      pos = he;
    }
    return out;
  }
  Result<size_t> copyFrom(Handle& src, uint64_t so, uint64_t dsto, uint64_t length) override {
    size_t done = 0;
    for (int guard = 0; done < length && guard < 1 << 20; guard++) {
      loff_t in = loff_t(so + done), outo = loff_t(dsto + done);
      ssize_t n = copy_file_range(src.fd(), &in, fd_, &outo, length - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP) break;  // fall back below
        return fromErrno(errno, "copy_file_range");
      }
      if (n == 0) return done;
      done += size_t(n);
    }
    Bytes buf(std::min<uint64_t>(length - done, 1 << 20));
    while (done < length) {
      size_t want = std::min<size_t>(buf.size(), length - done);
      size_t n = SD_TRY(src.pread(so + done, std::span<uint8_t>(buf.data(), want)));
      if (n == 0) break;
      SD_TRY(pwrite(dsto + done, ByteView(buf).first(n)));
      done += n;
    }
    return done;
  }

 private:
  int fd_;
  bool hidden_;
};

// An alternate data stream kept whole in one extended attribute of the base file, as ksmbd
// stores them ("user.DosStream.<name>:$DATA"); limited to what one xattr holds (64 KiB).
constexpr size_t kMaxStreamSize = 65536;

class StreamHandle : public Handle {
 public:
  StreamHandle(int fd, std::string xattr, bool hidden) : fd_(fd), xattr_(std::move(xattr)), hidden_(hidden) {}
  ~StreamHandle() override { ::close(fd_); }
  int fd() const override { return fd_; }
  void rebind(std::string xattr) { xattr_ = std::move(xattr); }

  Result<Bytes> load() {
    Bytes v(kMaxStreamSize);
    ssize_t n = fgetxattr(fd_, xattr_.c_str(), v.data(), v.size());
    if (n < 0) return fromErrno(errno == ENODATA ? ENOENT : errno, "fgetxattr");
    v.resize(size_t(n));
    return v;
  }
  Status store(const Bytes& v) {
    if (v.size() > kMaxStreamSize) return err(NtStatus::kDiskFull, "stream larger than an xattr");
    if (fsetxattr(fd_, xattr_.c_str(), v.data(), v.size(), 0) != 0) return fromErrno(errno, "fsetxattr");
    return ok();
  }
  Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) override {
    Bytes v = SD_TRY(load());
    if (offset >= v.size()) return size_t(0);
    size_t n = std::min<size_t>(out.size(), v.size() - size_t(offset));
    std::memcpy(out.data(), v.data() + offset, n);
    return n;
  }
  Result<size_t> pwrite(uint64_t offset, ByteView data) override {
    if (offset + data.size() > kMaxStreamSize) return err(NtStatus::kDiskFull, "stream too large");
    Bytes v = SD_TRY(load());
    if (v.size() < offset + data.size()) v.resize(size_t(offset + data.size()), 0);
    std::memcpy(v.data() + offset, data.data(), data.size());
    SD_CHECK(store(v));
    return data.size();
  }
  Status fsync() override { return ok(); }
  Result<FileStat> stat() override {
    FileStat st = SD_TRY(statxFd(fd_, hidden_));
    Bytes v = SD_TRY(load());
    st.end_of_file = v.size();
    st.allocation_size = (v.size() + 4095) / 4096 * 4096;
    st.directory = false;
    st.file_attributes &= ~0x10u;  // a stream is never a directory
    if (!st.file_attributes) st.file_attributes = 0x80;
    return st;
  }
  Status truncate(uint64_t size) override {
    if (size > kMaxStreamSize) return err(NtStatus::kDiskFull, "stream too large");
    Bytes v = SD_TRY(load());
    v.resize(size_t(size), 0);
    return store(v);
  }
  Status setAllocationSize(uint64_t size) override {
    Bytes v = SD_TRY(load());
    if (size < v.size()) return truncate(size);
    return ok();
  }
  Status zeroRange(uint64_t offset, uint64_t length) override {
    Bytes v = SD_TRY(load());
    for (uint64_t i = offset; i < v.size() && i < offset + length; i++) v[size_t(i)] = 0;
    return store(v);
  }
  Result<std::vector<std::pair<uint64_t, uint64_t>>> allocatedRanges(uint64_t offset, uint64_t length) override {
    Bytes v = SD_TRY(load());
    std::vector<std::pair<uint64_t, uint64_t>> r;
    uint64_t end = std::min<uint64_t>(v.size(), offset + length);
    if (end > offset) r.emplace_back(offset, end - offset);
    return r;
  }
  Result<size_t> copyFrom(Handle& src, uint64_t so, uint64_t dsto, uint64_t length) override {
    if (length > kMaxStreamSize) return err(NtStatus::kDiskFull, "stream too large");
    Bytes buf(static_cast<size_t>(length));
    size_t n = SD_TRY(src.pread(so, buf));
    return pwrite(dsto, ByteView(buf).first(n));
  }

 private:
  int fd_;
  std::string xattr_;
  bool hidden_;
};

// "name" or "name:$DATA" -> the xattr holding it; other stream types are invalid.
Result<std::string> streamXattr(std::string_view stream) {
  std::string_view name = stream;
  auto c = name.find(':');
  if (c != std::string_view::npos) {
    std::string_view type = name.substr(c + 1);
    if (!iequals(type, "$DATA")) return err(NtStatus::kObjectNameInvalid, "stream type");
    name = name.substr(0, c);
  }
  if (name.empty() || name.size() > 200) return err(NtStatus::kObjectNameInvalid, "stream name");
  // NTFS stream names may hold anything but NUL, separators and ':'.
  for (unsigned char ch : name)
    if (ch == 0 || ch == '/' || ch == '\\' || ch == ':')
      return err(NtStatus::kObjectNameInvalid, "stream name");
  return "user.DosStream." + std::string(name) + ":$DATA";
}

// Stream names are case-insensitive (MS-FSA 2.1.5.1): the stored xattr whose name matches
// `xname` ignoring case, or `xname` itself when none does.
std::string resolveStreamXattr(int fd, const std::string& xname) {
  if (fgetxattr(fd, xname.c_str(), nullptr, 0) >= 0) return xname;
  std::vector<char> names(65536);
  ssize_t n = flistxattr(fd, names.data(), names.size());
  for (ssize_t i = 0; n > 0 && i < n;) {
    std::string x(names.data() + i);
    i += ssize_t(x.size()) + 1;
    if (x.rfind("user.DosStream.", 0) == 0 && iequals(x, xname)) return x;
  }
  return xname;
}

class PosixDirReader : public DirReader {
 public:
  PosixDirReader(Share* share, std::string rel, int dirfd, std::string pattern)
      : share_(share), rel_(std::move(rel)), dirfd_(dirfd), pattern_(std::move(pattern)) {
    dir_ = fdopendir(dirfd_);
  }
  ~PosixDirReader() override {
    if (dir_) closedir(dir_);
    else ::close(dirfd_);
  }
  Result<std::optional<DirEntry>> peek() override {
    if (pending_) return pending_;
    if (!dir_) return fromErrno(EBADF, "fdopendir");
    for (int guard = 0; guard < 10000000; guard++) {
      std::string name;
      if (dots_ < 2) {
        name = dots_ == 0 ? "." : "..";
        dots_++;
      } else {
        errno = 0;
        dirent* e = readdir(dir_);
        if (!e) {
          if (errno) return fromErrno(errno, "readdir");
          return std::optional<DirEntry>();
        }
        name = e->d_name;
        if (name == "." || name == "..") continue;
      }
      if (!wildcardMatch(pattern_, name)) continue;
      if (name != "." && name != ".." && share_->isVetoed(name)) continue;
      struct statx sx;
      int flags = AT_SYMLINK_NOFOLLOW;
      if (statx(dirfd_, name.c_str(), flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) continue;
      DosState dos;
      if (S_ISLNK(sx.stx_mode)) {
        // Show a symlink only if it resolves inside the share, as what it points to.
        auto st = share_->open(OpenRequest{join(rel_, name), 1, false, false, false, false, 0});
        if (!st) continue;
        DirEntry de{name, st->stat};
        pending_ = de;
        return pending_;
      }
      if (!S_ISREG(sx.stx_mode) && !S_ISDIR(sx.stx_mode)) continue;  // devices, fifos, sockets
      int fd = openat(dirfd_, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        // fgetxattr needs a real fd; O_PATH is refused, so read by path via /proc-free getxattr.
        uint8_t buf[28];
        std::string p = "/proc/self/fd/" + std::to_string(fd);
        dos = decodeDos(buf, getxattr(p.c_str(), kAttrXattr, buf, sizeof buf));
        ::close(fd);
      }
      bool hidden = share_->options().hide_dot_files && name[0] == '.' && name != "." && name != "..";
      DirEntry de{name, statOf(sx, dos, hidden)};
      pending_ = de;
      return pending_;
    }
    return std::optional<DirEntry>();
  }
  void consume() override { pending_.reset(); }
  Status rewind() override {
    if (!dir_) return fromErrno(EBADF, "rewind");
    rewinddir(dir_);
    dots_ = 0;
    pending_.reset();
    return ok();
  }

 private:
  Share* share_;
  std::string rel_;
  int dirfd_;
  std::string pattern_;
  DIR* dir_ = nullptr;
  int dots_ = 0;
  std::optional<DirEntry> pending_;
};

}  // namespace

Result<std::shared_ptr<Share>> Share::open(const std::string& root, const ShareOptions& opts) {
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fromErrno(errno, "open share root");
  std::shared_ptr<Share> s(new Share());
  s->root_fd_ = fd;
  s->root_path_ = root;
  s->opts_ = opts;
  struct stat st;
  if (fstat(fd, &st) == 0) s->serial_ = uint32_t(st.st_dev * 2654435761u) ^ uint32_t(st.st_ino);
  // Fail early when the kernel lacks openat2 (Linux < 5.6): we never resolve without it.
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long t = syscall(SYS_openat2, fd, ".", &how, sizeof how);
  if (t < 0) return err(NtStatus::kNotSupported, "openat2 unavailable (Linux >= 5.6 needed)");
  ::close(int(t));
  return s;
}

Share::~Share() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

Result<std::string> Share::normalize(std::string_view name) {
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find_first_of("\\/", i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty()) continue;
    if (c == "..") return err(NtStatus::kObjectPathSyntaxBad, "'..' in path");
    if (c == ".") return err(NtStatus::kObjectNameInvalid, "'.' in path");
    if (!out.empty()) out.push_back('/');
    out.append(c);
  }
  return out;
}

bool Share::isVetoed(std::string_view name) const {
  for (const auto& p : opts_.veto_files)
    if (wildcardMatch(p, name)) return true;
  return false;
}

Result<int> Share::openBeneath(const std::string& rel, int flags, mode_t mode) {
  open_how how{};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int guard = 0; guard < 100; guard++) {
    long fd = syscall(SYS_openat2, root_fd_, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
    if (fd >= 0) return int(fd);
    if (errno == EAGAIN || errno == EINTR) continue;  // RESOLVE_BENEATH raced a rename
    return fromErrno(errno, "openat2");
  }
  return fromErrno(EAGAIN, "openat2");
}

Result<std::string> Share::resolveCase(const std::string& rel) {
  if (rel.empty()) return rel;
  auto exact = openBeneath(rel, O_PATH, 0);
  if (exact) {
    ::close(*exact);
    return rel;
  }
  if (exact.status() != NtStatus::kObjectNameNotFound || !opts_.case_insensitive) return rel;
  std::string cur;
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string comp = rel.substr(i, j - i);
    i = j + 1;
    std::string cand = join(cur, comp);
    auto fd = openBeneath(cand, O_PATH, 0);
    if (fd) {
      ::close(*fd);
      cur = cand;
      continue;
    }
    // Scan the parent for a case-insensitive match.
    auto dfd = openBeneath(cur, O_RDONLY | O_DIRECTORY, 0);
    std::string found;
    if (dfd) {
      DIR* d = fdopendir(*dfd);
      if (d) {
        for (dirent* e; (e = readdir(d));)
          if (iequals(e->d_name, comp)) {
            found = e->d_name;
            break;
          }
        closedir(d);
      } else {
        ::close(*dfd);
      }
    }
    if (found.empty()) {
      // Not there in any case: keep the caller's spelling for the rest.
      std::string rest = i <= rel.size() ? rel.substr(i) : "";
      return rest.empty() ? cand : cand + "/" + rest;
    }
    cur = join(cur, found);
  }
  return cur;
}

Result<OpenResult> Share::open(const OpenRequest& req) {
  std::string path = SD_TRY(normalize(req.path));
  std::string stream;
  bool data_stream = false;  // "name::$DATA": the unnamed data stream, which directories lack
  auto colon = path.find(':');
  if (colon != std::string::npos) {
    stream = path.substr(colon + 1);
    path.resize(colon);
    // "file::$DATA" and "file:" name the file itself.
    data_stream = iequals(stream, ":$DATA");
    if (stream.empty() || data_stream) stream.clear();
    else (void)SD_TRY(streamXattr(stream));
  }
  for (size_t i = 0; i <= path.size();) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i && isVetoed(std::string_view(path).substr(i, j - i)))
      return err(NtStatus::kObjectNameNotFound, "vetoed name");
    i = j + 1;
  }
  path = SD_TRY(resolveCase(path));
  auto [parent, leaf] = splitLeaf(path);
  bool hidden = opts_.hide_dot_files && !leaf.empty() && leaf[0] == '.';

  OpenResult res;
  res.path = path;
  auto probe = openBeneath(path, O_PATH, 0);
  bool exists = probe.has_value();
  bool is_dir = false;
  if (exists) {
    struct stat st;
    fstat(*probe, &st);
    is_dir = S_ISDIR(st.st_mode);
    bool special = !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode);
    ::close(*probe);
    if (special) return err(NtStatus::kAccessDenied, "not a regular file or directory");
  } else if (probe.status() != NtStatus::kObjectNameNotFound) {
    return probe.error();
  } else if (!parent.empty()) {
    auto pfd = openBeneath(parent, O_PATH | O_DIRECTORY, 0);
    if (!pfd) {
      NtStatus s = pfd.status();
      if (s == NtStatus::kObjectNameNotFound || s == NtStatus::kObjectPathNotFound)
        return err(NtStatus::kObjectPathNotFound, "parent missing");
      return pfd.error();
    }
    ::close(*pfd);
  }

  uint32_t d = req.disposition;
  if (!stream.empty()) return openStream(req, path, stream, exists, is_dir, hidden);
  // MS-FSA 2.1.5.1: a directory has no ::$DATA stream; asked for as a directory it is "not a
  // directory", otherwise "is a directory" (smbtorture smb2.streams.dir).
  if (data_stream && exists && is_dir)
    return err(req.directory ? NtStatus::kNotADirectory : NtStatus::kFileIsADirectory, "::$DATA of a directory");
  if (exists) {
    if (d == 2) return err(NtStatus::kObjectNameCollision, "exists");
    if (is_dir && req.non_directory) return err(NtStatus::kFileIsADirectory, "is a directory");
    if (!is_dir && req.directory) return err(NtStatus::kNotADirectory, "not a directory");
    bool overwrite = d == 0 || d == 4 || d == 5;
    if (is_dir && overwrite) return err(NtStatus::kInvalidParameter, "cannot overwrite a directory");
    int flags = is_dir ? (O_RDONLY | O_DIRECTORY) : (req.want_write || overwrite ? O_RDWR : O_RDONLY);
    if (overwrite) flags |= O_TRUNC;
    int fd = SD_TRY(openBeneath(path, flags, 0));
    res.create_action = d == 0 ? 0 : overwrite ? 3 : 1;
    if (overwrite) {
      DosState dos = readDos(fd);
      dos.present = true;
      dos.attributes = (req.file_attributes & (kAttrHidden | kAttrSystem)) | kAttrArchive;
      (void)writeDos(fd, dos);
    }
    res.handle = std::make_unique<PosixHandle>(fd, hidden);
  } else {
    if (d == 1 || d == 4) return err(NtStatus::kObjectNameNotFound, "no such file");
    if (opts_.read_only || req.read_only) return err(NtStatus::kAccessDenied, "read-only share");
    if (!validCreateName(leaf)) return err(NtStatus::kObjectNameInvalid, "invalid name");
    int pfd = SD_TRY(openBeneath(parent, O_RDONLY | O_DIRECTORY, 0));
    int fd;
    if (req.directory) {
      if (mkdirat(pfd, leaf.c_str(), 0777 & opts_.directory_mask) != 0) {
        int e = errno;
        ::close(pfd);
        return fromErrno(e, "mkdir");
      }
      fd = openat(pfd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } else {
      fd = openat(pfd, leaf.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0666 & opts_.create_mask);
    }
    int e = errno;
    ::close(pfd);
    if (fd < 0) return fromErrno(e, "create");
    uint32_t attrs = req.file_attributes & (kAttrHidden | kAttrSystem | kAttrArchive | kAttrReadonly);
    if (!req.directory) attrs |= kAttrArchive;
    DosState dos{attrs & ~kAttrReadonly, filetimeNow(), true};
    (void)writeDos(fd, dos);
    applyForcedMode(fd, req.directory ? opts_.force_directory_mode : opts_.force_create_mode);
    if ((attrs & kAttrReadonly) && !req.directory) fchmod(fd, 0444 & opts_.create_mask);
    res.create_action = 2;
    res.handle = std::make_unique<PosixHandle>(fd, hidden);
  }
  res.stat = SD_TRY(res.handle->stat());
  return res;
}

Result<OpenResult> Share::openStream(const OpenRequest& req, const std::string& path,
                                     const std::string& stream, bool base_exists, bool base_is_dir,
                                     bool hidden) {
  std::string xname = SD_TRY(streamXattr(stream));
  if (req.directory || base_is_dir) return err(NtStatus::kNotADirectory, "no data streams on directories");
  uint32_t d = req.disposition;
  OpenResult res;
  res.is_stream = true;
  res.path = path + ":" + stream;
  if (res.path.size() < 6 || !iequals(res.path.substr(res.path.size() - 6), ":$DATA")) res.path += ":$DATA";
  bool creating_base = false;
  if (!base_exists) {
    // Creating a stream of a missing file creates the file (MS-FSA 2.1.5.1.1).
    if (d == 1 || d == 4) return err(NtStatus::kObjectNameNotFound, "no such file");
    auto [parent, leaf] = splitLeaf(path);
    if (!validCreateName(leaf)) return err(NtStatus::kObjectNameInvalid, "invalid name");
    int pfd = SD_TRY(openBeneath(parent, O_RDONLY | O_DIRECTORY, 0));
    int fd = openat(pfd, leaf.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0666 & opts_.create_mask);
    int e = errno;
    ::close(pfd);
    if (fd < 0) return fromErrno(e, "create");
    applyForcedMode(fd, opts_.force_create_mode);
    ::close(fd);
    creating_base = true;
  }
  int fd = SD_TRY(openBeneath(path, base_is_dir ? (O_RDONLY | O_DIRECTORY) : O_RDWR, 0));
  xname = resolveStreamXattr(fd, xname);
  auto h = std::make_unique<StreamHandle>(fd, xname, hidden);
  auto cur = h->load();
  bool exists = cur.has_value();
  if (!exists && cur.status() != NtStatus::kObjectNameNotFound) return cur.error();
  if (exists) {
    if (d == 2) return err(NtStatus::kObjectNameCollision, "stream exists");
    if (d == 0 || d == 4 || d == 5) {
      SD_CHECK(h->store(Bytes()));
      res.create_action = d == 0 ? 0 : 3;
    } else {
      res.create_action = 1;
    }
  } else {
    if (d == 1 || d == 4) return err(NtStatus::kObjectNameNotFound, "no such stream");
    SD_CHECK(h->store(Bytes()));
    res.create_action = 2;
  }
  (void)creating_base;
  res.stat = SD_TRY(h->stat());
  res.handle = std::move(h);
  return res;
}

Result<std::unique_ptr<DirReader>> Share::openDir(Handle& dir, const std::string& pattern) {
  int fd = openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fromErrno(errno, "opendir");
  // Relative path of the directory, for symlink checks: find it from /proc is racy; the
  // reader resolves symlinks relative to the share root using the name we keep.
  std::string rel;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", dir.fd());
  char buf[4096];
  ssize_t n = readlink(link, buf, sizeof buf - 1);
  if (n > 0) {
    std::string abs(buf, size_t(n));
    if (abs.compare(0, root_path_.size(), root_path_) == 0) {
      rel = abs.substr(root_path_.size());
      while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
    }
  }
  return std::unique_ptr<DirReader>(new PosixDirReader(this, rel, fd, pattern.empty() ? "*" : pattern));
}

Status Share::unlink(const std::string& path_in) {
  std::string path = SD_TRY(normalize(path_in));
  auto colon = path.find(':');
  if (colon != std::string::npos) {
    std::string xname = SD_TRY(streamXattr(path.substr(colon + 1)));
    int fd = SD_TRY(openBeneath(path.substr(0, colon), O_RDONLY, 0));
    xname = resolveStreamXattr(fd, xname);
    int rc = fremovexattr(fd, xname.c_str());
    int e = errno;
    ::close(fd);
    if (rc != 0 && e != ENODATA) return fromErrno(e, "removexattr");
    return ok();
  }
  auto [parent, leaf] = splitLeaf(path);
  if (leaf.empty()) return err(NtStatus::kAccessDenied, "cannot delete the share root");
  int pfd = SD_TRY(openBeneath(parent, O_PATH | O_DIRECTORY, 0));
  int rc = unlinkat(pfd, leaf.c_str(), 0);
  int e = errno;
  ::close(pfd);
  if (rc != 0) return fromErrno(e, "unlink");
  return ok();
}

Status Share::rmdir(const std::string& path_in) {
  std::string path = SD_TRY(normalize(path_in));
  auto [parent, leaf] = splitLeaf(path);
  if (leaf.empty()) return err(NtStatus::kAccessDenied, "cannot delete the share root");
  int pfd = SD_TRY(openBeneath(parent, O_PATH | O_DIRECTORY, 0));
  int rc = unlinkat(pfd, leaf.c_str(), AT_REMOVEDIR);
  int e = errno;
  ::close(pfd);
  if (rc != 0) return fromErrno(e, "rmdir");
  return ok();
}

Result<std::string> Share::rename(const std::string& from_in, const std::string& to_in, bool replace) {
  std::string from = SD_TRY(normalize(from_in));
  std::string to = SD_TRY(normalize(to_in));
  if (from.empty() || to.empty()) return err(NtStatus::kAccessDenied, "rename of the root");
  auto [tparent, tleaf] = splitLeaf(to);
  if (!validCreateName(tleaf)) return err(NtStatus::kObjectNameInvalid, "invalid target name");
  if (isVetoed(tleaf)) return err(NtStatus::kAccessDenied, "vetoed target");
  tparent = SD_TRY(resolveCase(tparent));
  std::string target = join(tparent, tleaf);
  auto [fparent, fleaf] = splitLeaf(from);
  int fpfd = SD_TRY(openBeneath(fparent, O_PATH | O_DIRECTORY, 0));
  auto tp = openBeneath(tparent, O_PATH | O_DIRECTORY, 0);
  if (!tp) {
    ::close(fpfd);
    if (tp.status() == NtStatus::kObjectNameNotFound) return err(NtStatus::kObjectPathNotFound, "target parent");
    return tp.error();
  }
  int tpfd = *tp;
  // An existing target that differs only in case from the source is the same file.
  std::string existing = SD_TRY(resolveCase(target));
  bool same = iequals(existing, from);
  struct stat tst;
  bool texists = !same && fstatat(tpfd, splitLeaf(existing).second.c_str(), &tst, AT_SYMLINK_NOFOLLOW) == 0;
  Status result = ok();
  if (texists) {
    if (!replace) result = err(NtStatus::kObjectNameCollision, "target exists");
    else if (S_ISDIR(tst.st_mode)) result = err(NtStatus::kAccessDenied, "target is a directory");
  }
  if (result) {
    std::string tl = texists ? splitLeaf(existing).second : tleaf;
    unsigned flags = (replace || same) ? 0 : RENAME_NOREPLACE;
    if (renameat2(fpfd, fleaf.c_str(), tpfd, tl.c_str(), flags) != 0)
      result = fromErrno(errno, "rename");
    target = join(tparent, tl);
  }
  ::close(fpfd);
  ::close(tpfd);
  if (!result) return result.error();
  return target;
}

Result<std::string> Share::renameStream(const std::string& from_in, const std::string& to_stream,
                                        bool replace) {
  std::string from = SD_TRY(normalize(from_in));
  auto colon = from.find(':');
  if (colon == std::string::npos) return err(NtStatus::kInvalidParameter, "not a stream");
  std::string base = from.substr(0, colon);
  std::string oldx = SD_TRY(streamXattr(from.substr(colon + 1)));
  std::string newx = SD_TRY(streamXattr(to_stream));
  int fd = SD_TRY(openBeneath(base, O_RDONLY, 0));
  oldx = resolveStreamXattr(fd, oldx);
  Bytes v(kMaxStreamSize);
  ssize_t n = fgetxattr(fd, oldx.c_str(), v.data(), v.size());
  Status st = ok();
  if (n < 0) {
    st = fromErrno(errno == ENODATA ? ENOENT : errno, "fgetxattr");
  } else if (oldx != newx) {
    v.resize(size_t(n));
    if (fsetxattr(fd, newx.c_str(), v.data(), v.size(), replace ? 0 : XATTR_CREATE) != 0)
      st = errno == EEXIST ? err(NtStatus::kObjectNameCollision, "stream exists") : fromErrno(errno, "fsetxattr");
    else if (fremovexattr(fd, oldx.c_str()) != 0)
      st = fromErrno(errno, "fremovexattr");
  }
  ::close(fd);
  if (!st) return st.error();
  std::string name = to_stream;
  if (name.size() < 6 || !iequals(name.substr(name.size() - 6), ":$DATA")) name += ":$DATA";
  return base + ":" + name;
}

Status Share::rebindStream(Handle& h, const std::string& new_stream_path) {
  auto* sh = dynamic_cast<StreamHandle*>(&h);
  auto colon = new_stream_path.find(':');
  if (!sh || colon == std::string::npos) return err(NtStatus::kInvalidParameter, "not a stream");
  std::string x = SD_TRY(streamXattr(new_stream_path.substr(colon + 1)));
  sh->rebind(resolveStreamXattr(sh->fd(), x));
  return ok();
}

Result<bool> Share::isEmptyDir(Handle& dir) {
  int fd = openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fromErrno(errno, "opendir");
  DIR* d = fdopendir(fd);
  if (!d) {
    ::close(fd);
    return fromErrno(errno, "fdopendir");
  }
  bool empty = true;
  for (dirent* e; (e = readdir(d));) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

Status Share::setBasicInfo(Handle& h, uint64_t creation, uint64_t access, uint64_t write,
                           uint64_t change, uint32_t attributes) {
  auto set = [](uint64_t ft) { return ft != 0 && ft != ~0ull; };
  timespec ts[2];
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_nsec = UTIME_OMIT;
  if (set(access)) ts[0] = timespecFromFiletime(access);
  if (set(write)) ts[1] = timespecFromFiletime(write);
  // ctime cannot be set on POSIX: a client-set change time is kept beside the DOS attributes
  // and reported until the file is next modified.
  if (set(access) || set(write)) {
    if (futimens(h.fd(), ts) != 0) return fromErrno(errno, "futimens");
  }
  if (set(creation) || attributes || set(change)) {
    DosState dos = readDos(h.fd());
    if (!dos.present) {
      auto st = SD_TRY(h.stat());
      dos.creation = st.creation_time;
      dos.attributes = st.file_attributes & (kAttrHidden | kAttrSystem | kAttrArchive);
      dos.present = true;
    }
    if (set(creation)) dos.creation = creation;
    if (set(change)) {
      struct stat st;
      if (fstat(h.fd(), &st) == 0) {
        dos.change = change;
        dos.change_mtime = filetimeFromTimespec(st.st_mtim);
      }
    }
    if (attributes) {
      dos.attributes = attributes & (kAttrHidden | kAttrSystem | kAttrArchive);
      struct stat st;
      if (fstat(h.fd(), &st) == 0 && S_ISREG(st.st_mode)) {
        mode_t m = st.st_mode & 07777;
        mode_t nm = (attributes & kAttrReadonly) ? (m & ~0222) : (m | (0200 & opts_.create_mask ? 0200 : 0));
        if (nm != m && fchmod(h.fd(), nm) != 0) return fromErrno(errno, "fchmod");
      }
    }
    SD_CHECK(writeDos(h.fd(), dos));
  }
  return ok();
}

Result<std::vector<StreamInfo>> Share::listStreams(Handle& h) {
  auto st = SD_TRY(h.stat());
  std::vector<StreamInfo> v;
  if (!st.directory) v.push_back({"::$DATA", st.end_of_file, st.allocation_size});
  char names[65536];
  ssize_t n = flistxattr(h.fd(), names, sizeof names);
  static const std::string kPrefix = "user.DosStream.";
  for (ssize_t i = 0; n > 0 && i < n;) {
    std::string x(names + i);
    i += ssize_t(x.size()) + 1;
    if (x.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    ssize_t len = fgetxattr(h.fd(), x.c_str(), nullptr, 0);
    if (len < 0) continue;
    v.push_back({":" + x.substr(kPrefix.size()), uint64_t(len), (uint64_t(len) + 4095) / 4096 * 4096});
  }
  return v;
}

namespace {
bool isOwnXattr(const std::string& x) {
  return x.rfind("user.DosStream.", 0) == 0 || x.rfind("user.smbdirect.", 0) == 0 ||
         x == "user.DOSATTRIB";
}
}  // namespace

Result<std::vector<Ea>> Share::listEas(Handle& h) {
  std::vector<Ea> out;
  char names[65536];
  ssize_t n = flistxattr(h.fd(), names, sizeof names);
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return fromErrno(errno, "flistxattr");
  }
  for (ssize_t i = 0; i < n;) {
    std::string x(names + i);
    i += ssize_t(x.size()) + 1;
    if (x.rfind("user.", 0) != 0 || isOwnXattr(x)) continue;
    Bytes v(65536);
    ssize_t len = fgetxattr(h.fd(), x.c_str(), v.data(), v.size());
    if (len < 0) continue;
    v.resize(size_t(len));
    out.push_back({x.substr(5), std::move(v), 0});
  }
  return out;
}

Status Share::setEa(Handle& h, const std::string& name, ByteView value) {
  if (name.empty() || name.size() > 255) return err(NtStatus::kInvalidParameter, "EA name");
  for (unsigned char c : name)
    if (c < 0x20 || c == '"' || c == '*' || c == '+' || c == ',' || c == '/' || c == ':' ||
        c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '[' || c == '\\' ||
        c == ']' || c == '|')
      return err(NtStatus::kInvalidEaName, "EA name");
  std::string x = "user." + name;
  if (isOwnXattr(x)) return err(NtStatus::kAccessDenied, "reserved EA name");
  if (value.empty()) {
    if (fremovexattr(h.fd(), x.c_str()) != 0 && errno != ENODATA) return fromErrno(errno, "fremovexattr");
    return ok();
  }
  if (fsetxattr(h.fd(), x.c_str(), value.data(), value.size(), 0) != 0) {
    if (errno == ENOTSUP) return err(NtStatus::kEasNotSupported, "no xattrs here");
    return fromErrno(errno, "fsetxattr");
  }
  return ok();
}

namespace {
// Reads the descriptor xattr through `path` (an fd's /proc link for O_PATH descriptors).
Result<std::optional<Bytes>> readNtAcl(int fd, const char* path) {
  // Most files have none: ask for the size first so they cost no buffer.
  auto get = [&](void* buf, size_t len) {
    return path ? getxattr(path, kNtAclXattr, buf, len) : fgetxattr(fd, kNtAclXattr, buf, len);
  };
  ssize_t n = get(nullptr, 0);
  Bytes v;
  if (n >= 0) {
    v.resize(std::min<size_t>(size_t(n) + 64, kMaxNtAcl));  // room if it grew meanwhile
    n = get(v.data(), v.size());
  }
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return std::optional<Bytes>();
    return fromErrno(errno, "getxattr ntacl");
  }
  v.resize(size_t(n));
  return std::optional<Bytes>(std::move(v));
}
}  // namespace

Result<std::optional<Bytes>> Share::readSecurity(Handle& h) { return readNtAcl(h.fd(), nullptr); }
Result<std::optional<Bytes>> Share::readSecurityOf(int fd) { return readNtAcl(fd, nullptr); }

Result<std::pair<uint64_t, uint64_t>> Share::parentId(const std::string& path) {
  auto colon = path.find(':');
  std::string base = colon == std::string::npos ? path : path.substr(0, colon);
  int fd = SD_TRY(openBeneath(splitLeaf(base).first, O_PATH | O_DIRECTORY, 0));
  struct stat st;
  int rc = fstat(fd, &st);
  int e = errno;
  ::close(fd);
  if (rc != 0) return fromErrno(e, "fstat");
  return std::make_pair((uint64_t(major(st.st_dev)) << 32) | minor(st.st_dev), uint64_t(st.st_ino));
}

Status Share::writeSecurity(Handle& h, ByteView descriptor) {
  if (descriptor.size() > kMaxNtAcl) return err(NtStatus::kInvalidSecurityDescr, "descriptor too large");
  if (fsetxattr(h.fd(), kNtAclXattr, descriptor.data(), descriptor.size(), 0) != 0) {
    if (errno == ENOTSUP) return err(NtStatus::kNotSupported, "no xattrs on this file system");
    return fromErrno(errno, "fsetxattr ntacl");
  }
  return ok();
}

Status Share::setOwner(Handle& h, std::optional<uint32_t> uid, std::optional<uint32_t> gid) {
  // (uid_t)-1 means "unchanged" to chown: never a real owner.
  if ((uid && *uid == uint32_t(-1)) || (gid && *gid == uint32_t(-1)))
    return err(NtStatus::kInvalidOwner, "no such Unix id");
  if (!uid && !gid) return ok();
  if (fchownat(h.fd(), "", uid ? uid_t(*uid) : uid_t(-1), gid ? gid_t(*gid) : gid_t(-1),
               AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == EPERM) return err(NtStatus::kAccessDenied, "chown not permitted");
    return fromErrno(errno, "fchownat");
  }
  return ok();
}

Result<Share::SecurityLookup> Share::lookupSecurity(const std::string& smb_path) {
  std::string path = SD_TRY(normalize(smb_path));
  auto colon = path.find(':');
  if (colon != std::string::npos) path.resize(colon);  // a stream shares its file's descriptor
  path = SD_TRY(resolveCase(path));
  SecurityLookup out;
  auto look = [&](const std::string& rel, bool& exists, FileStat& st,
                  std::optional<Bytes>& sd) -> Status {
    auto fd = openBeneath(rel, O_PATH, 0);
    if (!fd) {
      NtStatus s = fd.status();
      if (s == NtStatus::kObjectNameNotFound || s == NtStatus::kObjectPathNotFound) return ok();
      return fd.error();
    }
    std::string link = "/proc/self/fd/" + std::to_string(*fd);
    auto stat = statxFd(*fd, false);
    auto acl = readNtAcl(*fd, link.c_str());
    ::close(*fd);
    st = SD_TRY(stat);
    sd = SD_TRY(acl);
    exists = true;
    return ok();
  };
  SD_CHECK(look(path, out.exists, out.stat, out.descriptor));
  if (!path.empty())
    SD_CHECK(look(splitLeaf(path).first, out.parent_exists, out.parent_stat, out.parent_descriptor));
  if (out.exists && out.parent_exists) {
    auto pfd = openBeneath(splitLeaf(path).first, O_PATH | O_DIRECTORY, 0);
    if (pfd) {
      // AT_EACCESS: checked with the thread's fs ids and capabilities, not the real ids.
      bool writable = faccessat(*pfd, ".", W_OK | X_OK, AT_EACCESS) == 0;
      ::close(*pfd);
      uid_t fsuid = uid_t(syscall(SYS_setfsuid, uid_t(-1)));
      bool sticky_ok = !(out.parent_stat.mode & S_ISVTX) || fsuid == 0 ||
                       fsuid == out.stat.uid || fsuid == out.parent_stat.uid;
      out.may_delete = writable && sticky_ok;
    }
  }
  return out;
}

Result<FsStat> Share::statfs() {
  struct statvfs s;
  if (fstatvfs(root_fd_, &s) != 0) return fromErrno(errno, "statvfs");
  FsStat f;
  f.block_size = uint32_t(s.f_frsize ? s.f_frsize : s.f_bsize);
  f.total_blocks = s.f_blocks;
  f.free_blocks = s.f_bfree;
  f.available_blocks = s.f_bavail;
  return f;
}

}  // namespace sd::vfs
