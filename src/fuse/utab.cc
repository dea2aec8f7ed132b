#include "fuse/utab.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace sd::fuse {

namespace {

constexpr const char* kDir = "/run/mount";
constexpr const char* kUtab = "/run/mount/utab";
constexpr const char* kLock = "/run/mount/utab.lock";

// libmount encodes blanks and backslashes in utab fields as octal escapes.
std::string escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      char b[8];
      snprintf(b, sizeof b, "\\%03o", unsigned(uint8_t(c)));
      r += b;
    } else {
      r.push_back(c);
    }
  }
  return r;
}

// Rewrites utab without the entry for `target`, plus `add` when not empty, under libmount's lock.
void rewrite(const std::string& target, const std::string& add) {
  mkdir(kDir, 0755);
  int lk = open(kLock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lk < 0) return;
  if (flock(lk, LOCK_EX) != 0) {
    close(lk);
    return;
  }
  std::vector<std::string> keep;
  {
    std::ifstream in(kUtab);
    std::string line, tag = " TARGET=" + escape(target) + " ";
    for (int i = 0; i < 100000 && std::getline(in, line); i++)
      if (line.find(tag) == std::string::npos) keep.push_back(line);
  }
  if (!add.empty()) keep.push_back(add);
  std::string tmp = std::string(kUtab) + ".smbdirect.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& l : keep) out << l << '\n';
  }
  rename(tmp.c_str(), kUtab);
  flock(lk, LOCK_UN);
  close(lk);
}

}  // namespace

void utabAdd(const std::string& source, const std::string& target, const std::string& opts) {
  if (opts.empty() || access(kDir, W_OK) != 0) return;
  rewrite(target, "SRC=" + escape(source) + " TARGET=" + escape(target) + " ROOT=/ OPTS=" + escape(opts));
}

void utabRemove(const std::string& target) {
  if (access(kUtab, W_OK) != 0) return;
  rewrite(target, "");
}

}  // namespace sd::fuse
