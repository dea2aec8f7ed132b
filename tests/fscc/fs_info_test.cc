#include "fscc/fs_info.h"

#include <gtest/gtest.h>

namespace sd::fscc {
namespace {

TEST(FsInfo, GoldenVolume) {
  FsVolumeInfo v;
  v.volume_creation_time = 0x01D0000000000000ull;
  v.volume_serial_number = 0xDEADBEEF;
  v.volume_label = "share";
  Bytes b = encodeFsVolumeInformation(v);
  EXPECT_EQ(toHex(b), "000000000000d001" "efbeadde" "0a000000" "00" "00" "73006800610072006500");
  auto d = decodeFsVolumeInformation(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->volume_label, "share");
  EXPECT_EQ(d->volume_serial_number, 0xDEADBEEFu);
  for (size_t n = 0; n < 18; n++) EXPECT_FALSE(decodeFsVolumeInformation(ByteView(b).first(n)));
}

TEST(FsInfo, GoldenAttribute) {
  FsAttributeInfo a;
  a.file_system_attributes = kFileCaseSensitiveSearch | kFileCasePreservedNames |
                             kFileUnicodeOnDisk | kFilePersistentAcls;
  a.maximum_component_name_length = 255;
  a.file_system_name = "NTFS";
  Bytes b = encodeFsAttributeInformation(a);
  EXPECT_EQ(toHex(b), "0f000000" "ff000000" "08000000" "4e00540046005300");
  auto d = decodeFsAttributeInformation(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->file_system_name, "NTFS");
  EXPECT_EQ(d->maximum_component_name_length, 255);
  for (size_t n = 0; n < 12; n++)
    EXPECT_EQ(decodeFsAttributeInformation(ByteView(b).first(n)).status(),
              NtStatus::kInfoLengthMismatch);
  auto part = decodeFsAttributeInformation(ByteView(b).first(15));  // truncated name
  ASSERT_TRUE(part);
  EXPECT_EQ(part->file_system_name, "N");
}

TEST(FsInfo, SizesRoundTrip) {
  FsSizeInfo s{1000, 400, 500, 8, 512};
  Bytes b = encodeFsSizeInformation(s);
  EXPECT_EQ(b.size(), 24u);
  auto d = decodeFsSizeInformation(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->total_allocation_units, 1000u);
  EXPECT_EQ(d->caller_available_allocation_units, 400u);
  EXPECT_EQ(d->bytes_per_sector, 512u);
  Bytes f = encodeFsFullSizeInformation(s);
  EXPECT_EQ(f.size(), 32u);
  auto df = decodeFsFullSizeInformation(f);
  ASSERT_TRUE(df);
  EXPECT_EQ(df->actual_available_allocation_units, 500u);
  EXPECT_EQ(df->sectors_per_allocation_unit, 8u);
  for (size_t n = 0; n < 32; n++) EXPECT_FALSE(decodeFsFullSizeInformation(ByteView(f).first(n)));
  for (size_t n = 0; n < 24; n++) EXPECT_FALSE(decodeFsSizeInformation(ByteView(b).first(n)));
}

TEST(FsInfo, OthersRoundTrip) {
  Bytes dev = encodeFsDeviceInformation(kFileDeviceDisk, kFileDeviceIsMounted);
  EXPECT_EQ(toHex(dev), "07000000" "20000000");
  EXPECT_EQ(decodeFsDeviceInformation(dev)->characteristics, kFileDeviceIsMounted);
  FsControlInfo c;
  c.default_quota_limit = ~0ull;
  c.file_system_control_flags = 0x10;
  Bytes cb = encodeFsControlInformation(c);
  EXPECT_EQ(cb.size(), 48u);
  EXPECT_EQ(decodeFsControlInformation(cb)->default_quota_limit, ~0ull);
  uint8_t guid[16];
  for (int i = 0; i < 16; i++) guid[i] = uint8_t(i + 1);
  Bytes ob = encodeFsObjectIdInformation(ByteView(guid, 16));
  EXPECT_EQ(ob.size(), 64u);
  EXPECT_EQ(decodeFsObjectIdInformation(ob)->object_id[15], 16);
  Bytes sb = encodeFsSectorSizeInformation(4096);
  EXPECT_EQ(sb.size(), 28u);
  auto sd = decodeFsSectorSizeInformation(sb);
  ASSERT_TRUE(sd);
  EXPECT_EQ(sd->physical_bytes_per_sector_for_performance, 4096u);
  EXPECT_EQ(sd->flags, kSsinfoFlagsAlignedDevice | kSsinfoFlagsPartitionAlignedOnDevice);
  for (size_t n = 0; n < 28; n++) EXPECT_FALSE(decodeFsSectorSizeInformation(ByteView(sb).first(n)));
  for (size_t n = 0; n < 64; n++) EXPECT_FALSE(decodeFsObjectIdInformation(ByteView(ob).first(n)));
  for (size_t n = 0; n < 48; n++) EXPECT_FALSE(decodeFsControlInformation(ByteView(cb).first(n)));
  for (size_t n = 0; n < 8; n++) EXPECT_FALSE(decodeFsDeviceInformation(ByteView(dev).first(n)));
}

}  // namespace
}  // namespace sd::fscc
