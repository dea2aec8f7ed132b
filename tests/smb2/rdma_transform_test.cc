// RDMA transforms (MS-SMB2 2.2.3.1.6, 2.2.43, 2.2.43.1): golden bytes laid out from the spec
// tables, round trips, every out-of-bounds offset and wrong count refused, and the payload seal:
// a round trip per cipher, a changed byte, tag or nonce refused.
#include <gtest/gtest.h>

#include "smb2/constants.h"
#include "smb2/rdma_transform.h"

namespace sd::smb2 {
namespace {

TEST(RdmaTransform, CapabilitiesGoldenBytes) {
  Bytes b = encodeRdmaTransformCapabilities({{kRdmaTransformEncryption, kRdmaTransformSigning}});
  // TransformCount, Reserved1, Reserved2, RDMATransformIds.
  EXPECT_EQ(b, fromHex("0200" "0000" "00000000" "0100" "0200"));
  auto c = decodeRdmaTransformCapabilities(b);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->transform_ids, (std::vector<uint16_t>{1, 2}));
  EXPECT_FALSE(decodeRdmaTransformCapabilities(fromHex("0000" "0000" "00000000")));  // count 0
  EXPECT_FALSE(decodeRdmaTransformCapabilities(fromHex("0300" "0000" "00000000" "0100" "0200")));
  EXPECT_FALSE(decodeRdmaTransformCapabilities(fromHex("0100" "0000")));
}

TEST(RdmaTransform, GoldenBytesAndRoundTrip) {
  Bytes sig = fromHex("00112233445566778899aabbccddeeff");
  Bytes nonce = fromHex("a0a1a2a3a4a5a6a7a8a9aaab");  // 12 bytes: GCM
  Bytes desc = fromHex("0010000000000000" "78563412" "00001000");  // Offset, Token, Length
  ByteWriter w;
  encodeRdmaTransform({kChannelRdmaV1, {{kRdmaTransformTypeEncryption, sig, nonce}}, desc}, w);
  // 16-byte header; the crypto transform: 8 + 16 + 12 = 36, padded to 40; descriptors at 56.
  Bytes want = fromHex("3800" "1000" "01000000" "0100" "0000" "00000000" "0100" "1000" "0c00" "0000");
  for (const Bytes& part : {sig, nonce, fromHex("00000000"), desc}) want.insert(want.end(), part.begin(), part.end());
  EXPECT_EQ(w.buf(), want);
  auto t = decodeRdmaTransform(w.buf());
  ASSERT_TRUE(t) << t.error().what;
  EXPECT_EQ(t->channel, kChannelRdmaV1);
  ASSERT_EQ(t->transforms.size(), 1u);
  EXPECT_EQ(Bytes(t->transforms[0].signature.begin(), t->transforms[0].signature.end()), sig);
  EXPECT_EQ(Bytes(t->transforms[0].nonce.begin(), t->transforms[0].nonce.end()), nonce);
  EXPECT_EQ(Bytes(t->descriptors.begin(), t->descriptors.end()), desc);
  auto e = encryptionTransformOf(*t, kCipherAes128Gcm);
  ASSERT_TRUE(e);
  // An 11-byte nonce is CCM's: the wrong length for GCM, the right one for neither here.
  EXPECT_EQ(encryptionTransformOf(*t, kCipherAes128Ccm).status(), NtStatus::kInvalidParameter);
}

TEST(RdmaTransform, ResponseFormHasNoDescriptors) {
  Bytes sig(16, 7), nonce(11, 9);
  ByteWriter w;
  encodeRdmaTransform({kChannelNone, {{kRdmaTransformTypeEncryption, sig, nonce}}, {}}, w);
  EXPECT_EQ(w.size(), 16u + 40u);
  EXPECT_EQ(le16(w.buf().data()), 0);  // RdmaDescriptorOffset
  auto t = decodeRdmaTransform(w.buf());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->descriptors.empty());
  EXPECT_TRUE(encryptionTransformOf(*t, kCipherAes128Ccm));
}

