// The server side of one SMB2 connection (MS-SMB2 3.3.1.7), sans-I/O: whole transport messages
// in (onMessage), responses out through a Transport. Handles transform (encryption), compound
// chains, credits and message ids, signing, and dispatches each command to its handler
// (server/smb2_<command>.cc). Called from the connection's own thread; async completions (e.g.
// blocking locks) may call sendResponse from other threads.
#pragma once
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/bytes.h"
#include "server/server_state.h"
#include "server/session.h"
#include "server/transport.h"
#include "smb2/credits.h"
#include "smb2/header.h"

namespace sd::server {

class Connection;

// Everything needed to send the final response of an async request later, from any thread
// (MS-SMB2 3.3.4.2): no pointer to the Connection, so it may outlive it.
struct AsyncReply {
  std::shared_ptr<Transport> transport;
  std::shared_ptr<Session> session;
  smb2::Command command = smb2::Command::kLock;
  uint64_t message_id = 0, async_id = 0, session_id = 0;
  bool sign = false, encrypt = false;
  Bytes signing_key;  // the channel's (MS-SMB2 3.3.1.14)
  void send(NtStatus status, ByteView body) const;
};

// A parked request's final response may be ready before its interim response has been sent:
// whatever completes it (a break acknowledged, a range unlocked) can run on another thread at
// once. The final response is held until the interim one has left (Request::after_send).
class InterimGate {
 public:
  void finalReady(std::function<void()> send) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!interim_sent_) {
        held_ = std::move(send);
        return;
      }
    }
    send();
  }
  void interimSent() {
    std::function<void()> h;
    {
      std::lock_guard<std::mutex> lk(mu_);
      interim_sent_ = true;
      h = std::move(held_);
    }
    if (h) h();
  }

 private:
  std::mutex mu_;
  bool interim_sent_ = false;
  std::function<void()> held_;
};

// Async requests of one connection, for CANCEL (by AsyncId or MessageId, of the same session).
struct PendingTable {
  struct Entry {
    uint64_t message_id;
    uint64_t session_id;
    // Ends the request with the status given (STATUS_CANCELLED); false when it has finished.
    // Called without the table's lock.
    std::function<bool(NtStatus)> cancel;
  };
  std::mutex mu;
  std::map<uint64_t, Entry> by_async_id;
  uint32_t notifies = 0;  // CHANGE_NOTIFY requests outstanding (`max notify requests`)
};

// One request of a (possibly compound) chain while it is being handled.
struct Request {
  ByteView msg;             // the request message (header at 0)
  smb2::Header hdr;         // decoded header (ids already resolved for related requests)
  bool encrypted = false;   // came inside a transform header
  bool more_in_chain = false;  // a compound request that is not the chain's last
  std::shared_ptr<Session> session;
  std::shared_ptr<TreeConnect> tree;
  // Response under construction: the 64-byte header is written by the core; handlers append
  // the body to `out` (offsets they compute are header-relative because out starts at it).
  ByteWriter out;
  NtStatus status = NtStatus::kSuccess;  // response status; an error status with an empty body
                                         // makes the core emit an ERROR response
  // Set by CREATE so that related requests in the same chain act on the new file id.
  std::optional<std::array<uint64_t, 2>> created_file_id;
  bool sign_response = false;  // forced signing (final SESSION_SETUP, VALIDATE_NEGOTIATE)
  bool drop = false;           // send nothing (e.g. CANCEL)
  uint64_t async_id = 0;       // set by a handler that went async: the core sends STATUS_PENDING
  // A request parked by its handler and run again later (a CREATE that waited for an oplock
  // break): its AsyncId, whose interim response went out already.
  uint64_t resumed = 0;
  // Runs once the response chain with this request's response has been sent (a parked
  // request's final response may not overtake its interim one).
  std::function<void()> after_send;
  // When set, the finished response message is folded into this SHA-512 preauth hash
  // (NEGOTIATE and non-final SESSION_SETUP responses on 3.1.1).
  std::array<uint8_t, 64>* preauth_response = nullptr;
  // SMB2_CHANNEL_RDMA_V1_INVALIDATE: the response goes out as Send with Invalidate of this key.
  uint32_t remote_invalidate = 0;
};

