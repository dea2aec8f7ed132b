// MS-SMBD wire messages: negotiate request/response and the data transfer message header.
// Sans-I/O codecs; every decoder bounds-checks and validates what MS-SMBD 3.1.5 requires.
#pragma once
#include <cstdint>

#include "base/bytes.h"

namespace sd::smbdirect {

constexpr uint16_t kSmbdVersion1 = 0x0100;  // MS-SMBD 1.7
constexpr uint16_t kFlagResponseRequested = 0x0001;  // SMB_DIRECT_RESPONSE_REQUESTED
constexpr size_t kNegotiateRequestSize = 20;
constexpr size_t kNegotiateResponseSize = 32;
constexpr size_t kDataHeaderSize = 20;   // without the 4-byte Padding
constexpr size_t kDataOffset = 24;       // where we put the payload (8-byte aligned)
constexpr uint32_t kMinReceiveSize = 128;          // MS-SMBD 3.1.5.6/3.1.5.7
constexpr uint32_t kMinFragmentedSize = 131072;

// MS-SMBD 2.2.1 SMB Direct Negotiate Request
struct NegotiateRequest {
  uint16_t min_version = kSmbdVersion1;
  uint16_t max_version = kSmbdVersion1;
  uint16_t credits_requested = 0;
  uint32_t preferred_send_size = 0;
  uint32_t max_receive_size = 0;
  uint32_t max_fragmented_size = 0;
};

// MS-SMBD 2.2.2 SMB Direct Negotiate Response
struct NegotiateResponse {
  uint16_t min_version = kSmbdVersion1;
  uint16_t max_version = kSmbdVersion1;
  uint16_t negotiated_version = kSmbdVersion1;
  uint16_t credits_requested = 0;
  uint16_t credits_granted = 0;
  uint32_t status = 0;
  uint32_t max_read_write_size = 0;
  uint32_t preferred_send_size = 0;
  uint32_t max_receive_size = 0;
  uint32_t max_fragmented_size = 0;
};

// MS-SMBD 2.2.3 SMB Direct Data Transfer Message (fixed part; payload at data_offset)
struct DataHeader {
  uint16_t credits_requested = 0;
  uint16_t credits_granted = 0;
  uint16_t flags = 0;
  uint32_t remaining_data_length = 0;
  uint32_t data_offset = 0;
  uint32_t data_length = 0;
};

void encodeNegotiateRequest(const NegotiateRequest& q, ByteWriter& w);
Result<NegotiateRequest> decodeNegotiateRequest(ByteView b);
void encodeNegotiateResponse(const NegotiateResponse& p, ByteWriter& w);
Result<NegotiateResponse> decodeNegotiateResponse(ByteView b);

// Writes the 24-byte header (with padding) into out[0..24); payload follows at 24 when
// data_length > 0.
void encodeDataHeader(const DataHeader& h, uint8_t* out);
// Decodes and checks a whole received data transfer message; `payload` is the data it carries.
Result<DataHeader> decodeDataMessage(ByteView packet, ByteView* payload);

}  // namespace sd::smbdirect
