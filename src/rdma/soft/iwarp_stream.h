// The sans-I/O iWARP endpoint of one TCP connection: MPA connection setup (RFC 5044 7, RFC 6581
// enhanced setup with IRD/ORD and ready-to-receive), FPDU framing with optional CRC32c (RFC 5044
// 4), DDP tagged/untagged placement (RFC 5041), RDMAP Send / Send with Invalidate / Send with SE,
// RDMA Write, RDMA Read Request/Response and Terminate (RFC 5040), and the per-QP state: MSNs per
// queue, the outbound read request queue (ORD), send-queue ordering, terminate generation.
//
// Bytes in (rxBytes / rxPlan), bytes out (txGather / txConsumed), completions and connection
// events out (takeEvents). No sockets, threads or clocks: the provider shell (soft_conn.cc)
// does the I/O. Owned by rdma/soft. Not thread-safe: the shell serialises calls with a mutex.
// iwarp_stream.cc: setup, close and events; iwarp_stream_tx.cc: work requests and transmit;
// iwarp_stream_rx.cc: receive.
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "rdma/rdma.h"
#include "rdma/soft/iwarp_wire.h"
#include "rdma/soft/mem_table.h"

namespace sd::rdma::soft {

struct StreamConfig {
  bool initiator = true;
  uint8_t mpa_revision = 2;   // 1 or 2 (2 = RFC 6581 enhanced connection setup)
  bool crc = false;           // we ask for CRC32c (it is used if either side asks)
  bool peer_to_peer = false;  // initiator: request an RTR exchange (a zero-length RDMA Read)
  uint32_t max_payload = 65536 - 64;  // DDP payload bytes per FPDU (keeps ULPDU_Length < 64 KiB)
  // Optional protocol trace (debugging interop): called for every FPDU header sent or received.
  void (*trace)(void* ctx, bool tx, const DdpHeader& h, size_t ulpdu_len) = nullptr;
  void* trace_ctx = nullptr;
};

struct QpBinding {
  uint32_t pd = 0;
  uint32_t qp_num = 0;
  QpCaps caps;
  bool sq_sig_all = false;
};

struct MpaParams {
  Bytes private_data;
  uint16_t ird = 16;
  uint16_t ord = 16;
};

// One contiguous piece of outbound bytes (an iovec without the socket header).
struct TxSlice {
  const uint8_t* data;
  size_t len;
};

// One piece of a receive plan (an iovec without the socket header): where the next socket bytes
// may go. `direct`: payload in registered memory; otherwise the shell's scratch buffer.
struct RxPiece {
  uint8_t* data;
  size_t len;
  bool direct;
};

struct StreamEvents {
  std::vector<Wc> sq;  // send-queue completions, in order
  std::vector<Wc> rq;  // receive completions
  bool solicited = false;     // a Send with Solicited Event completed a receive
  bool request_received = false;  // responder: the MPA request is in peerFrame()
  bool established = false;
  bool rejected = false;      // initiator: the peer rejected (reply private data in peerFrame())
  bool connect_error = false;
  bool closed = false;        // the stream is finished (error, terminate, EOF, local close)
  bool empty() const {
    return sq.empty() && rq.empty() && !request_received && !established && !rejected &&
           !connect_error && !closed;
  }
};

class IwarpStream {
 public:
  enum class State : uint8_t {
    kAwaitRequest,   // responder: reading the MPA request
    kRequestReceived,  // responder: waiting for accept()/reject()
    kAwaitReply,     // initiator: request sent
    kAwaitRtr,       // peer-to-peer mode: responder waits for the RTR, initiator for its answer
    kRts,
    kError,          // terminated (a Terminate was sent or received); flushes
    kClosed,
  };

  IwarpStream(MemTable* mem, StreamConfig cfg);

