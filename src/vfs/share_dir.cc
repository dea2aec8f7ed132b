// Directories and names: listing (wildcards, veto, symlinks inside the share), emptiness,
// unlink, rmdir and rename.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/text.h"
#include "vfs/posix_file.h"

namespace sd::vfs {

using namespace detail;

namespace {

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

}  // namespace sd::vfs
