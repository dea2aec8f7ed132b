// A POSIX file as SMB sees it: errno mapping, names, the persisted DOS state, stat and the
// plain file handle (vfs/posix_file.h).
#include "vfs/posix_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/clock.h"

namespace sd::vfs::detail {

namespace {

uint64_t tsToFt(const struct statx_timestamp& t) {
  timespec ts{t.tv_sec, long(t.tv_nsec)};
  return filetimeFromTimespec(ts);
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

}  // namespace

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

bool validCreateName(std::string_view leaf) {
  if (leaf.empty() || leaf.size() > 255) return false;
  for (unsigned char c : leaf) {
    if (c < 0x20 || c == '*' || c == '?' || c == '<' || c == '>' || c == '|' || c == '"' ||
        c == ':' || c == '\\')
      return false;
  }
  return true;
}

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

std::unique_ptr<Handle> newPosixHandle(int fd, bool hidden) { return std::make_unique<PosixHandle>(fd, hidden); }

}  // namespace sd::vfs::detail
