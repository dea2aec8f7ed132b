// The SMB3 client (the cifs.ko role): one connection, one session, one tree, over a byte-stream
// transport. Requests are built and responses checked with the shared smb2/ codecs; signing and
// sealing use smb2/security. Large reads and writes are pipelined up to the granted credits.
//
// Threads: blocking API. The per-request calls (open, close, stat, list, read, write, truncate,
// setTimes, flush, statfs, mkdir, rmdir, unlink, rename, download, upload, copy) may run from
// several threads at once on one SmbClient (the FUSE mount's workers): MessageIds and credits
// are allocated and each request signed/sealed and written under one send lock; responses are
// read by one thread at a time (leader/follower: whichever waiting caller finds no receiver
// becomes it) and filed by MessageId for their callers, so a single caller still reads its own
// response with no thread hand-off. connect, treeConnect, reconnect, shares and logoff must not
// overlap any other call. statusText() is safe from any thread.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/page_buffer.h"
#include "client/options.h"
#include "fscc/directory_info.h"
#include "fscc/file_info.h"
#include "fscc/notify_info.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/header.h"
#include "smb2/durable.h"
#include "smb2/lease.h"

namespace sd::rdma {
class MemoryRegion;
}  // namespace sd::rdma
namespace sd::smb2 {
struct ReadResponse;
}  // namespace sd::smb2
namespace sd::smbdirect {
class Endpoint;
struct EndpointStatus;
}  // namespace sd::smbdirect
namespace sd::auth {
class SpnegoClient;
}  // namespace sd::auth

namespace sd::client {

class Transport;  // client/transport.h

struct ConnectOptions {
  std::string host;
  uint16_t port = 445;
  std::vector<uint16_t> dialects{smb2::kDialectsNewestFirst.begin(), smb2::kDialectsNewestFirst.end()};
  std::string user, domain, password;
  bool sign = false;  // require signing
  bool seal = false;  // encrypt everything after session setup
  int timeout_ms = 15000;
  uint32_t max_io = 0;  // 0: the negotiated maximum (capped at 8 MiB)
  // SMB Direct (MS-SMBD): connect over RDMA; without an explicit port try 5445 then 445, as
  // cifs.ko does. Reads and writes of rdma_threshold bytes or more go by RDMA, unless signing is
  // in force (then they go inline, as Linux does). Under encryption they go by RDMA with the
  // 3.1.1 RDMA encryption transform (MS-SMB2 2.2.43) when the server agrees to it and
  // `rdma_transform` is on, inline otherwise.
  bool rdma = false;
  bool rdma_transform = true;
  std::string rdma_provider = "auto";  // auto | soft | verbs
  bool port_explicit = false;
  uint32_t rdma_threshold = 8192;
  // Multichannel: instead of a new session, bind this connection as another channel of the
  // session (and tree) of `bind_to` (MS-SMB2 3.2.4.2.3 with SMB2_SESSION_FLAG_BINDING).
  const class SmbClient* bind_to = nullptr;
};

// The options of a connection to `addr` as the mount options `m` ask (the CLI's flags land in
// MountOptions too): the port (-o port=, else the address's, else 445), dialects, credentials,
// signing, sealing, SMB Direct and its provider, rsize.
ConnectOptions connectOptionsFor(const SmbAddress& addr, const MountOptions& m);

struct ConnectionInfo {
  uint16_t dialect = 0;
  uint16_t cipher = 0;
  uint16_t signing_algorithm = 0;
  bool signing = false, encryption = false;
  bool rdma_transform_encryption = false;  // SMB2_RDMA_TRANSFORM_ENCRYPTION negotiated
  uint32_t max_read = 0, max_write = 0, max_transact = 0;
  std::string transport = "tcp";
  std::string server;         // address:port actually connected
  std::string rdma_provider;  // "soft" / "verbs" when transport is rdma
  std::string rdma_device;
};

class SmbClient {
 public:
  SmbClient();
  ~SmbClient();
  // Connects, negotiates and authenticates. Errors carry the NTSTATUS (kConnectionRefused,
  // kLogonFailure, kIoTimeout, ...).
  Status connect(const ConnectOptions& o);
  Status treeConnect(const std::string& share);
  // After the connection dropped: a new connection, negotiate, session and tree connect with the
  // same options and ClientGuid, naming the old session as PreviousSessionId (so the server
  // ends it at once and keeps its durable opens for reopenDurable). Other open files must be
  // re-opened by the caller; their old ids are gone.
  Status reconnect();
  // QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.2.4.20.x): the server's interfaces and whether they
  // are RDMA capable.
  struct Interface {
    std::string address;
    bool rdma = false, rss = false;
    uint64_t link_speed = 0;
  };
  Result<std::vector<Interface>> interfaces();
  uint64_t reconnects() const { return reconnects_; }
  // Errors that mean the connection is gone (a reconnect may help).
  static bool connectionLost(NtStatus s);
  Status logoff();
  // Re-authentication of the session as `user` (MS-SMB2 3.2.4.2.3.1): SESSION_SETUP on the
  // session's id, signed with its keys, which stay (3.3.5.5.3). Single caller, as connect.
  Status reauthenticate(const std::string& user, const std::string& password, const std::string& domain = "");
  const ConnectionInfo& info() const { return info_; }

