#include "fscc/file_info.h"

#include <gtest/gtest.h>

#include <functional>

namespace sd::fscc {
namespace {

FileInfo sample() {
  FileInfo fi;
  fi.name = "\\dir\\file.txt";
  fi.short_name = "FILE~1.TXT";
  fi.creation_time = 0x01D9000000000001ull;
  fi.last_access_time = 0x01D9000000000002ull;
  fi.last_write_time = 0x01D9000000000003ull;
  fi.change_time = 0x01D9000000000004ull;
  fi.end_of_file = 12345;
  fi.allocation_size = 16384;
  fi.file_attributes = kFileAttributeArchive;
  fi.ea_size = 0;
  fi.file_id = 0xAABBCCDDEEFF0011ull;
  fi.number_of_links = 2;
  fi.delete_pending = true;
  fi.directory = false;
  fi.reparse_tag = 0;
  fi.volume_serial_number = 0x1234567890ull;
  return fi;
}

// Every decoder must fail cleanly (not crash) on every strict prefix shorter than its fixed part.
void sweep(ByteView full, size_t fixed, const std::function<bool(ByteView)>& decodes) {
  for (size_t n = 0; n < fixed && n < full.size(); n++)
    EXPECT_FALSE(decodes(full.first(n))) << "prefix " << n;
  EXPECT_TRUE(decodes(full));
}

TEST(FileInfo, GoldenBasic) {
  FileBasicInformation b{0x0102030405060708ull, 0x1112131415161718ull, 0x2122232425262728ull,
                         0x3132333435363738ull, 0x21};
  EXPECT_EQ(toHex(encodeFileBasicInformation(b)),
            "0807060504030201" "1817161514131211" "2827262524232221" "3837363534333231"
            "21000000" "00000000");
}

TEST(FileInfo, GoldenStandard) {
  FileStandardInformation s{0x1000, 0x0FFF, 3, true, false};
  EXPECT_EQ(toHex(encodeFileStandardInformation(s)),
            "0010000000000000" "ff0f000000000000" "03000000" "01" "00" "0000");
}

TEST(FileInfo, GoldenAllInformationLayout) {
  FileInfo fi = sample();
  fi.name = "\\a";
  Bytes b = encodeFileAllInformation(fi, 0x001F01FF, 0x55, kFileSynchronousIoNonalert, fi.name);
  ASSERT_EQ(b.size(), 100u + 4);
  EXPECT_EQ(le64(b.data() + 0), fi.creation_time);
  EXPECT_EQ(le32(b.data() + 32), fi.file_attributes);
  EXPECT_EQ(le64(b.data() + 40), fi.allocation_size);   // StandardInformation at 40
  EXPECT_EQ(le64(b.data() + 48), fi.end_of_file);
  EXPECT_EQ(le32(b.data() + 56), 2u);
  EXPECT_EQ(b[60], 1);                                  // DeletePending
  EXPECT_EQ(le64(b.data() + 64), fi.file_id);           // InternalInformation
  EXPECT_EQ(le32(b.data() + 72), 0u);                   // EaInformation
  EXPECT_EQ(le32(b.data() + 76), 0x001F01FFu);          // AccessInformation
  EXPECT_EQ(le64(b.data() + 80), 0x55u);                // PositionInformation
  EXPECT_EQ(le32(b.data() + 88), kFileSynchronousIoNonalert);  // ModeInformation
  EXPECT_EQ(le32(b.data() + 92), 0u);                   // AlignmentInformation
  EXPECT_EQ(le32(b.data() + 96), 4u);                   // FileNameLength
  EXPECT_EQ(toHex(ByteView(b).subspan(100)), "5c006100");
}

TEST(FileInfo, RoundTripQueryClasses) {
  FileInfo fi = sample();
  OpenInfo open{0x0012019F, 777, kFileSequentialOnly, 0};
  const uint8_t classes[] = {kFileBasicInformation,        kFileStandardInformation,
                             kFileInternalInformation,     kFileEaInformation,
                             kFileNameInformation,         kFileNormalizedNameInformation,
                             kFileAlternateNameInformation, kFileAllInformation,
                             kFileNetworkOpenInformation,  kFileAttributeTagInformation,
                             kFileIdInformation};
  for (uint8_t cls : classes) {
    auto b = encodeFileInformation(cls, fi, open);
    ASSERT_TRUE(b) << int(cls);
    FileInfo got;
    got.name = "";
    ASSERT_TRUE(mergeFileInformation(cls, *b, got)) << int(cls);
    switch (cls) {
      case kFileBasicInformation:
        EXPECT_EQ(got.change_time, fi.change_time);
        EXPECT_EQ(got.file_attributes, fi.file_attributes);
        break;
      case kFileStandardInformation:
        EXPECT_EQ(got.end_of_file, fi.end_of_file);
        EXPECT_EQ(got.allocation_size, fi.allocation_size);
        EXPECT_EQ(got.number_of_links, fi.number_of_links);
        EXPECT_EQ(got.delete_pending, fi.delete_pending);
        break;
      case kFileInternalInformation:
        EXPECT_EQ(got.file_id, fi.file_id);
        break;
      case kFileNameInformation:
      case kFileNormalizedNameInformation:
        EXPECT_EQ(got.name, fi.name);
        break;
      case kFileAlternateNameInformation:
        EXPECT_EQ(got.short_name, fi.short_name);
        break;
      case kFileAllInformation:
        EXPECT_EQ(got.name, fi.name);
        EXPECT_EQ(got.end_of_file, fi.end_of_file);
        EXPECT_EQ(got.creation_time, fi.creation_time);
        break;
      case kFileNetworkOpenInformation:
        EXPECT_EQ(got.last_write_time, fi.last_write_time);
        EXPECT_EQ(got.end_of_file, fi.end_of_file);
        break;
      case kFileIdInformation:
        EXPECT_EQ(got.file_id, fi.file_id);
        EXPECT_EQ(got.volume_serial_number, fi.volume_serial_number);
        break;
      default:
        break;
    }
  }
  auto all = decodeFileAllInformation(*encodeFileInformation(kFileAllInformation, fi, open));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->access_flags, open.access_flags);
  EXPECT_EQ(all->current_byte_offset, open.current_byte_offset);
  EXPECT_EQ(all->mode, open.mode);
  EXPECT_EQ(*decodeFileAccessInformation(encodeFileAccessInformation(0x120089)), 0x120089u);
  EXPECT_EQ(*decodeFilePositionInformation(encodeFilePositionInformation(99)), 99u);
  EXPECT_EQ(*decodeFileModeInformation(encodeFileModeInformation(kFileWriteThrough)),
            kFileWriteThrough);
  EXPECT_EQ(*decodeFileAlignmentInformation(encodeFileAlignmentInformation(511)), 511u);
  EXPECT_EQ(encodeFileInformation(kFileStreamInformation, fi).status(),
            NtStatus::kInvalidInfoClass);
  EXPECT_EQ(encodeFileInformation(kFileRenameInformation, fi).status(),
            NtStatus::kInvalidInfoClass);
}

TEST(FileInfo, RoundTripSmallStructs) {
  FileCompressionInformation c{1234, 2, 16, 12, 9};
  auto c2 = decodeFileCompressionInformation(encodeFileCompressionInformation(c));
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->compressed_file_size, 1234u);
  EXPECT_EQ(c2->compression_format, 2);
  EXPECT_EQ(c2->cluster_shift, 9);
  FilePipeInformation p{1, 0};
  auto p2 = decodeFilePipeInformation(encodeFilePipeInformation(p));
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->read_mode, 1u);
  FilePipeLocalInformation l;
  l.named_pipe_type = 1;
  l.named_pipe_end = 1;
  l.maximum_instances = 0xFFFFFFFF;
  Bytes lb = encodeFilePipeLocalInformation(l);
  EXPECT_EQ(lb.size(), 40u);
  auto l2 = decodeFilePipeLocalInformation(lb);
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->maximum_instances, 0xFFFFFFFFu);
  EXPECT_EQ(l2->named_pipe_end, 1u);
}

