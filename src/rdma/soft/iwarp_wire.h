// iWARP wire formats: MPA request/reply frames (RFC 5044 section 7.1, enhanced connection setup of
// RFC 6581 section 3), the MPA FPDU (RFC 5044 section 4, markers off), DDP tagged/untagged headers
// (RFC 5041 section 4), RDMAP control, Read Request and Terminate (RFC 5040 sections 4.2-4.8).
// Owned by rdma/soft; pure codecs (no I/O, no state), any thread. All fields are big-endian.
#pragma once
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace sd::rdma::soft {

// ---- MPA request / reply (RFC 5044 7.1; RFC 6581 3.1) ----
constexpr size_t kMpaKeyLen = 16;
constexpr size_t kMpaHeaderLen = 20;          // key + flags + rev + PD_Length
constexpr size_t kMpaMaxPrivateData = 512;    // RFC 5044 7.1: at most 512 bytes
constexpr uint8_t kMpaFlagMarkers = 0x80;
constexpr uint8_t kMpaFlagCrc = 0x40;
constexpr uint8_t kMpaFlagReject = 0x20;
constexpr uint8_t kMpaFlagEnhanced = 0x10;     // RFC 6581: IRD/ORD in the private data
// RFC 6581 3.1 IRD/ORD words.
constexpr uint16_t kMpaV2PeerToPeer = 0x8000;  // in IRD
constexpr uint16_t kMpaV2ZeroLenSendRtr = 0x4000;  // in IRD ("L": zero-length Send as RTR)
constexpr uint16_t kMpaV2WriteRtr = 0x8000;    // in ORD
constexpr uint16_t kMpaV2ReadRtr = 0x4000;     // in ORD
constexpr uint16_t kMpaV2IrdOrdMask = 0x3FFF;

// RFC 5044 7.1 MPA Request/Reply Frame (+ RFC 6581 3.1 enhanced IRD/ORD).
struct MpaFrame {
  bool reply = false;
  bool markers = false;
  bool crc = false;
  bool reject = false;
  bool enhanced = false;  // RFC 6581: the first 4 private-data bytes are IRD/ORD
  uint8_t revision = 2;
  // Enhanced only:
  uint16_t ird = 0;  // 14 bits
  uint16_t ord = 0;
  bool peer_to_peer = false;
  bool rtr_zero_send = false;
  bool rtr_write = false;
  bool rtr_read = false;
  Bytes private_data;  // the ULP's part (after the IRD/ORD words when enhanced)
};

// Total frame length once at least kMpaHeaderLen bytes are present (kMpaHeaderLen + PD_Length);
// an error for a wrong key or an oversized PD_Length.
Result<size_t> mpaFrameLength(ByteView head, bool reply);
Result<MpaFrame> decodeMpaFrame(ByteView frame, bool reply);
void encodeMpaFrame(const MpaFrame& f, ByteWriter& w);

// ---- DDP / RDMAP ----
// RFC 5040 4.3 RDMAP opcodes.
enum class RdmapOp : uint8_t {
  kWrite = 0,
  kReadRequest = 1,
  kReadResponse = 2,
  kSend = 3,
  kSendInv = 4,
  kSendSe = 5,
  kSendSeInv = 6,
  kTerminate = 7,
};
const char* rdmapOpName(RdmapOp op);

// Untagged queue numbers (RFC 5040 5.1).
constexpr uint32_t kQnSend = 0;
constexpr uint32_t kQnReadRequest = 1;
constexpr uint32_t kQnTerminate = 2;

constexpr size_t kDdpTaggedHeaderLen = 14;    // ctrl(2) STag(4) TO(8)
constexpr size_t kDdpUntaggedHeaderLen = 18;  // ctrl(2) rsvd/inv STag(4) QN(4) MSN(4) MO(4)
constexpr size_t kReadRequestLen = 28;        // RFC 5040 4.4
constexpr size_t kMpaCrcLen = 4;
constexpr size_t kMpaLenField = 2;
constexpr uint8_t kDdpVersion = 1;
constexpr uint8_t kRdmapVersion = 1;

// RFC 5041 4.2/4.3 DDP header with the RDMAP control byte (RFC 5040 4.2) in its second octet.
struct DdpHeader {
  bool tagged = false;
  bool last = true;
  uint8_t ddp_version = kDdpVersion;
  uint8_t rdmap_version = kRdmapVersion;
  RdmapOp op = RdmapOp::kSend;
  uint32_t stag = 0;  // tagged: the sink STag; untagged Send with Invalidate: the STag to invalidate
  uint64_t to = 0;    // tagged offset
  uint32_t qn = 0, msn = 0, mo = 0;  // untagged
  size_t length() const { return tagged ? kDdpTaggedHeaderLen : kDdpUntaggedHeaderLen; }
};
Result<DdpHeader> decodeDdpHeader(ByteReader& r);
size_t encodeDdpHeader(const DdpHeader& h, uint8_t* out);  // returns length()

// RFC 5040 4.4 RDMA Read Request header.
struct ReadRequest {
  uint32_t sink_stag = 0;
  uint64_t sink_to = 0;
  uint32_t size = 0;
  uint32_t src_stag = 0;
  uint64_t src_to = 0;
};
Result<ReadRequest> decodeReadRequest(ByteReader& r);
void encodeReadRequest(const ReadRequest& q, uint8_t* out);

// RFC 5040 4.8 Terminate: layers, error types and codes (RFC 5040 7, RFC 5041 7, RFC 5044 8).
enum class TermLayer : uint8_t { kRdmap = 0, kDdp = 1, kLlp = 2 };
namespace term {
// RDMAP error types
constexpr uint8_t kRdmapLocalCatastrophic = 0, kRdmapRemoteProtection = 1, kRdmapRemoteOperation = 2;
// RDMAP remote protection codes
constexpr uint8_t kInvalidStag = 0x00, kBaseBounds = 0x01, kAccessRights = 0x02,
                  kStagNotAssociated = 0x03, kToWrap = 0x04;
// RDMAP remote operation codes
constexpr uint8_t kInvalidRdmapVersion = 0x05, kUnexpectedOpcode = 0x06, kCatastrophicStream = 0x07,
                  kCatastrophicGlobal = 0x08, kStagCannotInvalidate = 0x09, kUnspecified = 0xFF;
// DDP error types
constexpr uint8_t kDdpLocalCatastrophic = 0, kDdpTagged = 1, kDdpUntagged = 2;
// DDP tagged codes
constexpr uint8_t kTInvalidStag = 0x00, kTBaseBounds = 0x01, kTStagNotAssociated = 0x02,
                  kTToWrap = 0x03, kTInvalidDdpVersion = 0x04;
// DDP untagged codes
constexpr uint8_t kUInvalidQn = 0x01, kUNoBuffer = 0x02, kUInvalidMsn = 0x03, kUInvalidMo = 0x04,
                  kUTooLong = 0x05, kUInvalidDdpVersion = 0x06;
// LLP (MPA) codes, error type 0
constexpr uint8_t kLlpConnectionClosed = 0x01, kLlpCrc = 0x02, kLlpMarker = 0x03,
                  kLlpInvalidReqRep = 0x04, kLlpInsufficientIrd = 0x05, kLlpNoMatchingRtr = 0x06;
}  // namespace term

// RFC 5040 4.8 Terminate header (the payload of a Terminate message).
struct Terminate {
  TermLayer layer = TermLayer::kRdmap;
  uint8_t etype = 0;
  uint8_t code = 0;
  bool hdr_m = false;  // the DDP segment length is meaningful
  bool hdr_d = false;  // DDP segment length + the terminated DDP header follow
  bool hdr_r = false;  // the terminated RDMAP Read Request header follows
  uint16_t ddp_seg_len = 0;
  Bytes ddp_header;    // 14 (tagged etype) or 18 bytes
  Bytes rdmap_header;  // 28 bytes
  uint32_t vendorCode() const { return uint32_t(layer) << 12 | uint32_t(etype) << 8 | code; }
};
Result<Terminate> decodeTerminate(ByteView payload);
void encodeTerminate(const Terminate& t, ByteWriter& w);
std::string describeTerminate(const Terminate& t);

// MPA FPDU framing helpers (RFC 5044 4.1): ULPDU_Length(2) ULPDU pad(0-3) CRC(4).
inline size_t mpaPadLen(size_t ulpdu_len) { return (4 - ((ulpdu_len + kMpaLenField) & 3)) & 3; }
inline size_t mpaFpduLen(size_t ulpdu_len) {
  return kMpaLenField + ulpdu_len + mpaPadLen(ulpdu_len) + kMpaCrcLen;
}

// Encodes one complete FPDU (header + payload) for tests, the fuzzer's seeds and the capture
// tools; the provider's fast path builds FPDUs in place (iwarp_stream.cc).
Bytes encodeFpdu(const DdpHeader& h, ByteView payload, bool crc);

}  // namespace sd::rdma::soft
