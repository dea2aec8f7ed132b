// RDMA channels of READ and WRITE (MS-SMB2 3.3.5.12, 3.3.5.13): validation of Channel and the
// SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list (MS-SMBD 2.2.3.1) shared by both handlers.
#pragma once
#include <vector>

#include "server/connection.h"
#include "smb2/read.h"

namespace sd::server {

// Descriptors for a transfer of `length` bytes: the connection must be SMB Direct, the channel
// RDMA_V1 (or RDMA_V1_INVALIDATE from 3.0.2 on), the list well-formed and large enough.
Result<std::vector<smbdirect::BufferDescriptorV1>> rdmaDescriptors(Connection& c, uint32_t channel,
                                                              ByteView channel_info, uint64_t length);

}  // namespace sd::server