TEST(FileInfo, StreamInformationRoundTripAndGolden) {
  std::vector<StreamInfo> s = {{"::$DATA", 100, 4096}, {":x:$DATA", 3, 8}};
  Bytes b = encodeFileStreamInformation(s);
  // First entry: 24 + 14 = 38 bytes, padded to 40.
  EXPECT_EQ(le32(b.data()), 40u);
  EXPECT_EQ(le32(b.data() + 4), 14u);
  EXPECT_EQ(b.size(), 40u + 24 + 16);
  EXPECT_EQ(le32(b.data() + 40), 0u);
  auto d = decodeFileStreamInformation(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, s);
  EXPECT_TRUE(decodeFileStreamInformation({})->empty());
  for (size_t n = 1; n < b.size(); n++)
    EXPECT_FALSE(decodeFileStreamInformation(ByteView(b).first(n))) << n;
  Bytes bad = b;
  store32(bad.data(), 8);  // overlaps the first entry
  EXPECT_FALSE(decodeFileStreamInformation(bad));
  store32(bad.data(), 0xFFFFFFF0u);
  EXPECT_FALSE(decodeFileStreamInformation(bad));
}

TEST(FileInfo, TruncationSweeps) {
  FileInfo fi = sample();
  OpenInfo open;
  sweep(*encodeFileInformation(kFileBasicInformation, fi), 40,
        [](ByteView v) { return bool(decodeFileBasicInformation(v)); });
  sweep(*encodeFileInformation(kFileStandardInformation, fi), 24,
        [](ByteView v) { return bool(decodeFileStandardInformation(v)); });
  sweep(*encodeFileInformation(kFileAllInformation, fi, open), 100,
        [](ByteView v) { return bool(decodeFileAllInformation(v)); });
  sweep(*encodeFileInformation(kFileNetworkOpenInformation, fi), 56,
        [](ByteView v) { return bool(decodeFileNetworkOpenInformation(v)); });
  sweep(*encodeFileInformation(kFileIdInformation, fi), 24,
        [](ByteView v) { return bool(decodeFileIdInformation(v)); });
  Bytes name = encodeFileNameInformation("\\abc");
  for (size_t n = 0; n < name.size(); n++)
    EXPECT_FALSE(decodeFileNameInformation(ByteView(name).first(n))) << n;
  EXPECT_EQ(decodeFileBasicInformation(Bytes(39)).status(), NtStatus::kInfoLengthMismatch);
  // FileAllInformation truncated in its name (STATUS_BUFFER_OVERFLOW response) still decodes.
  Bytes all = *encodeFileInformation(kFileAllInformation, fi, open);
  auto part = decodeFileAllInformation(ByteView(all).first(105));
  ASSERT_TRUE(part);
  EXPECT_EQ(part->file_name, "\\d");
  EXPECT_EQ(part->file_name_length, 2 * fi.name.size());
}