  Result<smb2::FileId> open(const std::string& path, uint32_t access, uint32_t disposition,
                            uint32_t options, uint32_t share = 7);

  // Leases (MS-SMB2 3.2.4.3.8, 3.2.5.19.2). The server offered SMB2_GLOBAL_CAP_LEASING.
  bool leasesSupported() const { return capabilities_ & smb2::kCapLeasing; }
  // SMB2_GLOBAL_CAP_DIRECTORY_LEASING: openLeased of a directory may get R or RH.
  bool directoryLeasesSupported() const { return capabilities_ & smb2::kCapDirectoryLeasing; }
  // CREATE with an RqLs context (lease v2 on every dialect we speak: they are all 3.x) asking
  // for `want` (kLeaseRead|kLeaseHandle|kLeaseWrite) under `key`; every open of one file should
  // use the same key. `lease_state` is what the server granted (0: none, e.g. a server without
  // leases), `epoch` the lease's epoch then.
  // `durable`: also ask for a durable handle v2 (DH2Q, MS-SMB2 3.2.4.3.x); `durable` of the
  // result says whether it was granted, with the server's timeout.
  struct LeasedOpen {
    smb2::FileId id;
    uint32_t lease_state = 0;
    uint16_t epoch = 0;
    uint8_t oplock_level = 0;  // as the response says (kOplockLevelLease for a lease)
    bool durable = false;
    uint32_t durable_timeout_ms = 0;
  };
  // `parent`: the key of the client's lease on the directory holding `path` (ParentLeaseKey,
  // MS-SMB2 2.2.13.2.10): changes made through this open do not break that lease.
  Result<LeasedOpen> openLeased(const std::string& path, uint32_t access, uint32_t disposition,
                                uint32_t options, const smb2::LeaseKey& key, uint32_t want,
                                uint32_t share = 7, const smb2::DurableRequestV2* durable = nullptr,
                                const smb2::LeaseKey* parent = nullptr);
  // After a reconnect: attaches the durable open `id` made before it to this session
  // (DH2C with `create_guid`, MS-SMB2 3.2.4.4), with the lease `key` it had (null: an open with
  // an oplock). Locks, lease and file position come back with it; the id stays the same.
  Result<LeasedOpen> reopenDurable(const std::string& path, const smb2::FileId& id,
                                   const smb2::CreateGuid& create_guid, const smb2::LeaseKey* key);
  // Marks the requests sent from now on as replays (SMB2_FLAGS_REPLAY_OPERATION, MS-SMB2
  // 3.2.4.1.1): a CREATE with a DH2Q sent again after a lost answer gets the open it made.
  void setReplay(bool on) { replay_ = on; }
  // A LEASE_BREAK notification (MS-SMB2 2.2.23.2) as handed to the handler.
  struct LeaseBreak {
    smb2::LeaseKey key{};
    uint32_t current_state = 0, new_state = 0;
    uint16_t new_epoch = 0;
    bool ack_required = false;
  };
  // The owner of the leases (the mount) gets each break here. It runs on whichever thread read
  // the notification (a waiting caller or the idle receiver), so it must only queue the work
  // and return: write back, invalidate, close, then call ackLeaseBreak from its own thread.
  // Set it once, after connect and before the first openLeased, with no other call running:
  // it starts the idle receiver (also restarted by reconnect). A break with no handler is
  // logged and not acknowledged. A null handler stops the idle receiver (before the owner of
  // the old handler goes away).
  void setLeaseBreakHandler(std::function<void(const LeaseBreak&)> handler);
  // Lease Break Acknowledgment (MS-SMB2 2.2.24.2) with the state kept (the break's new state or
  // less), answered by a Lease Break Response (2.2.25.2).
  Status ackLeaseBreak(const smb2::LeaseKey& key, uint32_t lease_state);
  // Oplocks (MS-SMB2 3.2.4.3.8 without leases): CREATE asking for `level` (kOplockLevelII,
  // kOplockLevelExclusive, kOplockLevelBatch); `level` of the result is what was granted.
  struct OplockOpen {
    smb2::FileId id;
    uint8_t level = 0;
  };
  Result<OplockOpen> openWithOplock(const std::string& path, uint32_t access, uint32_t disposition,
                                    uint32_t options, uint8_t level, uint32_t share = 7,
                                    const smb2::DurableRequestV2* durable = nullptr, bool* durable_granted = nullptr);
  // An OPLOCK_BREAK notification (2.2.23.1): the file and the most it may keep. Same rules as
  // the lease break handler (set once, before the first oplocked open; queue and return).
  void setOplockBreakHandler(std::function<void(const smb2::FileId&, uint8_t level)> handler);
  // Oplock Break Acknowledgment (2.2.24.1): the level kept; the server's response says the level
  // it now holds.
  Result<uint8_t> ackOplockBreak(const smb2::FileId& f, uint8_t level);
  Status close(const smb2::FileId& f);
  // LOCK (MS-SMB2 3.2.4.19) of one range: kLockFlagShared or kLockFlagExclusive (with
  // kLockFlagFailImmediately not to wait), or kLockFlagUnlock.
  Status lock(const smb2::FileId& f, uint64_t offset, uint64_t length, uint32_t flags);
  // CHANGE_NOTIFY (MS-SMB2 3.2.4.14) on a directory open: sends the request and returns its
  // MessageId at once; the server answers when something changes (changeNotifyWait). Several may
  // be outstanding, beside other requests from other threads.
  Result<uint64_t> changeNotifySend(const smb2::FileId& dir, uint32_t completion_filter, bool watch_tree,
                                    uint32_t output_length);
  struct NotifyResult {
    // STATUS_SUCCESS with the changes, or how it ended without them: STATUS_NOTIFY_ENUM_DIR
    // (too many to report: enumerate again), STATUS_CANCELLED, STATUS_NOTIFY_CLEANUP (the
    // handle was closed), STATUS_DELETE_PENDING, or any error.
    NtStatus status = NtStatus::kSuccess;
    std::vector<fscc::NotifyEntry> changes;
  };
  // Waits up to `timeout_ms` for the answer of a changeNotifySend. kIoTimeout: not answered
  // yet (it stays outstanding: wait again, or cancel and wait). The caller must collect every
  // notification it sent (its answer is kept until then).
  Result<NotifyResult> changeNotifyWait(uint64_t message_id, int timeout_ms);
  // The AsyncId of an outstanding request once its interim response (STATUS_PENDING) has come.
  std::optional<uint64_t> asyncIdOf(uint64_t message_id);
  // CANCEL (MS-SMB2 3.2.4.24) of an outstanding request: by its AsyncId once its interim
  // response came, else by its MessageId. The server answers the cancelled request, not this.
  Status cancel(uint64_t message_id);
  // The same for a request of another session's AsyncId (a test that the server ignores it).
  Status cancelAsync(uint64_t async_id);
  // CANCEL of every request of this client that has gone async (its interim STATUS_PENDING
  // came): their callers get the final response, STATUS_CANCELLED when the server cancels
  // them. Any thread. The number of requests cancelled.
  Result<size_t> cancelAllAsync();
  // CREATE with an SMB2_CREATE_SD_BUFFER context (MS-SMB2 2.2.13.2.3) carrying `descriptor`
  // (none when it is empty: the same as open).
  Result<smb2::FileId> createWithSecurity(const std::string& path, uint32_t access,
                                          uint32_t disposition, uint32_t options,
                                          ByteView descriptor, uint32_t share = 7);
  // QUERY_INFO / SET_INFO with InfoType SMB2_0_INFO_SECURITY (MS-SMB2 2.2.37, 2.2.39):
  // self-relative descriptors, the parts named by SecurityInformation (MS-DTYP 2.4.7).
  Result<Bytes> querySecurity(const smb2::FileId& f, uint32_t security_information);
  Status setSecurity(const smb2::FileId& f, uint32_t security_information, ByteView descriptor);
  Result<std::vector<fscc::FileInfo>> list(const std::string& dir, const std::string& pattern = "*");
  Result<fscc::FileInfo> stat(const std::string& path);
  // Streams a whole file to `sink` / from `source`, pipelined; `progress` gets byte counts.
  Status download(const std::string& path, const std::function<Status(ByteView)>& sink,
                  const std::function<void(uint64_t)>& progress = nullptr);
  Status upload(const std::string& path, uint64_t size,
                const std::function<Result<size_t>(uint64_t, std::span<uint8_t>)>& source,
                const std::function<void(uint64_t)>& progress = nullptr);
  // The same from memory the caller holds until it returns: on SMB Direct the server reads it
  // in place (registered once), over TCP it is sent from there; no copy in between.
  Status uploadFrom(const std::string& path, ByteView data, const std::function<void(uint64_t)>& progress = nullptr);
  Status mkdir(const std::string& path);
  Status rmdir(const std::string& path);
  Status unlink(const std::string& path);
  Status rename(const std::string& from, const std::string& to, bool replace);
  // Server-side copy (FSCTL_SRV_REQUEST_RESUME_KEY + FSCTL_SRV_COPYCHUNK_WRITE, MS-SMB2 3.2.4.20.2):
  // the data never crosses the network. `progress` gets byte counts.
  Status copy(const std::string& from, const std::string& to,
              const std::function<void(uint64_t)>& progress = nullptr);
  // Single operations on an open file (the FUSE mount's path).
  // `eof` (optional) is set when the server returned less than was asked of it: the file ends
  // there (a read of more than the negotiated size is cut to it first and is not short).
  Result<size_t> read(const smb2::FileId& f, uint64_t offset, std::span<uint8_t> out, bool* eof = nullptr);
  Result<size_t> write(const smb2::FileId& f, uint64_t offset, ByteView data);
  // One READ over TCP whose data stays in the response message (no copy): `data` views into
  // `message`; empty at end of file. (SMB Direct places data in registered memory: use read().)
  struct ReadReply {
    Bytes message;
    ByteView data;
    bool eof = false;  // fewer bytes than asked of the server: the file ends there
  };
  Result<ReadReply> readReply(const smb2::FileId& f, uint64_t offset, uint32_t length);
  // Writes all of `data` as WRITEs of `piece` bytes, up to kDepth in flight, so that the server
  // works on one while the next arrives (on SMB Direct it pulls them from `data`, registered
  // once). Returns the bytes written (a short count stops at the first short WRITE, or at an
  // error after some data went: `stopped_by`, if given, gets that error).
  Result<size_t> writePipelined(const smb2::FileId& f, uint64_t offset, ByteView data, uint32_t piece,
                                const std::function<void(uint64_t)>& progress = nullptr,
                                Status* stopped_by = nullptr);
  Status truncate(const smb2::FileId& f, uint64_t size);
  Status setTimes(const smb2::FileId& f, uint64_t access_ft, uint64_t write_ft);  // 0 = keep
  Status flush(const smb2::FileId& f);
  struct FsSize {
    uint64_t total_units = 0, free_units = 0, avail_units = 0;
    uint32_t unit_bytes = 4096;
  };
  Result<FsSize> statfs();
  // srvsvc NetrShareEnum over IPC$ (uses its own tree connect).
  Result<std::vector<std::pair<std::string, std::string>>> shares();
  // SMB Direct state (nullptr on TCP).
  std::shared_ptr<smbdirect::Endpoint> rdmaEndpoint() const;
  // The `smbdirect status` report of this connection (cifs.ko's DebugData + Stats): server,
  // dialect, signing/encryption, transport (SMB Direct credits, RDMA transfers, fragments),
  // SMB credits, per-command counts and errors. Safe to call from another thread.
  std::string statusText() const;

