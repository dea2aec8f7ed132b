// The user database in ksmbd-tools' format (ksmbdpwd.db): one "user:base64(NT hash)" line per
// user. Thread-safe for concurrent find(); load/save/modify from one thread.
#pragma once
#include <array>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace sd::config {

class UserDb {
 public:
  // kObjectNameNotFound when the file does not exist; kInvalidParameter (with `error` naming
  // file:line) on a malformed line.
  Status load(const std::string& path, std::string* error = nullptr);
  // Atomic: temporary file, fsync, rename; mode 0600.
  Status save(const std::string& path) const;
  std::optional<std::array<uint8_t, 16>> find(std::string_view user) const;
  void set(const std::string& user, const std::array<uint8_t, 16>& nt_hash);
  bool remove(const std::string& user);
  std::vector<std::string> users() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::array<uint8_t, 16>> users_;  // key: lower-case name
  std::map<std::string, std::string> display_;            // lower-case -> as given
};

}  // namespace sd::config
