// Connection-oriented DCE/RPC PDUs: the common header, bind / alter_context and their acks,
// bind_nak, request, response and fault. Owned by rpc/; pure functions, any thread.
// Implements C706 chapter 12.6 (connection-oriented PDU formats) with the MS-RPCE 2.2.2 extensions
// (bind-time feature negotiation, 2.2.2.14). Only the little-endian / ASCII / IEEE data
// representation is decoded; callers answer any other one with a bind_nak or a fault.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace sd::rpc {

// C706 12.6.3.1 PTYPE values.
enum class PType : uint8_t {
  kRequest = 0,
  kPing = 1,
  kResponse = 2,
  kFault = 3,
  kWorking = 4,
  kNocall = 5,
  kReject = 6,
  kAck = 7,
  kClCancel = 8,
  kFack = 9,
  kCancelAck = 10,
  kBind = 11,
  kBindAck = 12,
  kBindNak = 13,
  kAlterContext = 14,
  kAlterContextResp = 15,
  kAuth3 = 16,
  kShutdown = 17,
  kCoCancel = 18,
  kOrphaned = 19,
};

// C706 12.6.3.1 pfc_flags.
constexpr uint8_t kPfcFirstFrag = 0x01;
constexpr uint8_t kPfcLastFrag = 0x02;
constexpr uint8_t kPfcPendingCancel = 0x04;
constexpr uint8_t kPfcSupportHeaderSign = 0x04;  // MS-RPCE 2.2.2.3, bind/bind_ack only
constexpr uint8_t kPfcConcMpx = 0x10;
constexpr uint8_t kPfcDidNotExecute = 0x20;
constexpr uint8_t kPfcMaybe = 0x40;
constexpr uint8_t kPfcObjectUuid = 0x80;

constexpr size_t kCommonHeaderSize = 16;
constexpr size_t kRequestHeaderSize = 24;  // without the optional object UUID
constexpr size_t kResponseHeaderSize = 24;
constexpr size_t kFaultPduSize = 32;
// C706 12.6.3.3 MustRecvFragSize: every implementation accepts fragments of this size.
constexpr uint16_t kMustRecvFragSize = 1432;

// C706 12.6.3.1 packed_drep: 0x10 = little-endian integers, ASCII characters; byte 1 = IEEE floats.
constexpr std::array<uint8_t, 4> kDrepLittleEndian = {0x10, 0x00, 0x00, 0x00};

// p_cont_def_result_t (C706 12.6.3.1) and MS-RPCE 2.2.2.4 negotiate_ack.
constexpr uint16_t kResultAcceptance = 0;
constexpr uint16_t kResultUserRejection = 1;
constexpr uint16_t kResultProviderRejection = 2;
constexpr uint16_t kResultNegotiateAck = 3;
// p_provider_reason_t (C706 12.6.3.1).
constexpr uint16_t kReasonNotSpecified = 0;
constexpr uint16_t kReasonAbstractSyntaxNotSupported = 1;
constexpr uint16_t kReasonTransferSyntaxesNotSupported = 2;
constexpr uint16_t kReasonLocalLimitExceeded = 3;
// p_reject_reason_t for bind_nak (C706 12.6.3.1, MS-RPCE 2.2.2.5).
constexpr uint16_t kNakReasonNotSpecified = 0;
constexpr uint16_t kNakTemporaryCongestion = 1;
constexpr uint16_t kNakLocalLimitExceeded = 2;
constexpr uint16_t kNakProtocolVersionNotSupported = 4;
constexpr uint16_t kNakAuthenticationTypeNotRecognized = 8;
// MS-RPCE 2.2.2.14 bind-time feature bits.
constexpr uint16_t kBindTimeSecurityContextMultiplexing = 0x0001;
constexpr uint16_t kBindTimeKeepConnectionOnOrphan = 0x0002;

// Fault status codes (C706 appendix E, MS-RPCE 2.2.2.11 / MS-ERREF).
constexpr uint32_t kNcaOpRngError = 0x1c010002;
constexpr uint32_t kNcaUnknownIf = 0x1c010003;
constexpr uint32_t kNcaProtoError = 0x1c01000b;
constexpr uint32_t kNcaServerTooBusy = 0x1c010014;
constexpr uint32_t kNcaUnsupportedType = 0x1c010017;
constexpr uint32_t kNcaFaultRemoteNoMemory = 0x1c00001b;
constexpr uint32_t kRpcAccessDenied = 0x00000005;
constexpr uint32_t kRpcBadStubData = 0x000006f7;  // rpc_x_bad_stub_data / nca_s_fault_ndr

// A UUID in its wire form: the first three fields little-endian, as NDR marshals them.
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Uuid&) const = default;
  // Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; anything else yields nullopt.
  static std::optional<Uuid> parse(std::string_view text);
  // For literals known to be valid; an invalid one gives the nil UUID.
  static Uuid of(std::string_view text) { return parse(text).value_or(Uuid{}); }
  std::string str() const;
};

// C706 12.6.3.1 p_syntax_id_t: if_uuid + if_version (major in the low 16 bits).
struct SyntaxId {
  Uuid uuid;
  uint16_t version_major = 0;
  uint16_t version_minor = 0;
  bool operator==(const SyntaxId&) const = default;
};

