// SMB2 codecs: round trips through the encode/decode pairs, truncation sweeps (every prefix of a
// valid message must fail cleanly), corrupted offset/length fields, and golden bytes.
#include <gtest/gtest.h>

#include "smb2/close.h"
#include "smb2/compound.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/credits.h"
#include "smb2/frame.h"
#include "smb2/header.h"
#include "smb2/ioctl.h"
#include "smb2/lock.h"
#include "smb2/negotiate.h"
#include "smb2/query_directory.h"
#include "smb2/query_info.h"
#include "smb2/read.h"
#include "smb2/security.h"
#include "smb2/session_setup.h"
#include "smb2/set_info.h"
#include "smb2/tree_connect.h"
#include "smb2/write.h"

namespace sd::smb2 {
namespace {

ByteWriter withHeader(Command c, uint32_t flags = 0) {
  ByteWriter w;
  Header h;
  h.command = c;
  h.flags = flags;
  h.message_id = 7;
  h.session_id = 0x1122334455667788ull;
  h.tree_id = 5;
  encodeHeader(h, w);
  return w;
}

template <class F>
void expectTruncationFails(const Bytes& msg, F decode) {
  for (size_t n = 0; n < msg.size(); n++) {
    auto r = decode(ByteView(msg).first(n));
    EXPECT_FALSE(r.has_value()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Header, GoldenAndRoundTrip) {
  ByteWriter w = withHeader(Command::kCreate, kFlagSigned);
  ASSERT_EQ(w.size(), 64u);
  EXPECT_EQ(toHex(ByteView(w.buf()).first(8)), "fe534d4240000000");
  auto h = decodeHeader(w.buf());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->command, Command::kCreate);
  EXPECT_EQ(h->message_id, 7u);
  EXPECT_EQ(h->tree_id, 5u);
  EXPECT_EQ(h->session_id, 0x1122334455667788ull);
  Bytes bad = w.buf();
  bad[0] = 0xFF;
  EXPECT_FALSE(decodeHeader(bad));
  expectTruncationFails(w.buf(), [](ByteView v) { return decodeHeader(v); });
}

TEST(Negotiate, RequestWithContextsRoundTrip) {
  ByteWriter w = withHeader(Command::kNegotiate);
  NegotiateRequest q;
  q.security_mode = kNegotiateSigningEnabled;
  q.capabilities = kCapLargeMtu | kCapEncryption;
  q.client_guid[3] = 9;
  q.dialects = {kDialect300, kDialect302, kDialect311};
  std::vector<std::pair<uint16_t, Bytes>> ctx = {
      {kPreauthIntegrityCapabilities, fromHex("0100 2000 0100") },
      {kEncryptionCapabilities, fromHex("0200 0200 0100")},
      {kSigningCapabilities, fromHex("0200 0200 0100")}};
  for (uint8_t i = 0; i < 32; i++) ctx[0].second.push_back(i);
  encodeNegotiateRequest(q, ctx, w);
  auto r = decodeNegotiateRequest(w.buf());
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(r->dialects, q.dialects);
  ASSERT_EQ(r->negotiate_contexts.size(), 3u);
  auto p = decodePreauthIntegrityCapabilities(r->negotiate_contexts[0].data);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->hash_algorithms, std::vector<uint16_t>{kHashSha512});
  EXPECT_EQ(p->salt.size(), 32u);
  auto e = decodeEncryptionCapabilities(r->negotiate_contexts[1].data);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ciphers, (std::vector<uint16_t>{kCipherAes128Gcm, kCipherAes128Ccm}));
  // The second and third contexts start 8-byte aligned.
  EXPECT_EQ((r->negotiate_contexts[1].data.data() - w.buf().data() - 8) % 8, 0);
  expectTruncationFails(w.buf(), [](ByteView v) { return decodeNegotiateRequest(v); });
  // Zero dialects is malformed (MS-SMB2 3.3.5.4).
  ByteWriter z = withHeader(Command::kNegotiate);
  NegotiateRequest empty;
  encodeNegotiateRequest(empty, {}, z);
  EXPECT_FALSE(decodeNegotiateRequest(z.buf()));
}

TEST(Negotiate, ResponseRoundTrip) {
  ByteWriter w = withHeader(Command::kNegotiate, kFlagServerToRedir);
  NegotiateResponse p;
  p.dialect_revision = kDialect311;
  p.security_mode = kNegotiateSigningEnabled;
  p.max_read_size = 8 << 20;
  Bytes blob = fromHex("6082aabb");
  p.security_buffer = blob;
  p.preauth_salt = Bytes(32, 1);
  p.answer_encryption = true;
  p.cipher = kCipherAes128Gcm;
  p.signing_algorithm = kSigningAesGmac;
  encodeNegotiateResponse(p, w);
  auto r = decodeNegotiateResponse(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dialect_revision, kDialect311);
  EXPECT_EQ(r->max_read_size, 8u << 20);
  EXPECT_EQ(toHex(r->security_buffer), "6082aabb");
  ASSERT_EQ(r->negotiate_contexts.size(), 3u);
  EXPECT_EQ(r->negotiate_contexts[1].context_type, kEncryptionCapabilities);
  expectTruncationFails(w.buf(), [](ByteView v) { return decodeNegotiateResponse(v); });
}

TEST(SessionSetup, RoundTripAndBadOffset) {
  ByteWriter w = withHeader(Command::kSessionSetup);
  SessionSetupRequest q;
  Bytes token = fromHex("a1020304");
  q.security_buffer = token;
  q.security_mode = 1;
  encodeSessionSetupRequest(q, w);
  auto r = decodeSessionSetupRequest(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(toHex(r->security_buffer), "a1020304");
  Bytes bad = w.buf();
  store16(bad.data() + 64 + 12, 0xFFF0);  // SecurityBufferOffset past the end
  EXPECT_FALSE(decodeSessionSetupRequest(bad));
  expectTruncationFails(w.buf(), [](ByteView v) { return decodeSessionSetupRequest(v); });
}

TEST(TreeConnect, PathRoundTrip) {
  ByteWriter w = withHeader(Command::kTreeConnect);
  encodeTreeConnectRequest({0, "\\\\127.0.0.1\\share"}, w);
  auto r = decodeTreeConnectRequest(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "\\\\127.0.0.1\\share");
  expectTruncationFails(w.buf(), [](ByteView v) { return decodeTreeConnectRequest(v); });
}

TEST(Create, RequestContextsRoundTrip) {
  ByteWriter w = withHeader(Command::kCreate);
  CreateRequest q;
  q.desired_access = kFileGenericRead;
  q.create_disposition = kFileOpenIf;
  q.name = "dir\\f\xc3\xa9.txt";
  std::vector<CreateContextOut> ctx = {{"MxAc", {}}, {"QFid", {}}, {"AlSi", fromHex("0010000000000000")}};
  encodeCreateRequest(q, ctx, w);
  auto r = decodeCreateRequest(w.buf());
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(r->name, q.name);
  ASSERT_EQ(r->create_contexts.size(), 3u);
  EXPECT_EQ(r->create_contexts[0].name, "MxAc");
  EXPECT_EQ(r->create_contexts[2].name, "AlSi");
  EXPECT_EQ(*decodeAllocationSize(r->create_contexts[2].data), 4096u);
  expectTruncationFails(w.buf(), [](ByteView v) { return decodeCreateRequest(v); });
  // A context chain whose Next points outside the buffer is rejected.
  Bytes chain = encodeCreateContexts(ctx);
  store32(chain.data(), 0x1000);
  EXPECT_FALSE(decodeCreateContexts(chain));
  // Odd-length UTF-16 name is malformed.
  Bytes bad = w.buf();
  store16(bad.data() + 64 + 46, uint16_t(le16(bad.data() + 64 + 46) - 1));
  EXPECT_FALSE(decodeCreateRequest(bad));
}

TEST(Create, ResponseRoundTrip) {
  ByteWriter w = withHeader(Command::kCreate, kFlagServerToRedir);
  CreateResponse p;
  p.create_action = kFileCreated;
  p.end_of_file = 12345;
  p.file_id = {1, 2};
  p.contexts.push_back(makeMaximalAccessResponse(NtStatus::kSuccess, kFileAllAccess));
  p.contexts.push_back(makeQueryOnDiskIdResponse(77, 88));
  encodeCreateResponse(p, w);
  auto r = decodeCreateResponse(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->end_of_file, 12345u);
  EXPECT_EQ(r->file_id, (FileId{1, 2}));
  ASSERT_EQ(r->decoded_contexts.size(), 2u);
  EXPECT_EQ(r->decoded_contexts[1].name, "QFid");
  EXPECT_EQ(le64(r->decoded_contexts[1].data.data()), 77u);
}

TEST(ReadWrite, RoundTripsAndLengths) {
  ByteWriter w = withHeader(Command::kWrite);
  WriteRequest q;
  q.offset = 1 << 20;
  q.file_id = {3, 4};
  Bytes data(1000, 0x5a);
  q.data = data;
  encodeWriteRequest(q, w);
  auto r = decodeWriteRequest(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data.size(), 1000u);
  EXPECT_EQ(r->offset, 1u << 20);
  Bytes bad = w.buf();
  store32(bad.data() + 64 + 4, 5000);  // Length beyond the message
  EXPECT_FALSE(decodeWriteRequest(bad));

  ByteWriter rr = withHeader(Command::kRead, kFlagServerToRedir);
  size_t at = encodeReadResponseHeader(rr);
  EXPECT_EQ(at, 64u + 16u);
  rr.bytes(data);
  finishReadResponseHeader(rr, 1000);
  auto rp = decodeReadResponse(rr.buf());
  ASSERT_TRUE(rp);
  EXPECT_EQ(rp->data.size(), 1000u);

  ByteWriter rq = withHeader(Command::kRead);
  ReadRequest rd;
  rd.length = 65536;
  rd.channel = kChannelRdmaV1;
  Bytes desc;
  ByteWriter dw(desc);
  smbdirect::encodeBufferDescriptors(std::vector<smbdirect::BufferDescriptorV1>{{0x1000, 0xabcd, 65536}}, dw);
  rd.read_channel_info = desc;
  encodeReadRequest(rd, rq);
  auto rdq = decodeReadRequest(rq.buf());
  ASSERT_TRUE(rdq);
  auto ds = decodeChannelDescriptors(rdq->channel, rdq->read_channel_info, rdq->length);
  ASSERT_TRUE(ds);
  EXPECT_EQ((*ds)[0].token, 0xabcdu);
  EXPECT_FALSE(decodeChannelDescriptors(rdq->channel, ByteView(desc).first(15), rdq->length));
  EXPECT_FALSE(decodeChannelDescriptors(rdq->channel, rdq->read_channel_info, 65537));  // too small
  EXPECT_FALSE(decodeChannelDescriptors(rdq->channel, ByteView(), 0));                  // none
  EXPECT_FALSE(decodeChannelDescriptors(0, rdq->read_channel_info, rdq->length));       // not RDMA
}

TEST(Lock, ElementsBounded) {
  ByteWriter w = withHeader(Command::kLock);
  LockRequest q;
  q.locks = {{0, 10, kLockFlagExclusive}, {20, 5, kLockFlagShared}};
  encodeLockRequest(q, w);
  auto r = decodeLockRequest(w.buf());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->locks.size(), 2u);
  Bytes bad = w.buf();
  store16(bad.data() + 64 + 2, 1000);  // LockCount far beyond the message
  EXPECT_FALSE(decodeLockRequest(bad));
}

TEST(Ioctl, NetworkInterfacesRoundTrip) {
  NetworkInterfaceInfo a;
  a.if_index = 2;
  a.capability = kRdmaCapable;
  a.family = 2;  // AF_INET
  a.address = {127, 0, 0, 1};
  NetworkInterfaceInfo b = a;
  b.family = 10;  // AF_INET6
  b.address[15] = 1;
  Bytes enc = encodeNetworkInterfaceInfo({a, b});
  EXPECT_EQ(enc.size(), 2u * 152u);
  auto d = decodeNetworkInterfaceInfo(enc);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].capability, kRdmaCapable);
  EXPECT_EQ((*d)[1].address[15], 1);
}

