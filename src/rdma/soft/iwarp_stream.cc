// The iWARP endpoint state machine. Transmit builds whole FPDUs at post time (header, a pointer
// into registered memory, pad + CRC) so the shell hands them to the kernel with one gathered
// write; receive parses headers from small reads and exposes the payload's destination so the
// shell reads payload straight into registered memory (rxDirect). Placement happens as bytes
// arrive (RFC 5041 allows placement before validation); delivery (completions) waits for the
// FPDU's CRC.
#include "rdma/soft/iwarp_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "rdma/soft/crc32c.h"

namespace sd::rdma::soft {
namespace {
constexpr uint8_t kZeros[8] = {0};

WcOpcode wcOpcodeOf(WrOpcode op) {
  switch (op) {
    case WrOpcode::kSend:
    case WrOpcode::kSendWithInv: return WcOpcode::kSend;
    case WrOpcode::kRdmaWrite: return WcOpcode::kRdmaWrite;
    case WrOpcode::kRdmaRead: return WcOpcode::kRdmaRead;
    case WrOpcode::kRegMr: return WcOpcode::kRegMr;
    case WrOpcode::kLocalInv: return WcOpcode::kLocalInv;
  }
  return WcOpcode::kSend;
}

uint8_t protectionCode(MemCheck c) {
  switch (c) {
    case MemCheck::kInvalidStag: return term::kInvalidStag;
    case MemCheck::kBounds: return term::kBaseBounds;
    case MemCheck::kAccess: return term::kAccessRights;
    case MemCheck::kPd: return term::kStagNotAssociated;
    case MemCheck::kWrap: return term::kToWrap;
    case MemCheck::kOk: break;
  }
  return term::kUnspecified;
}
}  // namespace

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

// ---------------------------------------------------------------- transmit

void IwarpStream::queueOwned(Bytes bytes) {
  tx_.emplace_back();
  TxItem& it = tx_.back();
  it.owned = std::move(bytes);
  it.payload = it.owned.data();
  it.payload_len = uint32_t(it.owned.size());
}

void IwarpStream::queueFpdu(const DdpHeader& h, const uint8_t* extra, size_t extra_len,
                            const uint8_t* payload, size_t payload_len, uint64_t seq) {
  tx_.emplace_back();
  TxItem& it = tx_.back();
  size_t ulpdu = h.length() + extra_len + payload_len;
  it.hdr[0] = uint8_t(ulpdu >> 8);
  it.hdr[1] = uint8_t(ulpdu);
  size_t n = 2 + encodeDdpHeader(h, it.hdr + 2);
  if (extra_len) std::memcpy(it.hdr + n, extra, extra_len);
  it.hdr_len = uint8_t(n + extra_len);
  it.payload = payload;
  it.payload_len = uint32_t(payload_len);
  size_t pad = mpaPadLen(ulpdu);
  std::memset(it.trailer, 0, sizeof it.trailer);
  uint32_t c = 0;
  if (crc_) {
    uint32_t s = crc32cUpdate(kCrc32cInit, it.hdr, it.hdr_len);
    if (payload_len) s = crc32cUpdate(s, payload, payload_len);
    if (pad) s = crc32cUpdate(s, kZeros, pad);
    c = crc32cFinal(s);
  }
  store32(it.trailer + pad, c);  // least-significant byte first, as Linux siw sends it
  it.trailer_len = uint8_t(pad + kMpaCrcLen);
  it.completes_seq = seq;
  if (cfg_.trace) cfg_.trace(cfg_.trace_ctx, true, h, ulpdu);
}

size_t IwarpStream::txGather(TxSlice* out, size_t max) const {
  size_t n = 0;
  size_t skip = tx_off_;
  for (const TxItem& it : tx_) {
    const std::pair<const uint8_t*, size_t> parts[3] = {
        {it.hdr, it.hdr_len}, {it.payload, it.payload_len}, {it.trailer, it.trailer_len}};
    for (const auto& [p, len] : parts) {
      if (len == 0) continue;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      if (n == max) return n;
      out[n++] = TxSlice{p + skip, len - skip};
      skip = 0;
    }
  }
  return n;
}

void IwarpStream::txConsumed(size_t n) {
  bool any_done = false;
  while (n > 0 && !tx_.empty()) {
    TxItem& it = tx_.front();
    size_t remain = it.total() - tx_off_;
    if (n < remain) {
      tx_off_ += n;
      break;
    }
    n -= remain;
    uint64_t seq = it.completes_seq;
    tx_.pop_front();
    tx_off_ = 0;
    if (seq && !sq_.empty() && seq >= sq_.front().seq) {
      size_t idx = size_t(seq - sq_.front().seq);
      if (idx < sq_.size()) {
        sq_[idx].done = true;
        any_done = true;
      }
    }
  }
  if (any_done) completeSq();
}

bool IwarpStream::resolveLocal(const std::vector<Sge>& sges, uint32_t access,
                               std::vector<std::pair<uint8_t*, size_t>>* chunks) {
  for (const Sge& s : sges) {
    if (s.length == 0) continue;
    MrRef mr;
    if (mem_->lookup(s.lkey, qp_.pd, access, s.addr, s.length, &mr) != MemCheck::kOk) return false;
    uint64_t to = s.addr;
    uint64_t left = s.length;
    while (left) {
      size_t contig = 0;
      uint8_t* p = mr->translate(to, &contig);
      size_t k = size_t(std::min<uint64_t>(contig, left));
      if (!chunks->empty() && chunks->back().first + chunks->back().second == p)
        chunks->back().second += k;  // merge neighbours into one FPDU payload
      else
        chunks->emplace_back(p, k);
      to += k;
      left -= k;
    }
  }
  return true;
}

void IwarpStream::queueTagged(RdmapOp op, uint32_t stag, uint64_t to,
                              const std::vector<std::pair<uint8_t*, size_t>>& chunks,
                              uint64_t seq) {
  DdpHeader h;
  h.tagged = true;
  h.op = op;
  h.stag = stag;
  if (chunks.empty()) {
    h.to = to;
    h.last = true;
    queueFpdu(h, nullptr, 0, nullptr, 0, seq);
    return;
  }
  for (size_t c = 0; c < chunks.size(); c++) {
    const uint8_t* p = chunks[c].first;
    size_t left = chunks[c].second;
    while (left) {
      size_t k = std::min<size_t>(left, cfg_.max_payload);
      left -= k;
      h.to = to;
      h.last = left == 0 && c + 1 == chunks.size();
      queueFpdu(h, nullptr, 0, p, k, h.last ? seq : 0);
      p += k;
      to += k;
    }
  }
}

bool IwarpStream::encodeWr(SqEntry& e) {
  const SendWr& wr = e.wr;
  std::vector<std::pair<uint8_t*, size_t>> chunks;
  switch (wr.opcode) {
    case WrOpcode::kSend:
    case WrOpcode::kSendWithInv: {
      if (!e.inline_data.empty()) {
        chunks.emplace_back(e.inline_data.data(), e.inline_data.size());
      } else if (!resolveLocal(e.sges, 0, &chunks)) {
        e.done = true;
        e.status = WcStatus::kLocProtErr;
        fail("local protection error (send lkey)");
        return true;
      }
      bool inv = wr.opcode == WrOpcode::kSendWithInv;
      bool se = wr.flags & kSendSolicited;
      DdpHeader h;
      h.tagged = false;
      h.op = inv ? (se ? RdmapOp::kSendSeInv : RdmapOp::kSendInv)
                 : (se ? RdmapOp::kSendSe : RdmapOp::kSend);
      h.stag = inv ? wr.invalidate_rkey : 0;
      h.qn = kQnSend;
      h.msn = ++msn_send_;
      uint64_t total = 0;
      for (auto& c : chunks) total += c.second;
      e.byte_len = uint32_t(total);
      uint32_t mo = 0;
      if (chunks.empty()) {
        h.mo = 0;
        h.last = true;
        queueFpdu(h, nullptr, 0, nullptr, 0, e.seq);
      }
      for (size_t c = 0; c < chunks.size(); c++) {
        const uint8_t* p = chunks[c].first;
        size_t left = chunks[c].second;
        while (left) {
          size_t k = std::min<size_t>(left, cfg_.max_payload);
          left -= k;
          h.mo = mo;
          h.last = left == 0 && c + 1 == chunks.size();
          queueFpdu(h, nullptr, 0, p, k, h.last ? e.seq : 0);
          p += k;
          mo += uint32_t(k);
        }
      }
      e.encoded = true;
      return true;
    }
    case WrOpcode::kRdmaWrite: {
      if (!e.inline_data.empty()) {
        chunks.emplace_back(e.inline_data.data(), e.inline_data.size());
      } else if (!resolveLocal(e.sges, 0, &chunks)) {
        e.done = true;
        e.status = WcStatus::kLocProtErr;
        fail("local protection error (write lkey)");
        return true;
      }
      uint64_t total = 0;
      for (auto& c : chunks) total += c.second;
      e.byte_len = uint32_t(total);
      queueTagged(RdmapOp::kWrite, wr.rkey, wr.remote_addr, chunks, e.seq);
      e.encoded = true;
      return true;
    }
    case WrOpcode::kRdmaRead: {
      if (e.read_next == 0 && e.reads_outstanding == 0) {
        if ((wr.flags & kSendFence) && !orq_.empty()) return false;
        for (const Sge& s : e.sges) e.byte_len += s.length;
      }
      while (e.read_next < e.sges.size()) {
        if (orq_.size() >= ord_) return false;  // ORD exhausted: wait for a response
        const Sge& s = e.sges[e.read_next];
        MrRef mr;
        if (mem_->lookup(s.lkey, qp_.pd, kAccessLocalWrite, s.addr, s.length, &mr) !=
            MemCheck::kOk) {
          e.done = true;
          e.status = WcStatus::kLocProtErr;
          fail("local protection error (read sink lkey)");
          return true;
        }
        ReadRequest q;
        q.sink_stag = s.lkey;
        q.sink_to = s.addr;
        q.size = s.length;
        q.src_stag = wr.rkey;
        q.src_to = wr.remote_addr + e.read_remote_off;
        uint8_t rr[kReadRequestLen];
        encodeReadRequest(q, rr);
        DdpHeader h;
        h.tagged = false;
        h.op = RdmapOp::kReadRequest;
        h.qn = kQnReadRequest;
        h.msn = ++msn_read_;
        h.mo = 0;
        queueFpdu(h, rr, sizeof rr, nullptr, 0, 0);
        orq_.push_back(OrqEntry{e.seq, s.lkey, s.addr, s.length});
        e.reads_outstanding++;
        e.read_remote_off += s.length;
        e.read_next++;
      }
      e.encoded = true;
      if (e.reads_outstanding == 0) e.done = true;  // nothing to read
      return true;
    }
    case WrOpcode::kRegMr: {
      MemoryRegion* mr = wr.mr;
      uint32_t stag = (mr->lkey() & ~0xFFu) | wr.key;
      MemCheck c = mem_->fastReg(stag, qp_.pd, e.pages.data(), e.pages.size(), wr.page_size,
                                 wr.iova, wr.length, wr.access);
      e.encoded = true;
      e.done = true;
      if (c == MemCheck::kOk) {
        mr->setKeys(stag, stag);
        mr->setRange(reinterpret_cast<void*>(wr.iova), size_t(wr.length), wr.access);
      } else {
        e.status = WcStatus::kLocProtErr;
      }
      return true;
    }
    case WrOpcode::kLocalInv: {
      MemCheck c = mem_->invalidate(wr.invalidate_rkey, qp_.pd, false);
      e.encoded = true;
      e.done = true;
      if (c != MemCheck::kOk) e.status = WcStatus::kLocProtErr;
      return true;
    }
  }
  return true;
}

void IwarpStream::pump() {
  while (state_ == State::kRts && sq_unencoded_ < sq_.size()) {
    if (!encodeWr(sq_[sq_unencoded_])) break;
    if (state_ != State::kRts) break;
    // A read that issued only some of its requests stays the head of the unencoded list.
    if (!sq_[sq_unencoded_].encoded) break;
    sq_unencoded_++;
  }
  completeSq();
}

void IwarpStream::completeSq() {
  while (!sq_.empty() && sq_.front().done) {
    SqEntry& e = sq_.front();
    if (e.signaled || e.status != WcStatus::kSuccess) {
      Wc wc;
      wc.wr_id = e.wr.wr_id;
      wc.status = e.status;
      wc.opcode = wcOpcodeOf(e.wr.opcode);
      wc.byte_len = e.byte_len;
      wc.qp_num = qp_.qp_num;
      wc.vendor_err = e.status == WcStatus::kSuccess ? 0 : uint32_t(e.byte_len == 0 ? 0 : 0);
      ev_.sq.push_back(wc);
    }
    sq_.pop_front();
    if (sq_unencoded_ > 0) sq_unencoded_--;
  }
}

void IwarpStream::flushAll() {
  for (SqEntry& e : sq_) {
    if (!e.done) {
      e.done = true;
      e.status = WcStatus::kWrFlushErr;
    }
  }
  completeSq();
  for (const RqEntry& r : rq_) {
    Wc wc;
    wc.wr_id = r.wr_id;
    wc.status = WcStatus::kWrFlushErr;
    wc.opcode = WcOpcode::kRecv;
    wc.qp_num = qp_.qp_num;
    ev_.rq.push_back(wc);
  }
  rq_.clear();
  orq_.clear();
  rr_declared_ = 0;
  rr_in_order_ = true;
  sq_unencoded_ = 0;
  // Keep a partially written FPDU so the byte stream stays well-formed for a Terminate.
  if (tx_off_ > 0 && !tx_.empty()) {
    TxItem front = std::move(tx_.front());
    front.completes_seq = 0;
    tx_.clear();
    tx_.push_back(std::move(front));
    if (!tx_.back().owned.empty()) tx_.back().payload = tx_.back().owned.data();
  } else {
    tx_.clear();
    tx_off_ = 0;
  }
}

void IwarpStream::fail(const char* why) {
  if (state_ == State::kError || state_ == State::kClosed) return;
  last_error_ = why;
  state_ = State::kError;
  rx_ = Rx::kDiscard;
  flushAll();
  ev_.closed = true;
}

void IwarpStream::sendTerminate(Terminate t) {
  bool can_send = state_ == State::kRts || state_ == State::kAwaitRtr;
  fail("terminated locally");
  if (!can_send) return;
  ByteWriter w;
  encodeTerminate(t, w);
  Bytes payload = w.take();
  DdpHeader h;
  h.tagged = false;
  h.op = RdmapOp::kTerminate;
  h.qn = kQnTerminate;
  h.msn = ++msn_term_;
  h.mo = 0;
  h.last = true;
  queueFpdu(h, payload.data(), payload.size(), nullptr, 0, 0);
}

// ---------------------------------------------------------------- verbs

Status IwarpStream::postSend(const SendWr& wr) {
  if (!qp_bound_) return err(NtStatus::kInvalidDeviceState, "no QP");
  if (wr.sg_list.size() > qp_.caps.max_send_sge) return err(NtStatus::kInvalidParameter, "sge");
  if (wr.opcode == WrOpcode::kRegMr && (!wr.mr || !wr.mr->fastReg()))
    return err(NtStatus::kInvalidParameter, "reg mr");
  if (state_ == State::kError || state_ == State::kClosed) {
    Wc wc;
    wc.wr_id = wr.wr_id;
    wc.status = WcStatus::kWrFlushErr;
    if (pending_err_ != WcStatus::kSuccess) {
      wc.status = pending_err_;
      wc.vendor_err = pending_vendor_;
      pending_err_ = WcStatus::kSuccess;
    }
    wc.opcode = wcOpcodeOf(wr.opcode);
    wc.qp_num = qp_.qp_num;
    ev_.sq.push_back(wc);
    return ok();
  }
  if (sq_.size() >= qp_.caps.max_send_wr) return err(NtStatus::kInsufficientResources, "SQ full");
  SqEntry e;
  e.seq = next_seq_++;
  e.wr = wr;
  e.sges.assign(wr.sg_list.begin(), wr.sg_list.end());
  e.pages.assign(wr.pages.begin(), wr.pages.end());
  e.wr.sg_list = {};
  e.wr.pages = {};
  e.signaled = (wr.flags & kSendSignaled) || qp_.sq_sig_all;
  if ((wr.flags & kSendInline) &&
      (wr.opcode == WrOpcode::kSend || wr.opcode == WrOpcode::kSendWithInv ||
       wr.opcode == WrOpcode::kRdmaWrite)) {
    size_t total = 0;
    for (const Sge& s : wr.sg_list) total += s.length;
    if (total > qp_.caps.max_inline_data) return err(NtStatus::kInvalidParameter, "inline size");
    for (const Sge& s : wr.sg_list)
      e.inline_data.insert(e.inline_data.end(), reinterpret_cast<const uint8_t*>(s.addr),
                           reinterpret_cast<const uint8_t*>(s.addr) + s.length);
    if (e.inline_data.empty()) e.inline_data.reserve(1);
  }
  sq_.push_back(std::move(e));
  if (state_ == State::kRts) pump();
  return ok();
}

Status IwarpStream::postRecv(const RecvWr& wr) {
  if (!qp_bound_) return err(NtStatus::kInvalidDeviceState, "no QP");
  if (wr.sg_list.size() > qp_.caps.max_recv_sge) return err(NtStatus::kInvalidParameter, "sge");
  if (state_ == State::kError || state_ == State::kClosed) {
    Wc wc;
    wc.wr_id = wr.wr_id;
    wc.status = WcStatus::kWrFlushErr;
    wc.opcode = WcOpcode::kRecv;
    wc.qp_num = qp_.qp_num;
    ev_.rq.push_back(wc);
    return ok();
  }
  if (rq_.size() >= qp_.caps.max_recv_wr) return err(NtStatus::kInsufficientResources, "RQ full");
  RqEntry r;
  r.wr_id = wr.wr_id;
  r.sges.assign(wr.sg_list.begin(), wr.sg_list.end());
  for (const Sge& s : r.sges) r.total += s.length;
  rq_.push_back(std::move(r));
  return ok();
}

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

// ---------------------------------------------------------------- receive

void IwarpStream::termFromHeader(Terminate& t, bool with_read) {
  t.hdr_m = true;
  t.ddp_seg_len = ulpdu_len_;
  bool tagged_etype = t.layer == TermLayer::kDdp && t.etype == term::kDdpTagged;
  if (hdr_.tagged == tagged_etype) {
    t.hdr_d = true;
    t.ddp_header.assign(rxh_ + 2, rxh_ + 2 + hdr_.length());
  }
  if (with_read && small_.size() == kReadRequestLen) {
    t.hdr_r = true;
    t.rdmap_header = small_;
  }
}

void IwarpStream::onHeader() {
  ByteReader r(ByteView(rxh_ + 2, rxh_have_ - 2));
  auto h = decodeDdpHeader(r);
  if (!h) return fail("DDP header");
  hdr_ = *h;
  if (cfg_.trace) cfg_.trace(cfg_.trace_ctx, false, hdr_, ulpdu_len_);
  rx_crc_ = crc32cUpdate(kCrc32cInit, rxh_, rxh_have_);
  payload_len_ = ulpdu_len_ - hdr_.length();
  payload_left_ = payload_len_;
  sink_ = Sink::kNone;
  Terminate t;
  if (hdr_.ddp_version != kDdpVersion) {
    t.layer = TermLayer::kDdp;
    t.etype = hdr_.tagged ? term::kDdpTagged : term::kDdpUntagged;
    t.code = hdr_.tagged ? term::kTInvalidDdpVersion : term::kUInvalidDdpVersion;
    termFromHeader(t, false);
    return sendTerminate(t);
  }
  if (hdr_.rdmap_version != kRdmapVersion) {
    t.layer = TermLayer::kRdmap;
    t.etype = term::kRdmapRemoteOperation;
    t.code = term::kInvalidRdmapVersion;
    termFromHeader(t, false);
    return sendTerminate(t);
  }
  auto unexpected = [&] {
    t.layer = TermLayer::kRdmap;
    t.etype = term::kRdmapRemoteOperation;
    t.code = term::kUnexpectedOpcode;
    termFromHeader(t, false);
    sendTerminate(t);
  };
  if (hdr_.tagged) {
    if (hdr_.op != RdmapOp::kWrite && hdr_.op != RdmapOp::kReadResponse) return unexpected();
    if (hdr_.op == RdmapOp::kReadResponse) {
      if (orq_.empty()) return unexpected();
      const OrqEntry& o = orq_.front();
      if (hdr_.stag != o.sink_stag || hdr_.to != o.sink_to + rr_declared_) rr_in_order_ = false;
      rr_declared_ += payload_len_;
    }
    if (payload_len_ > 0) {
      uint32_t access = hdr_.op == RdmapOp::kWrite ? kAccessRemoteWrite : kAccessLocalWrite;
      MemCheck c = mem_->lookup(hdr_.stag, qp_.pd, access, hdr_.to, payload_len_, &sink_mr_);
      if (c != MemCheck::kOk) {
        if (c == MemCheck::kAccess) {
          t.layer = TermLayer::kRdmap;
          t.etype = term::kRdmapRemoteProtection;
          t.code = term::kAccessRights;
        } else {
          t.layer = TermLayer::kDdp;
          t.etype = term::kDdpTagged;
          t.code = c == MemCheck::kBounds  ? term::kTBaseBounds
                   : c == MemCheck::kPd    ? term::kTStagNotAssociated
                   : c == MemCheck::kWrap  ? term::kTToWrap
                                           : term::kTInvalidStag;
        }
        termFromHeader(t, false);
        return sendTerminate(t);
      }
      sink_ = Sink::kTagged;
      sink_to_ = hdr_.to;
    }
  } else {
    auto untaggedError = [&](uint8_t code) {
      t.layer = TermLayer::kDdp;
      t.etype = term::kDdpUntagged;
      t.code = code;
      termFromHeader(t, false);
      sendTerminate(t);
    };
    switch (hdr_.qn) {
      case kQnSend: {
        if (hdr_.op != RdmapOp::kSend && hdr_.op != RdmapOp::kSendInv &&
            hdr_.op != RdmapOp::kSendSe && hdr_.op != RdmapOp::kSendSeInv)
          return unexpected();
        if (hdr_.msn != recv_msn_expected_) return untaggedError(term::kUInvalidMsn);
        if (rq_.empty()) return untaggedError(term::kUNoBuffer);
        const RqEntry& rq = rq_.front();
        if (uint64_t(hdr_.mo) + payload_len_ > rq.total) return untaggedError(term::kUTooLong);
        sink_ = Sink::kRecv;
        sink_sge_ = 0;
        uint64_t mo = hdr_.mo;
        while (sink_sge_ < rq.sges.size() && mo >= rq.sges[sink_sge_].length) {
          mo -= rq.sges[sink_sge_].length;
          sink_sge_++;
        }
        sink_sge_off_ = mo;
        sink_sge_mr_.reset();
        break;
      }
      case kQnReadRequest:
        if (hdr_.op != RdmapOp::kReadRequest) return unexpected();
        if (hdr_.msn != read_msn_expected_) return untaggedError(term::kUInvalidMsn);
        if (payload_len_ != kReadRequestLen || hdr_.mo != 0) return untaggedError(term::kUInvalidMo);
        sink_ = Sink::kSmall;
        break;
      case kQnTerminate:
        if (hdr_.op != RdmapOp::kTerminate) return unexpected();
        if (payload_len_ > 256) return untaggedError(term::kUTooLong);
        sink_ = Sink::kSmall;
        break;
      default:
        return untaggedError(term::kUInvalidQn);
    }
  }
  if (payload_len_ == 0) {
    trailer_need_ = mpaPadLen(ulpdu_len_) + kMpaCrcLen;
    trailer_have_ = 0;
    rx_ = Rx::kTrailer;
  } else {
    rx_ = Rx::kPayload;
  }
}

std::span<uint8_t> IwarpStream::nextDest() {
  if (payload_left_ == 0) return {};
  if (sink_ == Sink::kTagged) {
    size_t contig = 0;
    uint8_t* p = sink_mr_->translate(sink_to_, &contig);
    return {p, std::min(contig, payload_left_)};
  }
  if (sink_ == Sink::kRecv) {
    const RqEntry& rq = rq_.front();
    while (sink_sge_ < rq.sges.size() && sink_sge_off_ >= rq.sges[sink_sge_].length) {
      sink_sge_++;
      sink_sge_off_ = 0;
      sink_sge_mr_.reset();
    }
    if (sink_sge_ >= rq.sges.size()) return {};
    const Sge& s = rq.sges[sink_sge_];
    if (!sink_sge_mr_) {
      if (mem_->lookup(s.lkey, qp_.pd, kAccessLocalWrite, s.addr, s.length, &sink_sge_mr_) !=
          MemCheck::kOk) {
        sink_sge_mr_.reset();
        return {};
      }
    }
    size_t contig = 0;
    uint8_t* p = sink_sge_mr_->translate(s.addr + sink_sge_off_, &contig);
    size_t k = std::min<uint64_t>({contig, s.length - sink_sge_off_, payload_left_});
    return {p, k};
  }
  return {};
}

void IwarpStream::placeBytes(const uint8_t* p, size_t n) {
  if (crc_) rx_crc_ = crc32cUpdate(rx_crc_, p, n);
  if (sink_ == Sink::kSmall) {
    small_.insert(small_.end(), p, p + n);
    payload_left_ -= n;
    return;
  }
  while (n > 0) {
    std::span<uint8_t> d = nextDest();
    if (d.empty()) {
      if (sink_ == Sink::kRecv) {
        // A receive SGE with a bad lkey: local protection error, then the QP is in error.
        Wc wc;
        wc.wr_id = rq_.front().wr_id;
        wc.status = WcStatus::kLocProtErr;
        wc.opcode = WcOpcode::kRecv;
        wc.qp_num = qp_.qp_num;
        ev_.rq.push_back(wc);
        rq_.pop_front();
      }
      return fail("receive placement");
    }
    size_t k = std::min(n, d.size());
    std::memcpy(d.data(), p, k);
    p += k;
    n -= k;
    payload_left_ -= k;
    if (sink_ == Sink::kTagged) sink_to_ += k;
    else sink_sge_off_ += k;
  }
}

std::span<uint8_t> IwarpStream::rxDirect() {
  if (rx_ != Rx::kPayload || (sink_ != Sink::kTagged && sink_ != Sink::kRecv)) return {};
  if (state_ != State::kRts && state_ != State::kAwaitRtr) return {};
  return nextDest();
}

void IwarpStream::rxDirectDone(size_t n) {
  std::span<uint8_t> d = nextDest();
  if (n > d.size()) n = d.size();
  if (crc_) rx_crc_ = crc32cUpdate(rx_crc_, d.data(), n);
  payload_left_ -= n;
  if (sink_ == Sink::kTagged) sink_to_ += n;
  else sink_sge_off_ += n;
  if (payload_left_ == 0) {
    trailer_need_ = mpaPadLen(ulpdu_len_) + kMpaCrcLen;
    trailer_have_ = 0;
    rx_ = Rx::kTrailer;
  }
}

size_t IwarpStream::rxPlan(std::span<uint8_t> scratch, RxPiece* out, size_t max) {
  constexpr size_t kTail = 64;            // enough for a trailer and the next header
  constexpr size_t kMaxPlanned = 1 << 20;  // payload bytes per read
  std::span<uint8_t> d = rxDirect();
  if (d.empty() || max < 4 || scratch.size() < kTail) {
    out[0] = {scratch.data(), scratch.size(), false};
    return 1;
  }
  size_t n = 0;
  out[n++] = {d.data(), d.size(), true};
  size_t used = 0;  // of scratch
  if (sink_ == Sink::kTagged && hdr_.op == RdmapOp::kReadResponse && rr_in_order_ &&
      d.size() == payload_left_ && !orq_.empty() && sink_mr_) {
    const OrqEntry& o = orq_.front();
    const MrEntry& mr = *sink_mr_;
    uint64_t to = sink_to_ + payload_left_;  // == o.sink_to + rr_declared_ (in order)
    size_t ulpdu = ulpdu_len_;
    size_t planned = d.size();
    uint64_t left = o.size - rr_declared_;  // the response's bytes no header has declared yet
    while (left > 0 && n + 3 <= max) {
      size_t next = std::min<uint64_t>(payload_len_, left);
      size_t gap = mpaPadLen(ulpdu) + kMpaCrcLen + kMpaLenField + kDdpTaggedHeaderLen;
      if (used + gap + kTail > scratch.size() || planned + next > kMaxPlanned) break;
      if (to < mr.iova || to - mr.iova > mr.length || next > mr.length - (to - mr.iova)) break;
      size_t contig = 0;
      uint8_t* p = mr.translate(to, &contig);
      if (contig < next) break;
      out[n++] = {scratch.data() + used, gap, false};
      used += gap;
      out[n++] = {p, next, true};
      planned += next;
      left -= next;
      to += next;
      ulpdu = kDdpTaggedHeaderLen + next;
    }
  }
  out[n++] = {scratch.data() + used, kTail, false};
  return n;
}

void IwarpStream::rxPlanDone(const RxPiece* plan, size_t count, size_t n) {
  for (size_t i = 0; i < count && n > 0; i++) {
    const RxPiece& piece = plan[i];
    size_t k = std::min(piece.len, n);
    n -= k;
    if (!piece.direct) {
      rxBytes(ByteView(piece.data, k));
      continue;
    }
    std::span<uint8_t> d = rxDirect();
    if (d.data() == piece.data && d.size() >= k) {
      rxDirectDone(k);
      continue;
    }
    // Not where the stream places the next payload bytes (the peer changed its FPDU size, or
    // the stream stopped): parse them as ordinary input, from a copy since placing them may
    // write over where they are.
    rr_in_order_ = false;  // no more guessing for this response
    rx_side_.assign(piece.data, piece.data + k);
    rxBytes(rx_side_);
  }
}

void IwarpStream::rxBytes(ByteView data) {
  while (!data.empty()) {
    if (state_ == State::kAwaitRequest || state_ == State::kAwaitReply) {
      mpaInput(data);
      continue;
    }
    if (state_ == State::kRequestReceived) {
      held_.insert(held_.end(), data.begin(), data.end());
      return;
    }
    if (state_ == State::kError || state_ == State::kClosed) return;
    switch (rx_) {
      case Rx::kLen:
      case Rx::kHdr: {
        size_t k = std::min(rxh_need_ - rxh_have_, data.size());
        std::memcpy(rxh_ + rxh_have_, data.data(), k);
        rxh_have_ += k;
        data = data.subspan(k);
        if (rxh_have_ < rxh_need_) break;
        if (rx_ == Rx::kLen) {
          ulpdu_len_ = uint16_t(rxh_[0] << 8 | rxh_[1]);
          if (ulpdu_len_ < kDdpTaggedHeaderLen) {
            last_error_ = "ULPDU too short";
            fail("ULPDU too short");
            return;
          }
          rx_ = Rx::kHdr;
          rxh_need_ = 4;
          break;
        }
        if (rxh_need_ == 4) {
          bool tagged = rxh_[2] & 0x80;
          size_t hl = tagged ? kDdpTaggedHeaderLen : kDdpUntaggedHeaderLen;
          if (ulpdu_len_ < hl) {
            fail("ULPDU shorter than its DDP header");
            return;
          }
          rxh_need_ = 2 + hl;
          break;
        }
        onHeader();
        break;
      }
      case Rx::kPayload: {
        size_t k = std::min(payload_left_, data.size());
        placeBytes(data.data(), k);
        data = data.subspan(k);
        if (state_ != State::kRts && state_ != State::kAwaitRtr) return;
        if (payload_left_ == 0) {
          trailer_need_ = mpaPadLen(ulpdu_len_) + kMpaCrcLen;
          trailer_have_ = 0;
          rx_ = Rx::kTrailer;
        }
        break;
      }
      case Rx::kTrailer: {
        size_t k = std::min(trailer_need_ - trailer_have_, data.size());
        std::memcpy(trailer_ + trailer_have_, data.data(), k);
        trailer_have_ += k;
        data = data.subspan(k);
        if (trailer_have_ == trailer_need_) onFpduComplete();
        break;
      }
      case Rx::kDiscard:
        return;
    }
  }
}

void IwarpStream::onFpduComplete() {
  size_t pad = trailer_need_ - kMpaCrcLen;
  if (crc_) {
    uint32_t s = pad ? crc32cUpdate(rx_crc_, trailer_, pad) : rx_crc_;
    uint32_t want = crc32cFinal(s);
    uint32_t got = le32(trailer_ + pad);
    if (want != got) {
      Terminate t;
      t.layer = TermLayer::kLlp;
      t.etype = 0;
      t.code = term::kLlpCrc;
      return sendTerminate(t);
    }
  }
  rx_ = Rx::kLen;
  rxh_have_ = 0;
  rxh_need_ = 2;
  if (state_ == State::kAwaitRtr) enterRts();
  const DdpHeader h = hdr_;
  Sink sink = sink_;
  sink_ = Sink::kNone;
  sink_mr_.reset();
  Bytes small = std::move(small_);
  small_.clear();
  if (h.tagged) {
    if (h.op == RdmapOp::kReadResponse && h.last) {
      if (orq_.empty()) return;
      OrqEntry o = orq_.front();
      orq_.pop_front();
      rr_declared_ = 0;
      rr_in_order_ = true;
      if (o.seq != 0 && !sq_.empty() && o.seq >= sq_.front().seq) {
        SqEntry& e = sq_[size_t(o.seq - sq_.front().seq)];
        e.reads_outstanding--;
        if (e.encoded && e.reads_outstanding == 0) e.done = true;
      }
      pump();
    }
    return;
  }
  (void)sink;
  switch (h.qn) {
    case kQnSend: {
      if (!h.last) return;
      RqEntry r = std::move(rq_.front());
      rq_.pop_front();
      recv_msn_expected_++;
      Wc wc;
      wc.wr_id = r.wr_id;
      wc.opcode = WcOpcode::kRecv;
      wc.byte_len = h.mo + uint32_t(payload_len_);
      wc.qp_num = qp_.qp_num;
      if (h.op == RdmapOp::kSendInv || h.op == RdmapOp::kSendSeInv) {
        MemCheck c = mem_->invalidate(h.stag, qp_.pd, true);
        if (c != MemCheck::kOk) {
          ev_.rq.push_back(wc);  // the data arrived; the invalidation failed: terminate
          Terminate t;
          t.layer = TermLayer::kRdmap;
          t.etype = term::kRdmapRemoteOperation;
          t.code = term::kStagCannotInvalidate;
          termFromHeader(t, false);
          return sendTerminate(t);
        }
        wc.flags |= kWcWithInv;
        wc.invalidated_rkey = h.stag;
      }
      if (h.op == RdmapOp::kSendSe || h.op == RdmapOp::kSendSeInv) ev_.solicited = true;
      ev_.rq.push_back(wc);
      return;
    }
    case kQnReadRequest: {
      read_msn_expected_++;
      ByteReader r(small);
      auto q = decodeReadRequest(r);
      if (!q) return fail("read request");
      small_ = std::move(small);  // for a Terminate's R header
      onReadRequest(*q);
      small_.clear();
      return;
    }
    case kQnTerminate: {
      auto t = decodeTerminate(small);
      if (!t) return fail("undecodable terminate");
      onTerminate(*t);
      return;
    }
    default:
      return;
  }
}

void IwarpStream::onReadRequest(const ReadRequest& q) {
  std::vector<std::pair<uint8_t*, size_t>> chunks;
  if (q.size > 0) {
    MrRef mr;
    MemCheck c = mem_->lookup(q.src_stag, qp_.pd, kAccessRemoteRead, q.src_to, q.size, &mr);
    if (c != MemCheck::kOk) {
      Terminate t;
      t.layer = TermLayer::kRdmap;
      t.etype = term::kRdmapRemoteProtection;
      t.code = protectionCode(c);
      termFromHeader(t, true);
      return sendTerminate(t);
    }
    uint64_t to = q.src_to;
    uint64_t left = q.size;
    while (left) {
      size_t contig = 0;
      uint8_t* p = mr->translate(to, &contig);
      size_t k = size_t(std::min<uint64_t>(contig, left));
      chunks.emplace_back(p, k);
      to += k;
      left -= k;
    }
  }
  queueTagged(RdmapOp::kReadResponse, q.sink_stag, q.sink_to, chunks, 0);
}

void IwarpStream::onTerminate(const Terminate& t) {
  WcStatus st = WcStatus::kRemOpErr;
  if ((t.layer == TermLayer::kRdmap && t.etype == term::kRdmapRemoteProtection) ||
      (t.layer == TermLayer::kDdp && t.etype == term::kDdpTagged))
    st = WcStatus::kRemAccessErr;
  else if (t.layer == TermLayer::kDdp && t.etype == term::kDdpUntagged && t.code == term::kUNoBuffer)
    st = WcStatus::kRnrRetryExcErr;
  else if (t.layer == TermLayer::kDdp && t.etype == term::kDdpUntagged)
    st = WcStatus::kRemInvReqErr;
  bool reported = false;
  for (SqEntry& e : sq_) {
    if (!e.done) {
      e.done = true;
      e.status = st;
      reported = true;
      break;
    }
  }
  if (!reported) {
    pending_err_ = st;
    pending_vendor_ = t.vendorCode();
  }
  // Report the terminate's code on the failed completion.
  uint32_t vendor = t.vendorCode();
  size_t before = ev_.sq.size();
  last_error_ = "terminated by peer";
  state_ = State::kError;
  rx_ = Rx::kDiscard;
  flushAll();
  for (size_t i = before; i < ev_.sq.size(); i++)
    if (ev_.sq[i].status == st) {
      ev_.sq[i].vendor_err = vendor;
      break;
    }
  ev_.closed = true;
}

}  // namespace sd::rdma::soft
