// Server-wide state shared by every connection: configuration snapshot, shares, users, the
// session table (sessions outlive a connection and can be bound to several channels), the open
// table and share-mode bookkeeping. Owned by server/; every method is thread-safe (connections
// run on their own threads); tables are reached by id, never by pointers held across calls
// without a shared_ptr.
#pragma once
#include <array>
#include <chrono>
#include <deque>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <condition_variable>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "config/config.h"
#include "server/local_changes.h"
#include "server/change_watcher.h"
#include "server/durable_table.h"
#include "server/lock_table.h"
#include "server/oplock_table.h"
#include "smb2/durable.h"
#include "vfs/share.h"

namespace sd::server {

struct Session;
struct Open;
struct TreeConnect;

// A configured share with its opened file-system root (null for IPC$).
struct ShareRuntime {
  config::ShareConfig cfg;
  std::shared_ptr<vfs::Share> fs;
  bool ipc = false;
};

// Looks up a user's NT hash (from the user database); nullopt when unknown.
using UserLookup = std::function<std::optional<std::array<uint8_t, 16>>(std::string_view user)>;

class Transport;

class ServerState {
 public:
  ServerState();
  ~ServerState();

  // Installs (or, on SIGHUP, replaces) the configuration and user database. Existing tree
  // connects keep the share runtime they were made with; new ones see the new table.
  Status configure(const config::Config& cfg, UserLookup users);

  const config::Global& global() const { return global_; }
  std::shared_ptr<const config::Config> config() const;
  std::shared_ptr<ShareRuntime> findShare(std::string_view name) const;
  std::vector<std::shared_ptr<ShareRuntime>> shares() const;
  std::optional<std::array<uint8_t, 16>> lookupUser(std::string_view user) const;
  // [global] hosts allow / hosts deny for a client at `peer` ("addr:port", "[v6]:port"), as
  // configured now (a reload applies to the next connection).
  bool admitsPeer(std::string_view peer) const;

  // A connection's place in the server's counts of connections, in all and from its client's
  // address ([global] max connections, max ip connections; TCP and SMB Direct together),
  // released when the last copy is destroyed. Null when a limit refuses the connection.
  std::shared_ptr<void> admitConnection(std::string_view peer);
  // Closes `transport` once `unauthenticated timeout` has passed unless `authenticated` is set
  // by then (a client that stalls in NEGOTIATE or SESSION_SETUP, or halfway through a message,
  // before any session is valid). One thread for the server, started by the first call.
  void closeUnlessAuthenticated(std::weak_ptr<Transport> transport, std::shared_ptr<std::atomic<bool>> authenticated);

  const std::array<uint8_t, 16>& serverGuid() const { return server_guid_; }
  uint64_t startTime() const { return start_time_; }

  // Sessions: ids are random-looking and never reused while the server runs. Null when the
  // server holds `max active sessions` already.
  std::shared_ptr<Session> newSession();
  std::shared_ptr<Session> findSession(uint64_t id) const;
  void removeSession(uint64_t id);

  // Opens: volatile ids unique server-wide.
  uint64_t newOpenId() { return next_open_id_.fetch_add(1); }
  uint32_t openCount() const;
  void addOpen(const std::shared_ptr<Open>& open);
  void removeOpen(uint64_t volatile_id);
  std::shared_ptr<Open> findOpen(uint64_t volatile_id) const;
  std::vector<std::shared_ptr<Open>> opensOfFile(uint64_t file_key) const;
  std::vector<std::shared_ptr<Open>> opensOfSession(uint64_t session_id) const;
  // Would an open of the file (not a stream) with `access` and `share_access` meet a sharing
  // violation now?
  bool shareModesConflict(uint64_t file_key, uint32_t access, uint32_t share_access) const;

