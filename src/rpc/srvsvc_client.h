// Client side of srvsvc share enumeration, sans-I/O: builds the bind and NetrShareEnum level 1
// request PDUs and parses the replies into a share list. The caller moves the bytes over an SMB2
// pipe (FSCTL_PIPE_TRANSCEIVE, then READ while STATUS_BUFFER_OVERFLOW or more fragments are due).
// Owned by rpc/; an instance belongs to one thread.
// Implements C706 12.6 (client association: bind, request, response reassembly), MS-SRVS 3.1.4.8.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "rpc/pdu.h"
#include "rpc/srvsvc.h"

namespace sd::rpc {

class SrvsvcClient {
 public:
  // `server_name` goes into NetrShareEnum's ServerName as "\\name" (empty: NULL pointer).
  explicit SrvsvcClient(std::string server_name = "");

  // bind (call_id 1): srvsvc v3.0 over NDR 2.0, max fragment 4280 both ways.
  Bytes bindRequest();
  // Accepts the bind_ack for bindRequest(); fails on bind_nak, fault, rejection or a mismatch.
  Status onBindAck(ByteView pdu);
  // NetrShareEnum level 1 (one or more request fragments, concatenated) for the next call_id.
  Bytes shareEnumRequest();
  // Feed reply bytes (any split: parts of fragments, several fragments). Returns the shares once
  // the last fragment has arrived; until then an error with NtStatus::kMoreProcessingRequired
  // (feed the next READ). A fault or a non-zero WERROR is an error.
  Result<std::vector<ShareInfo>> onShareEnumResponse(ByteView data);

  bool bound() const { return bound_; }
  uint16_t maxXmitFrag() const { return max_xmit_frag_; }
  uint32_t lastStatus() const { return last_status_; }  // fault status or WERROR of the last call

 private:
  static constexpr uint16_t kOurMaxFrag = 4280;
  static constexpr size_t kMaxResponseStub = 16 << 20;

  std::string server_name_;
  bool bound_ = false;
  uint16_t max_xmit_frag_ = kOurMaxFrag;
  uint16_t context_id_ = 0;
  uint32_t next_call_id_ = 1;
  uint32_t call_id_ = 0;  // call awaiting its reply
  bool first_seen_ = false;
  Bytes in_;    // bytes of an incomplete fragment
  Bytes stub_;  // reassembled response stub
  uint32_t last_status_ = 0;
};

}  // namespace sd::rpc
