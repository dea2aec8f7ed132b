// The POSIX backend: path containment (.., absolute, symlinks out), SMB dispositions,
// case-insensitive lookup, wildcard rules, enumeration, rename, streams.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "vfs/share.h"

namespace sd::vfs {
namespace {

namespace fs = std::filesystem;

class ShareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sdvfs.XXXXXX";
    base_ = mkdtemp(tmpl);
    root_ = base_ + "/share";
    fs::create_directories(root_ + "/dir/sub");
    std::ofstream(root_ + "/dir/File.TXT") << "hello";
    std::ofstream(base_ + "/outside.txt") << "secret";
    fs::create_symlink("/etc", root_ + "/etc_link");
    fs::create_symlink("../outside.txt", root_ + "/up_link");
    fs::create_symlink("dir/File.TXT", root_ + "/in_link");
    auto s = Share::open(root_, ShareOptions{});
    ASSERT_TRUE(s);
    share_ = *s;
  }
  void TearDown() override { fs::remove_all(base_); }
  Result<OpenResult> open(const std::string& p, uint32_t disp = 1, bool dir = false,
                          bool nondir = false) {
    OpenRequest r;
    r.path = p;
    r.disposition = disp;
    r.directory = dir;
    r.non_directory = nondir;
    r.want_read = true;
    return share_->open(r);
  }
  std::string base_, root_;
  std::shared_ptr<Share> share_;
};

TEST_F(ShareTest, NothingEscapesTheRoot) {
  EXPECT_FALSE(open("..\\outside.txt"));
  EXPECT_FALSE(open("dir\\..\\..\\outside.txt"));
  EXPECT_FALSE(open("etc_link\\passwd"));
  EXPECT_FALSE(open("up_link"));
  EXPECT_EQ(open("etc_link\\passwd").status(), NtStatus::kAccessDenied);
  EXPECT_FALSE(open("dir\\sub\\..\\..\\..\\outside.txt"));
  EXPECT_FALSE(open("x:..\\..\\outside.txt", 2));
  // Creating through an outward symlink fails too.
  EXPECT_FALSE(open("etc_link\\new_file", 2));
  EXPECT_FALSE(fs::exists("/etc/new_file"));
  // A symlink that stays inside is followed.
  auto in = open("in_link");
  ASSERT_TRUE(in);
  uint8_t buf[5];
  EXPECT_EQ(*in->handle->pread(0, buf), 5u);
}

TEST_F(ShareTest, DispositionsAndOptions) {
  EXPECT_EQ(open("nope.txt").status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(open("nodir\\x.txt", 2).status(), NtStatus::kObjectPathNotFound);
  auto c = open("new.txt", 2);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->create_action, 2u);
  EXPECT_EQ(open("new.txt", 2).status(), NtStatus::kObjectNameCollision);
  auto oi = open("new.txt", 3);
  ASSERT_TRUE(oi);
  EXPECT_EQ(oi->create_action, 1u);
  auto ow = open("dir\\file.txt", 5);
  ASSERT_TRUE(ow);
  EXPECT_EQ(ow->create_action, 3u);
  EXPECT_EQ(ow->stat.end_of_file, 0u);
  EXPECT_EQ(open("dir", 1, false, true).status(), NtStatus::kFileIsADirectory);
  EXPECT_EQ(open("new.txt", 1, true).status(), NtStatus::kNotADirectory);
  auto md = open("made", 2, true);
  ASSERT_TRUE(md);
  EXPECT_TRUE(md->stat.directory);
  EXPECT_EQ(open("bad*name", 2).status(), NtStatus::kObjectNameInvalid);
}