using CommandHandler = Status (*)(Connection& conn, Request& req);

// What the core checks before a command's handler runs (MS-SMB2 3.3.5.2: which commands need a
// valid session and tree connect). The table, indexed by command code, is in connection.cc.
struct CommandSpec {
  CommandHandler handler;
  bool needs_session = false;
  bool needs_tree = false;  // implies needs_session
};

class Connection : public MessageHandler {
 public:
  Connection(std::shared_ptr<ServerState> state, std::shared_ptr<Transport> transport);
  ~Connection() override;

  void onMessage(ByteView message) override;
  void onDisconnect() override;
  std::optional<Bytes> peekPlaintext(ByteView message) override;
  std::shared_ptr<Session> transformSession(ByteView transformed, const char** why);

  // Negotiated state (MS-SMB2 3.3.1.7), set by NEGOTIATE.
  struct Negotiated {
    bool done = false;
    uint16_t dialect = 0;
    std::array<uint8_t, 16> client_guid{};
    uint16_t client_security_mode = 0;
    uint32_t client_capabilities = 0;
    uint32_t server_capabilities = 0;
    uint16_t preauth_hash_id = 0;
    uint16_t cipher = 0;             // 0: none negotiated
    uint16_t signing_algorithm = 1;  // AES-CMAC default for 3.x
    std::array<uint8_t, 64> preauth_hash{};
    // Connection.RDMATransformIds (MS-SMB2 3.3.1.7): SMB2_RDMA_TRANSFORM_ENCRYPTION or nothing.
    bool rdma_transform_encryption = false;
    std::vector<uint16_t> client_dialects;
    uint32_t max_transact = 0, max_read = 0, max_write = 0;
    bool signing_required = false;  // server side requirement
  };

  ServerState& state() { return *state_; }
  // Unique for the server's life; Open::connection_id names the connection an open is on.
  uint64_t id() const { return id_; }
  const std::shared_ptr<ServerState>& sharedState() { return state_; }
  Transport& transport() { return *transport_; }
  const std::shared_ptr<Transport>& sharedTransport() { return transport_; }
  // Work for this connection that runs on another thread (a CREATE resumed when an oplock break
  // settles) runs under `mu` and only while `alive`; onDisconnect clears `alive` first.
  struct Life {
    std::mutex mu;
    bool alive = true;
  };
  const std::shared_ptr<Life>& life() { return life_; }
  Negotiated& negotiated() { return neg_; }
  // A session became valid on this connection: the unauthenticated timeout no longer applies.
  void authenticated() { authenticated_->store(true); }
  // Sessions established or bound on this connection (Connection.SessionTable).
  std::shared_ptr<Session> findSession(uint64_t id);
  size_t sessionCount();
  // May one more session be set up or bound here (`max sessions per connection`)?
  // STATUS_INSUFFICIENT_RESOURCES when not.
  Status roomForSession();
  void addSession(const std::shared_ptr<Session>& s);
  void removeSession(uint64_t id);
  // Opens made through this connection, closed when it goes away.
  void trackOpen(const std::shared_ptr<Open>& o);
  void untrackOpen(uint64_t volatile_id);
  // May session `session_id` make one more open through this connection (`max open files`)?
  // STATUS_INSUFFICIENT_RESOURCES when not.
  Status roomForOpen(uint64_t session_id);
  std::shared_ptr<Open> findOpen(Request& req, uint64_t persistent_id, uint64_t volatile_id);
  // The open a request names, or STATUS_FILE_CLOSED.
  Result<std::shared_ptr<Open>> openOf(Request& req, const smb2::FileId& id);
  void closeOpen(const std::shared_ptr<Open>& o);
  // The session's opens on this connection: ended (a failed or replaced session), or, at
  // LOGOFF, durable ones kept for a reconnect (`keep_durable`, MS-SMB2 3.3.5.6).
  void closeSessionOpens(uint64_t session_id, bool keep_durable = false);
  void cancelPending(const smb2::Header& cancel);
  void closeTreeOpens(uint64_t session_id, uint32_t tree_id);

