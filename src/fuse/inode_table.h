// The mount's inode table: inode numbers <-> share paths ('/'-separated, "" is the root,
// FUSE_ROOT_ID 1). Numbers are handed out on first sight of a path and never reused; a rename
// re-keys the paths below it. Thread-safe (one mutex, never held across a call out).
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sd::fuse {

using Ino = uint64_t;
constexpr Ino kRootIno = 1;  // FUSE_ROOT_ID

class InodeTable {
 public:
  std::optional<std::string> pathOf(Ino ino) const;
  // The inode of `p`, made on first sight.
  Ino inoFor(const std::string& p);
  // The inode of `p` if one was made.
  std::optional<Ino> knownIno(const std::string& p) const;
  // The known inodes of `p` and of every path below it.
  std::vector<Ino> knownInosFrom(const std::string& p) const;
  // The path of `name` in directory `parent`.
  std::optional<std::string> child(Ino parent, std::string_view name) const;
  // Re-keys `from` and every path below it to `to` (an inode already at a target path loses it).
  void rename(const std::string& from, const std::string& to);
  // Every known (inode, path), for a caller that must look at them all (change notifications
  // that overflowed).
  std::vector<std::pair<Ino, std::string>> all() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<Ino, std::string> paths_{{kRootIno, ""}};
  std::unordered_map<std::string, Ino> inos_{{"", kRootIno}};
  Ino next_ = kRootIno + 1;
};

// "a/b/c" -> {"a/b", "c"}; "c" -> {"", "c"}.
std::pair<std::string, std::string> splitParent(std::string_view p);

}  // namespace sd::fuse