TEST_F(ShareTest, CaseInsensitiveLookupKeepsDiskCase) {
  auto r = open("DIR\\file.txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "dir/File.TXT");
}

TEST_F(ShareTest, RenameRules) {
  ASSERT_TRUE(open("a.txt", 2));
  ASSERT_TRUE(open("b.txt", 2));
  EXPECT_EQ(share_->rename("a.txt", "b.txt", false).status(), NtStatus::kObjectNameCollision);
  auto r = share_->rename("a.txt", "b.txt", true);
  ASSERT_TRUE(r);
  EXPECT_FALSE(fs::exists(root_ + "/a.txt"));
  EXPECT_EQ(share_->rename("b.txt", "..\\out.txt", true).status(), NtStatus::kObjectPathSyntaxBad);
  EXPECT_EQ(share_->rename("b.txt", "dir", true).status(), NtStatus::kAccessDenied);
  EXPECT_FALSE(fs::exists(base_ + "/out.txt"));
}

TEST_F(ShareTest, EnumerationWithPatternAndResume) {
  for (int i = 0; i < 5; i++) std::ofstream(root_ + "/dir/f" + std::to_string(i) + ".dat") << i;
  auto d = open("dir", 1, true);
  ASSERT_TRUE(d);
  auto rd = share_->openDir(*d->handle, "*.dat");
  ASSERT_TRUE(rd);
  std::set<std::string> names;
  for (int guard = 0; guard < 100; guard++) {
    auto e = (*rd)->peek();
    ASSERT_TRUE(e);
    if (!*e) break;
    names.insert((*e)->name);
    auto again = (*rd)->peek();  // peek does not consume
    EXPECT_EQ((*again)->name, (*e)->name);
    (*rd)->consume();
  }
  EXPECT_EQ(names.size(), 5u);
  ASSERT_TRUE((*rd)->rewind());
  auto first = (*rd)->peek();
  ASSERT_TRUE(first && *first);
}

TEST(Wildcard, MsFsaRules) {
  EXPECT_TRUE(wildcardMatch("*", "anything"));
  EXPECT_TRUE(wildcardMatch("*.txt", "A.TXT"));
  EXPECT_FALSE(wildcardMatch("*.txt", "a.txt.bak"));
  EXPECT_TRUE(wildcardMatch("a?c", "abc"));
  EXPECT_FALSE(wildcardMatch("a?c", "ac"));
  EXPECT_TRUE(wildcardMatch("<.txt", "file.txt"));     // DOS_STAR
  EXPECT_TRUE(wildcardMatch("file\"txt", "file.txt")); // DOS_DOT
  EXPECT_TRUE(wildcardMatch("file\"", "file"));        // DOS_DOT at the end matches nothing
  EXPECT_TRUE(wildcardMatch("ab>>", "ab"));            // DOS_QM at the end matches nothing
  EXPECT_TRUE(wildcardMatch("ab>>", "abcd"));
  EXPECT_FALSE(wildcardMatch("ab>", "abcd"));
}

TEST_F(ShareTest, StreamsLiveInXattrs) {
  auto s = open("dir\\File.TXT:meta", 2);
  if (!s && s.status() == NtStatus::kNotSupported) GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_TRUE(s) << ntStatusName(s.status());
  EXPECT_TRUE(s->is_stream);
  uint8_t data[3] = {1, 2, 3};
  EXPECT_EQ(*s->handle->pwrite(10, data), 3u);
  EXPECT_EQ(s->handle->stat()->end_of_file, 13u);
  auto base = open("dir\\File.TXT");
  ASSERT_TRUE(base);
  auto list = share_->listStreams(*base->handle);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].name, ":meta:$DATA");
  EXPECT_EQ(open("dir:stream", 2).status(), NtStatus::kNotADirectory);
  ASSERT_TRUE(share_->unlink("dir/File.TXT:meta"));
  EXPECT_EQ(open("dir\\File.TXT:meta").status(), NtStatus::kObjectNameNotFound);
  EXPECT_TRUE(fs::exists(root_ + "/dir/File.TXT"));
}

// Stream names match ignoring case (MS-FSA 2.1.5.1; smbtorture smb2.streams.io), and a
// directory has no ::$DATA stream (smb2.streams.dir).
TEST_F(ShareTest, StreamNamesIgnoreCaseAndDirectoriesHaveNoDataStream) {
  auto s = open("dir\\File.TXT:Second Stream", 2);
  if (!s && s.status() == NtStatus::kNotSupported) GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_TRUE(s);
  uint8_t data[2] = {7, 8};
  ASSERT_TRUE(s->handle->pwrite(0, data));
  auto again = open("dir\\File.TXT:SECOND STREAM:$DATA");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->handle->stat()->end_of_file, 2u);
  EXPECT_EQ(open("dir\\File.TXT:second stream", 2).status(), NtStatus::kObjectNameCollision);
  ASSERT_TRUE(share_->unlink("dir/File.TXT:SECOND stream"));
  EXPECT_EQ(open("dir\\File.TXT:Second Stream").status(), NtStatus::kObjectNameNotFound);
  EXPECT_EQ(open("dir::$DATA", 1, true).status(), NtStatus::kNotADirectory);
  EXPECT_EQ(open("dir::$DATA").status(), NtStatus::kFileIsADirectory);
  EXPECT_TRUE(open("dir\\File.TXT::$DATA"));
  // A renamed stream's open handle follows it (smbtorture smb2.streams.rename).
  auto a = open("dir\\File.TXT:one", 2);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->handle->pwrite(0, data));
  auto np = share_->renameStream("dir/File.TXT:one", "two", false);
  ASSERT_TRUE(np);
  EXPECT_EQ(*np, "dir/File.TXT:two:$DATA");
  EXPECT_FALSE(a->handle->stat());
  ASSERT_TRUE(share_->rebindStream(*a->handle, *np));
  EXPECT_EQ(a->handle->stat()->end_of_file, 2u);
}

}  // namespace
}  // namespace sd::vfs
