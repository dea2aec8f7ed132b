// The MS-SMBD connection core (MS-SMBD 3.1), sans-I/O: received packets and time in, packets to
// send, reassembled upper-layer messages and failures out. No queue pairs, threads or clocks: the
// shell (smbdirect/endpoint.*) posts the receive buffers, hands each completed receive to
// onReceive(), asks nextPacket() for what to send whenever it has a free send buffer, and calls
// onTimer() at nextDeadline().
//
// Credits (MS-SMBD 3.1.1.1, 3.1.5): each packet the peer sends uses one of our posted receives;
// CreditsGranted tells the peer how many more receives we posted since our last grant, and
// CreditsRequested says how many credits in total we want to hold. The last send credit is only
// spent on a packet that grants credits (so the peer can always answer), and when the peer runs
// low while we have nothing to say, a data transfer message with no payload carries the grant.
// One upper-layer message is sent whole, fragment after fragment, before the next one starts.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>

#include "base/bytes.h"
#include "smbdirect/smbd_wire.h"

namespace sd::smbdirect {

enum class Role : uint8_t { kClient, kServer };

// Defaults as Windows and Linux use them (MS-SMBD 3.1.1.1 and Linux cifs/ksmbd).
struct Config {
  uint16_t receive_credit_max = 255;
  uint16_t send_credit_target = 255;
  uint32_t max_send_size = 8192;  // clamped to the peer's MaxReceiveSize (1364 for cifs.ko)
  uint32_t max_receive_size = 8192;
  uint32_t max_fragmented_size = 1u << 20;
  uint32_t max_read_write_size = 8u << 20;
  uint32_t keepalive_interval_ms = 120000;  // idle time before a keepalive asks for a response
  uint32_t keepalive_timeout_ms = 30000;    // time the peer has to answer it
  uint32_t negotiate_timeout_ms = 20000;
};

struct Stats {
  uint64_t packets_sent = 0, packets_received = 0;
  uint64_t messages_sent = 0, messages_received = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;  // upper-layer payload
  uint64_t fragments_sent = 0, fragments_received = 0;  // packets that were not a whole message
  uint64_t credit_only_sent = 0, keepalives_sent = 0, credit_stalls = 0;
};

class SmbdConnection {
 public:
  enum class State : uint8_t { kNegotiating, kConnected, kFailed };

  SmbdConnection(Role role, const Config& cfg);

  // Starts the negotiate timer; a client's first nextPacket() is its Negotiate Request.
  void start(uint64_t now_ms);
  // The shell posted `n` more receive buffers of maxReceiveSize() bytes each.
  void onReceivesPosted(uint32_t n) { recv_posted_ += n; }
  // A receive completed with `packet`; that buffer is no longer posted. Errors are fatal for
  // the connection (state() becomes kFailed).
  Status onReceive(ByteView packet, uint64_t now_ms);
  // Queues one upper-layer message (concatenation of `parts`); with invalidate_rkey != 0 its last
  // fragment is to go out as Send with Invalidate of that key.
  Status queueMessage(std::span<const ByteView> parts, uint32_t invalidate_rkey = 0);
  // The same without copying: the message is read from `parts` until keepQueued(), which the
  // caller must call before those buffers change or go away (a shell that sends at once calls
  // nextPacket() in between, so a message that fits the free send buffers is never copied).
  Status queueBorrowed(std::span<const ByteView> parts, uint32_t invalidate_rkey = 0);
  // Copies what is still unsent of borrowed messages into the connection.
  void keepQueued();

  struct Packet {
    size_t length = 0;
    uint32_t invalidate_rkey = 0;  // 0: plain Send
  };
  // Writes the next packet into `buf` (at least maxSendSize() bytes) when one may be sent now.
  std::optional<Packet> nextPacket(std::span<uint8_t> buf, uint64_t now_ms);
  bool hasMessage() const { return !inbox_.empty(); }
  Bytes popMessage();

  void onTimer(uint64_t now_ms);
  uint64_t nextDeadline() const;  // absolute ms; UINT64_MAX when none
  void fail(NtStatus s, std::string why);

  State state() const { return state_; }
  bool connected() const { return state_ == State::kConnected; }
  NtStatus failStatus() const { return fail_status_; }
  const std::string& failReason() const { return fail_reason_; }
  Role role() const { return role_; }
  const Config& config() const { return cfg_; }
  // Negotiated values (valid once connected).
  uint32_t maxSendSize() const { return max_send_size_; }
  uint32_t maxReceiveSize() const { return cfg_.max_receive_size; }
  uint32_t maxReadWriteSize() const { return max_read_write_size_; }
  uint32_t peerMaxFragmentedSize() const { return peer_max_fragmented_; }
  uint32_t sendCredits() const { return send_credits_; }
  uint32_t peerCredits() const { return peer_credits_; }
  uint32_t receivesPosted() const { return recv_posted_; }
  size_t queuedMessages() const { return outq_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  uint16_t grantable() const;
  Status onNegotiateRequest(ByteView packet);
  Status onNegotiateResponse(ByteView packet);
  Status onData(ByteView packet);

  struct OutMessage {
    Bytes data;                    // the message, or what was left of it when it was kept
    std::vector<ByteView> parts;   // borrowed (queueBorrowed) until keepQueued()
    size_t size = 0;               // bytes in data or parts
    size_t sent = 0;               // of those, already in packets
    bool fragmented = false;       // some of it already went out before keepQueued()
    uint32_t invalidate_rkey = 0;
    void copyOut(size_t from, size_t n, uint8_t* dst) const;
    void keep();  // copies what is unsent of a borrowed message into `data`
  };

  Role role_;
  Config cfg_;
  State state_ = State::kNegotiating;
  NtStatus fail_status_ = NtStatus::kSuccess;
  std::string fail_reason_;
  bool negotiate_sent_ = false;        // client: request sent
  std::optional<NegotiateResponse> negotiate_response_;  // server: response to send
  uint32_t max_send_size_;
  uint32_t max_read_write_size_;
  uint32_t peer_max_fragmented_ = kMinFragmentedSize;
  uint32_t recv_posted_ = 0;
  uint32_t peer_credits_ = 0;   // receives the peer may still use
  uint32_t peer_target_ = 1;    // peer's CreditsRequested
  uint32_t send_credits_ = 0;
  bool respond_ = false;        // peer asked for a response (SMB_DIRECT_RESPONSE_REQUESTED)
  bool keepalive_due_ = false;
  bool keepalive_outstanding_ = false;
  uint64_t started_ms_ = 0, last_rx_ms_ = 0, keepalive_sent_ms_ = 0;
  std::deque<OutMessage> outq_;
  std::deque<Bytes> inbox_;
  Bytes reasm_;
  uint32_t reasm_left_ = 0;  // bytes still expected for the message in reasm_
  bool reasm_active_ = false;
  Stats stats_;
};

const char* stateName(SmbdConnection::State s);

}  // namespace sd::smbdirect
