#include "server/change_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/text.h"
#include "vfs/identity.h"

namespace sd::server {

using namespace sd::fscc;

// A watched directory: one inotify watch (inotify has one per inode), the watches of opens of
// it (`direct`) and the WATCH_TREE watches of its ancestors that reach it (`covered_by`, only
// when their account may list it). `parent`/`name` link it into the tree of watched
// directories, so a record's name is found by walking up to the watch's own directory; a
// directory renamed within watched directories moves with its subtree.
struct WatchNode {
  int wd = -1;
  int fd = -1;  // the directory (O_RDONLY): *at() lookups of its entries
  uint64_t dev = 0, ino = 0;
  WatchNode* parent = nullptr;
  std::string name;
  std::map<std::string, WatchNode*> children;
  std::vector<NotifyWatch*> direct;
  std::set<NotifyWatch*> covered_by;
  // Entries reported as added by the scan of a directory just created (their own IN_CREATE,
  // raised after its watch existed, is not reported again).
  std::set<std::string> scanned;
};

namespace {

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB |
                                IN_DELETE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
constexpr size_t kMaxScanned = 4096;
constexpr int kMaxDepth = 256;

// As vfs::FileStat::device.
uint64_t devKey(dev_t d) { return (uint64_t(major(d)) << 32) | minor(d); }

bool isDirect(const NotifyWatch* w, const WatchNode* n) {
  return std::find(n->direct.begin(), n->direct.end(), w) != n->direct.end();
}

// The entries of a directory, as the server's own account (whoever's request reads the queue):
// only called for directories every watch concerned may list.
std::vector<std::pair<std::string, bool>> listDir(int dir_fd) {
  std::vector<std::pair<std::string, bool>> out;
  vfs::IdentityScope as(nullptr);
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return out;
  DIR* d = fdopendir(fd);
  if (!d) {
    ::close(fd);
    return out;
  }
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      dir = fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    out.emplace_back(std::move(name), dir);
  }
  closedir(d);
  return out;
}

}  // namespace

struct ChangeWatcher::Ev {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  std::string name;
};

// ---- NotifyWatch ----

NotifyWatch::NotifyWatch(uint32_t f, bool rec, uint32_t len, size_t max_buffered, OpenChild open_child,
                         Vetoed vetoed)
    : filter(f),
      recursive(rec),
      output_length(len),
      open_child_(std::move(open_child)),
      vetoed_(std::move(vetoed)),
      buf_(std::min<size_t>(len, max_buffered)) {}

std::optional<NotifyBuffer::Taken> NotifyWatch::takeOrWait(uint64_t async_id, uint32_t len, Complete complete) {
  std::lock_guard<std::mutex> lk(mu_);
  if (ended_) return NotifyBuffer::Taken{*ended_, {}};
  if (!buf_.empty()) return buf_.take(std::min(len, output_length));
  waiters_.push_back({async_id, len, std::move(complete)});
  return std::nullopt;
}

bool NotifyWatch::cancel(uint64_t async_id, NtStatus status) {
  Complete c;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.async_id == async_id; });
    if (it == waiters_.end()) return false;
    c = std::move(it->complete);
    waiters_.erase(it);
  }
  c(status, {});
  return true;
}

void NotifyWatch::failWaiting(NtStatus status) {
  std::deque<Waiter> gone;
  {
    std::lock_guard<std::mutex> lk(mu_);
    gone.swap(waiters_);
  }
  for (auto& w : gone) w.complete(status, {});
}

void NotifyWatch::end(NtStatus status) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ended_ = status;
  }
  failWaiting(status);
}

size_t NotifyWatch::waiting() const {
  std::lock_guard<std::mutex> lk(mu_);
  return waiters_.size();
}

void NotifyWatch::completeFront(Sends& sends) {
  Waiter w = std::move(waiters_.front());
  waiters_.pop_front();
  auto t = std::make_shared<NotifyBuffer::Taken>(buf_.take(std::min(w.output_length, output_length)));
  sends.push_back([c = std::move(w.complete), t] { c(t->status, t->data); });
}

void NotifyWatch::deliver(const std::vector<NotifyEntry>& group, Sends& sends) {
  std::lock_guard<std::mutex> lk(mu_);
  if (ended_) return;
  buf_.add(group);
  // Windows completes a waiting request with the first change (or rename pair) it sees; the
  // changes after it wait for the next request.
  if (!waiters_.empty() && !buf_.empty()) completeFront(sends);
}

