#include "fuse/change_watch.h"

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "fuse/fs.h"
#include "smb2/constants.h"

namespace sd::fuse {

namespace {
// Names, sizes, times and attributes: what a directory listing or stat shows.
constexpr uint32_t kFilter = fscc::kNotifyChangeName | fscc::kNotifyChangeAttributes | fscc::kNotifyChangeSize |
                             fscc::kNotifyChangeLastWrite | fscc::kNotifyChangeCreation;
constexpr uint32_t kOutputLength = 64u << 10;
constexpr int kWaitMs = 250;  // each wait holds the connection (shared): a reconnect waits this long at most
}  // namespace

ChangeWatch::Invalidation ChangeWatch::invalidationFor(const fscc::NotifyEntry& change) {
  Invalidation inv;
  std::string path = change.name;
  for (char& c : path)
    if (c == '\\') c = '/';
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  if (path.empty()) return inv;
  auto [dir, name] = splitParent(path);
  // Only a name that went away (or was replaced by a rename) can have a stale dentry: the kernel
  // keeps no negative entries here, so an added name needs none dropped, and dropping the
  // mount's own new files' entries could evict their inodes with their cached pages.
  if (change.action == fscc::kFileActionRemoved || change.action == fscc::kFileActionRenamedOldName ||
      change.action == fscc::kFileActionRenamedNewName)
    inv.entries.emplace_back(dir, name);
  inv.attributes.push_back(path);
  inv.attributes.push_back(dir);
  return inv;
}

void ChangeWatch::start() {
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void ChangeWatch::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ChangeWatch::waitFor(int ms) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(ms), [this] { return stop_; });
  return !stop_;
}

std::string ChangeWatch::statusText() const {
  if (unsupported_) return "Change notifications: the server has none (attributes cached for actimeo)\n";
  return "Change notifications: " + std::string(active_ ? "watching" : "not watching") +
         "  answers: " + std::to_string(answers_.load()) + "  changes: " + std::to_string(changes_.load()) +
         "  overflows: " + std::to_string(overflows_.load()) + "\n";
}

// One root handle and one outstanding request at a time. A request answered is applied with no
// lock held (invalidating waits on the kernel's inode locks, which a FUSE request may hold
// while it waits for the connection), then sent again.
void ChangeWatch::loop() {
  std::optional<smb2::FileId> root;
  uint64_t mid = 0;  // the outstanding request (0: none; MessageId 0 is the NEGOTIATE's)
  uint64_t gen = 0;
  int failures = 0;
  auto backOff = [&] { return waitFor(std::min(5000, 200 << std::min(failures++, 5))); };
  bool running = waitFor(0);
  while (running) {
    Result<client::SmbClient::NotifyResult> r = err(NtStatus::kIoTimeout, "");
    {
      std::shared_lock<std::shared_mutex> cl(fs_.conn_mu);
      if (fs_.generation != gen) {  // reconnected: the old handle and request are gone
        root.reset();
        mid = 0;
        gen = fs_.generation;
      }
      if (!root) {
        auto o = fs_.smb.open("", smb2::kFileListDirectory | smb2::kFileReadAttributes | smb2::kSynchronize,
                              smb2::kFileOpen, smb2::kFileDirectoryFile);
        if (o) root = *o;
        else r = o.error();
      }
      if (root && !mid) {
        auto m = fs_.smb.changeNotifySend(*root, kFilter, true, kOutputLength);
        if (m) mid = *m;
        else r = m.error();
      }
      if (mid) r = fs_.smb.changeNotifyWait(mid, kWaitMs);
    }
    active_ = root && mid;
    if (!r && r.status() == NtStatus::kIoTimeout) {  // quiet: the request stays with the server
      running = waitFor(0);
      continue;
    }
    mid = 0;  // answered, or gone with an error
    if (!r) {
      LOG_DEBUG("change notifications: %s", client::describe(r.status()).c_str());
      if (client::SmbClient::connectionLost(r.status())) {
        root.reset();
        (void)fs_.reconnect(gen);
      }
      running = backOff();
      continue;
    }
    answers_++;
    if (r->status == NtStatus::kSuccess) {
      failures = 0;
      changes_ += r->changes.size();
      apply(r->changes);
    } else if (r->status == NtStatus::kNotifyEnumDir) {
      overflows_++;
      dropEverything();
    } else if (r->status == NtStatus::kNotSupported || r->status == NtStatus::kInvalidDeviceRequest) {
      unsupported_ = true;
      LOG_INFO("the server sends no change notifications: attributes stay cached for actimeo (%g s)", fs_.ttl);
      break;
    } else {  // the handle went (NOTIFY_CLEANUP, ...) or failed: open the root again
      LOG_DEBUG("change notifications: %s", client::describe(r->status).c_str());
      if (r->status != NtStatus::kNotifyCleanup) (void)once(&fs_, [&] { return fs_.smb.close(*root); });
      root.reset();
      running = backOff();
      continue;
    }
    running = waitFor(0);
  }
  std::shared_lock<std::shared_mutex> cl(fs_.conn_mu);
  if (mid && fs_.generation == gen) {
    (void)fs_.smb.cancel(mid);
    (void)fs_.smb.changeNotifyWait(mid, 1000);
  }
  if (root && fs_.generation == gen) (void)fs_.smb.close(*root);
  active_ = false;
}

void ChangeWatch::apply(const std::vector<fscc::NotifyEntry>& changes) {
  if (!fs_.se) return;
  for (const auto& c : changes) {
    Invalidation inv = invalidationFor(c);
    for (auto& [dir, name] : inv.entries) dropEntry(dir, name);
    for (auto& p : inv.attributes)
      if (auto i = fs_.inodes.knownIno(p)) (void)fuse_lowlevel_notify_inval_inode(fs_.se, *i, -1, 0);
  }
}

void ChangeWatch::dropEntry(const std::string& dir, const std::string& name) {
  auto d = fs_.inodes.knownIno(dir);
  if (!d) return;
  int rc = fuse_lowlevel_notify_inval_entry(fs_.se, *d, name.c_str(), name.size());
  if (rc != 0 && rc != -ENOENT) LOG_DEBUG("invalidating entry %s: %s", name.c_str(), std::strerror(-rc));
}

void ChangeWatch::dropEverything() {
  if (!fs_.se) return;
  for (auto& [ino, path] : fs_.inodes.all()) {
    (void)fuse_lowlevel_notify_inval_inode(fs_.se, ino, -1, 0);
    if (path.empty()) continue;
    auto [dir, name] = splitParent(path);
    dropEntry(dir, name);
  }
}

}  // namespace sd::fuse