  // ---- connection setup ----
  void bindQp(const QpBinding& b);  // before start() (initiator) or accept() (responder)
  void start(const MpaParams& p);   // initiator: queue the MPA request
  Status accept(const MpaParams& p);  // responder, after request_received
  void reject(ByteView private_data);
  const MpaFrame& peerFrame() const { return peer_; }
  bool crcEnabled() const { return crc_; }
  uint16_t ird() const { return ird_; }
  uint16_t ord() const { return ord_; }
  State state() const { return state_; }
  bool hasQp() const { return qp_bound_; }
  // Initiator waiting for the answer to its RTR (a zero-length RDMA Read): queues a zero-length
  // RDMA Write, new data for a peer that has the RTR in its socket but has not read it yet
  // (Linux siw as responder installs its RTR handler only after sending its MPA reply, and reads
  // when data arrives). The write places and completes nothing, and takes no IRD from the peer
  // (siw and this stream ignore a zero-length Write). False (nothing queued) in any other state.
  bool nudgeRtr();

  // ---- verbs (QP must be bound) ----
  Status postSend(const SendWr& wr);
  Status postRecv(const RecvWr& wr);
  void close();       // local disconnect: flush every outstanding WR
  void peerClosed();  // the byte stream ended (EOF or error)

  // ---- bytes in ----
  void rxBytes(ByteView data);
  // A plan for the next socket read (one readv): the current payload's destination, then, inside
  // an RDMA Read Response whose FPDUs so far were in order, the predicted trailer and header of
  // each following FPDU (into `scratch`) and its payload (straight into the read's sink), then
  // a short scratch tail for the next header. Returns the number of pieces (at least 1; `max`
  // must be at least 4). The prediction assumes the peer keeps its FPDU size; rxPlanDone checks
  // every piece against the parsed headers, and bytes that landed elsewhere than they belong are
  // re-parsed from a copy. A wrong guess only ever writes into the outstanding read's own sink,
  // ahead of what the response has placed, which the rest of the response overwrites.
  size_t rxPlan(std::span<uint8_t> scratch, RxPiece* out, size_t max);
  // Feeds the first `n` bytes of a read made with `plan` (as the kernel fills iovecs: in order).
  void rxPlanDone(const RxPiece* plan, size_t count, size_t n);

  // ---- bytes out ----
  size_t txGather(TxSlice* out, size_t max) const;
  void txConsumed(size_t n);
  bool txPending() const { return !tx_.empty(); }
  // True once the stream is over and every queued byte (e.g. a Terminate) was handed out.
  bool wantClose() const { return (state_ == State::kError || state_ == State::kClosed) && tx_.empty(); }

  StreamEvents takeEvents();
  // The same into `out` (its vectors' storage goes back to the stream: no allocation per event).
  void takeEvents(StreamEvents& out);
  const char* lastError() const { return last_error_; }

 private:
  struct TxItem {
    uint8_t hdr[2 + kDdpUntaggedHeaderLen + kReadRequestLen];
    uint8_t hdr_len = 0;
    const uint8_t* payload = nullptr;
    uint32_t payload_len = 0;
    uint8_t trailer[8];
    uint8_t trailer_len = 0;
    uint64_t completes_seq = 0;  // SQ entry that is done once this item is on the wire
    Bytes owned;                 // MPA frames, inline data, terminate payload
    size_t total() const { return size_t(hdr_len) + payload_len + trailer_len; }
  };
  struct SqEntry {
    uint64_t seq;
    SendWr wr;                // sg_list/pages point into `sges`/`pages` below
    std::vector<Sge> sges;
    std::vector<uint64_t> pages;
    Bytes inline_data;
    bool signaled;
    bool done = false;
    bool encoded = false;
    WcStatus status = WcStatus::kSuccess;
    uint32_t byte_len = 0;
    size_t read_next = 0;     // next local SGE to issue a read request for
    size_t reads_outstanding = 0;
    uint64_t read_remote_off = 0;
  };
  struct RqEntry {
    uint64_t wr_id;
    std::vector<Sge> sges;
    uint64_t total = 0;
  };
  struct OrqEntry {
    uint64_t seq;  // 0: internal (RTR read)
    uint32_t sink_stag;
    uint64_t sink_to;
    uint32_t size;
  };
  enum class Rx : uint8_t { kLen, kHdr, kPayload, kTrailer, kDiscard };
  enum class Sink : uint8_t { kNone, kTagged, kRecv, kSmall };

