// The POSIX backend's shared pieces (vfs/share.h's implementation only, not an interface):
// errno mapping, share-relative names, the persisted DOS state, stat as SMB sees it, the
// plain file handle and the xattr names of alternate data streams.
#pragma once
#include <sys/stat.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "vfs/share.h"

namespace sd::vfs::detail {

// FILE_ATTRIBUTE_* (MS-FSCC 2.6)
constexpr uint32_t kAttrReadonly = 0x1, kAttrHidden = 0x2, kAttrSystem = 0x4,
                   kAttrDirectory = 0x10, kAttrArchive = 0x20, kAttrNormal = 0x80;
// Our persisted DOS state: attributes (u32 LE) + creation time (u64 LE). Not ksmbd's NDR
// "user.DOSATTRIB", which we leave untouched (docs/ARCHITECTURE.md).
constexpr const char* kAttrXattr = "user.smbdirect.dosattrib";

// An alternate data stream kept whole in one extended attribute of the base file, as ksmbd
// stores them ("user.DosStream.<name>:$DATA"); limited to what one xattr holds (64 KiB).
constexpr size_t kMaxStreamSize = 65536;

// `force create mode` / `force directory mode`: bits the new object must have whatever the
// requested mode, the masks and the umask left (Samba sets them the same way, after creation).
void applyForcedMode(int fd, uint32_t force);
Error fromErrno(int e, const char* what);
std::string join(const std::string& a, std::string_view b);
std::pair<std::string, std::string> splitLeaf(const std::string& p);
bool validCreateName(std::string_view leaf);

// Layout: attributes u32, creation FILETIME u64, then (optional) a client-set change time and
// the mtime (FILETIME) it was set at: the set value is reported until the file is modified.
struct DosState {
  uint32_t attributes = 0;
  uint64_t creation = 0;
  uint64_t change = 0;
  uint64_t change_mtime = 0;
  bool present = false;
};

DosState decodeDos(const uint8_t* buf, ssize_t n);
DosState readDos(int fd);
Status writeDos(int fd, const DosState& d);
FileStat statOf(const struct statx& sx, const DosState& dos, bool hidden_name);
Result<FileStat> statxFd(int fd, bool hidden_name);

// A regular file or directory open as `fd` (closed with the handle).
std::unique_ptr<Handle> newPosixHandle(int fd, bool hidden);

// Alternate data streams (share_streams.cc).
// "name" or "name:$DATA" -> the xattr holding it; other stream types are invalid.
Result<std::string> streamXattr(std::string_view stream);
// Stream names are case-insensitive (MS-FSA 2.1.5.1): the stored xattr whose name matches
// `xname` ignoring case, or `xname` itself when none does.
std::string resolveStreamXattr(int fd, const std::string& xname);

}  // namespace sd::vfs::detail
