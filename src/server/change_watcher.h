// Change notification (MS-SMB2 3.3.5.19): every directory open that asked for CHANGE_NOTIFY
// (a NotifyWatch), and the one inotify instance of the server (ChangeWatcher) whose events reach
// them. Changes made through SMB and changes made directly on the server's file system take the
// same path: an SMB CREATE, rename or write is seen as the inotify event it causes, so nothing is
// reported twice. docs/ARCHITECTURE.md "Change notification" describes the design.
//
// Threads: ChangeWatcher's methods are thread-safe. Events are read by its own thread and, so
// that a client sees the changes it caused before its next request, by `sync()` on the thread
// of any request that needs them read now. A NotifyWatch's requests complete on whichever
// thread delivers to it; responses are sent with no lock held.
#pragma once
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "server/notify_buffer.h"
#include "vfs/share.h"

namespace sd::server {

class ChangeWatcher;
struct WatchNode;  // a watched directory (change_watcher.cc)

// The change notification state of one directory open, made by its first CHANGE_NOTIFY: the
// CompletionFilter, WATCH_TREE and OutputBufferLength of that request stay in force until the
// open is closed (Windows behaviour, smbtorture smb2.notify.mask-change); changes found while
// no request waits are buffered for the next one.
class NotifyWatch {
 public:
  // Sends the final response of a waiting request (any thread, no lock held): `status` and,
  // for STATUS_SUCCESS, the FILE_NOTIFY_INFORMATION records.
  using Complete = std::function<void(NtStatus status, ByteView records)>;
  // Opens `name` in the directory `dir_fd` for reading, as the watch's account, when that
  // account may list it (POSIX permissions and a stored NT ACL): a descriptor, or -1. A
  // WATCH_TREE watch extends only into subdirectories it opens.
  using OpenChild = std::function<int(int dir_fd, const std::string& name)>;
  // Whether a name component is hidden from the watch's share (`veto files`).
  using Vetoed = std::function<bool(std::string_view component)>;

  NotifyWatch(uint32_t filter, bool recursive, uint32_t output_length, size_t max_buffered, OpenChild open_child,
              Vetoed vetoed);

  const uint32_t filter;
  const bool recursive;
  const uint32_t output_length;  // of the first request: later ones get at most this much

  // A CHANGE_NOTIFY of `output_length` bytes: the buffered changes (or the watch's end status)
  // at once, or nullopt when none are buffered: `complete` then runs when changes arrive, the
  // request is cancelled or the watch ends.
  std::optional<NotifyBuffer::Taken> takeOrWait(uint64_t async_id, uint32_t output_length, Complete complete);
  // Completes the waiting request `async_id` with `status`; false when none waits.
  bool cancel(uint64_t async_id, NtStatus status);
  // Completes every waiting request with `status` (STATUS_DELETE_PENDING: the directory is being
  // deleted); the watch goes on.
  void failWaiting(NtStatus status);
  // The open is closed: every waiting request completes with STATUS_NOTIFY_CLEANUP.
  void end(NtStatus status);
  size_t waiting() const;

 private:
  friend class ChangeWatcher;
  struct Waiter {
    uint64_t async_id;
    uint32_t output_length;
    Complete complete;
  };
  using Sends = std::vector<std::function<void()>>;
  // From the watcher: a group of records (a rename's two together) or an overflow.
  void deliver(const std::vector<fscc::NotifyEntry>& group, Sends& sends);
  void overflow(Sends& sends);
  void completeFront(Sends& sends);  // mu_ held, a waiter and buffered changes present
  const OpenChild open_child_;
  const Vetoed vetoed_;
  mutable std::mutex mu_;
  NotifyBuffer buf_;
  std::deque<Waiter> waiters_;
  std::optional<NtStatus> ended_;
  // The watcher's bookkeeping, under ChangeWatcher::mu_.
  WatchNode* root_ = nullptr;
};

class ChangeWatcher {
 public:
  explicit ChangeWatcher(uint32_t max_watches = 8192);
  ~ChangeWatcher();
  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;
  // `max notify watches`: inotify watches (directories) the server keeps at most; a WATCH_TREE
  // watch that would need more overflows (its next answer is STATUS_NOTIFY_ENUM_DIR).
  void setMaxWatches(uint32_t n) { max_watches_ = n; }

  // Starts delivering the changes in the directory open as `dir_fd` to `w` (run on the
  // request's thread, as its account: the directory is reopened through `dir_fd`).
  Status subscribe(const std::shared_ptr<NotifyWatch>& w, int dir_fd);
  void unsubscribe(const std::shared_ptr<NotifyWatch>& w);
  // Reads and delivers every event queued so far: a change the caller's request made (or saw
  // completed) reaches the watches before the caller goes on.
  void sync();
  // Something is watched (callers skip their bookkeeping otherwise).
  bool active() const { return active_.load(std::memory_order_relaxed); }
  size_t watchCount() const;