// 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 (C706 14.1)
SyntaxId ndr20Syntax();
// 71710533-beba-4937-8319-b5dbef9ccc36 v1.0 (MS-RPCE 2.2.5)
SyntaxId ndr64Syntax();
// MS-RPCE 2.2.2.14: 6cb71c2c-9812-4540-XXXX-000000000000 v1.0, the feature bits in bytes 8-9.
bool isBindTimeFeatureSyntax(const SyntaxId& s, uint16_t* features);
SyntaxId bindTimeFeatureSyntax(uint16_t features);

// C706 12.6.3.1 common header (16 bytes).
struct PduHeader {
  uint8_t rpc_vers = 5;
  uint8_t rpc_vers_minor = 0;
  PType ptype = PType::kRequest;
  uint8_t pfc_flags = kPfcFirstFrag | kPfcLastFrag;
  std::array<uint8_t, 4> packed_drep = kDrepLittleEndian;
  uint16_t frag_length = 0;
  uint16_t auth_length = 0;
  uint32_t call_id = 0;

  bool littleEndian() const { return (packed_drep[0] & 0xF0) == 0x10; }
  // Little-endian integers, ASCII characters and IEEE floats: the only representation we decode.
  bool supportedDrep() const { return packed_drep[0] == 0x10 && packed_drep[1] == 0; }
};

// Reads the 16-byte common header. frag_length, auth_length and call_id are read in the byte
// order packed_drep announces, so a big-endian PDU can still be delimited and refused. Checks
// rpc_vers == 5 and that frag_length covers at least the common header.
Result<PduHeader> decodeHeader(ByteView pdu);
void encodeHeader(const PduHeader& h, ByteWriter& w);
// frag_length of the PDU starting at `pdu` if at least 10 bytes are present.
std::optional<uint16_t> peekFragLength(ByteView pdu);

// C706 12.6.3.1 p_cont_elem_t
struct PresentationContext {
  uint16_t context_id = 0;
  SyntaxId abstract_syntax;
  std::vector<SyntaxId> transfer_syntaxes;
};

// C706 12.6.4.3 bind / 12.6.4.1 alter_context (same body).
struct BindPdu {
  uint16_t max_xmit_frag = 4280;
  uint16_t max_recv_frag = 4280;
  uint32_t assoc_group_id = 0;
  std::vector<PresentationContext> contexts;
};

// C706 12.6.3.1 p_result_t
struct ContextResult {
  uint16_t result = kResultAcceptance;
  uint16_t reason = 0;  // provider reason, or the feature bits for negotiate_ack
  SyntaxId transfer_syntax;
};

// C706 12.6.4.4 bind_ack / 12.6.4.2 alter_context_resp (same body).
struct BindAckPdu {
  uint16_t max_xmit_frag = 4280;
  uint16_t max_recv_frag = 4280;
  uint32_t assoc_group_id = 0;
  std::string secondary_address;  // port_spec without its NUL; empty in alter_context_resp
  std::vector<ContextResult> results;
};

// C706 12.6.4.5 bind_nak
struct BindNakPdu {
  uint16_t provider_reject_reason = kNakReasonNotSpecified;
  std::vector<std::pair<uint8_t, uint8_t>> versions{{5, 0}};
};

// C706 12.6.4.9 request
struct RequestPdu {
  uint32_t alloc_hint = 0;
  uint16_t context_id = 0;
  uint16_t opnum = 0;
  std::optional<Uuid> object;  // present iff PFC_OBJECT_UUID
  ByteView stub;
};

// C706 12.6.4.10 response
struct ResponsePdu {
  uint32_t alloc_hint = 0;
  uint16_t context_id = 0;
  uint8_t cancel_count = 0;
  ByteView stub;
};

// C706 12.6.4.7 fault (MS-RPCE 2.2.2.11: reserved byte = flags)
struct FaultPdu {
  uint32_t alloc_hint = 0;
  uint16_t context_id = 0;
  uint8_t cancel_count = 0;
  uint8_t flags = 0;
  uint32_t status = 0;
};

// Each decoder takes one whole PDU (the view may extend past frag_length; the rest is ignored),
// checks ptype and the data representation, and excludes any auth verifier from the body.
// Views in the results point into `pdu`.
Result<BindPdu> decodeBind(ByteView pdu);        // bind or alter_context
Result<BindAckPdu> decodeBindAck(ByteView pdu);  // bind_ack or alter_context_resp
Result<BindNakPdu> decodeBindNak(ByteView pdu);
Result<RequestPdu> decodeRequest(ByteView pdu);
Result<ResponsePdu> decodeResponse(ByteView pdu);
Result<FaultPdu> decodeFault(ByteView pdu);

// Encoders produce one complete PDU with frag_length filled in and no auth verifier. `type`
// selects bind/alter_context (or bind_ack/alter_context_resp).
Bytes encodeBind(uint32_t call_id, const BindPdu& b, PType type = PType::kBind);
Bytes encodeBindAck(uint32_t call_id, const BindAckPdu& b, PType type = PType::kBindAck);
Bytes encodeBindNak(uint32_t call_id, const BindNakPdu& b);
Bytes encodeRequest(uint32_t call_id, uint8_t pfc_flags, const RequestPdu& r);
Bytes encodeResponse(uint32_t call_id, uint8_t pfc_flags, const ResponsePdu& r);
Bytes encodeFault(uint32_t call_id, uint8_t pfc_flags, const FaultPdu& f);

}  // namespace sd::rpc