TEST(RdmaTransform, MalformedIsRefused) {
  Bytes sig(16, 1), nonce(12, 2), desc(16, 3);
  ByteWriter w;
  encodeRdmaTransform({kChannelRdmaV1, {{kRdmaTransformTypeEncryption, sig, nonce}}, desc}, w);
  const Bytes good = w.buf();
  // Every truncation fails.
  for (size_t n = 0; n < good.size(); n++) EXPECT_FALSE(decodeRdmaTransform(ByteView(good).first(n))) << n;
  // TransformCount 0.
  Bytes b = good;
  store16(b.data() + 8, 0);
  EXPECT_EQ(decodeRdmaTransform(b).status(), NtStatus::kInvalidParameter);
  // TransformCount larger than the entries present.
  b = good;
  store16(b.data() + 8, 2);
  EXPECT_FALSE(decodeRdmaTransform(b));
  // Descriptors outside the structure, or over the crypto transform.
  b = good;
  store16(b.data() + 0, uint16_t(good.size()));
  EXPECT_FALSE(decodeRdmaTransform(b));
  b = good;
  store16(b.data() + 0, 20);
  EXPECT_FALSE(decodeRdmaTransform(b));
  // A SignatureLength running past the end.
  b = good;
  store16(b.data() + 18, 0xFFFF);
  EXPECT_FALSE(decodeRdmaTransform(b));
  // An RDMA channel without descriptors.
  b = good;
  store16(b.data() + 2, 0);
  EXPECT_EQ(decodeRdmaTransform(b).status(), NtStatus::kInvalidParameter);
}

TEST(RdmaTransform, ExactlyOneEncryptionEntry) {
  Bytes sig(16, 1), nonce(12, 2), desc(16, 3);
  RdmaCryptoTransform enc{kRdmaTransformTypeEncryption, sig, nonce};
  RdmaCryptoTransform sign{kRdmaTransformTypeSigning, sig, {}};
  auto decoded = [&](std::vector<RdmaCryptoTransform> ts) {
    ByteWriter w;
    encodeRdmaTransform({kChannelRdmaV1, ts, desc}, w);
    auto t = decodeRdmaTransform(w.buf());
    EXPECT_TRUE(t);
    return encryptionTransformOf(*t, kCipherAes256Gcm).status();
  };
  EXPECT_EQ(decoded({enc}), NtStatus::kSuccess);
  EXPECT_EQ(decoded({sign, enc}), NtStatus::kSuccess);
  EXPECT_EQ(decoded({enc, enc}), NtStatus::kInvalidParameter);
  EXPECT_EQ(decoded({sign}), NtStatus::kInvalidParameter);
  Bytes long_sig(17, 1);
  EXPECT_EQ(decoded({{kRdmaTransformTypeEncryption, long_sig, nonce}}), NtStatus::kInvalidParameter);
}

TEST(RdmaTransform, PayloadSealRoundTripEveryCipher) {
  for (uint16_t cipher : {kCipherAes128Ccm, kCipherAes128Gcm, kCipherAes256Ccm, kCipherAes256Gcm}) {
    Bytes key(cipher == kCipherAes256Ccm || cipher == kCipherAes256Gcm ? 32 : 16, 0x42);
    Bytes plain(100000);
    for (size_t i = 0; i < plain.size(); i++) plain[i] = uint8_t(i * 7);
    Bytes data = plain;
    auto seal = sealRdmaPayload(cipher, key, data);
    EXPECT_NE(data, plain);
    EXPECT_EQ(seal.nonce_size, cipher == kCipherAes128Gcm || cipher == kCipherAes256Gcm ? 12u : 11u);
    auto t = encryptionTransform(seal);
    Bytes copy = data;
    ASSERT_TRUE(unsealRdmaPayload(cipher, key, t, copy)) << cipher;
    EXPECT_EQ(copy, plain);
    // One changed byte of the payload, of the tag or of the nonce: refused.
    copy = data;
    copy[5000] ^= 1;
    EXPECT_EQ(unsealRdmaPayload(cipher, key, t, copy).status(), NtStatus::kAccessDenied);
    RdmaSeal bad = seal;
    bad.signature[0] ^= 1;
    copy = data;
    EXPECT_FALSE(unsealRdmaPayload(cipher, key, encryptionTransform(bad), copy));
    bad = seal;
    bad.nonce[3] ^= 1;
    copy = data;
    EXPECT_FALSE(unsealRdmaPayload(cipher, key, encryptionTransform(bad), copy));
    // Two seals of the same data never share a nonce.
    Bytes again = plain;
    auto seal2 = sealRdmaPayload(cipher, key, again);
    EXPECT_NE(Bytes(seal.nonce, seal.nonce + seal.nonce_size), Bytes(seal2.nonce, seal2.nonce + seal2.nonce_size));
  }
}

}  // namespace
}  // namespace sd::smb2
