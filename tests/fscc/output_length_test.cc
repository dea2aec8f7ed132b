#include "fscc/output_length.h"

#include <gtest/gtest.h>

#include "fscc/file_info.h"
#include "fscc/fs_info.h"

namespace sd::fscc {
namespace {

TEST(OutputLength, FixedClassBelowSizeIsInfoLengthMismatch) {
  FileInfo fi;
  Bytes basic = *encodeFileInformation(kFileBasicInformation, fi);
  for (uint32_t max = 0; max < 40; max++)
    EXPECT_EQ(fitOutput(kInfoFile, kFileBasicInformation, basic, max).status(),
              NtStatus::kInfoLengthMismatch) << max;
  for (uint32_t max : {40u, 41u, 65536u}) {
    auto r = fitOutput(kInfoFile, kFileBasicInformation, basic, max);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, basic);
    EXPECT_EQ(r->second, NtStatus::kSuccess);
  }
  Bytes dev = encodeFsDeviceInformation(kFileDeviceDisk, 0);
  EXPECT_EQ(fitOutput(kInfoFilesystem, kFileFsDeviceInformation, dev, 7).status(),
            NtStatus::kInfoLengthMismatch);
  EXPECT_TRUE(fitOutput(kInfoFilesystem, kFileFsDeviceInformation, dev, 8));
}

TEST(OutputLength, NameClassesTruncateWithBufferOverflow) {
  Bytes full = encodeFileNameInformation("\\abcdef");  // 4 + 14
  EXPECT_EQ(fitOutput(kInfoFile, kFileNameInformation, full, 7).status(),
            NtStatus::kInfoLengthMismatch);
  for (uint32_t max = 8; max < full.size(); max++) {
    auto r = fitOutput(kInfoFile, kFileNameInformation, full, max);
    ASSERT_TRUE(r) << max;
    EXPECT_EQ(r->second, NtStatus::kBufferOverflow);
    EXPECT_LE(r->first.size(), max);
    EXPECT_EQ(r->first.size() % 2, 0u);                 // whole UTF-16 units
    EXPECT_EQ(le32(r->first.data()), 14u);             // full length still reported
  }
  auto r = fitOutput(kInfoFile, kFileNameInformation, full, uint32_t(full.size()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, NtStatus::kSuccess);
}

TEST(OutputLength, AllInformationMinimum104) {
  FileInfo fi;
  fi.name = "\\some\\long\\path.txt";
  Bytes full = *encodeFileInformation(kFileAllInformation, fi);
  EXPECT_EQ(fitOutput(kInfoFile, kFileAllInformation, full, 103).status(),
            NtStatus::kInfoLengthMismatch);
  auto r = fitOutput(kInfoFile, kFileAllInformation, full, 104);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, NtStatus::kBufferOverflow);
  EXPECT_EQ(r->first.size(), 104u);
  auto d = decodeFileAllInformation(r->first);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->file_name, "\\s");
}

TEST(OutputLength, FsVolumeAndAttribute) {
  FsVolumeInfo v;
  v.volume_label = "a-long-volume-label";
  Bytes vol = encodeFsVolumeInformation(v);
  EXPECT_EQ(fitOutput(kInfoFilesystem, kFileFsVolumeInformation, vol, 23).status(),
            NtStatus::kInfoLengthMismatch);
  auto r = fitOutput(kInfoFilesystem, kFileFsVolumeInformation, vol, 24);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, NtStatus::kBufferOverflow);
  EXPECT_EQ(r->first.size(), 24u);
  FsAttributeInfo a;
  a.file_system_name = "NTFS";
  Bytes at = encodeFsAttributeInformation(a);
  EXPECT_EQ(fitOutput(kInfoFilesystem, kFileFsAttributeInformation, at, 11).status(),
            NtStatus::kInfoLengthMismatch);
  auto r2 = fitOutput(kInfoFilesystem, kFileFsAttributeInformation, at, 12);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->second, NtStatus::kBufferOverflow);
  EXPECT_EQ(r2->first.size(), 12u);
  // The same class number means different things for the two info types.
  EXPECT_EQ(outputRule(kInfoFile, 5).minimum, 24u);        // FileStandardInformation
  EXPECT_EQ(outputRule(kInfoFilesystem, 5).minimum, 12u);  // FileFsAttributeInformation
}

TEST(OutputLength, StreamsKeepWholeEntries) {
  std::vector<StreamInfo> s = {{"::$DATA", 1, 8}, {":a:$DATA", 2, 8}, {":bb:$DATA", 3, 8}};
  Bytes full = encodeFileStreamInformation(s);
  EXPECT_EQ(fitOutput(kInfoFile, kFileStreamInformation, full, 31).status(),
            NtStatus::kInfoLengthMismatch);
  for (uint32_t max = 32; max < full.size(); max++) {
    auto r = fitOutput(kInfoFile, kFileStreamInformation, full, max);
    ASSERT_TRUE(r) << max;
    EXPECT_EQ(r->second, NtStatus::kBufferOverflow);
    EXPECT_LE(r->first.size(), max);
    auto d = decodeFileStreamInformation(r->first);
    ASSERT_TRUE(d) << max;
    EXPECT_EQ(d->empty(), max < 38);  // the first entry is 24 + 14 bytes
    for (size_t i = 0; i < d->size(); i++) EXPECT_EQ((*d)[i], s[i]);
  }
  std::vector<StreamInfo> big = {{":" + std::string(40, 'x') + ":$DATA", 1, 1}};
  auto r = fitOutput(kInfoFile, kFileStreamInformation, encodeFileStreamInformation(big), 40);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->first.empty());
  EXPECT_EQ(r->second, NtStatus::kBufferOverflow);
}

}  // namespace
}  // namespace sd::fscc
