// The server association is a small state machine driven only by bytes written to the pipe:
// unbound -> bound (after bind_ack) with a set of accepted contexts, plus at most one request
// being reassembled. Every reply is queued as one message, so READ never mixes two PDUs.
#include "rpc/pipe.h"

#include <algorithm>

#include "base/text.h"

namespace sd::rpc {

namespace {

// Assigned when the client asks for a new association group (assoc_group_id 0). Each pipe open is
// its own group: there is no cross-pipe context handle state to share.
constexpr uint32_t kNewAssocGroupId = 0x000053f0;

// Bind-time features we implement (MS-RPCE 2.2.2.14): none. The negotiate_ack says so.
constexpr uint16_t kSupportedBindTimeFeatures = 0;

uint16_t clampFrag(uint16_t offered) {
  return std::clamp<uint16_t>(offered, kMustRecvFragSize, RpcPipe::kMaxFragSize);
}

}  // namespace

RpcPipe::RpcPipe(SyntaxId interface, std::string secondary_address)
    : interface_(interface), secondary_address_(std::move(secondary_address)) {}

Status RpcPipe::write(ByteView data) {
  if (broken_) return err(NtStatus::kPipeBroken, "association broken");
  in_.insert(in_.end(), data.begin(), data.end());
  size_t used = 0;
  Status result = ok();
  // Each round consumes at least one 16-byte PDU header, so the loop is bounded by in_.size().
  while (true) {
    ByteView rest = ByteView(in_).subspan(used);
    auto frag_length = peekFragLength(rest);
    if (!frag_length) break;
    if (rest[0] != 5 || *frag_length < kCommonHeaderSize) {
      // Not DCE/RPC: nothing further can be delimited. MS-RPCE 3.3.3: close the association.
      broken_ = true;
      result = err(NtStatus::kPipeBroken, "malformed PDU framing");
      break;
    }
    if (rest.size() < *frag_length) break;
    Status s = processPdu(rest.first(*frag_length));
    used += *frag_length;
    if (!s) {
      broken_ = true;
      result = s;
      break;
    }
  }
  if (broken_) {
    in_.clear();
  } else {
    in_.erase(in_.begin(), in_.begin() + ptrdiff_t(used));
  }
  return result;
}

Result<PipeOutput> RpcPipe::read(size_t max) {
  if (out_.empty()) return err(broken_ ? NtStatus::kPipeBroken : kStatusPipeEmpty, "pipe empty");
  const Bytes& m = out_.front();
  size_t n = std::min(max, m.size() - out_pos_);
  PipeOutput o;
  o.bytes.assign(m.begin() + ptrdiff_t(out_pos_), m.begin() + ptrdiff_t(out_pos_ + n));
  out_pos_ += n;
  if (out_pos_ == m.size()) {
    out_bytes_ -= m.size();
    out_.pop_front();
    out_pos_ = 0;
  } else {
    o.more = true;
  }
  return o;
}

Result<PipeOutput> RpcPipe::transceive(ByteView in, size_t max_out) {
  if (!out_.empty()) return err(kStatusPipeBusy, "unread reply pending");
  SD_CHECK(write(in));
  if (out_.empty()) return PipeOutput{};
  return read(max_out);
}

Status RpcPipe::processPdu(ByteView pdu) {
  auto h = SD_TRY(decodeHeader(pdu));
  bool bind_like = h.ptype == PType::kBind || h.ptype == PType::kAlterContext;
  if (h.rpc_vers_minor > 1 || !h.supportedDrep()) {
    // C706 12.6.4.5 / MS-RPCE 3.3.1.5.2: refuse binds we cannot read with a bind_nak; anything
    // else gets a fault so the client is not left waiting.
    if (h.ptype == PType::kBind) {
      BindNakPdu nak;
      nak.provider_reject_reason =
          h.rpc_vers_minor > 1 ? kNakProtocolVersionNotSupported : kNakReasonNotSpecified;
      queue(encodeBindNak(h.call_id, nak));
    } else {
      queueFault(h.call_id, 0, kNcaProtoError, true);
    }
  } else if (bind_like) {
    onBind(h, pdu);
  } else if (h.ptype == PType::kRequest) {
    onRequest(h, pdu);
  } else if (h.ptype == PType::kCoCancel || h.ptype == PType::kOrphaned) {
    // C706 12.6.4.6 / 12.6.4.8: the client abandons the call being sent; nothing to answer.
    if (pending_ && pending_->call_id == h.call_id) pending_.reset();
  } else if (h.ptype == PType::kAuth3) {
    // Only sent after an authenticated bind, which we refuse; ignore as Windows does.
  } else {
    queueFault(h.call_id, 0, kNcaProtoError, true);
  }
  if (out_bytes_ > kMaxQueuedOutput)
    return err(NtStatus::kInsufficientResources, "too many unread replies");
  return ok();
}

ContextResult RpcPipe::negotiateContext(const PresentationContext& c) {
  ContextResult r;
  uint16_t features = 0;
  if (!c.transfer_syntaxes.empty() && isBindTimeFeatureSyntax(c.transfer_syntaxes[0], &features)) {
    // MS-RPCE 3.3.1.5.3: answer with the subset of the offered features we support.
    r.result = kResultNegotiateAck;
    r.reason = features & kSupportedBindTimeFeatures;
    return r;
  }
  const SyntaxId& a = c.abstract_syntax;
  if (a.uuid != interface_.uuid || a.version_major != interface_.version_major ||
      a.version_minor > interface_.version_minor) {
    r.result = kResultProviderRejection;
    r.reason = kReasonAbstractSyntaxNotSupported;
    return r;
  }
  const SyntaxId ndr = ndr20Syntax();
  for (const auto& t : c.transfer_syntaxes) {
    if (t == ndr) {
      contexts_.insert(c.context_id);
      r.transfer_syntax = ndr;
      return r;
    }
  }
  // NDR64 and anything else: MS-RPCE 3.3.1.5.2.2.
  r.result = kResultProviderRejection;
  r.reason = kReasonTransferSyntaxesNotSupported;
  return r;
}

void RpcPipe::onBind(const PduHeader& h, ByteView pdu) {
  bool alter = h.ptype == PType::kAlterContext;
  auto nak = [&](uint16_t reason) {
    BindNakPdu n;
    n.provider_reject_reason = reason;
    queue(encodeBindNak(h.call_id, n));
  };
  if (alter && !bound_) return queueFault(h.call_id, 0, kNcaProtoError, true);
  if (!alter && bound_) return nak(kNakReasonNotSpecified);  // one bind per association
  if (h.auth_length != 0) {
    // Pipes rely on the SMB session's security; RPC-level authentication is not offered.
    if (alter) return queueFault(h.call_id, 0, kRpcAccessDenied, true);
    return nak(kNakAuthenticationTypeNotRecognized);
  }
  auto b = decodeBind(pdu);
  if (!b) {
    if (alter) return queueFault(h.call_id, 0, kNcaProtoError, true);
    return nak(kNakReasonNotSpecified);
  }
  if (!alter) {
    // C706 12.6.3.3: we transmit at most what the client receives, and the reverse.
    max_xmit_frag_ = clampFrag(b->max_recv_frag);
    max_recv_frag_ = clampFrag(b->max_xmit_frag);
    assoc_group_id_ = b->assoc_group_id ? b->assoc_group_id : kNewAssocGroupId;
  }
  BindAckPdu ack;
  ack.max_xmit_frag = max_xmit_frag_;
  ack.max_recv_frag = max_recv_frag_;
  ack.assoc_group_id = assoc_group_id_;
  if (!alter) ack.secondary_address = secondary_address_;
  for (const auto& c : b->contexts) ack.results.push_back(negotiateContext(c));
  bound_ = true;
  queue(encodeBindAck(h.call_id, ack, alter ? PType::kAlterContextResp : PType::kBindAck));
}

void RpcPipe::onRequest(const PduHeader& h, ByteView pdu) {
  auto q = decodeRequest(pdu);
  if (!q || !bound_) {
    pending_.reset();
    return queueFault(h.call_id, q ? q->context_id : 0, kNcaProtoError, true);
  }
  if (h.auth_length != 0) {
    pending_.reset();
    return queueFault(h.call_id, q->context_id, kRpcAccessDenied, true);
  }
  if (h.pfc_flags & kPfcFirstFrag) {
    // A new call replaces any call left unfinished (the client gave up on it).
    pending_ =
        PendingCall{h.call_id, q->context_id, q->opnum, Bytes(q->stub.begin(), q->stub.end())};
  } else {
    if (!pending_ || pending_->call_id != h.call_id) {
      pending_.reset();
      return queueFault(h.call_id, q->context_id, kNcaProtoError, true);
    }
    if (q->stub.size() > kMaxRequestStub - std::min(kMaxRequestStub, pending_->stub.size())) {
      pending_.reset();
      return queueFault(h.call_id, q->context_id, kNcaFaultRemoteNoMemory, true);
    }
    pending_->stub.insert(pending_->stub.end(), q->stub.begin(), q->stub.end());
  }
  if (!(h.pfc_flags & kPfcLastFrag)) return;
  PendingCall c = std::move(*pending_);
  pending_.reset();
  if (!contexts_.count(c.context_id))
    return queueFault(c.call_id, c.context_id, kNcaUnknownIf, true);
  CallResult r = call(c.opnum, c.stub);
  if (r.fault) return queueFault(c.call_id, c.context_id, r.fault, true);
  queueResponse(c.call_id, c.context_id, r.stub);
}

void RpcPipe::queueFault(uint32_t call_id, uint16_t context_id, uint32_t status,
                         bool did_not_execute) {
  FaultPdu f;
  f.context_id = context_id;
  f.status = status;
  uint8_t flags = kPfcFirstFrag | kPfcLastFrag | (did_not_execute ? kPfcDidNotExecute : 0);
  queue(encodeFault(call_id, flags, f));
}

void RpcPipe::queueResponse(uint32_t call_id, uint16_t context_id, const Bytes& stub) {
  // C706 12.6.3.3: each fragment fits max_xmit_frag; all but the last carry a multiple of 8 stub
  // bytes so NDR alignment is the same in every fragment.
  size_t chunk = ((max_xmit_frag_ - kResponseHeaderSize) / 8) * 8;
  size_t offset = 0;
  do {
    size_t n = std::min(chunk, stub.size() - offset);
    uint8_t flags =
        uint8_t((offset == 0 ? kPfcFirstFrag : 0) | (offset + n == stub.size() ? kPfcLastFrag : 0));
    ResponsePdu p;
    p.alloc_hint = uint32_t(stub.size() - offset);
    p.context_id = context_id;
    p.stub = ByteView(stub).subspan(offset, n);
    queue(encodeResponse(call_id, flags, p));
    offset += n;
  } while (offset < stub.size());
}

void RpcPipe::queue(Bytes pdu) {
  out_bytes_ += pdu.size();
  out_.push_back(std::move(pdu));
}

// --- srvsvc ---

SrvsvcPipe::SrvsvcPipe(ShareProvider provider)
    : RpcPipe(srvsvcSyntax(), "\\PIPE\\srvsvc"), provider_(std::move(provider)) {}

CallResult SrvsvcPipe::call(uint16_t opnum, ByteView stub) {
  switch (opnum) {
    case kOpNetrShareEnum:
      return shareEnum(stub);
    case kOpNetrShareGetInfo:
      return shareGetInfo(stub);
    case kOpNetrServerGetInfo:
      return serverGetInfo(stub);
    default:
      return CallResult::faultWith(kNcaOpRngError);
  }
}

CallResult SrvsvcPipe::shareEnum(ByteView stub) {
  auto q = decodeNetrShareEnumRequest(stub);
  if (!q) return CallResult::faultWith(kRpcBadStubData);
  NetrShareEnumResponse p;
  p.level = q->level;
  // [in, out, unique]: NULL stays NULL; 0 on output means the enumeration is complete.
  if (q->resume_handle) p.resume_handle = 0;
  if (!isSupportedShareEnumLevel(q->level)) {
    p.status = kWerrInvalidLevel;
    return CallResult{encodeNetrShareEnumResponse(p)};
  }
  std::vector<ShareInfo> shares;
  if (provider_) shares = provider_().second;
  size_t start = std::min<size_t>(q->resume_handle.value_or(0), shares.size());
  // PreferedMaximumLength is advisory (MS-SRVS 3.1.4.8); everything goes in one response, as
  // Windows does for MAX_PREFERRED_LENGTH and as every client we know asks.
  p.shares.assign(shares.begin() + ptrdiff_t(start), shares.end());
  p.total_entries = uint32_t(p.shares.size());
  return CallResult{encodeNetrShareEnumResponse(p)};
}

CallResult SrvsvcPipe::shareGetInfo(ByteView stub) {
  auto q = decodeNetrShareGetInfoRequest(stub);
  if (!q) return CallResult::faultWith(kRpcBadStubData);
  NetrShareGetInfoResponse p;
  p.level = q->level;
  if (!isSupportedShareGetInfoLevel(q->level)) {
    p.status = kWerrInvalidLevel;
    return CallResult{encodeNetrShareGetInfoResponse(p)};
  }
  std::vector<ShareInfo> shares;
  if (provider_) shares = provider_().second;
  auto it = std::find_if(shares.begin(), shares.end(),
                         [&](const ShareInfo& s) { return iequals(s.name, q->net_name); });
  if (it == shares.end()) {
    p.status = kNerrNetNameNotFound;
  } else {
    p.info = *it;
  }
  return CallResult{encodeNetrShareGetInfoResponse(p)};
}

CallResult SrvsvcPipe::serverGetInfo(ByteView stub) {
  auto q = decodeNetrServerGetInfoRequest(stub);
  if (!q) return CallResult::faultWith(kRpcBadStubData);
  NetrServerGetInfoResponse p;
  p.level = q->level;
  if (!isSupportedServerGetInfoLevel(q->level)) {
    p.status = kWerrInvalidLevel;
  } else {
    p.info = provider_ ? provider_().first : ServerInfo{};
  }
  return CallResult{encodeNetrServerGetInfoResponse(p)};
}

std::unique_ptr<PipeEndpoint> openPipe(std::string_view name, ShareProvider provider) {
  for (std::string_view prefix : {"\\PIPE\\", "PIPE\\"}) {
    if (name.size() > prefix.size() && iequals(name.substr(0, prefix.size()), prefix)) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  if (iequals(name, "srvsvc")) return std::make_unique<SrvsvcPipe>(std::move(provider));
  return nullptr;
}

}  // namespace sd::rpc
