#include "fscc/directory_info.h"

#include <gtest/gtest.h>

#include "base/text.h"

namespace sd::fscc {
namespace {

FileInfo sample(std::string name, uint64_t seed = 1) {
  FileInfo fi;
  fi.name = std::move(name);
  fi.short_name = "SHORT~1.TXT";
  fi.creation_time = 0x01D0000000000000ull + seed;
  fi.last_access_time = 0x01D0000000000100ull + seed;
  fi.last_write_time = 0x01D0000000000200ull + seed;
  fi.change_time = 0x01D0000000000300ull + seed;
  fi.end_of_file = 1000 + seed;
  fi.allocation_size = 4096;
  fi.file_attributes = kFileAttributeArchive;
  fi.ea_size = 0;
  fi.file_id = 0x1122334455667788ull + seed;
  fi.reparse_tag = 0;
  return fi;
}

const uint8_t kAllClasses[] = {
    kFileDirectoryInformation,           kFileFullDirectoryInformation,
    kFileBothDirectoryInformation,       kFileNamesInformation,
    kFileIdBothDirectoryInformation,     kFileIdFullDirectoryInformation,
    kFileIdExtdDirectoryInformation,     kFileIdExtdBothDirectoryInformation,
    kFileId64ExtdDirectoryInformation,   kFileId64ExtdBothDirectoryInformation,
    kFileIdAllExtdDirectoryInformation,  kFileIdAllExtdBothDirectoryInformation};

void expectSame(uint8_t cls, const FileInfo& a, const FileInfo& b) {
  SCOPED_TRACE(int(cls));
  EXPECT_EQ(a.name, b.name);
  if (cls == kFileNamesInformation) return;
  EXPECT_EQ(a.creation_time, b.creation_time);
  EXPECT_EQ(a.last_access_time, b.last_access_time);
  EXPECT_EQ(a.last_write_time, b.last_write_time);
  EXPECT_EQ(a.change_time, b.change_time);
  EXPECT_EQ(a.end_of_file, b.end_of_file);
  EXPECT_EQ(a.allocation_size, b.allocation_size);
  EXPECT_EQ(a.file_attributes, b.file_attributes);
  if (cls != kFileDirectoryInformation) {
    EXPECT_EQ(a.ea_size, b.ea_size);
  }
  bool has_short = cls == kFileBothDirectoryInformation || cls == kFileIdBothDirectoryInformation ||
                   cls == kFileIdExtdBothDirectoryInformation ||
                   cls == kFileId64ExtdBothDirectoryInformation ||
                   cls == kFileIdAllExtdBothDirectoryInformation;
  if (has_short) {
    EXPECT_EQ(a.short_name, b.short_name);
  }
  bool has_id = cls != kFileDirectoryInformation && cls != kFileFullDirectoryInformation &&
                cls != kFileBothDirectoryInformation;
  if (has_id) {
    EXPECT_EQ(a.file_id, b.file_id);
  }
}

TEST(DirectoryInfo, FixedSizesMatchSpecTables) {
  EXPECT_EQ(directoryEntryFixedSize(kFileDirectoryInformation), 64u);
  EXPECT_EQ(directoryEntryFixedSize(kFileFullDirectoryInformation), 68u);
  EXPECT_EQ(directoryEntryFixedSize(kFileBothDirectoryInformation), 94u);
  EXPECT_EQ(directoryEntryFixedSize(kFileNamesInformation), 12u);
  EXPECT_EQ(directoryEntryFixedSize(kFileIdBothDirectoryInformation), 104u);
  EXPECT_EQ(directoryEntryFixedSize(kFileIdFullDirectoryInformation), 80u);
  EXPECT_EQ(directoryEntryFixedSize(kFileIdExtdDirectoryInformation), 88u);
  EXPECT_EQ(directoryEntryFixedSize(kFileIdAllExtdBothDirectoryInformation), 122u);
  EXPECT_EQ(directoryEntryFixedSize(kFileBasicInformation), 0u);
  EXPECT_FALSE(isDirectoryInfoClass(kFileBasicInformation));
}

TEST(DirectoryInfo, RoundTripEveryClass) {
  for (uint8_t cls : kAllClasses) {
    Bytes out;
    DirectoryEntryWriter w(out, cls, 65536);
    ASSERT_TRUE(w.status());
    std::vector<FileInfo> in = {sample(".", 1), sample("..", 2), sample("hello world.txt", 3),
                                sample("\xc3\xa9t\xc3\xa9 \xe2\x82\xac", 4)};
    in[0].file_attributes = kFileAttributeDirectory;
    in[0].directory = true;
    in[3].ea_size = 77;
    for (auto& fi : in) ASSERT_TRUE(w.add(fi));
    EXPECT_EQ(w.count(), in.size());
    auto dec = decodeDirectoryEntries(cls, out);
    ASSERT_TRUE(dec) << int(cls);
    ASSERT_EQ(dec->size(), in.size());
    for (size_t i = 0; i < in.size(); i++) expectSame(cls, in[i], (*dec)[i]);
  }
}

// FileDirectoryInformation with one entry "a", built by hand from the MS-FSCC 2.4 table.
TEST(DirectoryInfo, GoldenFileDirectoryInformation) {
  FileInfo fi;
  fi.name = "a";
  fi.file_index = 0;
  fi.creation_time = 0x0102030405060708ull;
  fi.last_access_time = 0x1112131415161718ull;
  fi.last_write_time = 0x2122232425262728ull;
  fi.change_time = 0x3132333435363738ull;
  fi.end_of_file = 5;
  fi.allocation_size = 8;
  fi.file_attributes = 0x20;
  Bytes out;
  DirectoryEntryWriter w(out, kFileDirectoryInformation, 1000);
  ASSERT_TRUE(w.add(fi));
  Bytes want = fromHex(
      "00000000 00000000"                   // NextEntryOffset, FileIndex
      "0807060504030201 1817161514131211"   // CreationTime, LastAccessTime
      "2827262524232221 3837363534333231"   // LastWriteTime, ChangeTime
      "0500000000000000 0800000000000000"   // EndOfFile, AllocationSize
      "20000000 02000000"                   // FileAttributes, FileNameLength
      "6100");                              // FileName "a"
  EXPECT_EQ(toHex(out), toHex(want));
}

// Two FileNamesInformation entries: the first is padded to 8 and points at the second.
TEST(DirectoryInfo, GoldenFileNamesInformationChain) {
  Bytes out;
  DirectoryEntryWriter w(out, kFileNamesInformation, 1000);
  FileInfo a, b;
  a.name = "abc";
  b.name = "d";
  ASSERT_TRUE(w.add(a));
  ASSERT_TRUE(w.add(b));
  Bytes want = fromHex(
      "18000000 00000000 06000000 610062006300"  // entry 1: 18 bytes
      "000000000000"                             // 6 bytes of padding -> entry 2 at 24
      "00000000 00000000 02000000 6400");        // entry 2, no trailing padding
  EXPECT_EQ(toHex(out), toHex(want));
}

TEST(DirectoryInfo, ExactlyFitsAndOneByteShort) {
  for (uint8_t cls : kAllClasses) {
    FileInfo fi = sample("abc.txt");
    size_t one = directoryEntrySize(cls, fi);
    {
      Bytes out;
      DirectoryEntryWriter w(out, cls, uint32_t(one));
      EXPECT_TRUE(w.add(fi)) << int(cls);
      EXPECT_EQ(out.size(), one);
      EXPECT_FALSE(w.add(fi));  // nothing more fits
      EXPECT_EQ(out.size(), one);
      EXPECT_EQ(w.count(), 1u);
    }
    {
      Bytes out;
      DirectoryEntryWriter w(out, cls, uint32_t(one - 1));
      EXPECT_FALSE(w.add(fi)) << int(cls);
      EXPECT_TRUE(out.empty());
      EXPECT_EQ(w.count(), 0u);
    }
    {
      // Second entry: needs align8(one) + one bytes exactly.
      size_t two = ((one + 7) & ~size_t(7)) + one;
      Bytes out;
      DirectoryEntryWriter w(out, cls, uint32_t(two - 1));
      ASSERT_TRUE(w.add(fi));
      Bytes before = out;
      EXPECT_FALSE(w.add(fi));
      EXPECT_EQ(out, before);  // no partial write, last NextEntryOffset still 0
      EXPECT_EQ(le32(out.data()), 0u);
      Bytes out2;
      DirectoryEntryWriter w2(out2, cls, uint32_t(two));
      ASSERT_TRUE(w2.add(fi));
      ASSERT_TRUE(w2.add(fi));
      EXPECT_EQ(out2.size(), two);
    }
  }
}

TEST(DirectoryInfo, ChainOfManyIsAlignedAndTerminated) {
  Bytes out;
  DirectoryEntryWriter w(out, kFileIdBothDirectoryInformation, 4096);
  size_t added = 0;
  for (int i = 0; i < 1000; i++) {
    if (!w.add(sample("file_" + std::to_string(i) + std::string(size_t(i % 7), 'x'), i))) break;
    added++;
  }
  EXPECT_GT(added, 10u);
  EXPECT_LT(added, 1000u);
  EXPECT_LE(out.size(), 4096u);
  size_t pos = 0, n = 1;
  while (le32(out.data() + pos) != 0) {
    uint32_t next = le32(out.data() + pos);
    EXPECT_EQ(next % 8, 0u);
    pos += next;
    n++;
  }
  EXPECT_EQ(n, added);
  auto dec = decodeDirectoryEntries(kFileIdBothDirectoryInformation, out);
  ASSERT_TRUE(dec);
  EXPECT_EQ(dec->size(), added);
  EXPECT_EQ((*dec)[5].name, "file_5xxxxx");
}

TEST(DirectoryInfo, WriterKeepsPrefixOfOutput) {
  Bytes out = {0xAA, 0xBB, 0xCC};  // something already in the buffer
  DirectoryEntryWriter w(out, kFileNamesInformation, 100);
  FileInfo a;
  a.name = "x";
  ASSERT_TRUE(w.add(a));
  ASSERT_TRUE(w.add(a));
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(le32(out.data() + 3), 16u);  // alignment measured from the start of this run
  auto dec = decodeDirectoryEntries(kFileNamesInformation, ByteView(out).subspan(3));
  ASSERT_TRUE(dec);
  EXPECT_EQ(dec->size(), 2u);
}

TEST(DirectoryInfo, UnknownClassIsInvalidInfoClass) {
  Bytes out;
  DirectoryEntryWriter w(out, kFileBasicInformation, 1000);
  EXPECT_EQ(w.status().status(), NtStatus::kInvalidInfoClass);
  EXPECT_FALSE(w.add(sample("a")));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(decodeDirectoryEntries(kFileBasicInformation, out).status(),
            NtStatus::kInvalidInfoClass);
}

TEST(DirectoryInfo, ReparseTagGoesInEaSizeForOlderClasses) {
  FileInfo fi = sample("link");
  fi.file_attributes = kFileAttributeReparsePoint;
  fi.reparse_tag = 0xA000000C;
  Bytes out;
  DirectoryEntryWriter w(out, kFileFullDirectoryInformation, 1000);
  ASSERT_TRUE(w.add(fi));
  EXPECT_EQ(le32(out.data() + 64), 0xA000000Cu);
  auto dec = decodeDirectoryEntries(kFileFullDirectoryInformation, out);
  ASSERT_TRUE(dec);
  EXPECT_EQ((*dec)[0].reparse_tag, 0xA000000Cu);
}

TEST(DirectoryInfo, TruncationSweepFailsCleanly) {
  for (uint8_t cls : kAllClasses) {
    Bytes out;
    DirectoryEntryWriter w(out, cls, 65536);
    ASSERT_TRUE(w.add(sample("first.txt")));
    ASSERT_TRUE(w.add(sample("second.txt")));
    for (size_t n = 0; n < out.size(); n++) {
      auto r = decodeDirectoryEntries(cls, ByteView(out.data(), n));
      EXPECT_FALSE(r) << int(cls) << " len " << n;
    }
  }
}

TEST(DirectoryInfo, CorruptOffsetsAndLengthsFailCleanly) {
  Bytes out;
  DirectoryEntryWriter w(out, kFileIdBothDirectoryInformation, 65536);
  ASSERT_TRUE(w.add(sample("first.txt")));
  ASSERT_TRUE(w.add(sample("second.txt")));
  // NextEntryOffset pointing backwards / at itself / too far; FileNameLength huge.
  for (uint32_t bad : {0u + 1, 8u, 0xFFFFFFF8u, 0x7FFFFFFFu}) {
    Bytes b = out;
    store32(b.data(), bad);
    EXPECT_FALSE(decodeDirectoryEntries(kFileIdBothDirectoryInformation, b)) << bad;
  }
  Bytes b = out;
  store32(b.data() + 60, 0xFFFFFFFFu);
  EXPECT_FALSE(decodeDirectoryEntries(kFileIdBothDirectoryInformation, b));
  b = out;
  b[68] = 30;  // ShortNameLength > 24
  EXPECT_FALSE(decodeDirectoryEntries(kFileIdBothDirectoryInformation, b));
}

}  // namespace
}  // namespace sd::fscc
