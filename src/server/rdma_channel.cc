#include "server/rdma_channel.h"

#include "smb2/constants.h"

namespace sd::server {

Result<std::vector<smb2::BufferDescriptorV1>> rdmaDescriptors(Connection& c, uint32_t channel,
                                                              ByteView channel_info, uint64_t length) {
  if (channel != smb2::kChannelRdmaV1 && channel != smb2::kChannelRdmaV1Invalidate)
    return err(NtStatus::kInvalidParameter, "unknown channel");
  if (!c.transport().info().rdma) return err(NtStatus::kInvalidParameter, "RDMA channel on TCP");
  if (channel == smb2::kChannelRdmaV1Invalidate && c.negotiated().dialect < smb2::kDialect302)
    return err(NtStatus::kInvalidParameter, "RDMA_V1_INVALIDATE before SMB 3.0.2");
  auto d = SD_TRY(smb2::decodeBufferDescriptors(channel_info));
  if (d.empty()) return err(NtStatus::kInvalidParameter, "no buffer descriptor");
  uint64_t total = 0;
  for (const auto& x : d) total += x.length;
  if (total < length) return err(NtStatus::kInvalidParameter, "buffer descriptors smaller than the transfer");
  return d;
}

}  // namespace sd::server