  // The server's own metadata writes that are part of creating a file (its DOS attribute and
  // NT ACL xattrs, EAs and mode from the CREATE) raise IN_ATTRIB: while a Quiet for the new
  // name lives, IN_ATTRIB of that name in the directory (dir_dev, dir_ino) is not a change.
  // Its end reads the queue (sync) first, so nothing of the creation leaks out later.
  class Quiet {
   public:
    Quiet() = default;
    Quiet(Quiet&& o) noexcept : w_(o.w_), id_(o.id_) { o.w_ = nullptr; }
    Quiet& operator=(Quiet&& o) noexcept;
    ~Quiet() { release(); }
    void release();

   private:
    friend class ChangeWatcher;
    ChangeWatcher* w_ = nullptr;
    uint64_t id_ = 0;
  };
  Quiet quiet(uint64_t dir_dev, uint64_t dir_ino, std::string leaf);
  // A change that inotify does not show, reported to the watches of the directory
  // (dir_dev, dir_ino) after every event queued before it (a renamed file's attribute change,
  // which Windows reports when its handle closes).
  void post(uint64_t dir_dev, uint64_t dir_ino, const std::string& leaf, uint32_t action, uint32_t filter);

 private:
  struct Ev;
  using Sends = NotifyWatch::Sends;
  Status startLocked();
  void run();
  void drainLocked(Sends& sends, bool wait_for_pair);
  void handleLocked(const Ev& e, const Ev* paired, Sends& sends);
  // The node of the directory open as `fd` (taken over, or closed when the node exists),
  // watched; null when the watch limit is reached or inotify refuses.
  WatchNode* nodeFor(int fd);
  void dropIfUnused(WatchNode* n);
  void forget(WatchNode* n);  // the kernel dropped the watch (directory gone)
  std::vector<NotifyWatch*> coverers(WatchNode* n) const;  // recursive watches whose tree holds n's entries
  bool covers(NotifyWatch* w, WatchNode* n) const;
  // Extends the watches `ws` into the subdirectory `name` of `parent` (each as far as it may
  // list), and on into its subdirectories. `fresh`: it was just created, so its entries are new
  // (reported as added; inotify could not see them before its watch existed).
  void extend(WatchNode* parent, const std::string& name, const std::vector<NotifyWatch*>& ws, bool fresh,
              Sends& sends);
  void extendAt(WatchNode* parent, const std::string& name, const std::vector<NotifyWatch*>& ws, bool fresh,
                Sends& sends, int depth);
  void retract(NotifyWatch* w, WatchNode* n);
  void detachChild(WatchNode* parent, const std::string& name);
  std::optional<std::string> relPath(NotifyWatch* w, WatchNode* n, const std::string& leaf) const;
  void deliver(WatchNode* n, const std::string& leaf, uint32_t action, uint32_t filter, Sends& sends);
  void deliverRename(WatchNode* from, const std::string& from_name, WatchNode* to, const std::string& to_name,
                     uint32_t filter, Sends& sends);
  static void send(Sends& sends);

  std::atomic<uint32_t> max_watches_;
  std::atomic<bool> active_{false};
  mutable std::mutex mu_;
  int fd_ = -1;       // inotify
  int stop_fd_ = -1;  // eventfd: the thread stops
  std::thread thread_;
  std::unordered_map<int, WatchNode*> by_wd_;
  std::map<std::pair<uint64_t, uint64_t>, WatchNode*> by_inode_;
  std::map<NotifyWatch*, std::shared_ptr<NotifyWatch>> watches_;
  struct QuietKey {
    uint64_t dev, ino;
    std::string leaf;
  };
  std::map<uint64_t, QuietKey> quiet_;
  uint64_t next_quiet_ = 1;
  bool warned_limit_ = false;
};

// A change to an alternate data stream is an xattr write on its file (vfs/share.h), which
// inotify reports as an attribute change (IN_ATTRIB) of the file. While a StreamChange lives,
// that file's IN_ATTRIB is quiet; `report` then tells watchers what changed in the stream's
// own terms ("file:stream", FILE_ACTION_*_STREAM and FILE_NOTIFY_CHANGE_STREAM_*), as Windows
// does, after every event before it. Inert when nothing is watched.
class StreamChange {
 public:
  // `path`: the stream's share-relative path ("dir/file:stream[:$DATA]", '\' or '/').
  StreamChange(ChangeWatcher& w, vfs::Share& fs, const std::string& path);
  // The same when the directory holding the file is known (dev as vfs::FileStat::device).
  StreamChange(ChangeWatcher& w, uint64_t dir_dev, uint64_t dir_ino, const std::string& path);
  // Ends the quiet (first call) and reports `action` for the stream of `path` (default: the
  // one constructed with).
  void report(uint32_t action, uint32_t filter, const std::string& path = {});

 private:
  void begin(uint64_t dir_dev, uint64_t dir_ino, const std::string& path);
  ChangeWatcher* w_ = nullptr;
  uint64_t dev_ = 0, ino_ = 0;
  std::string name_;  // "file:stream"
  ChangeWatcher::Quiet quiet_;
};

}  // namespace sd::server
