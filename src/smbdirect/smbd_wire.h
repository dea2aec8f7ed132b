// MS-SMBD wire messages: negotiate request/response, the data transfer message header and the
// buffer descriptors that SMB2 READ/WRITE channels carry. Sans-I/O codecs; every decoder
// bounds-checks and validates what MS-SMBD 3.1.5 requires.
// Its own library (sd_smbdirect_wire, base only), below smb2: smb2's READ/WRITE channel
// information, the server's transport interface and the endpoint share BufferDescriptorV1.
#pragma once
#include <cstdint>
#include <vector>

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

// MS-SMBD 2.2.3.1 SMB_DIRECT_BUFFER_DESCRIPTOR_V1: a peer's registered buffer (Offset, Token,
// Length). An SMB2 READ/WRITE with an RDMA channel carries a list of them (MS-SMB2 2.2.19, 2.2.21).
struct BufferDescriptorV1 {
  uint64_t offset = 0;
  uint32_t token = 0;
  uint32_t length = 0;
};
constexpr size_t kBufferDescriptorV1Size = 16;

void encodeNegotiateRequest(const NegotiateRequest& q, ByteWriter& w);
Result<NegotiateRequest> decodeNegotiateRequest(ByteView b);
void encodeNegotiateResponse(const NegotiateResponse& p, ByteWriter& w);
Result<NegotiateResponse> decodeNegotiateResponse(ByteView b);

// Writes the 24-byte header (with padding) into out[0..24); payload follows at 24 when
// data_length > 0.
void encodeDataHeader(const DataHeader& h, uint8_t* out);
// Decodes and checks a whole received data transfer message; `payload` is the data it carries.
Result<DataHeader> decodeDataMessage(ByteView packet, ByteView* payload);

// A list of buffer descriptors (a multiple of 16 bytes, possibly empty).
Result<std::vector<BufferDescriptorV1>> decodeBufferDescriptors(ByteView b);
void encodeBufferDescriptors(std::span<const BufferDescriptorV1> v, ByteWriter& w);

}  // namespace sd::smbdirect