void NotifyWatch::overflow(Sends& sends) {
  std::lock_guard<std::mutex> lk(mu_);
  if (ended_) return;
  buf_.overflow();
  if (!waiters_.empty()) completeFront(sends);
}

// ---- ChangeWatcher ----

ChangeWatcher::ChangeWatcher(uint32_t max_watches) : max_watches_(max_watches) {}

ChangeWatcher::~ChangeWatcher() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  for (auto& [wd, n] : by_wd_) {
    if (n->fd >= 0) ::close(n->fd);
    delete n;
  }
  if (fd_ >= 0) ::close(fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

Status ChangeWatcher::startLocked() {
  if (fd_ >= 0) return ok();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return err(ntStatusFromErrno(errno), "inotify_init1");
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    ::close(fd);
    return err(ntStatusFromErrno(errno), "eventfd");
  }
  fd_ = fd;
  stop_fd_ = efd;
  // A thread starts with its creator's credentials: the reader acts as the server's own account,
  // not as the user whose request made the first watch.
  vfs::IdentityScope as(nullptr);
  thread_ = std::thread([this] { run(); });
  return ok();
}

void ChangeWatcher::run() {
  for (;;) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LOG_ERROR("change notify: poll: %s", strerror(errno));
      return;
    }
    if (p[1].revents) return;
    Sends sends;
    {
      std::lock_guard<std::mutex> lk(mu_);
      drainLocked(sends, true);
    }
    send(sends);
  }
}

void ChangeWatcher::send(Sends& sends) {
  for (auto& f : sends) f();
  sends.clear();
}

void ChangeWatcher::sync() {
  if (!active()) return;
  Sends sends;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (fd_ >= 0) drainLocked(sends, true);
  }
  send(sends);
}

size_t ChangeWatcher::watchCount() const {
  std::lock_guard<std::mutex> lk(mu_);
  return by_wd_.size();
}

void ChangeWatcher::drainLocked(Sends& sends, bool wait_for_pair) {
  std::vector<Ev> evs;
  alignas(inotify_event) char buf[64 * 1024];
  bool waited = false;
  for (;;) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A rename raises IN_MOVED_FROM and IN_MOVED_TO one after the other in the renaming
      // thread: a MOVED_FROM read last may have its MOVED_TO on the way.
      if (wait_for_pair && !waited && !evs.empty() && (evs.back().mask & IN_MOVED_FROM)) {
        waited = true;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 5) > 0) continue;
      }
      break;
    }
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      evs.push_back({e->wd, e->mask, e->cookie, e->len ? std::string(e->name) : std::string()});
      p += sizeof(inotify_event) + e->len;
    }
  }
  std::vector<bool> used(evs.size());
  for (size_t i = 0; i < evs.size(); i++) {
    if (used[i]) continue;
    const Ev* paired = nullptr;
    if (evs[i].mask & IN_MOVED_FROM) {
      // Its IN_MOVED_TO (same cookie) follows, usually at once.
      for (size_t j = i + 1; j < evs.size() && j < i + 16; j++)
        if (!used[j] && (evs[j].mask & IN_MOVED_TO) && evs[j].cookie == evs[i].cookie) {
          paired = &evs[j];
          used[j] = true;
          break;
        }
    }
    handleLocked(evs[i], paired, sends);
  }
}

