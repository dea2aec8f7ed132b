// READ (MS-SMB2 2.2.19, 2.2.20) and the RDMA channel information of READ and WRITE (the
// buffer descriptors themselves are MS-SMBD 2.2.3.1, smbdirect/smbd_wire.h). Sans-I/O.
#pragma once
#include <vector>

#include "smb2/header.h"
#include "smbdirect/smbd_wire.h"

namespace sd::smb2 {

// The descriptors of a READ/WRITE RDMA channel (Channel RDMA_V1 or RDMA_V1_INVALIDATE): at least
// one, together covering `length` bytes (MS-SMB2 3.3.5.12/3.3.5.13).
Result<std::vector<smbdirect::BufferDescriptorV1>> decodeChannelDescriptors(uint32_t channel, ByteView info,
                                                                             uint64_t length);

// MS-SMB2 2.2.19
struct ReadRequest {
  uint8_t padding = 0;
  uint8_t flags = 0;
  uint32_t length = 0;
  uint64_t offset = 0;
  FileId file_id;
  uint32_t minimum_count = 0;
  uint32_t channel = 0;
  uint32_t remaining_bytes = 0;
  ByteView read_channel_info;
};
Result<ReadRequest> decodeReadRequest(ByteView msg);
void encodeReadRequest(const ReadRequest& q, ByteWriter& w);

// What a sealed READ response adds to its data, sent inline in one transport message: the
// TRANSFORM_HEADER (2.2.41, 52 bytes), the SMB2 header (64), the response's fixed part (16) and
// room for an 8-byte compound pad.
constexpr size_t kSealedReadResponseOverhead = 52 + 64 + 16 + 8;

// MS-SMB2 2.2.20
struct ReadResponse {
  ByteView data;
  uint32_t data_remaining = 0;
  uint32_t flags = 0;
};
void encodeReadResponse(const ReadResponse& p, ByteWriter& w);
Result<ReadResponse> decodeReadResponse(ByteView msg);
// Zero-copy form: writes the fixed part with DataOffset 80 and returns where the data starts
// (the caller appends or reads into the buffer there), then patches DataLength.
size_t encodeReadResponseHeader(ByteWriter& w);
void finishReadResponseHeader(ByteWriter& w, uint32_t data_length, uint32_t data_remaining = 0);

}  // namespace sd::smb2