 private:
  smb2::CreateRequest createRequest(const std::string& path, uint32_t access, uint32_t disposition,
                                    uint32_t options, uint32_t share) const;
  struct Pending;
  Result<Bytes> transact(smb2::Command cmd, const std::function<void(ByteWriter&)>& body,
                         uint32_t charge_bytes = 0);
  Status sendRequest(smb2::Command cmd, const std::function<void(ByteWriter&)>& body,
                     uint32_t charge_bytes, uint64_t* message_id, ByteView extra = {});
  Result<Bytes> receiveResponse(uint64_t message_id);
  // The credits a request of `charge_bytes` costs (1 without LARGE_MTU).
  uint16_t creditCharge(uint32_t charge_bytes) const;
  // A request of `cmd` on this session and tree under the next MessageId, which it takes
  // `charge` of; `credit_charge` goes in its header. Called under send_mu_.
  Bytes encodeRequest(smb2::Command cmd, uint16_t charge, uint16_t credit_charge, uint32_t flags,
                      const std::function<void(ByteWriter&)>& body);
  // A related compound (MS-SMB2 3.2.4.1.4): the requests go out in one message, each later one
  // acting on the file the first creates; returns each response message of the chain.
  struct Part {
    smb2::Command cmd;
    std::function<void(ByteWriter&)> body;
    uint32_t charge_bytes = 0;
  };
  Result<std::vector<Bytes>> compound(const std::vector<Part>& parts);
  // timeout_ms < 0: the connection's timeout.
  Result<Bytes> readMessage(int timeout_ms = -1);
  Status writeMessage(ByteView a, ByteView b = {});
  // Reads one message from the transport and files it (or its error) under its MessageId; the
  // caller holds the receiver role, not mu_.
  Status receiveOne(int timeout_ms = -1);
  // An unsolicited OPLOCK_BREAK (MessageId 0xFFFFFFFFFFFFFFFF): a lease break goes to the
  // handler; nothing else is filed. Called by the receiver, not under mu_.
  void onUnsolicited(const Bytes& m);
  // The idle receiver: while leases may be held and no caller waits for a response, it reads
  // the connection so that a break is seen (and handed to the owner) at once; it leaves the
  // receiver role to callers whenever one waits. Started by the first openLeased.
  void startIdleReceiver();
  void stopIdleReceiver();  // joins it; the transport must be shut down or be quiet
  void idleLoop();
  bool waitReadable(int timeout_ms);
  // Whether the line can be polled without reading (TCP; SMB Direct has no descriptor).
  bool linePollable() const;
  // Waits under mu_ until `done`, taking the receiver role whenever nobody holds it. Errors: the
  // connection broke (every waiter gets it), or the timeout passed.
  Status waitUntil(std::unique_lock<std::mutex>& lk, const std::function<bool()>& done, int timeout_ms = -1);
  Status sendCancel(uint64_t message_id, std::optional<uint64_t> async_id);
  // Takes `charge` credits, waiting (under send_mu_) for responses to return some when none are
  // left and requests are outstanding.
  Status takeCredits(uint16_t charge);
  Status setInfo(const smb2::FileId& f, uint8_t cls, ByteView buf);
  Status setInfo(const smb2::FileId& f, uint8_t info_type, uint8_t cls, uint32_t additional, ByteView buf);
  // connect's steps (session.cc): the transport (TCP or SMB Direct), NEGOTIATE, SESSION_SETUP
  // and, at its end, the keys of a new session or of a channel bound to `bind_to`'s session.
  Status connectTransport(const ConnectOptions& o);
  Status negotiate(const ConnectOptions& o);
  Status applyNegotiateResponse(const ConnectOptions& o, ByteView request, const Bytes& response);
  Status sessionSetup(const ConnectOptions& o);
  Status finishSession(const ConnectOptions& o, auth::SpnegoClient& spnego, const Bytes& response,
                       uint32_t header_flags, uint16_t session_flags, ByteView security_buffer,
                       const std::array<uint8_t, 64>& session_hash);
  Status bindChannel(const SmbClient& bind, const Bytes& response, uint32_t header_flags,
                     const std::array<uint8_t, 64>& session_hash);
  bool useRdma(uint64_t len) const;
  Bytes writeChannel(std::span<uint8_t> payload, uint32_t rkey, uint32_t& channel);
  Result<size_t> rdmaReadPayload(const smb2::ReadResponse& r, std::span<uint8_t> buf);
  // A pipelined transfer's I/O size and, on SMB Direct, its registered slots (`access` for the
  // server's RDMA Write or Read): kDepth, or for a download as many as kRdmaReadAhead bytes make
  // (at least 2). Goes inline when the memory cannot be registered.
  static constexpr size_t kDepth = 8;
  // Bytes of SMB Direct READs in flight. Each read owns a slot that its data is placed into as
  // it arrives (by the CPU, on the software provider and on siw/rxe); the fewer slots go round,
  // the more of the one being filled is still in cache. 1 MiB reads on loopback, soft provider
  // (bench/results/smbdirect_tuning.md, 2026-11-30): 8 in flight cost the client 153-168 ms of
  // CPU per 512 MiB, 3 132-138 ms, 2 116-124 ms, at the same or higher throughput; 1 is slower.
  static constexpr uint64_t kRdmaReadAhead = 2u << 20;
  struct Pipeline {
    bool rdma = false;
    uint32_t chunk = 0;
    size_t depth = kDepth;  // requests in flight (slots, on SMB Direct)
    PageBuffer pool;
    std::shared_ptr<rdma::MemoryRegion> mr;  // destroyed before pool
    std::vector<size_t> free_slots;
    uint8_t* slot(size_t i) { return pool.data() + i * chunk; }
  };
  Pipeline pipeline(uint64_t size, uint32_t negotiated, uint32_t access, uint64_t rdma_in_flight = 0);
  // One WRITE's data: inline, or (rkey != 0) registered memory the server reads; `slot`: the
  // pipeline slot it occupies, if any. writeWindow asks `next` for at most `chunk` bytes and
  // returns the bytes written; `stopped_by` (optional) gets what ended it early, if anything.
  struct WritePiece {
    static constexpr size_t kNoSlot = SIZE_MAX;
    ByteView data;
    uint32_t rkey = 0;
    size_t slot = kNoSlot;
  };
  Result<uint64_t> writeWindow(const smb2::FileId& f, uint64_t offset, uint64_t size, uint32_t chunk,
                               const std::function<Result<WritePiece>(uint64_t, uint64_t)>& next,
                               const std::function<void(const WritePiece&)>& done,
                               const std::function<void(uint64_t)>& progress, Status* stopped_by);
  Result<smb2::FileId> openForUpload(const std::string& path);
  Status finishUpload(const smb2::FileId& f, const Result<uint64_t>& written, const Status& stopped,
                      uint64_t expected);
  uint32_t ioLimit(bool rdma, uint32_t negotiated) const;

