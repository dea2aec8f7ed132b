#include "server/rdma_channel.h"

#include "smb2/constants.h"

namespace sd::server {

Result<std::vector<smbdirect::BufferDescriptorV1>> rdmaDescriptors(Connection& c, uint32_t channel,
                                                              ByteView channel_info, uint64_t length) {
  if (channel != smb2::kChannelRdmaV1 && channel != smb2::kChannelRdmaV1Invalidate)
    return err(NtStatus::kInvalidParameter, "unknown channel");
  if (!c.transport().info().rdma) return err(NtStatus::kInvalidParameter, "RDMA channel on TCP");
  if (channel == smb2::kChannelRdmaV1Invalidate && c.negotiated().dialect < smb2::kDialect302)
    return err(NtStatus::kInvalidParameter, "RDMA_V1_INVALIDATE before SMB 3.0.2");
  return smb2::decodeChannelDescriptors(channel, channel_info, length);
}

}  // namespace sd::server
