// The iWARP endpoint state machine: construction, MPA connection setup (request, reply,
// reject, the peer-to-peer RTR exchange), local and remote close, and events. Transmit (work
// requests, FPDU encoding) is in iwarp_stream_tx.cc, receive (parsing, placement, delivery) in
// iwarp_stream_rx.cc.
#include "rdma/soft/iwarp_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace sd::rdma::soft {

IwarpStream::IwarpStream(MemTable* mem, StreamConfig cfg)
    : mem_(mem), cfg_(cfg), state_(cfg.initiator ? State::kAwaitReply : State::kAwaitRequest) {
  if (cfg_.max_payload == 0 || cfg_.max_payload > 65535 - kDdpUntaggedHeaderLen - 8)
    cfg_.max_payload = 65536 - 64;
}

void IwarpStream::bindQp(const QpBinding& b) {
  qp_ = b;
  qp_bound_ = true;
}

// ---------------------------------------------------------------- connection setup

void IwarpStream::start(const MpaParams& p) {
  local_ = p;
  MpaFrame f;
  f.reply = false;
  f.crc = cfg_.crc;
  f.revision = cfg_.mpa_revision;
  f.enhanced = cfg_.mpa_revision >= 2;
  f.ird = p.ird;
  f.ord = p.ord;
  f.peer_to_peer = f.enhanced && cfg_.peer_to_peer;
  // A zero-length RDMA Read as the RTR: its Read Response proves the responder is receiving before
  // we send anything else (siw processes only the RTR in its RTR callback; data that came with it
  // would wait for the next segment).
  f.rtr_read = f.peer_to_peer;
  f.private_data = p.private_data;
  ByteWriter w;
  encodeMpaFrame(f, w);
  queueOwned(w.take());
  state_ = State::kAwaitReply;
}

Status IwarpStream::accept(const MpaParams& p) {
  if (state_ != State::kRequestReceived) return err(NtStatus::kInvalidDeviceState, "accept state");
  local_ = p;
  MpaFrame f;
  f.reply = true;
  f.revision = std::max<uint8_t>(1, std::min(peer_.revision, cfg_.mpa_revision));
  f.enhanced = peer_.enhanced && f.revision >= 2;
  crc_ = peer_.crc || cfg_.crc;
  f.crc = crc_;
  if (f.enhanced) {
    // The initiator's IRD must cover our ORD and our IRD its ORD (RFC 6581 3.2).
    ird_ = std::max<uint16_t>(p.ird, peer_.ord);
    ord_ = std::min<uint16_t>(p.ord, peer_.ird);
    f.ird = ird_;
    f.ord = ord_;
    if (peer_.peer_to_peer) {
      f.peer_to_peer = true;
      if (peer_.rtr_write) f.rtr_write = true;
      else if (peer_.rtr_read) f.rtr_read = true;
      else if (peer_.rtr_zero_send) f.rtr_zero_send = true;
      else f.rtr_write = true;
    }
  } else {
    ird_ = p.ird;
    ord_ = p.ord;
  }
  if (ord_ == 0) ord_ = 1;
  f.private_data = p.private_data;
  ByteWriter w;
  encodeMpaFrame(f, w);
  queueOwned(w.take());
  if (f.peer_to_peer) {
    state_ = State::kAwaitRtr;
  } else {
    enterRts();
  }
  if (!held_.empty()) {
    Bytes h = std::move(held_);
    held_.clear();
    rxBytes(h);
  }
  return ok();
}

void IwarpStream::reject(ByteView private_data) {
  if (state_ != State::kRequestReceived) return;
  MpaFrame f;
  f.reply = true;
  f.reject = true;
  f.revision = std::max<uint8_t>(1, std::min(peer_.revision, cfg_.mpa_revision));
  f.enhanced = peer_.enhanced && f.revision >= 2;
  f.private_data.assign(private_data.begin(), private_data.end());
  ByteWriter w;
  encodeMpaFrame(f, w);
  queueOwned(w.take());
  state_ = State::kClosed;
}

