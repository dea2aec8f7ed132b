// Named-pipe endpoints for IPC$: the PipeEndpoint interface the SMB2 server drives (WRITE, READ,
// FSCTL_PIPE_TRANSCEIVE), a connection-oriented DCE/RPC server association (RpcPipe: bind /
// alter_context negotiation, request fragment reassembly, response fragmentation honouring
// max_xmit_frag, faults), and the srvsvc pipe built on it. Owned by rpc/; an endpoint belongs to
// the connection thread that opened it (not thread-safe). The share provider is called on that
// thread, once per call that needs the share list.
// Implements C706 12.6 / MS-RPCE 2.1.1.2 and 3.3.3 (connection-oriented server over SMB named
// pipes), MS-SRVS 3.1.4.8, 3.1.4.10, 3.1.4.17.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "rpc/pdu.h"
#include "rpc/srvsvc.h"

namespace sd::rpc {

// NTSTATUS values pipes return that base/ does not name (MS-ERREF 2.3.1).
constexpr NtStatus kStatusPipeBusy = static_cast<NtStatus>(0xC00000AE);
constexpr NtStatus kStatusPipeEmpty = static_cast<NtStatus>(0xC00000D9);

// Data read from a pipe. `more` means the current message (one RPC PDU) did not fit in the
// caller's buffer and the rest is still pending: the SMB layer returns STATUS_BUFFER_OVERFLOW.
struct PipeOutput {
  Bytes bytes;
  bool more = false;
};

// A message-mode named pipe. Each PDU the endpoint produces is one message: a read never
// returns bytes of two messages.
class PipeEndpoint {
 public:
  virtual ~PipeEndpoint() = default;
  // SMB2 WRITE. Partial PDUs are buffered until complete.
  virtual Status write(ByteView data) = 0;
  // SMB2 READ: up to `max` bytes of the pending message; kStatusPipeEmpty when nothing is queued.
  virtual Result<PipeOutput> read(size_t max) = 0;
  // FSCTL_PIPE_TRANSCEIVE: write, then read up to `max_out` bytes of the first reply message.
  // kStatusPipeBusy if a previous reply is still unread (as Windows does).
  virtual Result<PipeOutput> transceive(ByteView in, size_t max_out) = 0;
};

// What one call produced: the response stub, or a fault status.
struct CallResult {
  Bytes stub;
  uint32_t fault = 0;  // non-zero: send a fault PDU with this status
  static CallResult faultWith(uint32_t status) { return CallResult{{}, status}; }
};

// One server-side association over one pipe open, serving a single interface.
class RpcPipe : public PipeEndpoint {
 public:
  // Largest fragment we send or accept; what the client offers is clamped to
  // [kMustRecvFragSize, kMaxFragSize].
  static constexpr uint16_t kMaxFragSize = 5840;
  // Bounds on what a peer can make us hold.
  static constexpr size_t kMaxRequestStub = 1 << 20;
  static constexpr size_t kMaxQueuedOutput = 4 << 20;

  RpcPipe(SyntaxId interface, std::string secondary_address);

  Status write(ByteView data) override;
  Result<PipeOutput> read(size_t max) override;
  Result<PipeOutput> transceive(ByteView in, size_t max_out) override;

  bool bound() const { return bound_; }
  uint16_t maxXmitFrag() const { return max_xmit_frag_; }
  uint16_t maxRecvFrag() const { return max_recv_frag_; }
  // Number of reply messages waiting to be read.
  size_t pendingMessages() const { return out_.size(); }

 protected:
  // Runs one reassembled call on an accepted context.
  virtual CallResult call(uint16_t opnum, ByteView stub) = 0;

 private:
  struct PendingCall {
    uint32_t call_id = 0;
    uint16_t context_id = 0;
    uint16_t opnum = 0;
    Bytes stub;
  };

  Status processPdu(ByteView pdu);
  void onBind(const PduHeader& h, ByteView pdu);
  void onRequest(const PduHeader& h, ByteView pdu);
  ContextResult negotiateContext(const PresentationContext& c);
  void queueFault(uint32_t call_id, uint16_t context_id, uint32_t status, bool did_not_execute);
  void queueResponse(uint32_t call_id, uint16_t context_id, const Bytes& stub);
  void queue(Bytes pdu);

  SyntaxId interface_;
  std::string secondary_address_;
  bool bound_ = false;
  bool broken_ = false;
  uint16_t max_xmit_frag_ = kMaxFragSize;
  uint16_t max_recv_frag_ = kMaxFragSize;
  uint32_t assoc_group_id_ = 0;
  std::set<uint16_t> contexts_;  // accepted presentation context ids
  std::optional<PendingCall> pending_;
  Bytes in_;               // bytes of an incomplete PDU
  std::deque<Bytes> out_;  // reply messages, front partially read up to out_pos_
  size_t out_pos_ = 0;
  size_t out_bytes_ = 0;
};

// The current shares and server identity, asked for on each call that needs them.
using ShareProvider = std::function<std::pair<ServerInfo, std::vector<ShareInfo>>()>;

// \PIPE\srvsvc: NetrShareEnum levels 0/1/2, NetrShareGetInfo 0/1/2/501/1005, NetrServerGetInfo
// 100/101. Other opnums fault with nca_s_op_rng_error; unknown levels answer WERR_INVALID_LEVEL.
class SrvsvcPipe : public RpcPipe {
 public:
  explicit SrvsvcPipe(ShareProvider provider);

 protected:
  CallResult call(uint16_t opnum, ByteView stub) override;

 private:
  CallResult shareEnum(ByteView stub);
  CallResult shareGetInfo(ByteView stub);
  CallResult serverGetInfo(ByteView stub);
  ShareProvider provider_;
};

// Opens the pipe called `name` ("srvsvc", case-insensitive, optionally "\PIPE\"-prefixed).
// Unknown names give nullptr (STATUS_OBJECT_NAME_NOT_FOUND upstream).
std::unique_ptr<PipeEndpoint> openPipe(std::string_view name, ShareProvider provider);

}  // namespace sd::rpc
