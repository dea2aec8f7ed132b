#include "config/user_db.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>

#include "base/text.h"

namespace sd::config {

Status UserDb::load(const std::string& path, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    if (error) *error = path + ": " + std::strerror(errno);
    return err(errno == ENOENT ? NtStatus::kObjectNameNotFound : NtStatus::kAccessDenied, "cannot open user database");
  }
  std::map<std::string, std::array<uint8_t, 16>> users;
  std::map<std::string, std::string> display;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    n++;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    std::string user = line.substr(0, colon);
    std::string b64 = colon == std::string::npos ? "" : line.substr(colon + 1);
    uint8_t out[64];
    int len = b64.empty() || b64.size() > 80 ? -1
              : EVP_DecodeBlock(out, reinterpret_cast<const uint8_t*>(b64.data()), int(b64.size()));
    // EVP_DecodeBlock counts '=' padding as zero bytes: 24 base64 chars -> 18 bytes for 16.
    if (user.empty() || len < 16) {
      if (error) *error = path + ":" + std::to_string(n) + ": malformed line (expected user:base64(NT hash))";
      return err(NtStatus::kInvalidParameter, "malformed user database line");
    }
    std::array<uint8_t, 16> h{};
    std::memcpy(h.data(), out, 16);
    users[asciiLower(user)] = h;
    display[asciiLower(user)] = user;
  }
  std::unique_lock<std::shared_mutex> lk(mu_);
  users_.swap(users);
  display_.swap(display);
  return ok();
}

Status UserDb::save(const std::string& path) const {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return err(ntStatusFromErrno(errno), "cannot write user database");
  std::string text;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    for (const auto& [k, h] : users_) {
      uint8_t b64[32];
      int n = EVP_EncodeBlock(b64, h.data(), 16);
      text += display_.at(k) + ":" + std::string(reinterpret_cast<char*>(b64), size_t(n)) + "\n";
    }
  }
  bool good = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!good || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return err(ntStatusFromErrno(e), "cannot write user database");
  }
  return ok();
}

std::optional<std::array<uint8_t, 16>> UserDb::find(std::string_view user) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = users_.find(asciiLower(user));
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

void UserDb::set(const std::string& user, const std::array<uint8_t, 16>& h) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  users_[asciiLower(user)] = h;
  display_[asciiLower(user)] = user;
}

bool UserDb::remove(const std::string& user) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  display_.erase(asciiLower(user));
  return users_.erase(asciiLower(user)) != 0;
}

std::vector<std::string> UserDb::users() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  std::vector<std::string> v;
  for (const auto& [k, d] : display_) v.push_back(d);
  return v;
}

}  // namespace sd::config