void ChangeWatcher::handleLocked(const Ev& e, const Ev* paired, Sends& sends) {
  if (e.mask & IN_Q_OVERFLOW) {
    // The kernel's queue overflowed: every watch may have missed changes.
    LOG_WARN("change notify: inotify queue overflow; watchers are told to enumerate again");
    for (auto& [w, keep] : watches_) w->overflow(sends);
    return;
  }
  auto it = by_wd_.find(e.wd);
  WatchNode* n = it == by_wd_.end() ? nullptr : it->second;
  const bool isdir = e.mask & IN_ISDIR;
  if (paired) {
    auto it2 = by_wd_.find(paired->wd);
    WatchNode* n2 = it2 == by_wd_.end() ? nullptr : it2->second;
    if (n) n->scanned.erase(e.name);
    if (n2) n2->scanned.erase(paired->name);
    if (isdir) {
      WatchNode* c = nullptr;
      if (n) {
        auto ci = n->children.find(e.name);
        if (ci != n->children.end()) {
          c = ci->second;
          n->children.erase(ci);
          c->parent = nullptr;
        }
      }
      if (c && n2) {
        if (n2->children.count(paired->name)) detachChild(n2, paired->name);
        c->parent = n2;
        c->name = paired->name;
        n2->children[paired->name] = c;
      }
      if (c) {
        // Watches that do not reach its new place let go of it.
        auto still = n2 ? coverers(n2) : std::vector<NotifyWatch*>{};
        std::vector<NotifyWatch*> gone;
        for (NotifyWatch* w : c->covered_by)
          if (std::find(still.begin(), still.end(), w) == still.end()) gone.push_back(w);
        const uint64_t dev = c->dev, ino = c->ino;
        for (NotifyWatch* w : gone) {
          if (!by_inode_.count({dev, ino})) break;  // dropped with the last of them
          retract(w, c);
        }
      }
    }
    deliverRename(n, e.name, n2, paired->name, isdir ? kNotifyChangeDirName : kNotifyChangeFileName, sends);
    if (isdir && n2) {
      auto ws = coverers(n2);
      if (!ws.empty()) extend(n2, paired->name, ws, false, sends);
    }
    return;
  }
  if (!n) return;
  if (e.mask & IN_IGNORED) {
    forget(n);
    return;
  }
  if (e.name.empty()) {
    // The watched directory itself: deleted under its opens (they are not told of its own
    // attribute changes: smbtorture smb2.notify.basedir).
    if (e.mask & IN_DELETE_SELF)
      for (NotifyWatch* w : n->direct) {
        auto it = watches_.find(w);
        if (it != watches_.end())
          sends.push_back([keep = it->second] { keep->failWaiting(NtStatus::kDeletePending); });
      }
    return;
  }
  const uint32_t m = e.mask;
  if ((m & IN_ATTRIB) && !quiet_.empty()) {
    for (const auto& [id, q] : quiet_)
      if (q.dev == n->dev && q.ino == n->ino && iequals(q.leaf, e.name)) return;
  }
  if (m & (IN_DELETE | IN_MOVED_FROM)) {
    n->scanned.erase(e.name);
    if (isdir) detachChild(n, e.name);
  }
  if ((m & IN_CREATE) && n->scanned.erase(e.name)) return;  // reported by the scan already
  FsChange c = changeOfInotify(m);
  if (c.action) deliver(n, e.name, c.action, c.filter, sends);
  if (isdir && (m & (IN_CREATE | IN_MOVED_TO))) {
    auto ws = coverers(n);
    if (!ws.empty()) extend(n, e.name, ws, (m & IN_CREATE) != 0, sends);
  } else if (isdir && (m & IN_ATTRIB)) {
    // Its permissions may have changed: who may list it now?
    auto ws = coverers(n);
    std::vector<NotifyWatch*> more;
    for (NotifyWatch* w : ws) {
      auto ci = n->children.find(e.name);
      WatchNode* child = ci == n->children.end() ? nullptr : ci->second;
      if (child && child->covered_by.count(w)) {
        int fd = w->open_child_(n->fd, e.name);
        if (fd >= 0) ::close(fd);
        else retract(w, child);
      } else {
        more.push_back(w);
      }
    }
    if (!more.empty()) extend(n, e.name, more, false, sends);
  }
}

