#include "server/local_changes.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "server/oplock_table.h"
#include "vfs/identity.h"

namespace sd::server {

namespace {
uint64_t keyOf(const struct stat& st) {
  return fileKeyOf((uint64_t(major(st.st_dev)) << 32) | minor(st.st_dev), st.st_ino);
}
constexpr int kPruneMs = 5000;
}  // namespace

LocalChanges::LocalChanges(OnChange on_change, std::function<bool(uint64_t)> still_cached)
    : on_change_(std::move(on_change)), still_cached_(std::move(still_cached)) {}

LocalChanges::~LocalChanges() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  for (auto& [key, fd] : watched_) ::close(fd);
  if (fan_fd_ >= 0) ::close(fan_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool LocalChanges::startLocked() {
  if (tried_) return available_;
  tried_ = true;
  fan_fd_ = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (fan_fd_ < 0) {
    LOG_WARN("changes made outside SMB break no lease or oplock: fanotify: %s%s", std::strerror(errno),
             errno == EPERM ? " (needs CAP_SYS_ADMIN: run smbdirectd as root)" : "");
    return false;
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    LOG_WARN("changes made outside SMB break no lease or oplock: eventfd: %s", std::strerror(errno));
    ::close(fan_fd_);
    fan_fd_ = -1;
    return false;
  }
  thread_ = std::thread([this] { loop(); });
  available_ = true;
  return true;
}

bool LocalChanges::watch(uint64_t file_key, int fd) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!startLocked()) return false;
  if (watched_.count(file_key)) return true;
  if (watched_.size() >= kMaxWatched) {
    if (!full_logged_) LOG_WARN("watching %zu cached files for changes outside SMB: no more are watched", watched_.size());
    full_logged_ = true;
    return false;
  }
  // As the server's own account: the user may lack the read permission fanotify_mark checks
  // (a write-only open), and the descriptor below is only ever used to remove the mark.
  vfs::IdentityScope as_server(nullptr);
  if (!as_server.status()) return false;
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  int path_fd = ::open(link.c_str(), O_PATH | O_CLOEXEC);
  if (path_fd < 0) return false;
  if (fanotify_mark(fan_fd_, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, link.c_str()) != 0) {
    LOG_DEBUG("fanotify_mark: %s", std::strerror(errno));
    ::close(path_fd);
    return false;
  }
  watched_[file_key] = path_fd;
  return true;
}

bool LocalChanges::available() {
  std::lock_guard<std::mutex> lk(mu_);
  return startLocked();
}

size_t LocalChanges::watched() const {
  std::lock_guard<std::mutex> lk(mu_);
  return watched_.size();
}

void LocalChanges::pruneLocked() {
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (still_cached_(it->first)) {
      ++it;
      continue;
    }
    std::string link = "/proc/self/fd/" + std::to_string(it->second);
    (void)fanotify_mark(fan_fd_, FAN_MARK_REMOVE, FAN_MODIFY, AT_FDCWD, link.c_str());
    ::close(it->second);
    it = watched_.erase(it);
  }
  full_logged_ = false;
}

void LocalChanges::loop() {
  const pid_t self = ::getpid();
  alignas(fanotify_event_metadata) char buf[8192];
  auto last_prune = std::chrono::steady_clock::now();
  for (;;) {
    pollfd fds[2] = {{fan_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, kPruneMs);
    if (n < 0 && errno != EINTR) {
      LOG_WARN("watching for changes outside SMB stopped: poll: %s", std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    std::vector<uint64_t> changed;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      ssize_t len = ::read(fan_fd_, buf, sizeof buf);
      auto* m = reinterpret_cast<const fanotify_event_metadata*>(buf);
      for (; len > 0 && FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
        if (m->vers != FANOTIFY_METADATA_VERSION) break;
        if (m->fd < 0) continue;  // FAN_NOFD: the queue overflowed
        struct stat st;
        // Our own writes (any thread of this process) break what they must themselves.
        if (m->pid != self && ::fstat(m->fd, &st) == 0) changed.push_back(keyOf(st));
        ::close(m->fd);
      }
    }
    for (uint64_t key : changed) on_change_(key);
    auto now = std::chrono::steady_clock::now();
    if (now - last_prune >= std::chrono::milliseconds(kPruneMs)) {
      last_prune = now;
      std::lock_guard<std::mutex> lk(mu_);
      pruneLocked();
    }
  }
}

}  // namespace sd::server