  // Share-mode arbitration (MS-FSA 2.1.5.1.2): under one lock, checks the new open against every
  // existing open of the same file and registers it on success.
  Status admitOpen(const std::shared_ptr<Open>& open);
  // Delete-pending state is per file, shared by all its opens (MS-FSA 2.1.5.4).
  void setDeletePending(uint64_t file_key, bool pending);
  bool isDeletePending(uint64_t file_key) const;
  // SMB Direct listens (QUERY_NETWORK_INTERFACE_INFO then marks interfaces RDMA_CAPABLE).
  void setRdmaListening(bool on) { rdma_listening_ = on; }
  bool rdmaListening() const { return rdma_listening_; }
  // A reconnected durable open's new tree connect (written under the lock that the path
  // lookups below read it under).
  void attachTree(Open& open, std::shared_ptr<TreeConnect> tree);
  // After a rename, every open of the file sees the new share-relative path.
  void renameOpens(uint64_t file_key, const std::string& new_path);
  // Opens of `share` whose path is exactly `path` (directories found by name, e.g. a parent).
  std::vector<std::shared_ptr<Open>> opensAtPath(const ShareRuntime* share, const std::string& path) const;
  // Is any open of `share` at a path strictly below `dir`?
  bool hasOpenBelow(const ShareRuntime* share, const std::string& dir) const;
  // The files (file keys) of the opens of `share` strictly below `dir`.
  std::vector<uint64_t> fileKeysBelow(const ShareRuntime* share, const std::string& dir) const;
  // SRV_REQUEST_RESUME_KEY / COPYCHUNK source lookup (MS-SMB2 2.2.32.3).
  std::array<uint8_t, 24> resumeKeyFor(const Open& open) const;
  std::shared_ptr<Open> findOpenByResumeKey(const std::array<uint8_t, 24>& key) const;
  LockTable& locks() { return locks_; }
  OplockTable& oplocks() { return oplocks_; }
  // Files clients cache, watched for changes made outside SMB (which break their caching).
  LocalChanges& localChanges() { return local_changes_; }
  // Leases are offered (`smb2 leases`; auto: when local changes can be watched).
  bool leasesOn() const { return leases_on_.load(std::memory_order_relaxed); }
  // Durable v2 opens by their client's ClientGuid and CreateGuid, attached or kept, for the
  // replay of a DH2Q (MS-SMB2 3.3.5.9.10); an open leaves at its end.
  void addReplayable(const std::shared_ptr<Open>& open);
  std::shared_ptr<Open> findReplayable(const std::array<uint8_t, 16>& client_guid, const smb2::CreateGuid& create_guid) const;
  void removeReplayable(const Open& open);
  // Durable handles (`durable handles`, MS-SMB2 3.3.5.9.6-12): opens kept for a reconnect.
  bool durableHandlesOn() const { return durable_handles_on_.load(std::memory_order_relaxed); }
  DurableTable& durables() { return durables_; }
  // Change notification: the server's inotify watches and the directory opens they serve.
  ChangeWatcher& changes() { return *changes_; }

  // Where a closed open's file handle goes when the file was written through it: releasing
  // such a descriptor may block (ext4's auto_da_alloc starts writeback of a file truncated to
  // 0 and rewritten), and the CLOSE need not wait for that. The runtime installs a background
  // closer (runtime::HandleCloser) before serving; without one the handle is released inline.
  using HandleRelease = std::function<void(std::unique_ptr<vfs::Handle>)>;
  void setHandleRelease(HandleRelease release) { handle_release_ = std::move(release); }
  void releaseHandle(std::unique_ptr<vfs::Handle> h) {
    if (handle_release_) handle_release_(std::move(h));
  }

 private:
  bool shareModesConflictLocked(uint64_t file_key, bool is_stream, uint32_t access,
                                uint32_t share_access) const;
  HandleRelease handle_release_;  // set once, before any connection
  mutable std::shared_mutex mu_;
  config::Global global_;
  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, std::shared_ptr<ShareRuntime>> shares_;  // key: lower-case name
  UserLookup users_;
  std::array<uint8_t, 16> server_guid_{};
  uint64_t start_time_ = 0;
  mutable std::mutex sess_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions_;
  uint64_t session_salt_ = 0;
  std::atomic<uint64_t> next_session_seq_{1};
  mutable std::mutex open_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Open>> opens_;
  std::unordered_multimap<uint64_t, uint64_t> opens_by_file_;  // file_key -> volatile id
  std::atomic<uint64_t> next_open_id_{1};
  std::unordered_map<uint64_t, bool> delete_pending_;
  LockTable locks_;
  OplockTable oplocks_;
  // After oplocks_: its thread breaks oplocks and leases, and stops first.
  LocalChanges local_changes_{[this](uint64_t key) { oplocks_.breakForLocalChange(key); },
                              [this](uint64_t key) { return oplocks_.caches(key); }};
  std::unique_ptr<ChangeWatcher> changes_ = std::make_unique<ChangeWatcher>();
  std::atomic<bool> rdma_listening_{false};
  std::atomic<bool> leases_on_{false};
  std::atomic<bool> durable_handles_on_{true};
  mutable std::mutex replay_mu_;
  std::map<std::pair<std::array<uint8_t, 16>, smb2::CreateGuid>, std::weak_ptr<Open>> replayable_;
  // Connections counted by admitConnection: in all and by client address.
  std::mutex conn_mu_;
  uint32_t connections_ = 0;
  std::unordered_map<std::string, uint32_t> connections_by_address_;
  // closeUnlessAuthenticated's deadlines, earliest first, and the thread that keeps them.
  struct Unauthenticated {
    std::chrono::steady_clock::time_point deadline;
    std::weak_ptr<Transport> transport;
    std::shared_ptr<std::atomic<bool>> authenticated;
  };
  void closeUnauthenticatedLoop();
  std::mutex unauth_mu_;
  std::condition_variable unauth_cv_;
  std::deque<Unauthenticated> unauth_;
  bool unauth_stop_ = false;
  std::thread unauth_thread_;
  // Last: its scavenger closes opens through the tables above, and stops first.
  DurableTable durables_;
};

}  // namespace sd::server
