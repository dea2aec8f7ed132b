// RDMA transforms (SMB 3.1.1 over SMB Direct): the negotiate context that offers them
// (MS-SMB2 2.2.3.1.6), the SMB2_RDMA_TRANSFORM that wraps a READ/WRITE channel's descriptors
// (2.2.43) and its SMB2_RDMA_CRYPTO_TRANSFORM entries (2.2.43.1), and the encryption of the
// RDMA payload itself. Sans-I/O, pure functions; any thread.
#pragma once
#include <vector>

#include "base/bytes.h"

namespace sd::smb2 {

// RDMATransformIds (2.2.3.1.6).
constexpr uint16_t kRdmaTransformNone = 0x0000, kRdmaTransformEncryption = 0x0001,
                   kRdmaTransformSigning = 0x0002;
// TransformType (2.2.43.1).
constexpr uint16_t kRdmaTransformTypeEncryption = 0x0001, kRdmaTransformTypeSigning = 0x0002;
// READ response Flags (2.2.20): the Buffer holds an SMB2_RDMA_TRANSFORM.
constexpr uint32_t kReadFlagResponseRdmaTransform = 0x00000001;

// MS-SMB2 2.2.3.1.6 SMB2_RDMA_TRANSFORM_CAPABILITIES
struct RdmaTransformCapabilities {
  std::vector<uint16_t> transform_ids;
};
Result<RdmaTransformCapabilities> decodeRdmaTransformCapabilities(ByteView d);
Bytes encodeRdmaTransformCapabilities(const RdmaTransformCapabilities& c);

// MS-SMB2 2.2.43.1 SMB2_RDMA_CRYPTO_TRANSFORM
struct RdmaCryptoTransform {
  uint16_t type = 0;
  ByteView signature;
  ByteView nonce;
};

// MS-SMB2 2.2.43 SMB2_RDMA_TRANSFORM, with the descriptors it points at (RdmaDescriptorOffset and
// RdmaDescriptorLength are relative to the start of the structure).
struct RdmaTransform {
  uint32_t channel = 0;  // SMB2_CHANNEL_NONE, _RDMA_V1 or _RDMA_V1_INVALIDATE
  std::vector<RdmaCryptoTransform> transforms;
  ByteView descriptors;
};
// Every offset and length is checked against `info`; TransformCount must be at least 1 and each
// crypto transform lie wholly inside the structure.
Result<RdmaTransform> decodeRdmaTransform(ByteView info);
// Transforms are written 8-byte aligned, then the descriptors.
void encodeRdmaTransform(const RdmaTransform& t, ByteWriter& w);

// The one SMB2_RDMA_TRANSFORM_TYPE_ENCRYPTION entry of `t` (MS-SMB2 3.3.5.13: exactly one, its
// Signature 16 bytes and its Nonce as long as the cipher's): STATUS_INVALID_PARAMETER otherwise.
Result<RdmaCryptoTransform> encryptionTransformOf(const RdmaTransform& t, uint16_t cipher);

// The encryption of an RDMA payload under an encryption transform: AES-CCM/GCM with the session's
// key for that direction, a fresh nonce and no additional data; the 16-byte tag is the
// transform's Signature. In place.
struct RdmaSeal {
  uint8_t signature[16]{};
  uint8_t nonce[16]{};
  size_t nonce_size = 0;
};
RdmaSeal sealRdmaPayload(uint16_t cipher, ByteView key, std::span<uint8_t> data);
Status unsealRdmaPayload(uint16_t cipher, ByteView key, const RdmaCryptoTransform& t, std::span<uint8_t> data);
// An RdmaCryptoTransform that views `s`.
RdmaCryptoTransform encryptionTransform(const RdmaSeal& s);

}  // namespace sd::smb2
