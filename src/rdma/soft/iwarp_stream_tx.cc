// The iWARP endpoint's transmit side: work requests (postSend, postRecv), FPDU encoding at post
// time (header, a pointer into registered memory, pad + CRC) so the shell hands whole FPDUs to
// the kernel with one gathered write, send-queue completion, flush and Terminate generation.
#include <algorithm>
#include <cstring>
#include <utility>

#include "rdma/soft/crc32c.h"
#include "rdma/soft/iwarp_stream.h"

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
}  // namespace

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
  queueMessage(h, to, chunks, seq);
}

// The FPDUs of one message: `chunks` cut at max_payload, each at its offset from `start` (TO
// when tagged, MO when not), the last one marked and carrying `seq`; an empty message is one
// empty last FPDU.
void IwarpStream::queueMessage(DdpHeader& h, uint64_t start, const std::vector<std::pair<uint8_t*, size_t>>& chunks,
                               uint64_t seq) {
  auto at = [&h](uint64_t off) {
    if (h.tagged) h.to = off;
    else h.mo = uint32_t(off);
  };
  if (chunks.empty()) {
    at(start);
    h.last = true;
    queueFpdu(h, nullptr, 0, nullptr, 0, seq);
    return;
  }
  uint64_t off = start;
  for (size_t c = 0; c < chunks.size(); c++) {
    const uint8_t* p = chunks[c].first;
    size_t left = chunks[c].second;
    while (left) {
      size_t k = std::min<size_t>(left, cfg_.max_payload);
      left -= k;
      at(off);
      h.last = left == 0 && c + 1 == chunks.size();
      queueFpdu(h, nullptr, 0, p, k, h.last ? seq : 0);
      p += k;
      off += k;
    }
  }
}

bool IwarpStream::encodeWr(SqEntry& e) {
  switch (e.wr.opcode) {
    case WrOpcode::kSend:
    case WrOpcode::kSendWithInv: return encodeSend(e);
    case WrOpcode::kRdmaWrite: return encodeWrite(e);
    case WrOpcode::kRdmaRead: return encodeRead(e);
    case WrOpcode::kRegMr: return encodeRegMr(e);
    case WrOpcode::kLocalInv: return encodeLocalInv(e);
  }
  return true;
}

// The bytes a Send or Write carries: its inline copy, or its SGEs resolved in registered memory.
// False (the entry failed, the stream with it) on a local protection error.
bool IwarpStream::gatherSource(SqEntry& e, const char* why,
                               std::vector<std::pair<uint8_t*, size_t>>* chunks) {
  if (!e.inline_data.empty()) {
    chunks->emplace_back(e.inline_data.data(), e.inline_data.size());
    return true;
  }
  if (resolveLocal(e.sges, 0, chunks)) return true;
  e.done = true;
  e.status = WcStatus::kLocProtErr;
  fail(why);
  return false;
}

bool IwarpStream::encodeSend(SqEntry& e) {
  const SendWr& wr = e.wr;
  std::vector<std::pair<uint8_t*, size_t>> chunks;
  if (!gatherSource(e, "local protection error (send lkey)", &chunks)) return true;
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
  queueMessage(h, 0, chunks, e.seq);
  e.encoded = true;
  return true;
}

bool IwarpStream::encodeWrite(SqEntry& e) {
  std::vector<std::pair<uint8_t*, size_t>> chunks;
  if (!gatherSource(e, "local protection error (write lkey)", &chunks)) return true;
  uint64_t total = 0;
  for (auto& c : chunks) total += c.second;
  e.byte_len = uint32_t(total);
  queueTagged(RdmapOp::kWrite, e.wr.rkey, e.wr.remote_addr, chunks, e.seq);
  e.encoded = true;
  return true;
}

// One Read Request per local SGE, as far as the ORD allows: false while it waits for room (or
// for a fence), the entry staying the head of the unencoded list.
bool IwarpStream::encodeRead(SqEntry& e) {
  const SendWr& wr = e.wr;
  if (e.read_next == 0 && e.reads_outstanding == 0) {
    if ((wr.flags & kSendFence) && !orq_.empty()) return false;
    for (const Sge& s : e.sges) e.byte_len += s.length;
  }
  while (e.read_next < e.sges.size()) {
    if (orq_.size() >= ord_) return false;  // ORD exhausted: wait for a response
    const Sge& s = e.sges[e.read_next];
    MrRef mr;
    if (mem_->lookup(s.lkey, qp_.pd, kAccessLocalWrite, s.addr, s.length, &mr) != MemCheck::kOk) {
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

bool IwarpStream::encodeRegMr(SqEntry& e) {
  const SendWr& wr = e.wr;
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

bool IwarpStream::encodeLocalInv(SqEntry& e) {
  MemCheck c = mem_->invalidate(e.wr.invalidate_rkey, qp_.pd, false);
  e.encoded = true;
  e.done = true;
  if (c != MemCheck::kOk) e.status = WcStatus::kLocProtErr;
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


// ---------------------------------------------------------------- work requests

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

}  // namespace sd::rdma::soft
