// IOCTL (MS-SMB2 2.2.31, 2.2.32) and the FSCTL payloads the server implements:
// VALIDATE_NEGOTIATE_INFO (2.2.31.4, 2.2.32.6), NETWORK_INTERFACE_INFO (2.2.32.5),
// SRV_COPYCHUNK_COPY (2.2.31.1) / SRV_COPYCHUNK_RESPONSE (2.2.32.1), SRV_REQUEST_RESUME_KEY
// (2.2.32.3), FILE_ZERO_DATA_INFORMATION and FILE_ALLOCATED_RANGE_BUFFER (MS-FSCC 2.3.69,
// 2.3.33). Sans-I/O.
#pragma once
#include <array>
#include <vector>

#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.31
struct IoctlRequest {
  uint32_t ctl_code = 0;
  FileId file_id;
  ByteView input;
  uint32_t max_input_response = 0;
  uint32_t max_output_response = 0;
  uint32_t flags = 0;
};
Result<IoctlRequest> decodeIoctlRequest(ByteView msg);
void encodeIoctlRequest(const IoctlRequest& q, ByteWriter& w);

// MS-SMB2 2.2.32
struct IoctlResponse {
  uint32_t ctl_code = 0;
  FileId file_id;
  ByteView input;
  ByteView output;
  uint32_t flags = 0;
};
void encodeIoctlResponse(const IoctlResponse& p, ByteWriter& w);
Result<IoctlResponse> decodeIoctlResponse(ByteView msg);

// MS-SMB2 2.2.31.4
struct ValidateNegotiateInfoRequest {
  uint32_t capabilities = 0;
  std::array<uint8_t, 16> guid{};
  uint16_t security_mode = 0;
  std::vector<uint16_t> dialects;
};
Result<ValidateNegotiateInfoRequest> decodeValidateNegotiateInfoRequest(ByteView in);
Bytes encodeValidateNegotiateInfoRequest(const ValidateNegotiateInfoRequest& v);
// MS-SMB2 2.2.32.6
struct ValidateNegotiateInfoResponse {
  uint32_t capabilities = 0;
  std::array<uint8_t, 16> guid{};
  uint16_t security_mode = 0;
  uint16_t dialect = 0;
};
Bytes encodeValidateNegotiateInfoResponse(const ValidateNegotiateInfoResponse& v);
Result<ValidateNegotiateInfoResponse> decodeValidateNegotiateInfoResponse(ByteView out);

// MS-SMB2 2.2.32.5
constexpr uint32_t kRssCapable = 0x1, kRdmaCapable = 0x2;
struct NetworkInterfaceInfo {
  uint32_t if_index = 0;
  uint32_t capability = 0;
  uint64_t link_speed = 0;
  uint16_t family = 0;  // AF_INET or AF_INET6 (host values)
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;
};
Bytes encodeNetworkInterfaceInfo(const std::vector<NetworkInterfaceInfo>& list);
Result<std::vector<NetworkInterfaceInfo>> decodeNetworkInterfaceInfo(ByteView out);

// MS-SMB2 2.2.31.1 / 2.2.31.1.1
struct SrvCopychunk {
  uint64_t source_offset = 0, target_offset = 0;
  uint32_t length = 0;
};
struct SrvCopychunkCopy {
  std::array<uint8_t, 24> source_key{};
  std::vector<SrvCopychunk> chunks;
};
Result<SrvCopychunkCopy> decodeSrvCopychunkCopy(ByteView in);
Bytes encodeSrvCopychunkCopy(const SrvCopychunkCopy& c);
// MS-SMB2 2.2.32.1
struct SrvCopychunkResponse {
  uint32_t chunks_written = 0, chunk_bytes_written = 0, total_bytes_written = 0;
};
Bytes encodeSrvCopychunkResponse(const SrvCopychunkResponse& r);
Result<SrvCopychunkResponse> decodeSrvCopychunkResponse(ByteView out);
// MS-SMB2 2.2.32.3
Bytes encodeSrvRequestResumeKeyResponse(const std::array<uint8_t, 24>& key);
Result<std::array<uint8_t, 24>> decodeSrvRequestResumeKeyResponse(ByteView out);

// MS-FSCC 2.3.69 / 2.3.33
struct FileZeroDataInformation {
  uint64_t file_offset = 0, beyond_final_zero = 0;
};
Result<FileZeroDataInformation> decodeFileZeroDataInformation(ByteView in);
struct FileAllocatedRangeBuffer {
  uint64_t file_offset = 0, length = 0;
};
Result<FileAllocatedRangeBuffer> decodeFileAllocatedRangeBuffer(ByteView in);
Bytes encodeFileAllocatedRanges(const std::vector<FileAllocatedRangeBuffer>& v);

}  // namespace sd::smb2
