#include "client/options.h"

#include <gtest/gtest.h>

namespace sd::client {
namespace {

TEST(SmbAddress, UncForms) {
  auto a = parseSmbAddress("//10.0.0.1/share/dir/file.txt");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(a->share, "share");
  EXPECT_EQ(a->path, "dir/file.txt");
  auto b = parseSmbAddress("\\\\127.0.0.1:10445\\s\\a\\b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 10445);
  EXPECT_EQ(b->share, "s");
  EXPECT_EQ(b->path, "a/b");
  auto c = parseSmbAddress("//[::1]:445/x");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 445);
}

TEST(SmbAddress, UrlWithUserinfo) {
  auto a = parseSmbAddress("smb://DOM;bob:p%40ss@127.0.0.1:1445/share/some%20dir/");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->user, "DOM\\bob");
  EXPECT_TRUE(a->has_password);
  EXPECT_EQ(a->password, "p@ss");
  EXPECT_EQ(a->port, 1445);
  EXPECT_EQ(a->path, "some dir");
}

TEST(SmbAddress, Rejects) {
  EXPECT_FALSE(parseSmbAddress("host/share"));
  EXPECT_FALSE(parseSmbAddress("//"));
  EXPECT_FALSE(parseSmbAddress("//h:0/s"));
  EXPECT_FALSE(parseSmbAddress("//h:70000/s"));
  EXPECT_FALSE(parseSmbAddress("//h/s/../etc"));
  EXPECT_FALSE(parseSmbAddress("//[::1/s"));
}

TEST(Credentials, UserSpecAndFile) {
  auto c = parseUserSpec("WORK\\alice%se%cret");
  EXPECT_EQ(c.domain, "WORK");
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "se%cret");
  EXPECT_FALSE(parseUserSpec("bob").has_password);
  std::string e;
  auto f = parseCredentialsText("# comment\nusername=carol\npassword= two words \ndomain=D\n", &e);
  ASSERT_TRUE(f) << e;
  EXPECT_EQ(f->user, "carol");
  EXPECT_EQ(f->password, " two words ");
  EXPECT_EQ(f->domain, "D");
  EXPECT_FALSE(parseCredentialsText("username carol\n", &e));
  EXPECT_NE(e.find("line 1"), std::string::npos);
  EXPECT_FALSE(parseCredentialsText("colour=blue\n", &e));
}

TEST(MountOptions, CifsSyntax) {
  MountOptions o;
  std::string e;
  ASSERT_TRUE(parseMountOptions("vers=3.1.1,rdma,username=u,password=p,uid=1000,file_mode=0644,"
                                "rsize=1048576,cache=none,port=10445,seal",
                                &o, &e))
      << e;
  EXPECT_EQ(o.dialects, std::vector<uint16_t>{0x0311});
  EXPECT_TRUE(o.rdma);
  EXPECT_EQ(o.creds.user, "u");
  EXPECT_EQ(o.creds.password, "p");
  EXPECT_EQ(*o.uid, 1000u);
  EXPECT_EQ(o.file_mode, 0644u);
  EXPECT_EQ(o.rsize, 1048576u);
  EXPECT_EQ(o.port, 10445);
  EXPECT_TRUE(o.seal);
  std::string shown = displayMountOptions(o);
  EXPECT_NE(shown.find("rdma"), std::string::npos);
  EXPECT_EQ(shown.find("password"), std::string::npos);
}

TEST(MountOptions, Errors) {
  MountOptions o;
  std::string e;
  EXPECT_FALSE(parseMountOptions("vers=2.0", &o, &e));
  EXPECT_NE(e.find("vers"), std::string::npos);
  EXPECT_FALSE(parseMountOptions("bogus=1", &o, &e));
  EXPECT_NE(e.find("unknown mount option 'bogus'"), std::string::npos);
  EXPECT_FALSE(parseMountOptions("file_mode=0999", &o, &e));
  EXPECT_FALSE(parseMountOptions("port=abc", &o, &e));
  EXPECT_FALSE(parseMountOptions("cache=weird", &o, &e));
  EXPECT_TRUE(parseMountOptions("vers=3", &o, &e));
  EXPECT_EQ(o.dialects.size(), 3u);
}

TEST(MountOptions, CloseTimeout) {
  MountOptions o;
  std::string e;
  EXPECT_EQ(o.closetimeo, 5u);  // cifs.ko's default
  ASSERT_TRUE(parseMountOptions("closetimeo=0", &o, &e)) << e;
  EXPECT_EQ(o.closetimeo, 0u);
  ASSERT_TRUE(parseMountOptions("closetimeo=30", &o, &e)) << e;
  EXPECT_EQ(o.closetimeo, 30u);
  EXPECT_FALSE(parseMountOptions("closetimeo=x", &o, &e));
  EXPECT_NE(e.find("closetimeo"), std::string::npos);
  EXPECT_FALSE(parseMountOptions("closetimeo", &o, &e));
  EXPECT_FALSE(parseMountOptions("closetimeo=2000000000", &o, &e));
}

}  // namespace
}  // namespace sd::client

#include "client/progress.h"

namespace sd::client {
namespace {
TEST(Progress, Formats) {
  EXPECT_EQ(Progress::humanBytes(512), "512 B");
  EXPECT_EQ(Progress::humanBytes(1536), "1.5 KiB");
  EXPECT_EQ(Progress::humanBytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
  EXPECT_EQ(Progress::humanDuration(75), "01:15");
  EXPECT_EQ(Progress::humanDuration(3725), "1:02:05");
  Progress p("get f", 1000, false);
  p.advance(500);
  std::string l = p.line(1.0);
  EXPECT_NE(l.find(" 50%"), std::string::npos) << l;
  EXPECT_NE(l.find("ETA 00:01"), std::string::npos) << l;
}
}  // namespace
}  // namespace sd::client
