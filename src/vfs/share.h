// The file-system interface of the server and its POSIX backend. A Share is one exported
// directory; every name is resolved beneath its root with openat2(RESOLVE_BENEATH) so nothing
// (.., absolute names, symlinks pointing out) escapes it. SMB semantics live here: dispositions,
// case-insensitive lookup, DOS attributes, wildcard enumeration, alternate data streams in
// xattrs (as ksmbd stores them). Thread-safe: a Share and distinct Handles may be used from any
// threads at once; one Handle or DirReader from one thread at a time.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace sd::vfs {

struct ShareOptions {
  bool case_insensitive = true;
  bool hide_dot_files = true;
  std::vector<std::string> veto_files;  // wildcard patterns ("/a/b*/" already split)
  uint32_t create_mask = 0744;
  uint32_t directory_mask = 0755;
  uint32_t force_create_mode = 0;     // bits every new file gets (after create_mask)
  uint32_t force_directory_mode = 0;  // bits every new directory gets (after directory_mask)
  bool read_only = false;  // nothing is created through this share (see also OpenRequest)
};

// What SMB needs to know of a file (times as FILETIME).
struct FileStat {
  uint64_t creation_time = 0, last_access_time = 0, last_write_time = 0, change_time = 0;
  uint64_t allocation_size = 0, end_of_file = 0;
  uint32_t file_attributes = 0;
  uint64_t file_id = 0;  // inode
  uint64_t device = 0;
  uint32_t number_of_links = 0;
  bool directory = false;
  uint32_t uid = 0, gid = 0, mode = 0;
};

struct StreamInfo {
  std::string name;  // "::$DATA" for the main stream, ":name:$DATA" otherwise
  uint64_t size = 0;
  uint64_t allocation_size = 0;
};

// An extended attribute as SMB sees it (MS-FSCC 2.4.15), stored as the xattr "user.<name>".
struct Ea {
  std::string name;
  Bytes value;
  uint8_t flags = 0;
};

struct FsStat {
  uint64_t total_blocks = 0, free_blocks = 0, available_blocks = 0;
  uint32_t block_size = 4096;
};

class Handle {
 public:
  virtual ~Handle() = default;
  virtual Result<size_t> pread(uint64_t offset, std::span<uint8_t> out) = 0;
  virtual Result<size_t> pwrite(uint64_t offset, ByteView data) = 0;
  virtual Status fsync() = 0;
  virtual Result<FileStat> stat() = 0;
  virtual Status truncate(uint64_t size) = 0;
  virtual Status setAllocationSize(uint64_t size) = 0;
  virtual Status zeroRange(uint64_t offset, uint64_t length) = 0;
  virtual Result<std::vector<std::pair<uint64_t, uint64_t>>> allocatedRanges(uint64_t offset,
                                                                              uint64_t length) = 0;
  // Server-side copy (copy_file_range where possible); returns bytes copied.
  virtual Result<size_t> copyFrom(Handle& src, uint64_t src_offset, uint64_t dst_offset,
                                  uint64_t length) = 0;
  virtual int fd() const = 0;
};

struct DirEntry {
  std::string name;
  FileStat stat;
};

class DirReader {
 public:
  virtual ~DirReader() = default;
  // The next matching entry without consuming it; nullopt at the end.
  virtual Result<std::optional<DirEntry>> peek() = 0;
  virtual void consume() = 0;
  virtual Status rewind() = 0;
};

struct OpenRequest {
  std::string path;  // share-relative, '\' or '/' separated; may end in ":stream[:$DATA]"
  uint32_t disposition = 1;  // FILE_OPEN
  bool directory = false;      // FILE_DIRECTORY_FILE
  bool non_directory = false;  // FILE_NON_DIRECTORY_FILE
  bool want_read = false, want_write = false;
  uint32_t file_attributes = 0;
  bool read_only = false;  // the caller may not create: a missing name is STATUS_ACCESS_DENIED
};

struct OpenResult {
  std::unique_ptr<Handle> handle;
  uint32_t create_action = 1;  // FILE_OPENED
  FileStat stat;
  std::string path;  // normalized share-relative path ('/' separated, on-disk case)
  bool is_stream = false;
};

class Share {
 public:
  static Result<std::shared_ptr<Share>> open(const std::string& root, const ShareOptions& opts);
  ~Share();