void IwarpStream::mpaInput(ByteView& data) {
  bool reply = state_ == State::kAwaitReply;
  size_t need = kMpaHeaderLen;
  if (mpa_buf_.size() >= kMpaHeaderLen) {
    auto total = mpaFrameLength(mpa_buf_, reply);
    if (!total) return fail("bad MPA frame");
    need = *total;
  }
  size_t take = std::min(need - mpa_buf_.size(), data.size());
  mpa_buf_.insert(mpa_buf_.end(), data.begin(), data.begin() + take);
  data = data.subspan(take);
  if (mpa_buf_.size() == kMpaHeaderLen && need == kMpaHeaderLen) {
    auto total = mpaFrameLength(mpa_buf_, reply);
    if (!total) {
      if (reply) ev_.connect_error = true;
      return fail("bad MPA frame");
    }
    if (*total > kMpaHeaderLen) return;  // private data follows
  }
  if (mpa_buf_.size() < need) return;
  auto f = decodeMpaFrame(mpa_buf_, reply);
  mpa_buf_.clear();
  if (!f) {
    if (reply) ev_.connect_error = true;
    return fail("undecodable MPA frame");
  }
  peer_ = std::move(*f);
  if (!reply) {
    if (peer_.markers) {
      // Markers are not supported: reject (as siw does).
      state_ = State::kRequestReceived;
      reject({});
      ev_.closed = true;
      return;
    }
    state_ = State::kRequestReceived;
    ev_.request_received = true;
    if (!data.empty()) {
      held_.insert(held_.end(), data.begin(), data.end());
      data = {};
    }
    return;
  }
  if (peer_.reject) {
    ev_.rejected = true;
    state_ = State::kClosed;
    flushAll();
    ev_.closed = true;
    return;
  }
  if (peer_.markers || (cfg_.mpa_revision >= 2 && peer_.revision >= 2 && !peer_.enhanced)) {
    ev_.connect_error = true;
    return fail("unsupported MPA reply");
  }
  crc_ = peer_.crc;
  if (peer_.enhanced) {
    ord_ = std::min<uint16_t>(local_.ord, peer_.ird);
    ird_ = local_.ird;
  } else {
    ord_ = local_.ord;
    ird_ = local_.ird;
  }
  if (ord_ == 0) ord_ = 1;
  if (cfg_.peer_to_peer && peer_.peer_to_peer) {
    if (peer_.rtr_read && !peer_.rtr_write) {
      queueZeroLengthRead();
      state_ = State::kAwaitRtr;  // RTS when the zero-length Read Response arrives
      return;
    }
    queueZeroLengthWrite();
  }
  enterRts();
}

// An internal zero-length RDMA Read Request (the RTR): its response completes nothing
// (OrqEntry seq 0).
void IwarpStream::queueZeroLengthRead() {
  DdpHeader h;
  h.tagged = false;
  h.op = RdmapOp::kReadRequest;
  h.qn = kQnReadRequest;
  h.msn = ++msn_read_;
  uint8_t rr[kReadRequestLen] = {0};
  queueFpdu(h, rr, sizeof rr, nullptr, 0, 0);
  orq_.push_back(OrqEntry{0, 0, 0, 0});
}

// A zero-length RDMA Write (the RFC 6581 Write RTR frame): places nothing and completes nothing
// on either side.
void IwarpStream::queueZeroLengthWrite() {
  DdpHeader h;
  h.tagged = true;
  h.op = RdmapOp::kWrite;
  queueFpdu(h, nullptr, 0, nullptr, 0, 0);
}

bool IwarpStream::nudgeRtr() {
  if (!cfg_.initiator || state_ != State::kAwaitRtr) return false;
  queueZeroLengthWrite();
  return true;
}

void IwarpStream::enterRts() {
  state_ = State::kRts;
  ev_.established = true;
  pump();
}


// ---------------------------------------------------------------- close and events

void IwarpStream::close() {
  if (state_ == State::kClosed) return;
  bool was_error = state_ == State::kError;
  state_ = State::kClosed;
  rx_ = Rx::kDiscard;
  flushAll();
  tx_.clear();
  tx_off_ = 0;
  if (!was_error) ev_.closed = true;
}

void IwarpStream::peerClosed() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kAwaitReply) ev_.connect_error = true;
  bool was_error = state_ == State::kError;
  state_ = State::kClosed;
  rx_ = Rx::kDiscard;
  last_error_ = "connection closed by peer";
  flushAll();
  tx_.clear();
  tx_off_ = 0;
  if (!was_error) ev_.closed = true;
}

StreamEvents IwarpStream::takeEvents() {
  StreamEvents out;
  takeEvents(out);
  return out;
}

void IwarpStream::takeEvents(StreamEvents& out) {
  out.sq.clear();
  out.rq.clear();
  std::swap(out.sq, ev_.sq);
  std::swap(out.rq, ev_.rq);
  out.solicited = std::exchange(ev_.solicited, false);
  out.request_received = std::exchange(ev_.request_received, false);
  out.established = std::exchange(ev_.established, false);
  out.rejected = std::exchange(ev_.rejected, false);
  out.connect_error = std::exchange(ev_.connect_error, false);
  out.closed = std::exchange(ev_.closed, false);
}

}  // namespace sd::rdma::soft
