#include "smb2/rdma_transform.h"

#include <cstring>

#include "crypto/cipher.h"
#include "crypto/random.h"
#include "smb2/security.h"

namespace sd::smb2 {

namespace {
constexpr size_t kTransformFixed = 16;  // SMB2_RDMA_TRANSFORM without its entries
constexpr size_t kCryptoFixed = 8;      // SMB2_RDMA_CRYPTO_TRANSFORM without Signature and Nonce
size_t align8(size_t n) { return (n + 7) & ~size_t(7); }
}  // namespace

Result<RdmaTransformCapabilities> decodeRdmaTransformCapabilities(ByteView d) {
  ByteReader r(d);
  uint16_t n = SD_TRY(r.u16());
  SD_CHECK(r.skip(6));  // Reserved1, Reserved2
  if (n == 0) return malformed("no RDMA transforms");
  RdmaTransformCapabilities c;
  c.transform_ids.reserve(n);
  for (uint16_t i = 0; i < n; i++) c.transform_ids.push_back(SD_TRY(r.u16()));
  return c;
}

Bytes encodeRdmaTransformCapabilities(const RdmaTransformCapabilities& c) {
  ByteWriter w;
  w.u16(uint16_t(c.transform_ids.size()));
  w.u16(0);
  w.u32(0);
  for (uint16_t id : c.transform_ids) w.u16(id);
  return w.take();
}

Result<RdmaTransform> decodeRdmaTransform(ByteView info) {
  ByteReader r(info);
  uint16_t desc_off = SD_TRY(r.u16());
  uint16_t desc_len = SD_TRY(r.u16());
  RdmaTransform t;
  t.channel = SD_TRY(r.u32());
  uint16_t count = SD_TRY(r.u16());
  SD_CHECK(r.skip(6));  // Reserved1, Reserved2
  if (count == 0) return err(NtStatus::kInvalidParameter, "SMB2_RDMA_TRANSFORM without a transform");
  // Entries follow one another, each padded to 8 bytes from the start of the structure.
  size_t at = kTransformFixed;
  for (uint16_t i = 0; i < count; i++) {
    SD_CHECK(r.seek(at));
    RdmaCryptoTransform c;
    c.type = SD_TRY(r.u16());
    uint16_t sig_len = SD_TRY(r.u16());
    uint16_t nonce_len = SD_TRY(r.u16());
    SD_CHECK(r.skip(2));
    c.signature = SD_TRY(r.bytes(sig_len));
    c.nonce = SD_TRY(r.bytes(nonce_len));
    t.transforms.push_back(c);
    at = align8(kCryptoFixed + sig_len + nonce_len) + at;
  }
  if (t.channel != 0 && desc_len == 0) return err(NtStatus::kInvalidParameter, "RDMA channel without descriptors");
  if (desc_len && desc_off < std::min(at, info.size())) return malformed("descriptors overlap the transforms");
  t.descriptors = SD_TRY(r.slice(desc_off, desc_len));
  return t;
}

void encodeRdmaTransform(const RdmaTransform& t, ByteWriter& w) {
  size_t base = w.size();
  w.u16(0);  // RdmaDescriptorOffset, patched below
  w.u16(uint16_t(t.descriptors.size()));
  w.u32(t.channel);
  w.u16(uint16_t(t.transforms.size()));
  w.u16(0);
  w.u32(0);
  for (const auto& c : t.transforms) {
    w.u16(c.type);
    w.u16(uint16_t(c.signature.size()));
    w.u16(uint16_t(c.nonce.size()));
    w.u16(0);
    w.bytes(c.signature);
    w.bytes(c.nonce);
    while ((w.size() - base) % 8) w.u8(0);
  }
  if (!t.descriptors.empty()) {
    store16(w.buf().data() + base, uint16_t(w.size() - base));
    w.bytes(t.descriptors);
  }
}

Result<RdmaCryptoTransform> encryptionTransformOf(const RdmaTransform& t, uint16_t cipher) {
  const RdmaCryptoTransform* found = nullptr;
  for (const auto& c : t.transforms) {
    if (c.type != kRdmaTransformTypeEncryption) continue;
    if (found) return err(NtStatus::kInvalidParameter, "more than one encryption transform");
    found = &c;
  }
  if (!found) return err(NtStatus::kInvalidParameter, "no encryption transform");
  if (found->signature.size() != 16) return err(NtStatus::kInvalidParameter, "encryption transform signature length");
  if (found->nonce.size() != crypto::aeadNonceSize(aeadOf(cipher)))
    return err(NtStatus::kInvalidParameter, "encryption transform nonce length");
  return *found;
}

RdmaSeal sealRdmaPayload(uint16_t cipher, ByteView key, std::span<uint8_t> data) {
  crypto::Aead a = aeadOf(cipher);
  RdmaSeal s;
  s.nonce_size = crypto::aeadNonceSize(a);
  crypto::randomFill(std::span<uint8_t>(s.nonce, s.nonce_size));
  (void)crypto::aeadEncrypt(a, key, ByteView(s.nonce, s.nonce_size), ByteView{}, data, s.signature);
  return s;
}

Status unsealRdmaPayload(uint16_t cipher, ByteView key, const RdmaCryptoTransform& t, std::span<uint8_t> data) {
  crypto::Aead a = aeadOf(cipher);
  if (t.signature.size() != 16 || t.nonce.size() != crypto::aeadNonceSize(a))
    return err(NtStatus::kInvalidParameter, "encryption transform lengths");
  Status st = crypto::aeadDecrypt(a, key, t.nonce, ByteView{}, data, t.signature.data());
  if (!st) return err(NtStatus::kAccessDenied, "RDMA payload failed to decrypt");
  return ok();
}

RdmaCryptoTransform encryptionTransform(const RdmaSeal& s) {
  return {kRdmaTransformTypeEncryption, ByteView(s.signature, 16), ByteView(s.nonce, s.nonce_size)};
}

}  // namespace sd::smb2