  // Multichannel (MS-SMB2 3.3.1.14): a session bound on this connection signs with its
  // channel's key (3.1.1: derived over this connection's binding exchange).
  const Bytes& signingKey(const Session& s);
  void setChannelKey(uint64_t session_id, Bytes key);
  // Session binding in progress on this connection (3.3.5.5.2).
  struct Binding {
    std::unique_ptr<auth::SpnegoServer> auth;
    std::array<uint8_t, 64> preauth{};
  };
  std::map<uint64_t, Binding>& bindings() { return bindings_; }

  // Async requests (blocking locks, change notifications).
  uint64_t nextAsyncId() { return next_async_id_.fetch_add(1); }
  const std::shared_ptr<PendingTable>& pending() { return pending_; }
  std::shared_ptr<AsyncReply> asyncReply(const Request& req, uint64_t async_id);
  // A parked request (one that waits for an oplock or lease break to settle) run again by
  // `handler` on the thread that settles it, as the request's user, while the connection
  // lives; its final response goes out as an async one (MS-SMB2 3.3.4.2) behind `gate`. A
  // handler that goes async again (Request::async_id) keeps waiting.
  // CANCEL (MS-SMB2 3.3.5.16) completes a parked request with STATUS_CANCELLED unless it is
  // already running again; the continuation then does nothing.
  struct Parked {
    std::atomic<int> state{0};  // 0 parked, 1 running again, 2 cancelled
  };
  std::function<void()> rerunLater(const Request& r, uint64_t async_id, std::shared_ptr<InterimGate> gate,
                                   std::shared_ptr<AsyncReply> reply, std::shared_ptr<Parked> parked,
                                   Status (*handler)(Connection&, Request&));
  // Parks `r` as above when `wait(resume)` says it must wait (true); a request inside a
  // compound, before its last, does not wait (false, and `wait` gets a null resume).
  bool parkUntil(Request& r, Status (*handler)(Connection&, Request&),
                 const std::function<bool(std::function<void()>)>& wait);

  // A large response buffer kept from the last response sent, with its size (its bytes stale),
  // so that READ can place file data behind its header without zero-filling a new buffer
  // (std::vector's resize value-initializes: a memset of every byte read). Empty if none.
  Bytes takeResponseBuffer();

  // Per-command counters for `smbdirect status`-style reporting.
  std::array<uint64_t, 19> command_count{};

 private:
  void handleSmb1Negotiate(ByteView msg);
  // A transport message's compound chain: each request is admitted (session, signature, tree),
  // dispatched to its handler and its response linked into the chain, which goes out as one.
  struct Chain;
  void processChain(ByteView frame, bool encrypted, uint64_t transform_session);
  Status admit(Request& req, const CommandSpec& spec, const Chain& chain, bool related, bool first);
  void inherit(const Request& req, Chain& chain, bool related);
  void appendResponse(Request& req, Chain& chain);
  void sendChain(Chain& chain);
  Status checkSession(Request& req);
  void fail(const char* why);