WatchNode* ChangeWatcher::nodeFor(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  auto key = std::make_pair(devKey(st.st_dev), uint64_t(st.st_ino));
  auto it = by_inode_.find(key);
  if (it != by_inode_.end()) {
    ::close(fd);
    return it->second;
  }
  if (by_wd_.size() >= max_watches_.load()) {
    if (!warned_limit_) {
      LOG_WARN("change notify: %u directories watched (max notify watches); watchers beyond are told to enumerate",
               unsigned(by_wd_.size()));
      warned_limit_ = true;
    }
    ::close(fd);
    return nullptr;
  }
  if (!startLocked()) {
    ::close(fd);
    return nullptr;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int wd;
  {
    vfs::IdentityScope as(nullptr);
    wd = inotify_add_watch(fd_, path, kWatchMask);
  }
  if (wd < 0) {
    LOG_WARN("change notify: inotify_add_watch: %s", strerror(errno));
    ::close(fd);
    return nullptr;
  }
  auto wit = by_wd_.find(wd);
  if (wit != by_wd_.end()) {  // the same directory under another device number (bind mount)
    ::close(fd);
    return wit->second;
  }
  auto* n = new WatchNode;
  n->wd = wd;
  n->fd = fd;
  n->dev = key.first;
  n->ino = key.second;
  by_wd_[wd] = n;
  by_inode_[key] = n;
  active_ = true;
  return n;
}

void ChangeWatcher::dropIfUnused(WatchNode* n) {
  if (!n->direct.empty() || !n->covered_by.empty()) return;
  for (auto& [name, c] : n->children) c->parent = nullptr;
  if (n->parent) {
    auto it = n->parent->children.find(n->name);
    if (it != n->parent->children.end() && it->second == n) n->parent->children.erase(it);
  }
  inotify_rm_watch(fd_, n->wd);
  ::close(n->fd);
  by_wd_.erase(n->wd);
  by_inode_.erase({n->dev, n->ino});
  delete n;
  if (by_wd_.empty()) active_ = false;
}

void ChangeWatcher::forget(WatchNode* n) {
  for (auto& [name, c] : n->children) c->parent = nullptr;
  if (n->parent) {
    auto it = n->parent->children.find(n->name);
    if (it != n->parent->children.end() && it->second == n) n->parent->children.erase(it);
  }
  for (NotifyWatch* w : n->direct) w->root_ = nullptr;
  ::close(n->fd);
  by_wd_.erase(n->wd);
  by_inode_.erase({n->dev, n->ino});
  delete n;
  if (by_wd_.empty()) active_ = false;
}

std::vector<NotifyWatch*> ChangeWatcher::coverers(WatchNode* n) const {
  std::vector<NotifyWatch*> out;
  for (NotifyWatch* w : n->direct)
    if (w->recursive) out.push_back(w);
  for (NotifyWatch* w : n->covered_by) out.push_back(w);
  return out;
}

bool ChangeWatcher::covers(NotifyWatch* w, WatchNode* n) const {
  return n->covered_by.count(w) || (w->recursive && isDirect(w, n));
}

void ChangeWatcher::extend(WatchNode* parent, const std::string& name, const std::vector<NotifyWatch*>& ws,
                           bool fresh, Sends& sends) {
  extendAt(parent, name, ws, fresh, sends, 0);
}

void ChangeWatcher::extendAt(WatchNode* parent, const std::string& name, const std::vector<NotifyWatch*>& ws,
                             bool fresh, Sends& sends, int depth) {
  if (depth > kMaxDepth) return;
  std::vector<NotifyWatch*> visible;
  int fd = -1;
  for (NotifyWatch* w : ws) {
    if (!w->recursive) continue;
    int f = w->open_child_(parent->fd, name);
    if (f < 0) continue;
    visible.push_back(w);
    if (fd < 0) fd = f;
    else ::close(f);
  }
  if (visible.empty()) return;
  WatchNode* c = nodeFor(fd);
  if (!c) {
    for (NotifyWatch* w : visible) w->overflow(sends);
    return;
  }
  for (WatchNode* a = parent; a; a = a->parent)
    if (a == c) return;  // a loop (a bind mount of an ancestor)
  if (c->parent != parent || c->name != name) {
    if (c->parent) {
      auto it = c->parent->children.find(c->name);
      if (it != c->parent->children.end() && it->second == c) c->parent->children.erase(it);
    }
    auto old = parent->children.find(name);
    if (old != parent->children.end() && old->second != c) old->second->parent = nullptr;
    c->parent = parent;
    c->name = name;
    parent->children[name] = c;
  }
  std::vector<NotifyWatch*> added;
  for (NotifyWatch* w : visible)
    if (!isDirect(w, c) && c->covered_by.insert(w).second) added.push_back(w);
  if (added.empty()) return;
  for (const auto& [entry, dir] : listDir(c->fd)) {
    if (fresh) {
      if (c->scanned.size() < kMaxScanned) c->scanned.insert(entry);
      deliver(c, entry, kFileActionAdded, dir ? kNotifyChangeDirName : kNotifyChangeFileName, sends);
    }
    if (dir) extendAt(c, entry, added, fresh, sends, depth + 1);
  }
}

void ChangeWatcher::retract(NotifyWatch* w, WatchNode* n) {
  if (!n->covered_by.erase(w)) return;
  std::vector<WatchNode*> kids;
  for (auto& [name, c] : n->children)
    if (c->covered_by.count(w)) kids.push_back(c);
  for (WatchNode* c : kids) retract(w, c);
  dropIfUnused(n);
}

void ChangeWatcher::detachChild(WatchNode* parent, const std::string& name) {
  auto it = parent->children.find(name);
  if (it == parent->children.end()) return;
  WatchNode* c = it->second;
  parent->children.erase(it);
  c->parent = nullptr;
  // Out of its ancestors' trees: their watches let go (its own opens' watches stay).
  std::vector<NotifyWatch*> ws(c->covered_by.begin(), c->covered_by.end());
  const auto key = std::make_pair(c->dev, c->ino);
  for (NotifyWatch* w : ws) {
    if (!by_inode_.count(key)) break;
    retract(w, c);
  }
}

std::optional<std::string> ChangeWatcher::relPath(NotifyWatch* w, WatchNode* n, const std::string& leaf) const {
  std::vector<const std::string*> parts{&leaf};
  WatchNode* cur = n;
  for (int guard = 0; !isDirect(w, cur); guard++) {
    if (!cur->parent || guard > kMaxDepth) return std::nullopt;
    parts.push_back(&cur->name);
    cur = cur->parent;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!out.empty()) out.push_back('/');
    out += **it;
  }
  return out;
}