  Result<OpenResult> open(const OpenRequest& req);
  Result<std::unique_ptr<DirReader>> openDir(Handle& dir, const std::string& pattern);
  Status unlink(const std::string& path);
  Status rmdir(const std::string& path);
  // Renames `from` to `to` (share-relative); returns the normalized new path.
  Result<std::string> rename(const std::string& from, const std::string& to, bool replace);
  // Renames the stream of "file:stream" to `to_stream` ("name" or "name:$DATA").
  Result<std::string> renameStream(const std::string& from, const std::string& to_stream,
                                   bool replace);
  // After renameStream: points `h`, an open handle of the renamed stream, at its new name
  // (`new_stream_path` as renameStream returned it). Other handles are untouched.
  Status rebindStream(Handle& h, const std::string& new_stream_path);
  Result<bool> isEmptyDir(Handle& dir);
  // FileBasicInformation semantics: 0 = leave unchanged, -1 (all ones) = leave unchanged.
  Status setBasicInfo(Handle& h, uint64_t creation, uint64_t access, uint64_t write,
                      uint64_t change, uint32_t attributes);
  Result<std::vector<StreamInfo>> listStreams(Handle& h);
  // Extended attributes (our own xattrs and streams are not EAs). An empty value removes one.
  Result<std::vector<Ea>> listEas(Handle& h);
  Status setEa(Handle& h, const std::string& name, ByteView value);
  Result<FsStat> statfs();

  // NT security descriptors (MS-DTYP 2.4.6 self-relative bytes, as SET_INFO or the SecD create
  // context gave them) are kept whole in the xattr "user.smbdirect.ntacl" of the file (of the base
  // file for a stream); a file without it has no stored descriptor. Not an EA, not a stream.
  Result<std::optional<Bytes>> readSecurity(Handle& h);
  // The same for any descriptor of a file or directory (the change watcher's access check).
  static Result<std::optional<Bytes>> readSecurityOf(int fd);
  Status writeSecurity(Handle& h, ByteView descriptor);
  // Changes the file's Unix owner and/or group (of the base file for a stream) as the calling
  // thread's identity: the kernel decides (root may give any file to anyone; a user may give
  // their own file to a group they belong to). EPERM is STATUS_ACCESS_DENIED.
  Status setOwner(Handle& h, std::optional<uint32_t> uid, std::optional<uint32_t> gid);
  // What CREATE needs before it opens a name (the access check comes before any truncation):
  // whether it exists, its stat and stored descriptor, and the same for its parent directory.
  struct SecurityLookup {
    bool exists = false;
    FileStat stat;
    std::optional<Bytes> descriptor;
    bool parent_exists = false;
    FileStat parent_stat;
    std::optional<Bytes> parent_descriptor;
    // Whether the calling thread's identity (vfs/identity.h) may remove the existing name: write
    // and search permission on the parent (POSIX ACLs included) and, in a sticky directory,
    // ownership of the file or the directory. CREATE grants DELETE only then, so a delete that
    // would fail is refused at the open, not lost silently at the close.
    bool may_delete = false;
  };
  Result<SecurityLookup> lookupSecurity(const std::string& smb_path);

  // The directory holding `path` (share-relative, normalized): its device (as
  // FileStat::device) and inode, as the calling thread's identity.
  Result<std::pair<uint64_t, uint64_t>> parentId(const std::string& path);

  uint32_t volumeSerial() const { return serial_; }
  const ShareOptions& options() const { return opts_; }
  const std::string& root() const { return root_path_; }

  // Normalizes an SMB name: '\' -> '/', empty components dropped; rejects "..", "." handled.
  static Result<std::string> normalize(std::string_view name);
  bool isVetoed(std::string_view name) const;

 private:
  Share() = default;
  Result<int> openBeneath(const std::string& rel, int flags, mode_t mode);
  Result<OpenResult> openStream(const OpenRequest& req, const std::string& path,
                                const std::string& stream, bool base_exists, bool base_is_dir,
                                bool hidden);
  Result<std::string> resolveCase(const std::string& rel);
  // Share::open once the name is resolved: an existing file or directory, or a new one.
  Status openExisting(const OpenRequest& req, const std::string& path, bool is_dir, bool hidden,
                      OpenResult& res);
  Status createNew(const OpenRequest& req, const std::string& parent, const std::string& leaf, bool hidden,
                   OpenResult& res);
  Result<FileStat> statFd(int fd);

  int root_fd_ = -1;
  std::string root_path_;
  ShareOptions opts_;
  uint32_t serial_ = 0;
};

// MS-FSA 2.1.4.4 wildcard matching (*, ?, and the DOS forms < > "), case-insensitive.
bool wildcardMatch(std::string_view pattern, std::string_view name);

}  // namespace sd::vfs