TEST(SetInfo, RenameGoldenAndRoundTrip) {
  FileRenameInformation r{1, 0, "dir\\new.txt"};
  Bytes b = encodeFileRenameInformation(r);
  EXPECT_EQ(toHex(ByteView(b).first(20)), "01000000000000000000000000000000" "16000000");
  auto d = decodeFileRenameInformation(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->replace_if_exists, 1);
  EXPECT_EQ(d->file_name, "dir\\new.txt");
  auto l = decodeFileLinkInformation(encodeFileLinkInformation({0, 0, "x"}));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->file_name, "x");
  for (size_t n = 0; n < b.size(); n++)
    EXPECT_FALSE(decodeFileRenameInformation(ByteView(b).first(n))) << n;
  EXPECT_EQ(decodeFileRenameInformation(ByteView(b).first(19)).status(),
            NtStatus::kInfoLengthMismatch);
  Bytes bad = b;
  store32(bad.data() + 16, 0xFFFFFFFEu);  // FileNameLength past the buffer
  EXPECT_EQ(decodeFileRenameInformation(bad).status(), NtStatus::kInvalidParameter);
  store32(bad.data() + 16, 3);  // odd
  EXPECT_EQ(decodeFileRenameInformation(bad).status(), NtStatus::kInvalidParameter);
  store32(bad.data() + 16, 0);  // empty
  EXPECT_EQ(decodeFileRenameInformation(bad).status(), NtStatus::kInvalidParameter);
}

