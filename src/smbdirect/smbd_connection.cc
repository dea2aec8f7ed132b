#include "smbdirect/smbd_connection.h"

#include <algorithm>
#include <cstring>

namespace sd::smbdirect {

const char* stateName(SmbdConnection::State s) {
  switch (s) {
    case SmbdConnection::State::kNegotiating: return "negotiating";
    case SmbdConnection::State::kConnected: return "connected";
    case SmbdConnection::State::kFailed: return "failed";
  }
  return "?";
}

SmbdConnection::SmbdConnection(Role role, const Config& cfg)
    : role_(role), cfg_(cfg), max_send_size_(cfg.max_send_size),
      max_read_write_size_(cfg.max_read_write_size) {
  if (cfg_.receive_credit_max == 0) cfg_.receive_credit_max = 1;
  if (cfg_.send_credit_target == 0) cfg_.send_credit_target = 1;
}

void SmbdConnection::start(uint64_t now_ms) {
  started_ms_ = now_ms;
  last_rx_ms_ = now_ms;
}

void SmbdConnection::fail(NtStatus s, std::string why) {
  if (state_ == State::kFailed) return;
  state_ = State::kFailed;
  fail_status_ = s;
  fail_reason_ = std::move(why);
  outq_.clear();
}

Status SmbdConnection::onReceive(ByteView packet, uint64_t now_ms) {
  if (state_ == State::kFailed) return err(fail_status_, "connection failed");
  if (recv_posted_ > 0) recv_posted_--;
  last_rx_ms_ = now_ms;
  keepalive_outstanding_ = false;
  stats_.packets_received++;
  Status st = ok();
  if (state_ == State::kNegotiating) {
    st = role_ == Role::kServer ? onNegotiateRequest(packet) : onNegotiateResponse(packet);
  } else {
    st = onData(packet);
  }
  if (!st) fail(st.error().status, st.error().what);
  return st;
}

// MS-SMBD 3.1.5.6: the responder validates the request, sizes the connection and answers.
Status SmbdConnection::onNegotiateRequest(ByteView packet) {
  if (negotiate_response_) return fatal(NtStatus::kInvalidNetworkResponse, "second SMBD negotiate request");
  auto q = SD_TRY(decodeNegotiateRequest(packet));
  NegotiateResponse p;
  p.credits_requested = cfg_.send_credit_target;
  p.max_read_write_size = cfg_.max_read_write_size;
  p.max_fragmented_size = cfg_.max_fragmented_size;
  if (q.min_version > kSmbdVersion1 || q.max_version < kSmbdVersion1) {
    p.status = toWire(NtStatus::kNotSupported);
    negotiate_response_ = p;
    return ok();  // the response goes out, then the connection fails (nextPacket)
  }
  if (q.credits_requested == 0) return fatal(NtStatus::kInvalidParameter, "SMBD negotiate: CreditsRequested 0");
  if (q.max_receive_size < kMinReceiveSize)
    return fatal(NtStatus::kInvalidParameter, "SMBD negotiate: MaxReceiveSize below 128");
  if (q.max_fragmented_size < kMinFragmentedSize)
    return fatal(NtStatus::kInvalidParameter, "SMBD negotiate: MaxFragmentedSize below 131072");
  max_send_size_ = std::min(cfg_.max_send_size, q.max_receive_size);
  // What we receive is bounded by what the peer prefers to send (as Linux ksmbd does).
  uint32_t recv_size = std::max(kMinReceiveSize, std::min(cfg_.max_receive_size, q.preferred_send_size));
  peer_max_fragmented_ = q.max_fragmented_size;
  peer_target_ = q.credits_requested;
  p.preferred_send_size = max_send_size_;
  p.max_receive_size = recv_size;
  negotiate_response_ = p;
  return ok();
}

// MS-SMBD 3.1.5.7 (client side of 3.1.5.2): validate the response and size the connection.
Status SmbdConnection::onNegotiateResponse(ByteView packet) {
  if (!negotiate_sent_) return fatal(NtStatus::kInvalidNetworkResponse, "SMBD packet before our negotiate");
  auto p = SD_TRY(decodeNegotiateResponse(packet));
  if (p.status != 0) return fatal(NtStatus(p.status), "SMBD negotiate refused by the server");
  if (p.negotiated_version != kSmbdVersion1)
    return fatal(NtStatus::kNotSupported, "SMBD negotiate: unknown NegotiatedVersion");
  if (p.credits_granted == 0) return fatal(NtStatus::kInvalidNetworkResponse, "SMBD negotiate: no credits granted");
  if (p.credits_requested == 0) return fatal(NtStatus::kInvalidNetworkResponse, "SMBD negotiate: CreditsRequested 0");
  if (p.max_receive_size < kMinReceiveSize)
    return fatal(NtStatus::kInvalidNetworkResponse, "SMBD negotiate: MaxReceiveSize below 128");
  if (p.max_fragmented_size < kMinFragmentedSize)
    return fatal(NtStatus::kInvalidNetworkResponse, "SMBD negotiate: MaxFragmentedSize below 131072");
  if (p.preferred_send_size > cfg_.max_receive_size)
    return fatal(NtStatus::kInvalidNetworkResponse, "SMBD negotiate: PreferredSendSize above our MaxReceiveSize");
  if (p.max_read_write_size == 0) return fatal(NtStatus::kInvalidNetworkResponse, "SMBD negotiate: MaxReadWriteSize 0");
  max_send_size_ = std::min(cfg_.max_send_size, p.max_receive_size);
  max_read_write_size_ = std::min(cfg_.max_read_write_size, p.max_read_write_size);
  peer_max_fragmented_ = p.max_fragmented_size;
  peer_target_ = p.credits_requested;
  send_credits_ = p.credits_granted;
  state_ = State::kConnected;
  return ok();
}

// MS-SMBD 3.1.5.7 data transfer: credits, keepalive requests, reassembly.
Status SmbdConnection::onData(ByteView packet) {
  ByteView payload;
  auto h = SD_TRY(decodeDataMessage(packet, &payload));
  if (peer_credits_ == 0) return fatal(NtStatus::kInvalidNetworkResponse, "SMBD peer sent without a credit");
  peer_credits_--;
  if (uint32_t(send_credits_) + h.credits_granted > 0xFFFF)
    return fatal(NtStatus::kInvalidNetworkResponse, "SMBD credits granted beyond 65535");
  send_credits_ += h.credits_granted;
  peer_target_ = h.credits_requested;
  if (h.flags & kFlagResponseRequested) respond_ = true;
  if (h.data_length == 0) return ok();
  if (!reasm_active_) {
    uint64_t total = uint64_t(h.data_length) + h.remaining_data_length;
    if (total > cfg_.max_fragmented_size)
      return fatal(NtStatus::kInvalidNetworkResponse, "SMBD message larger than MaxFragmentedSize");
    reasm_.clear();
    reasm_.reserve(size_t(total));
    reasm_left_ = uint32_t(total);
    reasm_active_ = true;
  } else if (uint64_t(h.data_length) + h.remaining_data_length != reasm_left_) {
    return fatal(NtStatus::kInvalidNetworkResponse, "SMBD fragment lengths inconsistent");
  }
  reasm_.insert(reasm_.end(), payload.begin(), payload.end());
  reasm_left_ -= h.data_length;
  stats_.bytes_received += h.data_length;
  if (reasm_left_ == 0) {
    if (reasm_.size() != h.data_length) stats_.fragments_received++;
    inbox_.push_back(std::move(reasm_));
    reasm_ = Bytes();
    reasm_active_ = false;
    stats_.messages_received++;
  } else {
    stats_.fragments_received++;
  }
  return ok();
}

Status SmbdConnection::queueMessage(std::span<const ByteView> parts, uint32_t invalidate_rkey) {
  SD_CHECK(queueBorrowed(parts, invalidate_rkey));
  outq_.back().keep();
  return ok();
}

Status SmbdConnection::queueBorrowed(std::span<const ByteView> parts, uint32_t invalidate_rkey) {
  if (state_ == State::kFailed) return err(fail_status_ == NtStatus::kSuccess ? NtStatus::kConnectionDisconnected : fail_status_,
                                           "SMB Direct connection failed");
  OutMessage m;
  for (const auto& p : parts) {
    m.size += p.size();
    if (!p.empty()) m.parts.push_back(p);
  }
  if (m.size == 0) return err(NtStatus::kInvalidParameter, "empty message");
  if (m.size > peer_max_fragmented_) return err(NtStatus::kInvalidParameter, "message exceeds the peer's MaxFragmentedSize");
  m.invalidate_rkey = invalidate_rkey;
  outq_.push_back(std::move(m));
  return ok();
}

void SmbdConnection::keepQueued() {
  for (OutMessage& m : outq_) m.keep();
}

void SmbdConnection::OutMessage::keep() {
  if (parts.empty()) return;
  Bytes rest(size - sent);
  copyOut(sent, rest.size(), rest.data());
  parts.clear();
  data = std::move(rest);
  fragmented = fragmented || sent > 0;
  size = data.size();
  sent = 0;
}

void SmbdConnection::OutMessage::copyOut(size_t from, size_t n, uint8_t* dst) const {
  if (parts.empty()) {
    std::memcpy(dst, data.data() + from, n);
    return;
  }
  for (const ByteView& p : parts) {
    if (n == 0) return;
    if (from >= p.size()) {
      from -= p.size();
      continue;
    }
    size_t k = std::min(n, p.size() - from);
    std::memcpy(dst, p.data() + from, k);
    dst += k;
    n -= k;
    from = 0;
  }
}

Bytes SmbdConnection::popMessage() {
  Bytes m = std::move(inbox_.front());
  inbox_.pop_front();
  return m;
}

uint16_t SmbdConnection::grantable() const {
  uint32_t unadvertised = recv_posted_ > peer_credits_ ? recv_posted_ - peer_credits_ : 0;
  uint32_t wanted = peer_target_ > peer_credits_ ? peer_target_ - peer_credits_ : 0;
  uint32_t cap = cfg_.receive_credit_max > peer_credits_ ? cfg_.receive_credit_max - peer_credits_ : 0;
  return uint16_t(std::min({unadvertised, wanted, cap, 0xFFFFu}));
}

std::optional<SmbdConnection::Packet> SmbdConnection::nextPacket(std::span<uint8_t> buf, uint64_t now_ms) {
  if (state_ == State::kFailed) return std::nullopt;
  if (role_ == Role::kClient && !negotiate_sent_) {
    if (buf.size() < kNegotiateRequestSize) return std::nullopt;
    NegotiateRequest q;
    q.credits_requested = cfg_.send_credit_target;
    q.preferred_send_size = cfg_.max_send_size;
    q.max_receive_size = cfg_.max_receive_size;
    q.max_fragmented_size = cfg_.max_fragmented_size;
    ByteWriter w;
    encodeNegotiateRequest(q, w);
    std::memcpy(buf.data(), w.buf().data(), w.size());
    negotiate_sent_ = true;
    stats_.packets_sent++;
    return Packet{w.size(), 0};
  }
  if (role_ == Role::kServer && state_ == State::kNegotiating) {
    if (!negotiate_response_ || buf.size() < kNegotiateResponseSize) return std::nullopt;
    NegotiateResponse p = *negotiate_response_;
    if (p.status == 0) {
      p.credits_granted = uint16_t(std::min<uint32_t>({recv_posted_, cfg_.receive_credit_max, 0xFFFF}));
      if (p.credits_granted == 0) return std::nullopt;  // wait until receives are posted
      peer_credits_ = p.credits_granted;
    }
    ByteWriter w;
    encodeNegotiateResponse(p, w);
    std::memcpy(buf.data(), w.buf().data(), w.size());
    stats_.packets_sent++;
    if (p.status != 0) fail(NtStatus(p.status), "SMBD negotiate: no common version");
    else state_ = State::kConnected;
    return Packet{w.size(), 0};
  }
  if (state_ != State::kConnected) return std::nullopt;

  uint16_t grant = grantable();
  bool have_data = !outq_.empty();
  bool peer_low = grant > 0 && (peer_credits_ == 0 || peer_credits_ * 2 < peer_target_);
  if (!have_data && !respond_ && !keepalive_due_ && !peer_low) return std::nullopt;
  if (send_credits_ == 0 || (send_credits_ == 1 && grant == 0)) {
    stats_.credit_stalls++;
    return std::nullopt;
  }
  if (buf.size() < max_send_size_ || max_send_size_ <= kDataOffset) return std::nullopt;
  DataHeader h;
  h.credits_requested = cfg_.send_credit_target;
  h.credits_granted = grant;
  if (keepalive_due_) {
    h.flags |= kFlagResponseRequested;
    keepalive_due_ = false;
    keepalive_outstanding_ = true;
    keepalive_sent_ms_ = now_ms;
    stats_.keepalives_sent++;
  }
  Packet out;
  size_t len = kDataHeaderSize;
  if (have_data) {
    OutMessage& m = outq_.front();
    size_t chunk = std::min<size_t>(m.size - m.sent, max_send_size_ - kDataOffset);
    h.data_offset = kDataOffset;
    h.data_length = uint32_t(chunk);
    h.remaining_data_length = uint32_t(m.size - m.sent - chunk);
    m.copyOut(m.sent, chunk, buf.data() + kDataOffset);
    if (chunk != m.size || m.fragmented) stats_.fragments_sent++;
    m.sent += chunk;
    stats_.bytes_sent += chunk;
    len = kDataOffset + chunk;
    if (m.sent == m.size) {
      out.invalidate_rkey = m.invalidate_rkey;
      outq_.pop_front();
      stats_.messages_sent++;
    }
  } else {
    stats_.credit_only_sent++;
  }
  encodeDataHeader(h, buf.data());
  send_credits_--;
  peer_credits_ += grant;
  respond_ = false;
  stats_.packets_sent++;
  out.length = len;
  return out;
}

void SmbdConnection::onTimer(uint64_t now_ms) {
  if (state_ == State::kFailed) return;
  if (state_ == State::kNegotiating) {
    if (now_ms >= started_ms_ + cfg_.negotiate_timeout_ms)
      fail(NtStatus::kIoTimeout, "SMBD negotiate timed out");
    return;
  }
  if (keepalive_outstanding_ && now_ms >= keepalive_sent_ms_ + cfg_.keepalive_timeout_ms) {
    fail(NtStatus::kIoTimeout, "SMBD peer did not answer a keepalive");
    return;
  }
  if (!keepalive_outstanding_ && !keepalive_due_ && now_ms >= last_rx_ms_ + cfg_.keepalive_interval_ms)
    keepalive_due_ = true;
}

uint64_t SmbdConnection::nextDeadline() const {
  if (state_ == State::kFailed) return UINT64_MAX;
  if (state_ == State::kNegotiating) return started_ms_ + cfg_.negotiate_timeout_ms;
  if (keepalive_outstanding_) return keepalive_sent_ms_ + cfg_.keepalive_timeout_ms;
  return last_rx_ms_ + cfg_.keepalive_interval_ms;
}

}  // namespace sd::smbdirect