TEST(Compound, SplitRules) {
  ByteWriter a = withHeader(Command::kCreate), b = withHeader(Command::kClose);
  a.zeros(8);
  store32(a.buf().data() + kOffNextCommand, uint32_t(a.size()));
  Bytes frame = a.buf();
  frame.insert(frame.end(), b.buf().begin(), b.buf().end());
  auto parts = splitCompound(frame);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->size(), 2u);
  store32(frame.data() + kOffNextCommand, 70);  // not 8-aligned
  EXPECT_FALSE(splitCompound(frame));
  store32(frame.data() + kOffNextCommand, 8000);  // outside
  EXPECT_FALSE(splitCompound(frame));
}

TEST(Credits, WindowRejectsReuseAndOutOfWindow) {
  CreditWindow cw(100);
  EXPECT_TRUE(cw.consume(0, 1));
  EXPECT_FALSE(cw.consume(0, 1));  // reused
  EXPECT_EQ(cw.grant(10, 1), 10);
  EXPECT_TRUE(cw.consume(5, 1));   // out of order inside the window
  EXPECT_TRUE(cw.consume(1, 4));   // multi-credit 1..4
  EXPECT_FALSE(cw.consume(11, 1)); // beyond the window
  EXPECT_FALSE(cw.consume(6, 8));  // charge crosses the window end
  EXPECT_LE(cw.grant(1000, 1), 100);
}