namespace {
bool vetoedPath(const NotifyWatch::Vetoed& vetoed, std::string_view rel) {
  if (!vetoed) return false;
  for (size_t i = 0; i <= rel.size();) {
    size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    if (j > i && vetoed(rel.substr(i, j - i))) return true;
    i = j + 1;
  }
  return false;
}
}  // namespace

void ChangeWatcher::deliver(WatchNode* n, const std::string& leaf, uint32_t action, uint32_t filter, Sends& sends) {
  auto one = [&](NotifyWatch* w) {
    if (!(w->filter & filter)) return;
    auto rel = relPath(w, n, leaf);
    if (!rel || vetoedPath(w->vetoed_, *rel)) return;
    w->deliver({NotifyEntry{action, *rel}}, sends);
  };
  for (NotifyWatch* w : n->direct) one(w);
  for (NotifyWatch* w : n->covered_by) one(w);
}

void ChangeWatcher::deliverRename(WatchNode* from, const std::string& from_name, WatchNode* to,
                                  const std::string& to_name, uint32_t filter, Sends& sends) {
  std::map<NotifyWatch*, std::string> olds, news;
  auto collect = [&](WatchNode* n, const std::string& leaf, std::map<NotifyWatch*, std::string>& out) {
    if (!n) return;
    auto one = [&](NotifyWatch* w) {
      if (!(w->filter & filter)) return;
      auto rel = relPath(w, n, leaf);
      if (rel && !vetoedPath(w->vetoed_, *rel)) out[w] = *rel;
    };
    for (NotifyWatch* w : n->direct) one(w);
    for (NotifyWatch* w : n->covered_by) one(w);
  };
  collect(from, from_name, olds);
  collect(to, to_name, news);
  const RenameActions a = renameActions(from == to);
  for (auto& [w, rel] : olds) {
    auto nt = news.find(w);
    if (nt != news.end()) {
      w->deliver({NotifyEntry{a.from, rel}, NotifyEntry{a.to, nt->second}}, sends);
      news.erase(nt);
    } else {
      w->deliver({NotifyEntry{kFileActionRemoved, rel}}, sends);
    }
  }
  for (auto& [w, rel] : news) w->deliver({NotifyEntry{kFileActionAdded, rel}}, sends);
}

Status ChangeWatcher::subscribe(const std::shared_ptr<NotifyWatch>& w, int dir_fd) {
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return err(ntStatusFromErrno(errno), "reopen directory");
  Sends sends;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Status st = startLocked();
    if (!st) {
      ::close(fd);
      return st;
    }
    WatchNode* n = nodeFor(fd);
    if (!n) return err(NtStatus::kInsufficientResources, "no inotify watch");
    n->direct.push_back(w.get());
    w->root_ = n;
    watches_[w.get()] = w;
    if (w->recursive)
      for (const auto& [entry, dir] : listDir(n->fd))
        if (dir) extend(n, entry, {w.get()}, false, sends);
  }
  send(sends);
  return ok();
}

