// RDMA channels of READ and WRITE (MS-SMB2 3.3.5.12, 3.3.5.13): validation of Channel, of the
// SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list (MS-SMBD 2.2.3.1) and of an SMB2_RDMA_TRANSFORM around it
// (2.2.43), shared by both handlers.
#pragma once
#include <optional>
#include <vector>

#include "server/connection.h"
#include "smb2/rdma_transform.h"
#include "smb2/read.h"

namespace sd::server {

// Descriptors for a transfer of `length` bytes: the connection must be SMB Direct, the channel
// RDMA_V1 (or RDMA_V1_INVALIDATE from 3.0.2 on), the list well-formed and large enough.
Result<std::vector<smbdirect::BufferDescriptorV1>> rdmaDescriptors(Connection& c, uint32_t channel,
                                                              ByteView channel_info, uint64_t length);

// The RDMA channel of request `r`. SMB2_CHANNEL_RDMA_TRANSFORM needs the encryption transform
// negotiated; its descriptors are those of the channel it wraps. A request that came encrypted
// never moves its payload by RDMA in the clear: a READ's data is sealed by the server (only with
// the transform negotiated), a WRITE's must come with the client's seal (`seal`).
struct RdmaChannel {
  uint32_t channel = 0;  // RDMA_V1 or RDMA_V1_INVALIDATE
  std::vector<smbdirect::BufferDescriptorV1> descriptors;
  std::optional<smb2::RdmaCryptoTransform> seal;  // WRITE: how the client encrypted the payload
  bool seal_payload = false;                      // READ: encrypt the data before the RDMA Write
};
Result<RdmaChannel> rdmaChannel(Connection& c, const Request& r, uint32_t channel, ByteView channel_info,
                                uint64_t length, bool write);

}  // namespace sd::server