  // tx
  void queueOwned(Bytes bytes);
  void queueZeroLengthRead();
  void queueZeroLengthWrite();
  void queueFpdu(const DdpHeader& h, const uint8_t* extra, size_t extra_len, const uint8_t* payload,
                 size_t payload_len, uint64_t completes_seq);
  void pump();
  // Encodes the entry's FPDUs (or does its local operation): false when it must wait.
  bool encodeWr(SqEntry& e);
  bool gatherSource(SqEntry& e, const char* why, std::vector<std::pair<uint8_t*, size_t>>* chunks);
  bool encodeSend(SqEntry& e);
  bool encodeWrite(SqEntry& e);
  bool encodeRead(SqEntry& e);
  bool encodeRegMr(SqEntry& e);
  bool encodeLocalInv(SqEntry& e);
  bool resolveLocal(const std::vector<Sge>& sges, uint32_t access,
                    std::vector<std::pair<uint8_t*, size_t>>* chunks);
  void queueMessage(DdpHeader& h, uint64_t start, const std::vector<std::pair<uint8_t*, size_t>>& chunks,
                    uint64_t seq);
  void queueTagged(RdmapOp op, uint32_t stag, uint64_t to,
                   const std::vector<std::pair<uint8_t*, size_t>>& chunks, uint64_t seq);
  void completeSq();
  void flushAll();
  void sendTerminate(Terminate t);
  void fail(const char* why);
  void enterRts();

  // rx
  // Where the next payload bytes may be read directly (one copy from the socket into registered
  // memory); empty while headers or trailers are expected.
  std::span<uint8_t> rxDirect();
  void rxDirectDone(size_t n);
  void mpaInput(ByteView& data);
  void onHeader();
  void terminateHeader(TermLayer layer, uint8_t etype, uint8_t code);
  bool acceptTagged();
  bool acceptUntagged();
  void onFpduComplete();
  void onTerminate(const Terminate& t);
  void onReadRequest(const ReadRequest& q);
  void placeBytes(const uint8_t* p, size_t n);
  void termFromHeader(Terminate& t, bool with_read);
  std::span<uint8_t> nextDest();

  MemTable* mem_;
  StreamConfig cfg_;
  State state_;
  QpBinding qp_{};
  bool qp_bound_ = false;
  MpaFrame peer_;
  MpaParams local_;
  bool crc_ = false;
  uint16_t ird_ = 0, ord_ = 0;
  Bytes mpa_buf_;
  Bytes held_;  // FPDU bytes received before we may parse them
  const char* last_error_ = "";

  // tx state
  std::deque<TxItem> tx_;
  size_t tx_off_ = 0;
  uint32_t msn_send_ = 0, msn_read_ = 0, msn_term_ = 0;
  uint64_t next_seq_ = 1;
  std::deque<SqEntry> sq_;
  size_t sq_unencoded_ = 0;  // index into sq_ of the first entry not yet encoded
  std::deque<OrqEntry> orq_;
  std::deque<RqEntry> rq_;

  // rx state
  Rx rx_ = Rx::kLen;
  uint8_t rxh_[2 + kDdpUntaggedHeaderLen];
  size_t rxh_have_ = 0, rxh_need_ = 2;
  uint16_t ulpdu_len_ = 0;
  DdpHeader hdr_;
  size_t payload_left_ = 0, payload_len_ = 0;
  uint8_t trailer_[8];
  size_t trailer_have_ = 0, trailer_need_ = 0;
  uint32_t rx_crc_ = 0;
  Sink sink_ = Sink::kNone;
  MrRef sink_mr_;
  uint64_t sink_to_ = 0;
  size_t sink_sge_ = 0;
  uint64_t sink_sge_off_ = 0;
  MrRef sink_sge_mr_;
  Bytes small_;
  uint32_t recv_msn_expected_ = 1, read_msn_expected_ = 1;
  // The front ORQ entry's response: payload bytes its FPDU headers declared so far, and whether
  // every FPDU so far continued where the previous ended (the condition for rxPlan's prediction).
  uint64_t rr_declared_ = 0;
  bool rr_in_order_ = true;
  Bytes rx_side_;  // mispredicted bytes, copied out of the sink before they are parsed
  // A remote error that arrived when no work request was outstanding (e.g. the failed Send had
  // already completed locally, as iWARP completes sends at hand-off): reported on the next WR.
  WcStatus pending_err_ = WcStatus::kSuccess;
  uint32_t pending_vendor_ = 0;
  StreamEvents ev_;
};

}  // namespace sd::rdma::soft
