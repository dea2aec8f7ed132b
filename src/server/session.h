// Sessions, tree connects and opens: the per-user state of MS-SMB2 3.3.1.8 (Session),
// 3.3.1.9 (TreeConnect) and 3.3.1.10 (Open). Owned by server/; a Session is shared by the
// connections (channels) bound to it, so its mutable parts are guarded by its mutex.
#pragma once
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/spnego.h"
#include "base/bytes.h"
#include "base/text.h"
#include "base/unix_account.h"
#include "rpc/pipe.h"
#include "server/oplock_table.h"
#include "server/server_state.h"
#include "smb2/durable.h"
#include "smb2/security.h"
#include "vfs/share.h"

namespace sd::server {

// Who a session acts for (MS-SMB2 3.3.1.8 Session.UserName and SecurityContext). Immutable:
// a re-authentication replaces it whole, with every tree connect of the session.
struct SessionUser {
  std::string user, domain;
  bool guest = false;
  bool anonymous = false;
  // The Unix account the user acts as (server/unix_identity.h); null when the server does not
  // switch identities (it does not run as root).
  std::shared_ptr<const UnixIdentity> identity;
};

// MS-SMB2 3.3.1.9. Immutable once in Session::trees: a re-authentication puts a new one, made
// for the new user, in its place (opens keep the one they were made through).
struct TreeConnect {
  uint32_t tree_id = 0;
  std::shared_ptr<ShareRuntime> share;
  bool read_only = false;
  uint32_t maximal_access = 0;
  bool encrypt = false;  // share-level encryption (smb3 encryption on the share)
  // Who the tree's requests act as on the file system: the session's account with the share's
  // admin users / force user / force group applied (server/unix_identity.h). Null: the
  // server's own account (it cannot switch).
  std::shared_ptr<const UnixIdentity> identity;
  // The user the tree acts for (its session's when it was made or last re-evaluated).
  std::shared_ptr<const SessionUser> user;
  // After a re-authentication, the new user may not connect the share (valid users, invalid
  // users): every request on the tree but CLOSE and TREE_DISCONNECT fails with
  // STATUS_ACCESS_DENIED.
  bool refused = false;
};

// MS-SMB2 3.3.1.8
struct Session {
  // kEnded: replaced by a new session of the same user (PreviousSessionId, MS-SMB2 3.3.5.5.3)
  // while a connection still holds it: its requests get STATUS_USER_SESSION_DELETED.
  enum class State { kInProgress, kValid, kExpired, kEnded };

  mutable std::mutex mu;
  uint64_t session_id = 0;
  State state = State::kInProgress;
  std::unique_ptr<auth::SpnegoServer> auth;  // while in progress
  uint16_t dialect = 0;
  std::array<uint8_t, 64> preauth_hash{};  // 3.1.1: Session.PreauthIntegrityHashValue
  Bytes session_key;
  smb2::SessionKeys keys;
  bool signing_required = false;
  bool encrypt_data = false;
  uint16_t signing_algorithm = 0;
  uint16_t cipher = 0;
  std::map<uint32_t, std::shared_ptr<TreeConnect>> trees;
  uint32_t next_tree_id = 1;
  int channels = 0;  // connections this session is bound to (MS-SMB2 3.3.1.8 ChannelList)

