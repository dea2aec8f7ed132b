// Alternate data streams, each kept whole in one xattr of its file (as ksmbd stores them):
// their handle, names, open/create, rename and listing.
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/text.h"
#include "vfs/posix_file.h"

namespace sd::vfs {

using namespace detail;

namespace {

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

}  // namespace

namespace detail {

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

}  // namespace detail

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

}  // namespace sd::vfs