TEST(SetInfo, ScalarsAndValidation) {
  EXPECT_EQ(*decodeFileDispositionInformation(encodeFileDispositionInformation(true)), true);
  EXPECT_EQ(*decodeFileDispositionInformation(encodeFileDispositionInformation(false)), false);
  EXPECT_FALSE(decodeFileDispositionInformation({}));
  EXPECT_EQ(*decodeFileDispositionInformationEx(encodeFileDispositionInformationEx(
                kFileDispositionDelete | kFileDispositionPosixSemantics)),
            kFileDispositionDelete | kFileDispositionPosixSemantics);
  EXPECT_EQ(decodeFileDispositionInformationEx(encodeFileDispositionInformationEx(0x100)).status(),
            NtStatus::kInvalidParameter);
  EXPECT_EQ(*decodeFileEndOfFileInformation(encodeFileEndOfFileInformation(1ull << 40)),
            1ull << 40);
  EXPECT_EQ(decodeFileEndOfFileInformation(encodeFileEndOfFileInformation(~0ull)).status(),
            NtStatus::kInvalidParameter);
  EXPECT_EQ(decodeFileEndOfFileInformation(Bytes(7)).status(), NtStatus::kInfoLengthMismatch);
  EXPECT_EQ(*decodeFileAllocationInformation(encodeFileAllocationInformation(4096)), 4096u);
  EXPECT_EQ(*decodeFileValidDataLengthInformation(encodeFileValidDataLengthInformation(5)), 5u);
  EXPECT_EQ(decodeFileModeInformation(encodeFileModeInformation(0x40000000)).status(),
            NtStatus::kInvalidParameter);
  FileBasicInformation b{0, ~0ull, ~0ull - 1, 5, 0};  // 0, -1, -2 are legal
  EXPECT_TRUE(decodeFileBasicInformation(encodeFileBasicInformation(b)));
  b.change_time = ~0ull - 2;  // -3
  EXPECT_EQ(decodeFileBasicInformation(encodeFileBasicInformation(b)).status(),
            NtStatus::kInvalidParameter);
  auto sn = decodeFileShortNameInformation(encodeFileNameInformation("ABC~1.TXT"));
  ASSERT_TRUE(sn);
  EXPECT_EQ(*sn, "ABC~1.TXT");
  EXPECT_FALSE(decodeFileShortNameInformation(encodeFileNameInformation("much-too-long.name")));
}

TEST(SetInfo, FullEaChain) {
  std::vector<FullEaInformation> eas = {{0, "user.a", {1, 2, 3}}, {0x80, "B", {}},
                                        {0, "longer.name", Bytes(300, 7)}};
  Bytes b = encodeFileFullEaInformation(eas);
  // Entry 1: 8 + 6 + 1 + 3 = 18 -> next at 20.
  EXPECT_EQ(le32(b.data()), 20u);
  EXPECT_EQ(toHex(ByteView(b).first(18)), "14000000" "00" "06" "0300" "757365722e6100" "010203");
  auto d = decodeFileFullEaInformation(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, eas);
  for (size_t n = 0; n < b.size(); n++)
    EXPECT_FALSE(decodeFileFullEaInformation(ByteView(b).first(n))) << n;
  Bytes bad = b;
  bad[8 + 6] = 'x';  // name not NUL-terminated
  EXPECT_FALSE(decodeFileFullEaInformation(bad));
  bad = b;
  store32(bad.data(), 4);  // NextEntryOffset inside the entry
  EXPECT_FALSE(decodeFileFullEaInformation(bad));
}

}  // namespace
}  // namespace sd::fscc
