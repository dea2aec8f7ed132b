// Metadata kept beside a file's data: times and DOS attributes, EAs, the stored NT security
// descriptor, the Unix owner, what CREATE's access check looks up, and the volume's size.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "base/clock.h"
#include "vfs/posix_file.h"

namespace sd::vfs {

using namespace detail;

namespace {

// The stored NT security descriptor (Share::readSecurity).
constexpr const char* kNtAclXattr = "user.smbdirect.ntacl";
// Largest descriptor we store: MS-DTYP ACLs are at most 64 KiB (AclSize is 16 bits), and a
// descriptor holds two of them plus two SIDs.
constexpr size_t kMaxNtAcl = 2 * 65536 + 2 * 68 + 20;

bool isOwnXattr(const std::string& x) {
  return x.rfind("user.DosStream.", 0) == 0 || x.rfind("user.smbdirect.", 0) == 0 ||
         x == "user.DOSATTRIB";
}

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
