// The client keeps one call outstanding at a time, which is all share enumeration needs; the
// reply is accumulated fragment by fragment so any READ size works.
#include "rpc/srvsvc_client.h"

#include <algorithm>

namespace sd::rpc {

SrvsvcClient::SrvsvcClient(std::string server_name) : server_name_(std::move(server_name)) {}

Bytes SrvsvcClient::bindRequest() {
  BindPdu b;
  b.max_xmit_frag = kOurMaxFrag;
  b.max_recv_frag = kOurMaxFrag;
  b.contexts.push_back({context_id_, srvsvcSyntax(), {ndr20Syntax()}});
  call_id_ = next_call_id_++;
  bound_ = false;
  return encodeBind(call_id_, b);
}

Status SrvsvcClient::onBindAck(ByteView pdu) {
  auto h = SD_TRY(decodeHeader(pdu));
  if (h.call_id != call_id_) return err(NtStatus::kInvalidNetworkResponse, "bind reply call_id");
  if (h.ptype == PType::kBindNak) {
    auto nak = SD_TRY(decodeBindNak(pdu));
    last_status_ = nak.provider_reject_reason;
    return err(NtStatus::kNotSupported, "bind_nak");
  }
  if (h.ptype == PType::kFault) {
    last_status_ = SD_TRY(decodeFault(pdu)).status;
    return err(NtStatus::kNotSupported, "bind fault");
  }
  auto ack = SD_TRY(decodeBindAck(pdu));
  if (ack.results.empty() || ack.results[0].result != kResultAcceptance ||
      ack.results[0].transfer_syntax != ndr20Syntax())
    return err(NtStatus::kNotSupported, "srvsvc context rejected");
  if (ack.max_recv_frag < kCommonHeaderSize + 8 + kRequestHeaderSize)
    return err(NtStatus::kInvalidNetworkResponse, "server max_recv_frag too small");
  max_xmit_frag_ = std::min(ack.max_recv_frag, kOurMaxFrag);
  bound_ = true;
  return ok();
}

Bytes SrvsvcClient::shareEnumRequest() {
  NetrShareEnumRequest q;
  if (!server_name_.empty()) q.server_name = "\\\\" + server_name_;
  q.level = 1;
  q.resume_handle = 0;
  Bytes stub = encodeNetrShareEnumRequest(q);
  call_id_ = next_call_id_++;
  first_seen_ = false;
  in_.clear();
  stub_.clear();
  last_status_ = 0;
  // C706 12.6.3.3: fragments within the server's max_recv_frag, stub multiples of 8 but the last.
  size_t chunk = ((max_xmit_frag_ - kRequestHeaderSize) / 8) * 8;
  Bytes out;
  size_t offset = 0;
  do {
    size_t n = std::min(chunk, stub.size() - offset);
    uint8_t flags =
        uint8_t((offset == 0 ? kPfcFirstFrag : 0) | (offset + n == stub.size() ? kPfcLastFrag : 0));
    RequestPdu r;
    r.alloc_hint = uint32_t(stub.size() - offset);
    r.context_id = context_id_;
    r.opnum = kOpNetrShareEnum;
    r.stub = ByteView(stub).subspan(offset, n);
    Bytes pdu = encodeRequest(call_id_, flags, r);
    out.insert(out.end(), pdu.begin(), pdu.end());
    offset += n;
  } while (offset < stub.size());
  return out;
}

Result<std::vector<ShareInfo>> SrvsvcClient::onShareEnumResponse(ByteView data) {
  in_.insert(in_.end(), data.begin(), data.end());
  size_t used = 0;
  bool done = false;
  // Each round consumes one whole fragment (>= 16 bytes), so the loop is bounded by in_.size().
  while (!done) {
    ByteView rest = ByteView(in_).subspan(used);
    auto frag_length = peekFragLength(rest);
    if (!frag_length || rest.size() < *frag_length) break;
    ByteView pdu = rest.first(*frag_length);
    used += *frag_length;
    auto h = SD_TRY(decodeHeader(pdu));
    if (h.call_id != call_id_) return err(NtStatus::kInvalidNetworkResponse, "reply call_id");
    if (h.ptype == PType::kFault) {
      last_status_ = SD_TRY(decodeFault(pdu)).status;
      in_.clear();
      return err(NtStatus::kUnsuccessful, "NetrShareEnum fault");
    }
    auto r = SD_TRY(decodeResponse(pdu));
    if (bool(h.pfc_flags & kPfcFirstFrag) == first_seen_)
      return err(NtStatus::kInvalidNetworkResponse, "fragment order");
    first_seen_ = true;
    if (r.stub.size() > kMaxResponseStub - stub_.size())
      return err(NtStatus::kInvalidNetworkResponse, "response too large");
    stub_.insert(stub_.end(), r.stub.begin(), r.stub.end());
    done = h.pfc_flags & kPfcLastFrag;
  }
  in_.erase(in_.begin(), in_.begin() + ptrdiff_t(used));
  if (!done) return err(NtStatus::kMoreProcessingRequired, "more fragments due");
  auto p = decodeNetrShareEnumResponse(stub_);
  stub_.clear();
  first_seen_ = false;
  if (!p) return err(NtStatus::kInvalidNetworkResponse, "NetrShareEnum stub");
  last_status_ = p->status;
  if (p->status != kWerrOk) {
    return err(p->status == kWerrAccessDenied ? NtStatus::kAccessDenied : NtStatus::kUnsuccessful,
               "NetrShareEnum WERROR");
  }
  if (p->level != 1) return err(NtStatus::kInvalidNetworkResponse, "NetrShareEnum level");
  return std::move(p->shares);
}

}  // namespace sd::rpc
