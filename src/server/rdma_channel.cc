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

Result<RdmaChannel> rdmaChannel(Connection& c, const Request& r, uint32_t channel, ByteView channel_info,
                                uint64_t length, bool write) {
  RdmaChannel ch;
  const bool transform_on = c.negotiated().rdma_transform_encryption;
  if (channel == smb2::kChannelRdmaTransform) {
    if (!transform_on) return err(NtStatus::kInvalidParameter, "RDMA transform not negotiated");
    if (!r.encrypted) return err(NtStatus::kInvalidParameter, "RDMA encryption transform on a request in the clear");
    auto t = SD_TRY(smb2::decodeRdmaTransform(channel_info));
    ch.channel = t.channel;
    ch.descriptors = SD_TRY(rdmaDescriptors(c, t.channel, t.descriptors, length));
    if (write) ch.seal = SD_TRY(smb2::encryptionTransformOf(t, r.session->cipher));
    else ch.seal_payload = true;
    return ch;
  }
  ch.channel = channel;
  ch.descriptors = SD_TRY(rdmaDescriptors(c, channel, channel_info, length));
  if (r.encrypted) {
    if (write) return err(NtStatus::kInvalidParameter, "sealed WRITE with its data in the clear over RDMA");
    if (!transform_on) return err(NtStatus::kInvalidParameter, "sealed READ over RDMA without the encryption transform");
    ch.seal_payload = true;
  }
  return ch;
}

}  // namespace sd::server
