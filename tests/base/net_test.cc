// base/net: socket address text and the iovec bookkeeping of partial writes.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "base/net.h"

namespace sd {
namespace {

TEST(Net, ParsesV4AndV6WithPorts) {
  sockaddr_storage ss;
  socklen_t len = 0;
  ASSERT_TRUE(parseSockaddr("127.0.0.1:445", &ss, &len));
  EXPECT_EQ(ss.ss_family, AF_INET);
  EXPECT_EQ(len, sizeof(sockaddr_in));
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port), 445);
  ASSERT_TRUE(parseSockaddr("[::1]:5445", &ss, &len));
  EXPECT_EQ(ss.ss_family, AF_INET6);
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port), 5445);
  ASSERT_TRUE(parseSockaddr("0.0.0.0:0", &ss));
}

TEST(Net, RefusesWhatIsNotANumericAddressAndPort) {
  sockaddr_storage ss;
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "127.0.0.1:-1",
                          "[::1]5445", "[::1", "localhost:445", "1.2.3:445"})
    EXPECT_FALSE(parseSockaddr(bad, &ss)) << bad;
}

TEST(Net, AdvanceIovOverPartialWrites) {
  uint8_t a[4], b[6], c[3];
  iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
  iovec* cur = iov;
  size_t n = 3;
  advanceIov(cur, n, 2);  // half of a
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(cur->iov_base, a + 2);
  EXPECT_EQ(cur->iov_len, 2u);
  advanceIov(cur, n, 2 + 6);  // the rest of a and all of b
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(cur->iov_base, c);
  EXPECT_EQ(cur->iov_len, 3u);
  advanceIov(cur, n, 3);
  EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace sd
