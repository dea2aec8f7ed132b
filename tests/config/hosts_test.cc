// hosts allow / hosts deny: entry syntax, EXCEPT, and the allow/deny decision; the keys that
// restrict access and are not implemented stop start-up; fallback unix account is parsed.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/hosts.h"

namespace sd::config {
namespace {

using List = std::vector<std::string>;

TEST(Hosts, EntriesMatchAddressesNetworksAndPrefixes) {
  EXPECT_TRUE(hostsListMatches(List{"127.0.0.1"}, "127.0.0.1:445"));
  EXPECT_FALSE(hostsListMatches(List{"127.0.0.1"}, "127.0.0.2:445"));
  EXPECT_TRUE(hostsListMatches(List{"10.0.0.0/8"}, "10.200.3.4"));
  EXPECT_FALSE(hostsListMatches(List{"10.0.0.0/8"}, "11.0.0.1"));
  EXPECT_TRUE(hostsListMatches(List{"192.168.1.0/255.255.255.0"}, "192.168.1.77:1"));
  EXPECT_FALSE(hostsListMatches(List{"192.168.1.0/255.255.255.0"}, "192.168.2.77:1"));
  EXPECT_TRUE(hostsListMatches(List{"150.203."}, "150.203.15.1"));
  EXPECT_FALSE(hostsListMatches(List{"150.203."}, "150.204.15.1"));
  EXPECT_TRUE(hostsListMatches(List{"ALL"}, "1.2.3.4"));
  EXPECT_TRUE(hostsListMatches(List{"::1"}, "[::1]:445"));
  EXPECT_TRUE(hostsListMatches(List{"fd00::/8"}, "[fd12::5]:445"));
  EXPECT_FALSE(hostsListMatches(List{"fd00::/8"}, "[fe80::1]:445"));
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
  EXPECT_TRUE(hostsListMatches(List{"127.0.0.0/8"}, "[::ffff:127.0.0.5]:445"));
  EXPECT_FALSE(hostsListMatches(List{"127.0.0.1"}, "not-an-address"));
}

TEST(Hosts, ExceptRemovesFromTheMatch) {
  List l{"150.203.", "EXCEPT", "150.203.6.66"};
  EXPECT_TRUE(hostsListMatches(l, "150.203.6.65"));
  EXPECT_FALSE(hostsListMatches(l, "150.203.6.66"));
  EXPECT_FALSE(hostsListMatches(l, "150.204.6.65"));
}

TEST(Hosts, AllowDenyDecisionAsSmbConf) {
  EXPECT_TRUE(hostAllowed({}, {}, "1.2.3.4:1"));
  EXPECT_TRUE(hostAllowed({"127.0.0.1"}, {}, "127.0.0.1:1"));
  EXPECT_FALSE(hostAllowed({"127.0.0.1"}, {}, "127.0.0.2:1"));  // no loopback exception
  EXPECT_FALSE(hostAllowed({}, {"127.0.0.1"}, "127.0.0.1:1"));
  EXPECT_TRUE(hostAllowed({}, {"127.0.0.1"}, "127.0.0.2:1"));
  // Both: allow wins, then deny, else allowed.
  EXPECT_TRUE(hostAllowed({"127.0.0.1"}, {"ALL"}, "127.0.0.1:1"));
  EXPECT_FALSE(hostAllowed({"127.0.0.1"}, {"ALL"}, "127.0.0.2:1"));
  EXPECT_TRUE(hostAllowed({"10."}, {"11."}, "12.0.0.1:1"));
  // An address that does not parse is refused whenever a list is set.
  EXPECT_FALSE(hostAllowed({}, {"10."}, "garbage"));
}

TEST(Hosts, UnknownEntriesAreErrors) {
  EXPECT_FALSE(hostsListError(List{"127.0.0.1", "10.0.0.0/8", "ALL", "::1", "1.2."}));
  EXPECT_TRUE(hostsListError(List{"myhost.example"}));
  EXPECT_TRUE(hostsListError(List{"10.0.0.0/33"}));
  EXPECT_TRUE(hostsListError(List{"10.0.0.0/255.0.255.0"}));  // not contiguous
  EXPECT_TRUE(hostsListError(List{"1.", "EXCEPT", "2.", "EXCEPT", "3."}));
}

TEST(Hosts, ConfigKeysInGlobalAndShares) {
  std::vector<Diagnostic> d;
  auto c = loadConfigString(
      "[global]\nhosts allow = 127.0.0.1 10.0.0.0/8\nhosts deny = ALL\n"
      "fallback unix account = smbguest\n[s]\npath = /x\nhosts deny = 127.0.0.2\n",
      "t.conf", &d);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.hosts_allow, (List{"127.0.0.1", "10.0.0.0/8"}));
  EXPECT_EQ(c->global.hosts_deny, (List{"ALL"}));
  EXPECT_EQ(c->global.fallback_unix_account, "smbguest");
  EXPECT_EQ(c->shares[0].hosts_deny, (List{"127.0.0.2"}));
  EXPECT_TRUE(d.empty());

  d.clear();
  auto bad = loadConfigString("[s]\npath = /x\nhosts allow = fileserver.lan\n", "t.conf", &d);
  EXPECT_FALSE(bad);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].error);
  EXPECT_NE(d[0].message.find("t.conf:3:"), std::string::npos) << d[0].message;
}

TEST(Config, RestrictiveKeysWithoutEffectStopStartUp) {
  struct Case {
    const char* text;
    int line;
  } cases[] = {
      {"[s]\npath = /x\nfollow symlinks = no\n", 3},
      {"[s]\npath = /x\nguest only = yes\n", 3},
      {"[s]\npath = /x\nhide unreadable = yes\n", 3},
      {"[s]\npath = /x\nmax connections = 5\n", 3},
      {"[global]\nvalid users = alice\n[s]\npath = /x\n", 2},
      {"[global]\nread only = yes\n[s]\npath = /x\n", 2},
      {"[global]\nserver min protocol = SMB3_11\n[s]\npath = /x\n", 2},
  };
  for (const auto& cs : cases) {
    std::vector<Diagnostic> d;
    EXPECT_FALSE(loadConfigString(cs.text, "r.conf", &d)) << cs.text;
    ASSERT_EQ(d.size(), 1u) << cs.text;
    EXPECT_TRUE(d[0].error);
    EXPECT_EQ(d[0].message.rfind("r.conf:" + std::to_string(cs.line) + ": '", 0), 0u) << d[0].message;
  }
  // The values that restrict nothing load quietly.
  std::vector<Diagnostic> d;
  EXPECT_TRUE(loadConfigString("[global]\nserver min protocol = SMB2_02\n[s]\npath = /x\n"
                               "follow symlinks = yes\nguest only = no\nmax connections = 0\n",
                               "r.conf", &d));
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace sd::config
