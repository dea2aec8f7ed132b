// MS-NLMP 4.2.4 NTLMv2 vectors and SPNEGO/NTLMSSP client<->server round trips.
#include <gtest/gtest.h>

#include "auth/spnego.h"
#include "base/text.h"
#include "crypto/hash.h"

namespace sd::auth {
namespace {

TEST(Ntlm, MsNlmp424Vectors) {
  NtHash nt = ntHash("Password");
  EXPECT_EQ(toHex(ByteView(nt.data(), 16)), "a4f49c406510bdcab6824ee7c30fd852");
  Bytes key = ntowfv2(nt, "User", "Domain");
  EXPECT_EQ(toHex(key), "0c868a403bfd7a93a3001ef22ef02e3f");
  // temp = 0x0101 + Z(6) + Time(0) + ClientChallenge(aa*8) + Z(4) + AV pairs + Z(4)
  Bytes temp = fromHex("0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000");
  Bytes av = fromHex("02000c00") ;
  Bytes dom = utf16le("Domain"), srv = utf16le("Server");
  temp.insert(temp.end(), av.begin(), av.end());
  temp.insert(temp.end(), dom.begin(), dom.end());
  for (uint8_t b : fromHex("01000c00")) temp.push_back(b);
  temp.insert(temp.end(), srv.begin(), srv.end());
  for (uint8_t b : fromHex("00000000 00000000")) temp.push_back(b);
  Bytes proof = crypto::hmacMd5(key, {fromHex("0123456789abcdef"), temp});
  EXPECT_EQ(toHex(proof), "68cd0ab851e51c96aabc927bebef6a1c");
  EXPECT_EQ(toHex(crypto::hmacMd5(key, proof)), "8de40ccadbc14a82f15cb0ad0de95ca3");
}

UserLookup users() {
  return [](std::string_view u, std::string_view) -> std::optional<NtHash> {
    if (iequals(u, "alice")) return ntHash("Secret-1");
    return std::nullopt;
  };
}

Result<AuthResult> runExchange(std::string user, std::string pass) {
  SpnegoServer server(NtlmServerOptions{}, users());
  SpnegoClient client(user, "WORKGROUP", pass);
  auto s1 = SD_TRY(server.step(client.initial()));
  if (s1.done) return malformed("done too early");
  auto c1 = SD_TRY(client.step(s1.out));
  auto s2 = SD_TRY(server.step(c1.out));
  if (!s2.done) return malformed("not done");
  auto c2 = SD_TRY(client.step(s2.out));
  if (!c2.done) return malformed("client not done");
  if (server.result().session_key != client.sessionKey()) return malformed("key mismatch");
  return server.result();
}

TEST(Spnego, RoundTripWithMicAndKeyExchange) {
  auto r = runExchange("alice", "Secret-1");
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(r->user, "alice");
  EXPECT_EQ(r->session_key.size(), 16u);
  EXPECT_FALSE(r->anonymous);
}

TEST(Spnego, WrongPasswordAndUnknownUserFail) {
  auto r = runExchange("alice", "wrong");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, NtStatus::kLogonFailure);
  // An unknown user is reported distinctly so the server can apply "map to guest = bad user";
  // on the wire it is a logon failure either way.
  auto u = runExchange("mallory", "Secret-1");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().status, NtStatus::kNoSuchUser);
}

TEST(Spnego, HintIsWellFormedDer) {
  Bytes h = negTokenInitHint();
  ASSERT_GT(h.size(), 20u);
  EXPECT_EQ(h[0], 0x60);
  EXPECT_EQ(size_t(h[1]) + 2, h.size());
}

TEST(Spnego, TruncatedTokensFailCleanly) {
  SpnegoClient client("alice", "", "Secret-1");
  Bytes init = client.initial();
  for (size_t n = 0; n < init.size(); n++) {
    SpnegoServer server(NtlmServerOptions{}, users());
    auto r = server.step(ByteView(init).first(n));
    EXPECT_FALSE(r.has_value() && r->done) << n;
  }
}

}  // namespace
}  // namespace sd::auth
