// Primitive vectors: RFC 1320 (MD4), RFC 4493 (AES-CMAC), the GCM paper / NIST test cases 1-2
// (GCM, GMAC), RFC 4231 test case 2 (HMAC-SHA256), MS-NLMP 4.2.2.1.2 (NT hash of "Password").
#include <gtest/gtest.h>

#include "base/text.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"

namespace sd::crypto {
namespace {

TEST(Hash, Md4AndNtHash) {
  EXPECT_EQ(toHex(md4(asBytes(""))), "31d6cfe0d16ae931b73c59d7e0c089c0");
  EXPECT_EQ(toHex(md4(asBytes("abc"))), "a448017aaf21d8525fc10ae87aa6729d");
  EXPECT_EQ(toHex(md4(utf16le("Password"))), "a4f49c406510bdcab6824ee7c30fd852");
}

TEST(Hash, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(toHex(hmacSha256(asBytes("Jefe"), asBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hash, Sha512Incremental) {
  Sha512 h;
  h.update(asBytes("ab"));
  h.update(asBytes("c"));
  auto d = h.final();
  EXPECT_EQ(toHex(ByteView(d.data(), d.size())), toHex(sha512(asBytes("abc"))));
  EXPECT_EQ(toHex(sha512(asBytes("abc"))).substr(0, 16), "ddaf35a193617aba");
}

TEST(Cmac, Rfc4493) {
  Bytes key = fromHex("2b7e151628aed2a6abf7158809cf4f3c");
  EXPECT_EQ(toHex(aesCmac(key, ByteView())), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(toHex(aesCmac(key, fromHex("6bc1bee22e409f96e93d7e117393172a"))),
            "070a16b46b4d4144f79bdd9dd04a287c");
  Bytes m = fromHex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411");
  EXPECT_EQ(toHex(aesCmac(key, m)), "dfa66747de9ae63030ca32611497c827");
  // Split input gives the same MAC.
  EXPECT_EQ(toHex(aesCmac(key, {ByteView(m).first(7), ByteView(m).subspan(7)})),
            "dfa66747de9ae63030ca32611497c827");
}

TEST(Aead, GcmNistCase2AndGmacCase1) {
  Bytes key(16, 0), iv(12, 0), pt(16, 0);
  uint8_t tag[16];
  ASSERT_TRUE(aeadEncrypt(Aead::kAes128Gcm, key, iv, {}, pt, tag));
  EXPECT_EQ(toHex(pt), "0388dace60b6a392f328c2b971b2fe78");
  EXPECT_EQ(toHex(ByteView(tag, 16)), "ab6e47d42cec13bdf53a67b21257bddf");
  ASSERT_TRUE(aeadDecrypt(Aead::kAes128Gcm, key, iv, {}, pt, tag));
  EXPECT_EQ(toHex(pt), std::string(32, '0'));
  EXPECT_EQ(toHex(aesGmac(key, iv, {})), "58e2fccefa7e3061367f1d57a4e7455a");
}

TEST(Aead, RoundTripAllAndTamperDetected) {
  for (Aead a : {Aead::kAes128Ccm, Aead::kAes128Gcm, Aead::kAes256Ccm, Aead::kAes256Gcm}) {
    Bytes key(aeadKeySize(a), 7), nonce(aeadNonceSize(a), 9), aad = fromHex("0102030405");
    Bytes data(100000);
    for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 31);
    Bytes orig = data;
    uint8_t tag[16];
    ASSERT_TRUE(aeadEncrypt(a, key, nonce, aad, data, tag));
    EXPECT_NE(data, orig);
    Bytes copy = data;
    ASSERT_TRUE(aeadDecrypt(a, key, nonce, aad, copy, tag));
    EXPECT_EQ(copy, orig);
    copy = data;
    copy[500] ^= 1;
    EXPECT_FALSE(aeadDecrypt(a, key, nonce, aad, copy, tag));
    copy = data;
    Bytes aad2 = fromHex("0102030406");
    EXPECT_FALSE(aeadDecrypt(a, key, nonce, aad2, copy, tag));
  }
  // Wrong sizes are refused, not misused.
  uint8_t tag[16];
  Bytes d(4);
  EXPECT_FALSE(aeadEncrypt(Aead::kAes128Ccm, Bytes(16), Bytes(12), {}, d, tag));
  EXPECT_FALSE(aeadEncrypt(Aead::kAes256Gcm, Bytes(16), Bytes(12), {}, d, tag));
}

TEST(Rc4, KnownStream) {
  // RFC 6229: key 0102030405, first keystream bytes b2396305f03dc027
  Bytes z(8, 0);
  EXPECT_EQ(toHex(rc4(fromHex("0102030405"), z)), "b2396305f03dc027");
  Rc4 s(fromHex("0102030405"));
  Bytes a(4, 0), b(4, 0);
  s.apply(a);
  s.apply(b);
  EXPECT_EQ(toHex(a) + toHex(b), "b2396305f03dc027");
}

TEST(Kdf, CounterModeStructure) {
  // Independent recomputation of the SP800-108 construction for one block.
  Bytes key = fromHex("000102030405060708090a0b0c0d0e0f");
  Bytes label = fromHex("534d4232414553434d414300");  // "SMB2AESCMAC\0"
  Bytes ctx = fromHex("536d625369676e00");            // "SmbSign\0"
  Bytes msg = fromHex("00000001");
  msg.insert(msg.end(), label.begin(), label.end());
  msg.push_back(0);
  msg.insert(msg.end(), ctx.begin(), ctx.end());
  for (uint8_t b : fromHex("00000080")) msg.push_back(b);
  Bytes want = hmacSha256(key, msg);
  want.resize(16);
  EXPECT_EQ(toHex(kdfCounterHmacSha256(key, label, ctx, 128)), toHex(want));
  EXPECT_EQ(kdfCounterHmacSha256(key, label, ctx, 256).size(), 32u);
}

}  // namespace
}  // namespace sd::crypto
