// The iWARP endpoint's receive side: parses headers from small reads and exposes the payload's
// destination so the shell reads payload straight into registered memory (rxDirect, rxPlan).
// Placement happens as bytes arrive (RFC 5041 allows placement before validation); delivery
// (completions) waits for the FPDU's CRC.
#include <algorithm>
#include <cstring>
#include <utility>

#include "rdma/soft/crc32c.h"
#include "rdma/soft/iwarp_stream.h"

namespace sd::rdma::soft {
namespace {
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

// A received FPDU header: checks versions, opcode, sequence and the sink, and picks where its
// payload goes (sink_), or terminates the stream.
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
  if (hdr_.ddp_version != kDdpVersion)
    return terminateHeader(TermLayer::kDdp, hdr_.tagged ? term::kDdpTagged : term::kDdpUntagged,
                           hdr_.tagged ? term::kTInvalidDdpVersion : term::kUInvalidDdpVersion);
  if (hdr_.rdmap_version != kRdmapVersion)
    return terminateHeader(TermLayer::kRdmap, term::kRdmapRemoteOperation,
                           term::kInvalidRdmapVersion);
  if (!(hdr_.tagged ? acceptTagged() : acceptUntagged())) return;
  if (payload_len_ == 0) {
    trailer_need_ = mpaPadLen(ulpdu_len_) + kMpaCrcLen;
    trailer_have_ = 0;
    rx_ = Rx::kTrailer;
  } else {
    rx_ = Rx::kPayload;
  }
}

// Terminates the stream for the FPDU whose header is in rxh_/hdr_.
void IwarpStream::terminateHeader(TermLayer layer, uint8_t etype, uint8_t code) {
  Terminate t;
  t.layer = layer;
  t.etype = etype;
  t.code = code;
  termFromHeader(t, false);
  sendTerminate(t);
}

// A tagged FPDU (RDMA Write, Read Response): its target must be registered memory of our PD
// with the right access. False when the stream was terminated.
bool IwarpStream::acceptTagged() {
  if (hdr_.op != RdmapOp::kWrite && hdr_.op != RdmapOp::kReadResponse) {
    terminateHeader(TermLayer::kRdmap, term::kRdmapRemoteOperation, term::kUnexpectedOpcode);
    return false;
  }
  if (hdr_.op == RdmapOp::kReadResponse) {
    if (orq_.empty()) {
      terminateHeader(TermLayer::kRdmap, term::kRdmapRemoteOperation, term::kUnexpectedOpcode);
      return false;
    }
    const OrqEntry& o = orq_.front();
    if (hdr_.stag != o.sink_stag || hdr_.to != o.sink_to + rr_declared_) rr_in_order_ = false;
    rr_declared_ += payload_len_;
  }
  if (payload_len_ == 0) return true;
  uint32_t access = hdr_.op == RdmapOp::kWrite ? kAccessRemoteWrite : kAccessLocalWrite;
  MemCheck c = mem_->lookup(hdr_.stag, qp_.pd, access, hdr_.to, payload_len_, &sink_mr_);
  if (c == MemCheck::kAccess) {
    terminateHeader(TermLayer::kRdmap, term::kRdmapRemoteProtection, term::kAccessRights);
    return false;
  }
  if (c != MemCheck::kOk) {
    terminateHeader(TermLayer::kDdp, term::kDdpTagged,
                    c == MemCheck::kBounds  ? term::kTBaseBounds
                    : c == MemCheck::kPd    ? term::kTStagNotAssociated
                    : c == MemCheck::kWrap  ? term::kTToWrap
                                            : term::kTInvalidStag);
    return false;
  }
  sink_ = Sink::kTagged;
  sink_to_ = hdr_.to;
  return true;
}

// An untagged FPDU: a Send into the next posted receive, a Read Request or a Terminate, each on
// its queue number and in MSN order. False when the stream was terminated.
bool IwarpStream::acceptUntagged() {
  auto unexpected = [&] {
    terminateHeader(TermLayer::kRdmap, term::kRdmapRemoteOperation, term::kUnexpectedOpcode);
    return false;
  };
  auto untaggedError = [&](uint8_t code) {
    terminateHeader(TermLayer::kDdp, term::kDdpUntagged, code);
    return false;
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
      return true;
    }
    case kQnReadRequest:
      if (hdr_.op != RdmapOp::kReadRequest) return unexpected();
      if (hdr_.msn != read_msn_expected_) return untaggedError(term::kUInvalidMsn);
      if (payload_len_ != kReadRequestLen || hdr_.mo != 0) return untaggedError(term::kUInvalidMo);
      sink_ = Sink::kSmall;
      return true;
    case kQnTerminate:
      if (hdr_.op != RdmapOp::kTerminate) return unexpected();
      if (payload_len_ > 256) return untaggedError(term::kUTooLong);
      sink_ = Sink::kSmall;
      return true;
    default:
      return untaggedError(term::kUInvalidQn);
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