  std::shared_ptr<ServerState> state_;
  std::shared_ptr<Transport> transport_;
  const uint64_t id_;
  Negotiated neg_;
  smb2::CreditWindow credits_;
  std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;
  std::map<uint64_t, std::shared_ptr<Open>> opens_;
  std::map<uint64_t, uint64_t> open_sessions_;       // volatile id -> the session it counts for
  std::map<uint64_t, uint32_t> opens_per_session_;   // `max open files`
  std::shared_ptr<std::atomic<bool>> authenticated_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<void> admission_;  // ServerState::admitConnection's slot
  friend std::unique_ptr<MessageHandler> acceptConnection(std::shared_ptr<ServerState>, std::shared_ptr<Transport>);
  std::map<uint64_t, Bytes> channel_keys_;
  std::map<uint64_t, Binding> bindings_;
  bool closed_ = false;
  std::atomic<uint64_t> next_async_id_{1};
  std::shared_ptr<PendingTable> pending_ = std::make_shared<PendingTable>();
  std::shared_ptr<Life> life_ = std::make_shared<Life>();
  std::mutex spare_mu_;
  Bytes spare_;  // takeResponseBuffer()
};

// A new connection (TCP or SMB Direct), or null when it is refused before anything is read:
// [global] hosts allow / hosts deny, max connections, max ip connections. An admitted one is
// closed if no session is valid on it within `unauthenticated timeout`.
std::unique_ptr<MessageHandler> acceptConnection(std::shared_ptr<ServerState> state, std::shared_ptr<Transport> transport);

// The per-command handlers, one file each (server/smb2_<command>.cc).
Status handleNegotiate(Connection& c, Request& r);
Status handleSessionSetup(Connection& c, Request& r);
Status handleLogoff(Connection& c, Request& r);
Status handleTreeConnect(Connection& c, Request& r);
Status handleTreeDisconnect(Connection& c, Request& r);
Status handleCreate(Connection& c, Request& r);
Status handleClose(Connection& c, Request& r);
Status handleFlush(Connection& c, Request& r);
Status handleRead(Connection& c, Request& r);
Status handleWrite(Connection& c, Request& r);
Status handleLock(Connection& c, Request& r);
Status handleIoctl(Connection& c, Request& r);
Status handleCancel(Connection& c, Request& r);
Status handleEcho(Connection& c, Request& r);
Status handleQueryDirectory(Connection& c, Request& r);
Status handleChangeNotify(Connection& c, Request& r);
Status handleQueryInfo(Connection& c, Request& r);
Status handleSetInfo(Connection& c, Request& r);
Status handleOplockBreak(Connection& c, Request& r);
// Ends an open as a CLOSE does (MS-SMB2 3.3.5.10: delete-on-close, locks, oplock or lease,
// change notification), from any thread, with or without its connection
// (server/open_end.cc).
void endOpen(ServerState& state, const std::shared_ptr<Open>& o);
// An open whose connection or session went away (MS-SMB2 3.3.7.1): a durable one is kept for a
// reconnect (server/durable_table.h) when durable handles are on, any other ends. Nothing
// happens unless the open is still attached to connection `from_connection`.
void dropOpen(ServerState& state, const std::shared_ptr<Open>& o, uint64_t from_connection);
// Detaches a durable open (no longer attached to a connection) from its session and keeps it
// for its timeout.
void keepDurable(ServerState& state, const std::shared_ptr<Open>& o);
// The tree connect `who` gets on `share` (server/smb2_tree_connect.cc): share access lists,
// admin users, force user and force group decided for `who`; STATUS_ACCESS_DENIED when `who` may
// not connect it. `reauth`: an existing tree judged again for the session's new user (`guest ok`
// is not asked again).
Result<std::shared_ptr<TreeConnect>> treeFor(Connection& c, const std::shared_ptr<ShareRuntime>& share,
                                              const std::shared_ptr<const SessionUser>& who, bool reauth);
// The break notification of an oplock granted to `open` (server/smb2_oplock_break.cc).
OplockTable::Notify oplockBreakNotifier(Connection& c, const Request& r, const Open& open);
// The break notification of a lease granted through this request (server/smb2_oplock_break.cc).
OplockTable::LeaseNotify leaseBreakNotifier(Connection& c, const Request& r, const smb2::LeaseKey& key);

}  // namespace sd::server