void ChangeWatcher::unsubscribe(const std::shared_ptr<NotifyWatch>& w) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = watches_.find(w.get());
  if (it == watches_.end()) return;
  // Every node it reaches (a sweep: links may have been cut by deletions and moves).
  std::vector<WatchNode*> reached;
  for (auto& [wd, n] : by_wd_) {
    if (n->covered_by.erase(w.get())) reached.push_back(n);
    auto d = std::find(n->direct.begin(), n->direct.end(), w.get());
    if (d != n->direct.end()) {
      n->direct.erase(d);
      reached.push_back(n);
    }
  }
  for (WatchNode* n : reached) {
    const auto key = std::make_pair(n->dev, n->ino);
    auto alive = by_inode_.find(key);
    if (alive != by_inode_.end() && alive->second == n) dropIfUnused(n);
  }
  w->root_ = nullptr;
  watches_.erase(it);
}

ChangeWatcher::Quiet& ChangeWatcher::Quiet::operator=(Quiet&& o) noexcept {
  if (this != &o) {
    release();
    w_ = o.w_;
    id_ = o.id_;
    o.w_ = nullptr;
  }
  return *this;
}

void ChangeWatcher::Quiet::release() {
  if (!w_) return;
  w_->sync();
  std::lock_guard<std::mutex> lk(w_->mu_);
  w_->quiet_.erase(id_);
  w_ = nullptr;
}

ChangeWatcher::Quiet ChangeWatcher::quiet(uint64_t dir_dev, uint64_t dir_ino, std::string leaf) {
  Quiet q;
  std::lock_guard<std::mutex> lk(mu_);
  q.w_ = this;
  q.id_ = next_quiet_++;
  quiet_[q.id_] = QuietKey{dir_dev, dir_ino, std::move(leaf)};
  return q;
}

void ChangeWatcher::post(uint64_t dir_dev, uint64_t dir_ino, const std::string& leaf, uint32_t action,
                         uint32_t filter) {
  if (!active()) return;
  Sends sends;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (fd_ >= 0) drainLocked(sends, true);
    auto it = by_inode_.find({dir_dev, dir_ino});
    if (it != by_inode_.end()) deliver(it->second, leaf, action, filter, sends);
  }
  send(sends);
}

// ---- StreamChange ----

namespace {
// "dir/file:stream:$DATA" -> ("dir/file", "file:stream"); nullopt when not a stream.
std::optional<std::pair<std::string, std::string>> splitStream(const std::string& path) {
  auto norm = vfs::Share::normalize(path);
  if (!norm) return std::nullopt;
  std::string p = *norm;
  auto colon = p.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string base = p.substr(0, colon), stream = p.substr(colon + 1);
  if (stream.size() >= 6 && iequals(std::string_view(stream).substr(stream.size() - 6), ":$DATA"))
    stream.resize(stream.size() - 6);
  if (stream.empty()) return std::nullopt;
  auto slash = base.rfind('/');
  return std::make_pair(base, (slash == std::string::npos ? base : base.substr(slash + 1)) + ":" + stream);
}
}  // namespace

StreamChange::StreamChange(ChangeWatcher& w, vfs::Share& fs, const std::string& path) {
  if (!w.active()) return;
  auto parts = splitStream(path);
  if (!parts) return;
  auto dir = fs.parentId(parts->first);
  if (!dir) return;
  w_ = &w;
  begin(dir->first, dir->second, path);
}

StreamChange::StreamChange(ChangeWatcher& w, uint64_t dir_dev, uint64_t dir_ino, const std::string& path) {
  if (!w.active()) return;
  w_ = &w;
  begin(dir_dev, dir_ino, path);
}

void StreamChange::begin(uint64_t dir_dev, uint64_t dir_ino, const std::string& path) {
  auto parts = splitStream(path);
  if (!parts) {
    w_ = nullptr;
    return;
  }
  dev_ = dir_dev;
  ino_ = dir_ino;
  name_ = parts->second;
  quiet_ = w_->quiet(dir_dev, dir_ino, name_.substr(0, name_.find(':')));
}

void StreamChange::report(uint32_t action, uint32_t filter, const std::string& path) {
  if (!w_) return;
  quiet_.release();
  std::string name = name_;
  if (!path.empty()) {
    auto parts = splitStream(path);
    if (!parts) return;
    name = parts->second;
  }
  w_->post(dev_, ino_, name, action, filter);
}

}  // namespace sd::server