// MessageIds at the top of the 64-bit range do not wrap to the window's start (they were
// accepted, and consumed no credit, when the window's end was computed with overflow).
TEST(Credits, MessageIdsDoNotWrap) {
  CreditWindow cw(100);
  EXPECT_FALSE(cw.consume(~0ull, 1));
  EXPECT_FALSE(cw.consume(~0ull - 1, 2));
  EXPECT_FALSE(cw.consume(~0ull - 5, 8));
  EXPECT_TRUE(cw.consume(0, 1));
  EXPECT_EQ(cw.grant(9, 1), 9);
  EXPECT_FALSE(cw.consume(~0ull, 1));
  EXPECT_FALSE(cw.consume(~0ull - 8, 9));
  EXPECT_TRUE(cw.consume(1, 9));    // the whole window
  EXPECT_FALSE(cw.consume(10, 1));  // nothing granted beyond it
}

TEST(Frame, DecoderYieldsWholeFramesAndRejectsOversize) {
  FrameDecoder d(1024);
  Bytes s = fromHex("00000003 aabbcc 00000001 dd");
  for (uint8_t b : s) d.feed(ByteView(&b, 1));
  auto f1 = d.next();
  ASSERT_TRUE(f1 && *f1);
  EXPECT_EQ(toHex(**f1), "aabbcc");
  auto f2 = d.next();
  ASSERT_TRUE(f2 && *f2);
  EXPECT_EQ(toHex(**f2), "dd");
  FrameDecoder big(16);
  big.feed(fromHex("00000100"));
  EXPECT_FALSE(big.next());
}