  std::shared_ptr<TreeConnect> findTree(uint32_t id) {
    std::lock_guard<std::mutex> lk(mu);
    auto it = trees.find(id);
    return it == trees.end() ? nullptr : it->second;
  }
  // Who the session is now (empty before its first authentication completes).
  std::shared_ptr<const SessionUser> who() const {
    std::lock_guard<std::mutex> lk(mu);
    return current_user ? current_user : std::make_shared<const SessionUser>();
  }
  // Who the session is, as durable opens remember their owner (MS-SMB2 3.3.1.10 DurableOwner):
  // the same user (users are the server's own, whatever domain a client names) reconnects them.
  std::string ownerName() const {
    auto u = who();
    if (u->anonymous) return "(anonymous)";
    if (u->guest) return "(guest)";
    return asciiLower(u->user);
  }
  // Under `mu`: the user, and the tree connects remade for it, change together (no request
  // of the session finds a tree of one user beside the session of another).
  std::shared_ptr<const SessionUser> current_user;
};

// MS-SMB2 3.3.1.10
struct Open {
  std::mutex mu;
  bool closed = false;  // closed once (through any channel); later closes only untrack it
  uint64_t persistent_id = 0;
  uint64_t volatile_id = 0;
  // The session, tree connect and connection the open is attached to. A durable open that lost
  // them (server/durable_table.h) is attached again by a reconnect, on the reconnecting
  // connection's thread while no other connection can reach it: `tree` is written then only.
  std::atomic<uint64_t> session_id{0};
  std::atomic<uint32_t> tree_id{0};
  std::atomic<uint64_t> connection_id{0};  // Connection::id(); 0 while disconnected
  std::shared_ptr<TreeConnect> tree;
  // Durable (MS-SMB2 3.3.1.10 IsDurable, CreateGuid, DurableOpenTimeout, DurableOwner): set by
  // the CREATE that grants it, before anyone else can see the open.
  struct Durable {
    bool v2 = false;
    smb2::CreateGuid create_guid{};  // v2; zero for v1
    uint32_t timeout_ms = 0;         // kept this long after its connection is lost
    std::string owner;               // who may reconnect it (Session::ownerName)
    std::array<uint8_t, 16> client_guid{};  // of the client that made it (a replay names it)
    uint32_t create_action = 0;      // the CREATE's, which a replay answers again
  };
  std::optional<Durable> durable;
  std::unique_ptr<vfs::Handle> handle;  // null for pipes
  std::unique_ptr<rpc::PipeEndpoint> pipe;
  // Share-relative, '/'-separated, as opened. A rename through any open of the file changes it
  // from that open's connection thread, so it is read and written through these.
  std::string path() const {
    std::lock_guard<std::mutex> lk(path_mu_);
    return path_;
  }
  void setPath(std::string p) {
    std::lock_guard<std::mutex> lk(path_mu_);
    path_ = std::move(p);
  }
  uint64_t file_key = 0;  // identifies the file for share modes (device ^ inode)
  uint32_t granted_access = 0;
  uint32_t share_access = 0;
  uint32_t create_options = 0;
  bool is_directory = false;
  bool delete_on_close = false;
  bool is_stream = false;
  uint8_t oplock_level = 0;
  std::optional<LeaseId> lease;  // the lease this open carries (server/oplock_table.h)
  // The directory lease its lease v2 named as ParentLeaseKey (with the client's ClientGuid):
  // changes made through this open do not break it (server/directory_leases.h).
  std::optional<LeaseId> parent_lease;
  uint64_t position = 0;  // FilePositionInformation
  // Data was written through this open: its last close may block (see ServerState::releaseHandle).
  std::atomic<bool> written{false};
  uint32_t mode = 0;      // FileModeInformation
  // QUERY_DIRECTORY state (MS-SMB2 3.3.1.10: EnumerationLocation / SearchPattern)
  std::unique_ptr<vfs::DirReader> dir;
  std::string search_pattern;
  bool enum_done = false;
  bool enum_any = false;  // some entry was returned since the last (re)start
  // CHANGE_NOTIFY (server/change_watcher.h): made by the first request, ended at close.
  std::mutex notify_mu;
  std::shared_ptr<NotifyWatch> notify;  // under notify_mu
  // A file renamed through this open: its close reports an attribute change, as Windows does
  // (it sets the archive attribute; smbtorture smb2.notify.mask-change).
  std::atomic<bool> renamed{false};

 private:
  mutable std::mutex path_mu_;
  std::string path_;
};

}  // namespace sd::server