  // TCP or SMB Direct (null before connect); set by connect (reconnect shuts the old one down
  // and stops the idle receiver first).
  std::unique_ptr<Transport> transport_;
  std::string share_;  // the tree connected (for reconnect)
  uint64_t reconnects_ = 0;
  ConnectOptions opts_;
  ConnectionInfo info_;
  // send_mu_: MessageId allocation, credit charging and the transport's write side; a request's
  // id is allocated and the request written under one hold, so ids go out in order.
  std::mutex send_mu_;
  uint64_t next_message_id_ = 0;
  std::atomic<uint32_t> credits_{1};
  // mu_: responses filed for their callers, the receiver role, the connection's failure.
  std::mutex mu_;
  std::condition_variable cv_;
  bool receiving_ = false;           // a thread is reading from the transport
  std::optional<Error> broken_;      // the connection failed: every waiter gets this
  uint32_t outstanding_ = 0;         // responses still expected
  std::map<uint64_t, Result<Bytes>> early_;  // responses filed by MessageId, not yet collected
  std::set<uint64_t> abandoned_;     // ids whose caller gave up (timed out): dropped on arrival
  std::map<uint64_t, uint64_t> async_ids_;  // MessageId -> AsyncId of requests that went async
  uint32_t waiters_ = 0;             // threads in waitUntil (the idle receiver yields to them)
  bool idle_stop_ = false;           // the idle receiver must exit
  bool idle_thread_running_ = false;
  std::chrono::steady_clock::time_point last_busy_;  // the last caller stopped waiting
  std::condition_variable idle_cv_;  // the idle receiver sleeps here (woken to stop)
  // The idle receiver thread (started and joined by single-caller paths under idle_mu_).
  std::mutex idle_mu_;
  std::thread idle_thread_;
  std::function<void(const LeaseBreak&)> break_handler_;  // set before the thread starts
  std::function<void(const smb2::FileId&, uint8_t)> oplock_break_handler_;  // likewise
  std::atomic<uint64_t> breaks_received_{0}, breaks_acked_{0}, leases_granted_{0};
  std::array<std::atomic<uint64_t>, 19> cmd_sent_{}, cmd_failed_{};
  // SMB Direct data moved by RDMA (READ: the server wrote into our buffers; WRITE: it read them).
  std::atomic<uint64_t> rdma_reads_{0}, rdma_read_bytes_{0}, rdma_writes_{0}, rdma_write_bytes_{0};
  void countRdma(bool read, uint64_t n) {
    (read ? rdma_reads_ : rdma_writes_).fetch_add(1, std::memory_order_relaxed);
    (read ? rdma_read_bytes_ : rdma_write_bytes_).fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t session_id_ = 0;
  uint32_t tree_id_ = 0;
  Bytes session_key_, signing_key_, c2s_key_, s2c_key_;
  bool sign_all_ = false, encrypt_all_ = false;
  std::array<uint8_t, 64> preauth_{};
  std::array<uint8_t, 16> client_guid_{};  // one for the client's life (leases, durable opens)
  uint64_t previous_session_id_ = 0;       // the session a reconnect replaces (PreviousSessionId)
  std::atomic<bool> replay_{false};
  uint16_t security_mode_ = 0;
  uint32_t capabilities_ = 0;
};

// Process exit codes of the CLI, by failure kind.
int exitCodeFor(NtStatus s);
std::string describe(NtStatus s);

}  // namespace sd::client