TEST(Security, SignVerifyAndTamper) {
  for (uint16_t alg : {kSigningAesCmac, kSigningAesGmac, kSigningHmacSha256}) {
    ByteWriter w = withHeader(Command::kRead, kFlagServerToRedir);
    w.bytes(Bytes(100, 3));
    Bytes key(16, 0x42);
    signMessage(alg, key, w.buf());
    EXPECT_TRUE(le32(w.buf().data() + kOffFlags) & kFlagSigned);
    EXPECT_TRUE(verifySignature(alg, key, w.buf())) << alg;
    Bytes t = w.buf();
    t[100] ^= 1;
    EXPECT_FALSE(verifySignature(alg, key, t)) << alg;
    Bytes k2(16, 0x43);
    EXPECT_FALSE(verifySignature(alg, k2, w.buf())) << alg;
  }
}

TEST(Security, EncryptDecryptEveryCipher) {
  for (uint16_t c : {kCipherAes128Ccm, kCipherAes128Gcm, kCipherAes256Ccm, kCipherAes256Gcm}) {
    bool big = c == kCipherAes256Ccm || c == kCipherAes256Gcm;
    Bytes key(big ? 32 : 16, 7);
    ByteWriter w = withHeader(Command::kEcho);
    w.u16(4);
    w.u16(0);
    Bytes enc = encryptMessage(c, key, 0x99, w.buf());
    EXPECT_EQ(enc.size(), w.size() + 52);
    EXPECT_EQ(*transformSessionId(enc), 0x99u);
    auto dec = decryptMessage(c, key, enc);
    ASSERT_TRUE(dec) << c;
    EXPECT_EQ(*dec, w.buf());
    enc[60] ^= 1;
    EXPECT_FALSE(decryptMessage(c, key, enc));
    EXPECT_FALSE(decryptMessage(c, key, ByteView(enc).first(51)));
  }
}

TEST(Security, KeyDerivationLengthsAndDirectionsDiffer) {
  Bytes sk(16, 1);
  std::array<uint8_t, 64> h{};
  auto k30 = deriveKeys(kDialect300, sk, h, kCipherAes128Ccm);
  auto k311 = deriveKeys(kDialect311, sk, h, kCipherAes256Gcm);
  EXPECT_EQ(k30.signing_key.size(), 16u);
  EXPECT_EQ(k311.c2s_key.size(), 32u);
  EXPECT_NE(k30.c2s_key, k30.s2c_key);
  EXPECT_NE(k30.signing_key, k311.signing_key);
}

}  // namespace
}  // namespace sd::smb2
