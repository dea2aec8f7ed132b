// The POSIX backend's share: its root, name normalization and case resolution beneath it,
// and opening or creating files and directories (streams: share_streams.cc; listing and
// names: share_dir.cc; metadata: share_meta.cc).
#include "vfs/share.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/clock.h"
#include "base/text.h"
#include "vfs/posix_file.h"

namespace sd::vfs {

using namespace detail;

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

  if (!stream.empty()) return openStream(req, path, stream, exists, is_dir, hidden);
  // MS-FSA 2.1.5.1: a directory has no ::$DATA stream; asked for as a directory it is "not a
  // directory", otherwise "is a directory" (smbtorture smb2.streams.dir).
  if (data_stream && exists && is_dir)
    return err(req.directory ? NtStatus::kNotADirectory : NtStatus::kFileIsADirectory, "::$DATA of a directory");
  if (exists) SD_CHECK(openExisting(req, path, is_dir, hidden, res));
  else SD_CHECK(createNew(req, parent, leaf, hidden, res));
  res.stat = SD_TRY(res.handle->stat());
  return res;
}

// An existing file or directory: opened, or overwritten (FILE_OVERWRITE[_IF]) or superseded.
Status Share::openExisting(const OpenRequest& req, const std::string& path, bool is_dir, bool hidden,
                           OpenResult& res) {
  uint32_t d = req.disposition;
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
  res.handle = newPosixHandle(fd, hidden);
  return ok();
}

// A new file or directory `leaf` in `parent`, with the request's DOS attributes and the share's
// masks and forced modes.
Status Share::createNew(const OpenRequest& req, const std::string& parent, const std::string& leaf, bool hidden,
                        OpenResult& res) {
  uint32_t d = req.disposition;
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
  DosState dos;  // no change time of our own yet: the file system's ctime stands
  dos.attributes = attrs & ~kAttrReadonly;
  dos.creation = filetimeNow();
  (void)writeDos(fd, dos);
  applyForcedMode(fd, req.directory ? opts_.force_directory_mode : opts_.force_create_mode);
  if ((attrs & kAttrReadonly) && !req.directory) fchmod(fd, 0444 & opts_.create_mask);
  res.create_action = 2;
  res.handle = newPosixHandle(fd, hidden);
  return ok();
}

}  // namespace sd::vfs
